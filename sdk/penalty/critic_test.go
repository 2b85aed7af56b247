package penalty

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
)

// The test critic has the layer types of f-AnoGAN's WGAN-GP critic, at the
// sizes of testdata/make_fixture.py (1x8x8 inputs):
//
//	conv1 3x3 pad 1, 1->4, bias; LeakyReLU(0.2); LayerNorm((4, 8, 8)); mean pool 2x2
//	conv2 3x3 pad 1, 4->8, bias; LeakyReLU(0.2); LayerNorm((8, 4, 4)); mean pool 2x2
//	linear 32->1, bias
//
// Convolutions, biases and the linear layer are sdk/nn's ops; LayerNorm is
// a test-only op (layernorm_test.go) until sdk/nn has one, and 2x2 mean pooling is an nn.Conv2d of
// stride 2 with fixed weights 1/4 on the diagonal of the channels. LeakyReLU
// multiplies the pre-activation by a slope mask (1 or 0.2) that is an input
// of the graph, so that WeightGrad can freeze it at another batch's pattern.

const leak = 0.2

type fixtureTensor struct {
	Name  string    `json:"name"`
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

type fixture struct {
	Meta struct {
		Lambda float64 `json:"lambda"`
		Gamma  float64 `json:"gamma"`
		N      int     `json:"n"`
	} `json:"meta"`
	Params     []fixtureTensor `json:"params"`
	Real       fixtureTensor   `json:"real"`
	Fake       fixtureTensor   `json:"fake"`
	Alpha      fixtureTensor   `json:"alpha"`
	Xhat       fixtureTensor   `json:"xhat"`
	DXhat      fixtureTensor   `json:"d_xhat"`
	GxXhat     fixtureTensor   `json:"gx_xhat"`
	GP         fixtureTensor   `json:"gp"`
	GPf32      fixtureTensor   `json:"gp_f32"`
	R1         fixtureTensor   `json:"r1"`
	R1f32      fixtureTensor   `json:"r1_f32"`
	GPGrads    []fixtureTensor `json:"gp_grads"`
	GPGradsF32 []fixtureTensor `json:"gp_grads_f32"`
	R1Grads    []fixtureTensor `json:"r1_grads"`
	R1GradsF32 []fixtureTensor `json:"r1_grads_f32"`
	LossGrads  []fixtureTensor `json:"loss_grads"`
}

func loadFixture(t testing.TB) *fixture {
	t.Helper()
	const path = "testdata/fixture.json"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v (regenerate with /usr/bin/python3 testdata/make_fixture.py)", path, err)
	}
	f := &fixture{}
	if err := json.Unmarshal(b, f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(f.Params) != 10 || f.Meta.N == 0 {
		t.Fatalf("%s: %d params, n = %d", path, len(f.Params), f.Meta.N)
	}
	return f
}

func f32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// testCritic implements Critic for a fixed batch size.
type testCritic struct {
	n      int
	params [][]float32 // backing of the weights, in the fixture's order

	// fwd computes the pre-activations z1, z2 of the two LeakyReLUs.
	fwd struct {
		vm     gorgonia.VM
		x      *gorgonia.Node
		xT     *tensor.Dense
		z1, z2 *gorgonia.Node
	}
	// bwd computes D, ∇_x Σ w·D and ∇_θ Σ w·D with the slope masks as inputs.
	bwd struct {
		vm           gorgonia.VM
		x, w, m1, m2 *gorgonia.Node
		xT, wT       *tensor.Dense
		m1T, m2T     *tensor.Dense
		d            *gorgonia.Node
		grads        gorgonia.Nodes // x, then every parameter
	}
	// ignoreAt makes WeightGrad take the slopes at x whatever at says: the
	// mistake that TestUnfrozenKinks measures.
	ignoreAt bool
}

func newTestCritic(t testing.TB, f *fixture) *testCritic {
	t.Helper()
	c := &testCritic{n: f.Meta.N}
	for _, p := range f.Params {
		c.params = append(c.params, f32(p.Data))
	}
	if err := c.build(); err != nil {
		t.Fatal(err)
	}
	return c
}

// paramNodes binds the weights to graph g. LayerNorm's gamma and beta are
// flat vectors of C·H·W values (the same order as PyTorch's [C, H, W]).
func (c *testCritic) paramNodes(g *gorgonia.ExprGraph) gorgonia.Nodes {
	shapes := [][]int{{4, 1, 3, 3}, {4}, {256}, {256}, {8, 4, 3, 3}, {8}, {128}, {128}, {1, 32}, {1}}
	out := make(gorgonia.Nodes, len(shapes))
	for i, s := range shapes {
		t := tensor.New(tensor.WithShape(s...), tensor.WithBacking(c.params[i]))
		out[i] = gorgonia.NodeFromAny(g, t, gorgonia.WithName(fmt.Sprintf("p%d", i)))
	}
	return out
}

func poolWeights(g *gorgonia.ExprGraph, ch int) *gorgonia.Node {
	w := make([]float32, ch*ch*4)
	for c := 0; c < ch; c++ {
		for k := 0; k < 4; k++ {
			w[(c*ch+c)*4+k] = 0.25
		}
	}
	t := tensor.New(tensor.WithShape(ch, ch, 2, 2), tensor.WithBacking(w))
	return gorgonia.NodeFromAny(g, t, gorgonia.WithName(fmt.Sprintf("pool%d", ch)))
}

// network adds the critic to the graph of x. With masks nil the LeakyReLUs
// are nn.BiasAct's; otherwise each pre-activation is multiplied by its mask.
// It returns D ([N]) and the two pre-activations.
func network(x *gorgonia.Node, p gorgonia.Nodes, masks []*gorgonia.Node) (d, z1, z2 *gorgonia.Node, err error) {
	g := x.Graph()
	act := func(z *gorgonia.Node, i int) (*gorgonia.Node, error) {
		if masks == nil {
			return nn.BiasAct(z, nil, nn.LeakyReLU, leak, 0)
		}
		return gorgonia.HadamardProd(z, masks[i])
	}
	block := func(h, w, b, gamma, beta *gorgonia.Node, ch, i int) (out, z *gorgonia.Node, err error) {
		if h, err = nn.Conv2d(h, w, 1, 1, 0); err != nil {
			return nil, nil, err
		}
		if z, err = nn.BiasAct(h, b, nn.Identity, 0, 0); err != nil {
			return nil, nil, err
		}
		if h, err = act(z, i); err != nil {
			return nil, nil, err
		}
		if h, err = layerNorm(h, gamma, beta); err != nil {
			return nil, nil, err
		}
		h, err = nn.Conv2d(h, poolWeights(g, ch), 2, 0, nn.NoParamGrad)
		return h, z, err
	}
	h, z1, err := block(x, p[0], p[1], p[2], p[3], 4, 0)
	if err != nil {
		return nil, nil, nil, err
	}
	h, z2, err = block(h, p[4], p[5], p[6], p[7], 8, 1)
	if err != nil {
		return nil, nil, nil, err
	}
	if h, err = nn.Flatten(h); err != nil {
		return nil, nil, nil, err
	}
	if h, err = nn.Linear(h, p[8], 0); err != nil {
		return nil, nil, nil, err
	}
	if h, err = nn.BiasAct(h, p[9], nn.Identity, 0, 0); err != nil {
		return nil, nil, nil, err
	}
	d, err = gorgonia.Reshape(h, tensor.Shape{x.Shape()[0]})
	return d, z1, z2, err
}

func (c *testCritic) build() error {
	n := c.n
	{
		g := gorgonia.NewGraph()
		f := &c.fwd
		f.x = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, 8, 8), gorgonia.WithName("x"))
		var err error
		if _, f.z1, f.z2, err = network(f.x, c.paramNodes(g), nil); err != nil {
			return err
		}
		f.vm = gorgonia.NewTapeMachine(g)
		f.xT = tensor.New(tensor.WithShape(n, 1, 8, 8), tensor.Of(tensor.Float32))
	}
	g := gorgonia.NewGraph()
	b := &c.bwd
	b.x = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, 8, 8), gorgonia.WithName("x"))
	b.w = gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(n), gorgonia.WithName("w"))
	b.m1 = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 4, 8, 8), gorgonia.WithName("m1"))
	b.m2 = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 8, 4, 4), gorgonia.WithName("m2"))
	p := c.paramNodes(g)
	d, _, _, err := network(b.x, p, []*gorgonia.Node{b.m1, b.m2})
	if err != nil {
		return err
	}
	b.d = d
	wd, err := gorgonia.HadamardProd(d, b.w)
	if err != nil {
		return err
	}
	loss, err := gorgonia.Sum(wd)
	if err != nil {
		return err
	}
	if b.grads, err = gorgonia.Grad(loss, append(gorgonia.Nodes{b.x}, p...)...); err != nil {
		return err
	}
	b.vm = gorgonia.NewTapeMachine(g)
	b.xT = tensor.New(tensor.WithShape(n, 1, 8, 8), tensor.Of(tensor.Float32))
	b.wT = tensor.New(tensor.WithShape(n), tensor.Of(tensor.Float32))
	b.m1T = tensor.New(tensor.WithShape(n, 4, 8, 8), tensor.Of(tensor.Float32))
	b.m2T = tensor.New(tensor.WithShape(n, 8, 4, 4), tensor.Of(tensor.Float32))
	return nil
}

