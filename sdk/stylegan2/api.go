package stylegan2

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
)

// Size is the image side.
func (m *Model) Size() int { return m.Config.Size }

// NumWs is the number of w inputs of the synthesis network (Config.NumWs).
func (m *Model) NumWs() int { return m.Config.NumWs() }

// WDim is the size of w.
func (m *Model) WDim() int { return m.Config.WDim }

// ZDim is the size of z.
func (m *Model) ZDim() int { return m.Config.ZDim }

// WAvg returns a copy of w_avg, the moving average of the mapping
// network's outputs during training (G's, which G_ema shares).
func (m *Model) WAvg() []float32 { return append([]float32(nil), m.wAvg...) }

// Synthesis builds the EMA generator's synthesis network on ws (shape
// [n, NumWs, WDim], in ws's graph), with the weights as constants (frozen:
// the gradient flows to ws only) and the noise inputs fixed at zero,
// returning the image node [n, 1, Size, Size].
//
// The weights are copied when the graph is built: later training of m does
// not change it.
func (m *Model) Synthesis(ws *gorgonia.Node) (*gorgonia.Node, error) {
	if ws == nil || ws.Graph() == nil {
		return nil, fmt.Errorf("stylegan2: Synthesis: ws is nil or in no graph")
	}
	g := ws.Graph()
	run := m.run[netEMA]
	nodes := make(gorgonia.Nodes, len(run.Params))
	for i, p := range run.Params {
		c := tensor.New(tensor.WithShape(p.Value.Shape().Clone()...), tensor.WithBacking(append([]float32(nil), f32s(p.Value)...)))
		nodes[i] = gorgonia.NodeFromAny(g, c, gorgonia.WithName(fmt.Sprintf("%s#%p", p.Name, c)))
	}
	return m.synthesisNet(ws, m.lookup(netEMA, nodes), nil, nn.NoParamGrad)
}

// infer is a compiled inference graph of one input.
type infer struct {
	vm   gorgonia.VM
	in   *gorgonia.Node
	inT  *tensor.Dense
	outV *gorgonia.Value
}

func (f *infer) run(x []float32) ([]float32, error) {
	defer f.vm.Reset()
	copy(f32s(f.inT), x)
	if err := gorgonia.Let(f.in, f.inT); err != nil {
		return nil, err
	}
	if err := f.vm.RunAll(); err != nil {
		return nil, err
	}
	return append([]float32(nil), f32s(*f.outV)...), nil
}

// graph returns the cached inference graph kind of batch n, building it
// with build on an input of shape in.
func (m *Model) graph(kind string, n int, in tensor.Shape, build func(x *gorgonia.Node) (*gorgonia.Node, error)) (*infer, error) {
	key := fmt.Sprintf("%s/%d", kind, n)
	if f, ok := m.cache[key].(*infer); ok {
		return f, nil
	}
	g := gorgonia.NewGraph()
	f := &infer{inT: tensor.New(tensor.WithShape(in...), tensor.Of(tensor.Float32))}
	f.in = gorgonia.NewTensor(g, tensor.Float32, in.Dims(), gorgonia.WithShape(in...), gorgonia.WithName("in"))
	out, err := build(f.in)
	if err != nil {
		return nil, err
	}
	f.outV = nn.ReadValue(out)
	f.vm = gorgonia.NewTapeMachine(g)
	if m.cache == nil {
		m.cache = map[string]any{}
	}
	m.cache[key] = f
	return f, nil
}

// Close releases the model's compiled inference graphs (Mapping, Sample,
// Discriminate); later calls build them again.
func (m *Model) Close() {
	for _, v := range m.cache {
		if f, ok := v.(*infer); ok {
			f.vm.Close()
		}
	}
	m.cache = nil
}

// Mapping maps z (shape [n, ZDim]) to w with the EMA mapping network, plain values.
func (m *Model) Mapping(z []float32, n int) ([]float32, error) {
	if n < 1 || len(z) != n*m.Config.ZDim {
		return nil, fmt.Errorf("stylegan2: Mapping: %d values for %d codes of %d", len(z), n, m.Config.ZDim)
	}
	f, err := m.graph("mapping", n, tensor.Shape{n, m.Config.ZDim}, func(z *gorgonia.Node) (*gorgonia.Node, error) {
		nodes := m.nodes(z.Graph(), netEMA)
		return m.mappingNet(z, m.lookup(netEMA, nodes), noGradAll)
	})
	if err != nil {
		return nil, err
	}
	return f.run(z)
}

// Generate returns G_ema's images [n, 1, Size, Size] of the codes z
// ([n, ZDim]): one w per image for every layer, no truncation, the noise
// inputs at zero.
func (m *Model) Generate(z []float32, n int) ([]float32, error) {
	if n < 1 || len(z) != n*m.Config.ZDim {
		return nil, fmt.Errorf("stylegan2: Generate: %d values for %d codes of %d", len(z), n, m.Config.ZDim)
	}
	f, err := m.graph("generate", n, tensor.Shape{n, m.Config.ZDim}, func(z *gorgonia.Node) (*gorgonia.Node, error) {
		g := z.Graph()
		nodes := m.nodes(g, netEMA)
		p := m.lookup(netEMA, nodes)
		w, err := m.mappingNet(z, p, noGradAll)
		if err != nil {
			return nil, err
		}
		cut := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(1), gorgonia.WithName("cutoff"),
			gorgonia.WithValue(tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{float32(m.NumWs())}))))
		ws, err := nn.StyleMix(w, w, cut, m.NumWs())
		if err != nil {
			return nil, err
		}
		return m.synthesisNet(ws, p, nil, noGradAll)
	})
	if err != nil {
		return nil, err
	}
	return f.run(z)
}

// Sample returns n images of G_ema ([n, 1, Size, Size]) for codes z drawn
// from N(0, I) with seed (the same seed, the same images); see Generate.
func (m *Model) Sample(n int, seed uint64) ([]float32, error) {
	if n < 1 {
		return nil, fmt.Errorf("stylegan2: Sample: %d images", n)
	}
	z := make([]float32, n*m.Config.ZDim)
	normal(rand.New(rand.NewPCG(seed, 0x73616d706c65)), z)
	return m.Generate(z, n)
}

// Discriminate returns D's logits for the n images x ([n, 1, Size, Size],
// values in [-1, 1]). D's minibatch standard deviation couples the images
// in groups of four (image i with i ± n/4, ...), so a logit depends on the
// batch as in training; n must be at most 4 or a multiple of 4.
func (m *Model) Discriminate(x []float32, n int) ([]float32, error) {
	s := m.Config.Size
	if n < 1 || len(x) != n*s*s || (n > Group && n%Group != 0) {
		return nil, fmt.Errorf("stylegan2: Discriminate: %d values for %d images of %dx%d (n at most %d or a multiple of it)", len(x), n, s, s, Group)
	}
	f, err := m.graph("discriminate", n, tensor.Shape{n, 1, s, s}, func(x *gorgonia.Node) (*gorgonia.Node, error) {
		nodes := m.nodes(x.Graph(), netD)
		d, _, _, err := m.discriminatorNet(x, m.lookup(netD, nodes), Coupled, nil, nil, noGradAll)
		return d, err
	})
	if err != nil {
		return nil, err
	}
	return f.run(x)
}
