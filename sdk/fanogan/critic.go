package fanogan

import (
	"fmt"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/penalty"
)

// critic is the critic D as a penalty.Critic: its compiled graphs, one pair
// per batch size, run on the weights of the model's D in place.
type critic struct {
	m      *Model
	graphs map[int]*criticGraph
	ones   []float32 // the weights 1 of InputGrad
}

var _ penalty.Critic = (*critic)(nil)

func newCritic(m *Model) *critic { return &critic{m: m, graphs: map[int]*criticGraph{}} }

// criticGraph holds, for batches of n samples, three compiled networks:
//
//   - fused: the ordinary network (fused LayerNorm-ReLU) with D and the
//     input gradient of Σ w·D, no weight gradients: InputGrad, which also
//     reads the ReLUs' activation pattern at its batch off the activations;
//   - loss: the ordinary network with the weight gradients of Σ w·D and no
//     input gradient: WeightGrad with the slopes at x itself;
//   - masked: the network with every ReLU replaced by a mask input, with the
//     weight gradients: WeightGrad with the slopes of another batch.
//
// Each is built when first needed.
type criticGraph struct {
	n int
	x *tensor.Dense // the batch, fed to every network
	w *tensor.Dense // the weights w
	// masks hold the ReLUs' slopes (0 or 1) at the batch maskAt.
	masks  []*tensor.Dense
	maskAt []float32

	fused, loss, masked *criticNet
}

// criticNet is one compiled network of a criticGraph.
type criticNet struct {
	vm    gorgonia.VM
	x, w  *gorgonia.Node
	masks []*gorgonia.Node
	d     *gorgonia.Node
	acts  []*gorgonia.Node
	grads gorgonia.Nodes // ∇x (fused) or every parameter's gradient
}

func (c *critic) graph(n int) *criticGraph {
	if g, ok := c.graphs[n]; ok {
		return g
	}
	s := c.m.Config.Size
	cg := &criticGraph{n: n,
		x: tensor.New(tensor.WithShape(n, 1, s, s), tensor.Of(tensor.Float32)),
		w: tensor.New(tensor.WithShape(n), tensor.Of(tensor.Float32)),
	}
	c.graphs[n] = cg
	return cg
}

const (
	netFused = iota
	netLoss
	netMasked
)

// net returns the compiled network of kind, building it the first time.
func (c *critic) net(cg *criticGraph, kind int) (*criticNet, error) {
	slot := [...]**criticNet{&cg.fused, &cg.loss, &cg.masked}[kind]
	if *slot != nil {
		return *slot, nil
	}
	m, n, s := c.m, cg.n, c.m.Config.Size
	g := gorgonia.NewGraph()
	cn := &criticNet{}
	cn.x = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, s, s), gorgonia.WithName("x"))
	cn.w = gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(n), gorgonia.WithName("w"))
	ng := nn.NoInputGrad
	if kind == netFused {
		ng = nn.NoParamGrad
	}
	if kind == netMasked {
		in, _ := m.Config.criticChannels()
		side := s
		for _, c := range in {
			for k := 0; k < 2; k++ {
				cn.masks = append(cn.masks, gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, c, side, side), gorgonia.WithName(fmt.Sprintf("mask%d", len(cn.masks)))))
			}
			side /= 2
		}
	}
	p := m.D.Nodes(g)
	d, _, acts, err := m.Critic(cn.x, p, cn.masks, ng)
	if err != nil {
		return nil, err
	}
	cn.d, cn.acts = d, acts
	wd, err := gorgonia.HadamardProd(d, cn.w)
	if err != nil {
		return nil, err
	}
	sum, err := gorgonia.Sum(wd)
	if err != nil {
		return nil, err
	}
	wrt := p
	if kind == netFused {
		wrt = gorgonia.Nodes{cn.x}
	}
	if cn.grads, err = gorgonia.Grad(sum, wrt...); err != nil {
		return nil, fmt.Errorf("fanogan: critic gradients: %w", err)
	}
	cn.vm = gorgonia.NewTapeMachine(g)
	*slot = cn
	return cn, nil
}

func f32s(v gorgonia.Value) []float32 { return v.Data().([]float32) }