func data(v gorgonia.Value) []float32 { return v.Data().([]float32) }

// masks sets the slope masks to LeakyReLU's slopes at the batch x.
func (c *testCritic) masks(x []float32) error {
	f := &c.fwd
	copy(data(f.xT), x)
	defer f.vm.Reset()
	if err := gorgonia.Let(f.x, f.xT); err != nil {
		return err
	}
	if err := f.vm.RunAll(); err != nil {
		return err
	}
	for _, zm := range []struct {
		z *gorgonia.Node
		m *tensor.Dense
	}{{f.z1, c.bwd.m1T}, {f.z2, c.bwd.m2T}} {
		m := data(zm.m)
		for i, z := range data(zm.z.Value()) {
			m[i] = leak
			if z > 0 {
				m[i] = 1
			}
		}
	}
	return nil
}

// run runs the backward graph at x with weights w and the current masks.
func (c *testCritic) run(x, w []float32) error {
	b := &c.bwd
	copy(data(b.xT), x)
	copy(data(b.wT), w)
	for _, nv := range []struct {
		n *gorgonia.Node
		v *tensor.Dense
	}{{b.x, b.xT}, {b.w, b.wT}, {b.m1, b.m1T}, {b.m2, b.m2T}} {
		if err := gorgonia.Let(nv.n, nv.v); err != nil {
			return err
		}
	}
	return b.vm.RunAll()
}

