package psp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
)

// testGen is a small generator with fixed weights for the tests: the
// flattened W+ through a linear layer and LeakyReLU(0.2) to c0 maps of
// side Size/4, two nearest 2x upsamplings, a 3x3 convolution to one
// channel, a fixed map added per pixel (without it the upsampled plateaus
// give pixels exactly equal, whose ties in the feature network's max
// pooling float32 breaks otherwise than float64) and tanh.
type testGen struct {
	size, numWs, wdim, c0       int
	wavg                        []float32
	lin, linB, conv, convB, pix []float32
}

func (g *testGen) Size() int       { return g.size }
func (g *testGen) NumWs() int      { return g.numWs }
func (g *testGen) WDim() int       { return g.wdim }
func (g *testGen) WAvg() []float32 { return slices.Clone(g.wavg) }
func (g *testGen) s0() int         { return g.size / 4 }

// newTestGen draws the weights from seed: w_avg ~ N(0, 0.1²), the linear
// weights with standard deviation 1/sqrt(NumWs·WDim)·1.5, the conv's
// 1/sqrt(9·c0), biases N(0, 0.1²), the pixel map N(0, 0.3²).
func newTestGen(size, numWs, wdim, c0 int, seed uint64) *testGen {
	rng := rand.New(rand.NewPCG(seed, 77))
	g := &testGen{size: size, numWs: numWs, wdim: wdim, c0: c0}
	draw := func(n int, std float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(std * rng.NormFloat64())
		}
		return v
	}
	in, hid := numWs*wdim, c0*g.s0()*g.s0()
	g.wavg = draw(wdim, 0.1)
	g.lin = draw(hid*in, 1.5/math.Sqrt(float64(in)))
	g.linB = draw(hid, 0.1)
	g.conv = draw(c0*9, 1/math.Sqrt(float64(9*c0)))
	g.convB = draw(1, 0.1)
	g.pix = draw(size*size, 0.3)
	return g
}

func (g *testGen) Synthesis(ws *gorgonia.Node) (*gorgonia.Node, error) {
	gr := ws.Graph()
	n := ws.Shape()[0]
	s0 := g.s0()
	if !ws.Shape().Eq(tensor.Shape{n, g.numWs, g.wdim}) {
		return nil, fmt.Errorf("testGen: ws of shape %v", ws.Shape())
	}
	node := func(name string, v []float32, shape ...int) *gorgonia.Node {
		return gorgonia.NodeFromAny(gr, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v)), gorgonia.WithName(name))
	}
	in, hid := g.numWs*g.wdim, g.c0*s0*s0
	h, err := gorgonia.Reshape(ws, tensor.Shape{n, in})
	if err != nil {
		return nil, err
	}
	if h, err = nn.Linear(h, node("G.lin.weight", g.lin, hid, in), nn.NoParamGrad); err != nil {
		return nil, err
	}
	if h, err = nn.BiasAct(h, node("G.lin.bias", g.linB, hid), nn.LeakyReLU, 0.2, nn.NoParamGrad); err != nil {
		return nil, err
	}
	if h, err = gorgonia.Reshape(h, tensor.Shape{n, g.c0, s0, s0}); err != nil {
		return nil, err
	}
	for range 2 {
		if h, err = nn.Upsample2x(h); err != nil {
			return nil, err
		}
	}
	if h, err = nn.Conv2d(h, node("G.conv.weight", g.conv, 1, g.c0, 3, 3), 1, 1, nn.NoParamGrad); err != nil {
		return nil, err
	}
	pix := make([]float32, 0, n*len(g.pix))
	for range n {
		pix = append(pix, g.pix...)
	}
	if h, err = gorgonia.Add(h, node("G.pix", pix, n, 1, g.size, g.size)); err != nil {
		return nil, err
	}
	return nn.BiasAct(h, node("G.conv.bias", g.convB, 1), nn.Tanh, 0, nn.NoParamGrad)
}

// images returns G(ws) for codes ws (n·NumWs·WDim values).
func (g *testGen) images(ws []float32, n int) ([]float32, error) {
	gr := gorgonia.NewGraph()
	wn := gorgonia.NodeFromAny(gr, tensor.New(tensor.WithShape(n, g.numWs, g.wdim), tensor.WithBacking(slices.Clone(ws))), gorgonia.WithName("ws"))
	x, err := g.Synthesis(wn)
	if err != nil {
		return nil, err
	}
	vm := gorgonia.NewTapeMachine(gr)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		return nil, err
	}
	return slices.Clone(x.Value().Data().([]float32)), nil
}