// run runs cn on the batch x with weights w (and cg's masks for the masked
// network); the caller resets the machine after reading the values.
func (cg *criticGraph) run(cn *criticNet, x, w []float32) error {
	copy(f32s(cg.x), x)
	copy(f32s(cg.w), w)
	if err := gorgonia.Let(cn.x, cg.x); err != nil {
		return err
	}
	if err := gorgonia.Let(cn.w, cg.w); err != nil {
		return err
	}
	for i, mk := range cn.masks {
		if err := gorgonia.Let(mk, cg.masks[i]); err != nil {
			return err
		}
	}
	return cn.vm.RunAll()
}

// keepMasks sets cg's masks to the signs of the activations of cn's last
// run, the activation pattern at the batch x.
func (cg *criticGraph) keepMasks(cn *criticNet, x []float32) {
	if cg.masks == nil {
		for _, a := range cn.acts {
			cg.masks = append(cg.masks, tensor.New(tensor.WithShape(a.Shape().Clone()...), tensor.Of(tensor.Float32)))
		}
	}
	for i, a := range cn.acts {
		m := f32s(cg.masks[i])
		for j, v := range f32s(a.Value()) {
			m[j] = 0
			if v > 0 {
				m[j] = 1
			}
		}
	}
	cg.maskAt = append(cg.maskAt[:0], x...)
}

// masks sets cg's masks to the activation pattern at the batch at, unless
// they hold it already (InputGrad at at leaves it there).
func (c *critic) masks(cg *criticGraph, at []float32) error {
	if cg.maskAt != nil && slices.Equal(cg.maskAt, at) {
		return nil
	}
	cn, err := c.net(cg, netFused)
	if err != nil {
		return err
	}
	defer cn.vm.Reset()
	if err := cg.run(cn, at, cg.zeros()); err != nil {
		return err
	}
	cg.keepMasks(cn, at)
	return nil
}

// zeros returns the weights 0 of a pass that only records activations.
func (cg *criticGraph) zeros() []float32 {
	w := f32s(cg.w)
	clear(w)
	return w
}

func (c *critic) batch(x []float32, n int) (*criticGraph, error) {
	s := c.m.Config.Size
	if n <= 0 || len(x) != n*s*s {
		return nil, fmt.Errorf("fanogan: critic: %d values for %d images of %dx%d", len(x), n, s, s)
	}
	return c.graph(n), nil
}

// InputGrad implements penalty.Critic: one forward and one backward pass
// to x of the ordinary network, which also leave the activation pattern at
// x for the weight gradients that follow.
func (c *critic) InputGrad(d, gx, x []float32) error {
	cg, err := c.batch(x, len(d))
	if err != nil {
		return err
	}
	cn, err := c.net(cg, netFused)
	if err != nil {
		return err
	}
	for len(c.ones) < len(d) {
		c.ones = append(c.ones, 1)
	}
	defer cn.vm.Reset()
	if err := cg.run(cn, x, c.ones[:len(d)]); err != nil {
		return err
	}
	copy(d, f32s(cn.d.Value()))
	copy(gx, f32s(cn.grads[0].Value()))
	cg.keepMasks(cn, x)
	return nil
}

// WeightGrad implements penalty.Critic: the ReLUs take their slopes at at
// (at x when at is nil).
func (c *critic) WeightGrad(dst [][]float32, x, w, at []float32) error {
	_, err := c.weightGrad(dst, nil, x, w, at)
	return err
}

// weightGrad is WeightGrad that also returns D(x) into d when d is not nil.
// With the slopes at x itself it runs the ordinary network.
func (c *critic) weightGrad(dst [][]float32, d, x, w, at []float32) ([]float32, error) {
	cg, err := c.batch(x, len(w))
	if err != nil {
		return nil, err
	}
	kind := netMasked
	if at == nil || slices.Equal(at, x) {
		kind = netLoss
	} else if err := c.masks(cg, at); err != nil {
		return nil, err
	}
	cn, err := c.net(cg, kind)
	if err != nil {
		return nil, err
	}
	defer cn.vm.Reset()
	if err := cg.run(cn, x, w); err != nil {
		return nil, err
	}
	if len(dst) != len(cn.grads) {
		return nil, fmt.Errorf("fanogan: critic: %d gradient slices for %d parameters", len(dst), len(cn.grads))
	}
	for i, g := range cn.grads {
		copy(dst[i], f32s(g.Value()))
	}
	if d != nil {
		d = append(d[:0], f32s(cn.d.Value())...)
	}
	return d, nil
}