func (c *testCritic) checkLen(x []float32, n int) error {
	if n != c.n || len(x) != c.n*64 {
		return fmt.Errorf("test critic: batch of %d samples (%d values), built for %d", n, len(x), c.n)
	}
	return nil
}

func (c *testCritic) InputGrad(d, gx, x []float32) error {
	if err := c.checkLen(x, len(d)); err != nil {
		return err
	}
	if err := c.masks(x); err != nil {
		return err
	}
	ones := make([]float32, c.n)
	for i := range ones {
		ones[i] = 1
	}
	defer c.bwd.vm.Reset()
	if err := c.run(x, ones); err != nil {
		return err
	}
	copy(d, data(c.bwd.d.Value()))
	copy(gx, data(c.bwd.grads[0].Value()))
	return nil
}

func (c *testCritic) WeightGrad(dst [][]float32, x, w, at []float32) error {
	if err := c.checkLen(x, len(w)); err != nil {
		return err
	}
	if at == nil || c.ignoreAt {
		at = x
	}
	if err := c.masks(at); err != nil {
		return err
	}
	defer c.bwd.vm.Reset()
	if err := c.run(x, w); err != nil {
		return err
	}
	for i, g := range c.bwd.grads[1:] {
		copy(dst[i], data(g.Value()))
	}
	return nil
}

// newGrads returns zero gradients shaped like c's parameters.
func (c *testCritic) newGrads() [][]float32 {
	out := make([][]float32, len(c.params))
	for i, p := range c.params {
		out[i] = make([]float32, len(p))
	}
	return out
}
