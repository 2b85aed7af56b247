package nn

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Tests of the layers of f-AnoGAN's ResNet (Upsample2x, MeanPool2,
// SquaredDiffSum, SquaredDiffMean, LayerNorm, ResBlockUp, ResBlockDown):
// finite differences here, PyTorch in TestFAnoGANFixture.

func TestFAnoGANGradients(t *testing.T) {
	// As in TestGradients: the ops below are linear or quadratic, so the
	// central differences' error is float32 rounding alone.
	const (
		eps = 1e-2
		tol = 1e-3
	)
	cases := []gradCase{
		{name: "Upsample2x", shapes: [][]int{{2, 3, 3, 2}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return Upsample2x(in[0]) }},
		{name: "MeanPool2", shapes: [][]int{{2, 3, 4, 6}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return MeanPool2(in[0]) }},
		// The backward ops of the two are the same op, differentiable.
		{name: "Upsample2x backward", shapes: [][]int{{2, 2, 4, 6}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				return gorgonia.ApplyOp(newResampleOp("Upsample2x∂", false, 1, 2, 2, 2, 3), in[0])
			}},
		{name: "MeanPool2 backward", shapes: [][]int{{2, 2, 2, 3}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				return gorgonia.ApplyOp(newResampleOp("MeanPool2∂", true, 0.25, 2, 2, 2, 3), in[0])
			}},
		{name: "SquaredDiffSum", shapes: [][]int{{3, 2, 2, 2}, {3, 2, 2, 2}}, wrt: []int{0, 1},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return SquaredDiffSum(in[0], in[1], 0) }},
		{name: "SquaredDiffMean [N F]", shapes: [][]int{{4, 5}, {4, 5}}, wrt: []int{0, 1},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return SquaredDiffMean(in[0], in[1], 0) }},
	}
	cases = append(cases, layerNormGradCases()...)
	cases = append(cases, blockGradCases()...)
	for _, tc := range cases {
		checkGrad(t, tc, eps, tol)
	}
}

// layerNormGradCases are LayerNorm's finite-difference checks: per-channel
// and per-value parameters, 4-d and 2-d inputs, every activation, and the
// dropped gradients.
func layerNormGradCases() []gradCase {
	// offset gives x a mean and a scale of its own per sample, so that
	// both statistics matter.
	offset := func(rng *rand.Rand, i int, d [][]float32) {
		if i == 0 {
			for k := range d[0] {
				d[0][k] = d[0][k]*(1.5+float32(k%2)) + 0.5
			}
		}
	}
	// clear keeps a kinked activation's input away from 0: x̂ is within
	// ±3, so gamma ≤ 0.2 and |beta| ≥ 1 leave a margin of 0.4 that the
	// steps of the finite differences (a change of x̂ of about 0.02) do not
	// cross.
	clear := func(rng *rand.Rand, i int, d [][]float32) {
		offset(rng, i, d)
		switch i {
		case 1:
			for k := range d[1] {
				d[1][k] = 0.1 + 0.1*rng.Float32()
			}
		case 2:
			for k := range d[2] {
				d[2][k] = 1 + 0.5*rng.Float32()
				if k%2 == 1 {
					d[2][k] = -d[2][k]
				}
			}
		}
	}
	ln := func(act Act, ng NoGrad) func(in []*gorgonia.Node) (*gorgonia.Node, error) {
		return func(in []*gorgonia.Node) (*gorgonia.Node, error) {
			return LayerNormAct(in[0], in[1], in[2], 1e-5, act, 0.2, ng)
		}
	}
	channel := [][]int{{2, 3, 2, 3}, {3}, {3}}
	elem := [][]int{{2, 2, 3, 2}, {2, 3, 2}, {2, 3, 2}}
	cases := []gradCase{
		{name: "LayerNorm per channel", shapes: channel, wrt: []int{0, 1, 2}, init: offset, build: ln(Identity, 0)},
		{name: "LayerNorm per value", shapes: elem, wrt: []int{0, 1, 2}, init: offset, build: ln(Identity, 0)},
		{name: "LayerNorm 2-d", shapes: [][]int{{3, 5}, {5}, {5}}, wrt: []int{0, 1, 2}, init: offset, build: ln(Identity, 0)},
		{name: "LayerNorm NoParamGrad", shapes: channel, wrt: []int{0}, init: offset, build: ln(Identity, NoParamGrad)},
		{name: "LayerNorm NoInputGrad", shapes: elem, wrt: []int{1, 2}, init: offset, build: ln(Identity, NoInputGrad)},
	}
	for _, act := range []Act{ReLU, LeakyReLU, Tanh, Sigmoid} {
		init := offset
		if act == ReLU || act == LeakyReLU {
			init = clear
		}
		cases = append(cases,
			gradCase{name: fmt.Sprintf("LayerNormAct %v per channel", act), shapes: channel, wrt: []int{0, 1, 2}, init: init, build: ln(act, 0)},
			gradCase{name: fmt.Sprintf("LayerNormAct %v per value", act), shapes: elem, wrt: []int{0, 1, 2}, init: init, build: ln(act, 0)})
	}
	return cases
}

// blockGradCases check the two residual blocks, with every parameter, by
// finite differences. Their ReLUs have kinks that the steps would cross, so
// the normalisations' gamma is small (0.2 to 0.3) and beta ±1.5 to ±2 by
// channel: normalised values stay within ±3, and every ReLU input at least
// 0.6 away from 0, some channels passing and some cut.
func blockGradCases() []gradCase {
	const n, ci, co, hw = 2, 2, 3, 4
	init := func(rng *rand.Rand, i int, d [][]float32) {
		switch i {
		case 0:
		case 1, 4: // gammas
			for k := range d[i] {
				d[i][k] = 0.2 + 0.1*rng.Float32()
			}
		case 2, 5: // betas
			for k := range d[i] {
				d[i][k] = 1.5 + 0.5*rng.Float32()
				if k%2 == 1 {
					d[i][k] = -d[i][k]
				}
			}
		default: // weights and biases
			for k := range d[i] {
				d[i][k] *= 0.4
			}
		}
	}
	up := func(train bool, ng NoGrad) func(in []*gorgonia.Node) (*gorgonia.Node, error) {
		return func(in []*gorgonia.Node) (*gorgonia.Node, error) {
			return ResBlockUp(in[0], ResUpParams{
				BN1Gamma: in[1], BN1Beta: in[2], BN1: NewBNStats(ci), W1: in[3],
				BN2Gamma: in[4], BN2Beta: in[5], BN2: NewBNStats(co), W2: in[6], B2: in[7],
				WS: in[8], BS: in[9],
			}, train, ng)
		}
	}
	upShapes := [][]int{{n, ci, hw / 2, hw / 2}, {ci}, {ci}, {co, ci, 3, 3}, {co}, {co}, {co, co, 3, 3}, {co}, {co, ci, 1, 1}, {co}}
	down := func(ng NoGrad) func(in []*gorgonia.Node) (*gorgonia.Node, error) {
		return func(in []*gorgonia.Node) (*gorgonia.Node, error) {
			return ResBlockDown(in[0], ResDownParams{
				LN1Gamma: in[1], LN1Beta: in[2], W1: in[3], B1: in[10],
				LN2Gamma: in[4], LN2Beta: in[5], W2: in[6], B2: in[7],
				WS: in[8], BS: in[9],
			}, 1e-5, ng)
		}
	}
	downShapes := [][]int{{n, ci, hw, hw}, {ci}, {ci}, {ci, ci, 3, 3}, {ci}, {ci}, {co, ci, 3, 3}, {co}, {co, ci, 1, 1}, {co}, {ci}}
	all := func(k int) []int {
		w := make([]int, k)
		for i := range w {
			w[i] = i
		}
		return w
	}
	return []gradCase{
		{name: "ResBlockUp train", shapes: upShapes, wrt: all(len(upShapes)), init: init, build: up(true, 0)},
		{name: "ResBlockUp eval", shapes: upShapes, wrt: all(len(upShapes)), init: init, build: up(false, 0)},
		{name: "ResBlockUp eval NoParamGrad", shapes: upShapes, wrt: []int{0}, init: init, build: up(false, NoParamGrad)},
		{name: "ResBlockDown", shapes: downShapes, wrt: all(len(downShapes)), init: init, build: down(0)},
		{name: "ResBlockDown NoInputGrad", shapes: downShapes, wrt: all(len(downShapes))[1:], init: init, build: down(NoInputGrad)},
	}
}

// TestLayerNormErrors checks the arguments LayerNorm refuses, and that a
// dropped gradient cannot be taken.
func TestLayerNormErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	x := newInput(g, "x", make([]float32, 2*3*2*2), 2, 3, 2, 2)
	node := func(name string, shape ...int) *gorgonia.Node {
		return newInput(g, name, make([]float32, tensor.Shape(shape).TotalSize()), shape...)
	}
	c3, c4, e := node("c3", 3), node("c4", 4), node("e", 3, 2, 2)
	for i, tc := range []struct {
		gamma, beta *gorgonia.Node
		eps         float32
	}{{c4, c4, 1e-5}, {c3, e, 1e-5}, {e, c3, 1e-5}, {c3, c3, 0}, {node("bad", 3, 4), node("bad2", 3, 4), 1e-5}} {
		if _, err := LayerNorm(x, tc.gamma, tc.beta, tc.eps, 0); err == nil {
			t.Errorf("case %d: LayerNorm(x %v, gamma %v, beta %v, eps %v) did not fail", i, x.Shape(), tc.gamma.Shape(), tc.beta.Shape(), tc.eps)
		}
	}
	if _, err := LayerNormAct(x, c3, c3, 1e-5, LeakyReLU, -1, 0); err == nil {
		t.Error("LayerNormAct took a negative LeakyReLU slope")
	}
	y, err := LayerNorm(x, c3, node("b3", 3), 1e-5, NoParamGrad)
	if err != nil {
		t.Fatal(err)
	}
	cost := gorgonia.Must(gorgonia.Sum(y))
	if _, err := gorgonia.Grad(cost, c3); err == nil {
		t.Error("gradient for gamma taken although dropped")
	}
}

// TestResampleErrors checks the shapes that Upsample2x and MeanPool2 refuse.
func TestResampleErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	odd := newInput(g, "odd", make([]float32, 2*3*5*4), 2, 3, 5, 4)
	if _, err := MeanPool2(odd); err == nil {
		t.Error("MeanPool2 took a 5×4 image")
	}
	flat := newInput(g, "flat", make([]float32, 6), 2, 3)
	if _, err := Upsample2x(flat); err == nil {
		t.Error("Upsample2x took a [2 3] tensor")
	}
	if _, err := MeanPool2(flat); err == nil {
		t.Error("MeanPool2 took a [2 3] tensor")
	}
	a := newInput(g, "a", make([]float32, 6), 2, 3)
	b := newInput(g, "b", make([]float32, 6), 3, 2)
	if _, err := SquaredDiffSum(a, b, 0); err == nil {
		t.Error("SquaredDiffSum took shapes [2 3] and [3 2]")
	}
}

// TestSquaredDiffNoGrad checks that a dropped gradient is no node: taking
// it is an error.
func TestSquaredDiffNoGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	g := gorgonia.NewGraph()
	a := newInput(g, "a", randn(rng, 6), 2, 3)
	b := newInput(g, "b", randn(rng, 6), 2, 3)
	l, err := SquaredDiffSum(a, b, NoParamGrad)
	if err != nil {
		t.Fatal(err)
	}
	cost := gorgonia.Must(gorgonia.Sum(l))
	if _, err := gorgonia.Grad(cost, a); err != nil {
		t.Errorf("gradient for a: %v", err)
	}
	if _, err := gorgonia.Grad(cost, b); err == nil {
		t.Error("gradient for b taken although dropped")
	}
}

// TestFAnoGANFixture runs every case of testdata/fixture_fanogan.json (made
// by make_fixture_fanogan.py with PyTorch 1.13) and compares the output and
// the gradients of sum(out·R) with respect to every input, and for the
// generator's block the BatchNorm running statistics.
func TestFAnoGANFixture(t *testing.T) {
	// As in TestPyTorchFixture: float32 sums in another order than
	// PyTorch's. The blocks chain five layers and normalise twice; their
	// largest difference seen is below 1e-6.
	const tol = 1e-5
	for _, c := range loadFixtureFile(t, "testdata/fixture_fanogan.json", "make_fixture_fanogan.py") {
		runFixtureCase(t, c, tol, func(in map[string]*gorgonia.Node) (*gorgonia.Node, map[string]*BNStats, error) {
			stats := map[string]*BNStats{}
			out, err := buildFAnoGANCase(c, in, stats)
			return out, stats, err
		})
	}
}

// buildFAnoGANCase builds the op of fixture case c on its inputs; the
// BatchNorm statistics it creates go into stats by layer name.
func buildFAnoGANCase(c fixtureCase, in map[string]*gorgonia.Node, stats map[string]*BNStats) (*gorgonia.Node, error) {
	switch c.Op {
	case "upsample2x":
		return Upsample2x(in["x"])
	case "meanpool2":
		return MeanPool2(in["x"])
	case "squared_diff_sum":
		return SquaredDiffSum(in["a"], in["b"], 0)
	case "squared_diff_mean":
		return SquaredDiffMean(in["a"], in["b"], 0)
	case "layernorm":
		act, ok := actByName[c.Params["act"].(string)]
		if !ok {
			return nil, errUnknownCase(c.Params["act"].(string))
		}
		return LayerNormAct(in["x"], in["gamma"], in["beta"], float32(param(c, "eps")), act, float32(param(c, "alpha")), 0)
	case "resblock_up":
		for _, name := range []string{"bn1", "bn2"} {
			stats[name] = &BNStats{
				Mean:     append([]float32(nil), c.Extra[name+".running_mean_before"].Data...),
				Var:      append([]float32(nil), c.Extra[name+".running_var_before"].Data...),
				Momentum: float32(param(c, "momentum")),
				Eps:      float32(param(c, "eps")),
			}
		}
		return ResBlockUp(in["x"], ResUpParams{
			BN1Gamma: in["bn1.gamma"], BN1Beta: in["bn1.beta"], BN1: stats["bn1"],
			W1:       in["w1"],
			BN2Gamma: in["bn2.gamma"], BN2Beta: in["bn2.beta"], BN2: stats["bn2"],
			W2: in["w2"], B2: in["b2"],
			WS: in["ws"], BS: in["bs"],
		}, c.Params["train"] == true, 0)
	case "resblock_down":
		return ResBlockDown(in["x"], ResDownParams{
			LN1Gamma: in["ln1.gamma"], LN1Beta: in["ln1.beta"],
			W1: in["w1"], B1: in["b1"],
			LN2Gamma: in["ln2.gamma"], LN2Beta: in["ln2.beta"],
			W2: in["w2"], B2: in["b2"],
			WS: in["ws"], BS: in["bs"],
		}, float32(param(c, "eps")), 0)
	}
	return nil, errUnknownCase(c.Op)
}

type errUnknownCase string

func (e errUnknownCase) Error() string { return "unknown op " + string(e) }

// TestResBlockErrors checks the kernels and shortcuts the blocks refuse,
// and that a layer's error names the block and the layer.
func TestResBlockErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	node := func(name string, shape ...int) *gorgonia.Node {
		return newInput(g, name, make([]float32, tensor.Shape(shape).TotalSize()), shape...)
	}
	x := node("x", 2, 2, 4, 4)
	c2, c3 := node("c2", 2), node("c3", 3)
	good := ResDownParams{LN1Gamma: c2, LN1Beta: c2, W1: node("w1", 2, 2, 3, 3), LN2Gamma: c2, LN2Beta: c2,
		W2: node("w2", 3, 2, 3, 3), WS: node("ws", 3, 2, 1, 1)}
	if _, err := ResBlockDown(x, good, 1e-5, 0); err != nil {
		t.Fatalf("good block: %v", err)
	}
	for i, tc := range []struct {
		edit func(p *ResDownParams)
		want string
	}{
		0: {func(p *ResDownParams) { p.W1 = node("even", 2, 2, 2, 2); p.W2 = node("even2", 3, 2, 2, 2) }, "square kernels of one odd size"},
		1: {func(p *ResDownParams) { p.WS = node("ws3", 3, 2, 3, 3) }, "WS has shape"},
		2: {func(p *ResDownParams) { p.WS = node("ws4", 4, 2, 1, 1) }, "WS has shape"},
		3: {func(p *ResDownParams) { p.LN2Gamma = c3 }, "ResBlockDown: ln2: nn: LayerNormAct: gamma has shape"},
		4: {func(p *ResDownParams) { p.W2 = nil }, "W2 is nil"},
	} {
		p := good
		tc.edit(&p)
		_, err := ResBlockDown(x, p, 1e-5, 0)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("case %d: error %v, want one containing %q", i, err, tc.want)
		}
	}
	up := ResUpParams{BN1Gamma: c2, BN1Beta: c2, BN1: NewBNStats(2), W1: node("u1", 3, 2, 3, 3),
		BN2Gamma: c3, BN2Beta: c3, BN2: NewBNStats(3), W2: node("u2", 3, 3, 3, 3), WS: node("us", 3, 2, 1, 1)}
	if _, err := ResBlockUp(x, up, true, 0); err != nil {
		t.Fatalf("good up block: %v", err)
	}
	up.BN2 = NewBNStats(2)
	if _, err := ResBlockUp(x, up, true, 0); err == nil || !strings.Contains(err.Error(), "ResBlockUp: bn2") {
		t.Errorf("up block with 2-channel statistics for 3 channels: error %v", err)
	}
}

// TestFAnoGANOpsParallel runs LayerNorm (both kinds of parameters),
// Upsample2x, MeanPool2 and SquaredDiffSum, forward and backward, on
// tensors large enough to be split over workers, with one worker and with
// three: every task writes its own samples, planes or channels, so the
// results must be the same to the bit. It also checks that, once the first
// run is over, a run allocates no buffers (the tensors are 512 KB each).
func TestFAnoGANOpsParallel(t *testing.T) {
	defer SetWorkers(Workers())
	const n, c, h, w = 8, 16, 32, 32
	rng := rand.New(rand.NewPCG(7, 7))
	xd := randn(rng, n*c*h*w)
	gd, bd := randn(rng, c), randn(rng, c)
	ged, bed := randn(rng, c*h*w), randn(rng, c*h*w)
	run := func(workers int) ([][]float32, uint64) {
		SetWorkers(workers)
		g := gorgonia.NewGraph()
		x := newInput(g, "x", xd, n, c, h, w)
		gc, bc := newInput(g, "gc", gd, c), newInput(g, "bc", bd, c)
		ge, be := newInput(g, "ge", ged, c, h, w), newInput(g, "be", bed, c, h, w)
		y1 := gorgonia.Must(LayerNormAct(x, gc, bc, 1e-5, ReLU, 0, 0))
		y2 := gorgonia.Must(LayerNorm(x, ge, be, 1e-5, 0))
		p := gorgonia.Must(MeanPool2(gorgonia.Must(Upsample2x(y1))))
		cost := gorgonia.Must(gorgonia.Sum(gorgonia.Must(SquaredDiffSum(p, y2, 0))))
		grads, err := gorgonia.Grad(cost, x, gc, bc, ge, be)
		if err != nil {
			t.Fatal(err)
		}
		m := gorgonia.NewTapeMachine(g)
		defer m.Close()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		const runs = 5
		for range runs {
			m.Reset()
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		out := [][]float32{values(t, y1), values(t, y2), values(t, p)}
		for _, gn := range grads {
			out = append(out, values(t, gn))
		}
		return out, (after.TotalAlloc - before.TotalAlloc) / runs
	}
	one, _ := run(1)
	three, alloc := run(3)
	for i := range one {
		compare(t, fmt.Sprintf("value %d, 3 workers against 1", i), three[i], one[i], 0)
	}
	const maxPerRun = 64 << 10
	if alloc > maxPerRun {
		t.Errorf("a run allocates %d bytes, want ≤ %d", alloc, maxPerRun)
	}
	t.Logf("%d bytes allocated per run", alloc)
}

// TestFAnoGANNoSecondOrder checks that differentiating a gradient through
// LayerNorm's backward ops (as a double-backward gradient penalty would) is
// an error, not a silently wrong or missing term: the penalty's weight
// gradient must come from first-order passes.
func TestFAnoGANNoSecondOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	g := gorgonia.NewGraph()
	x := newInput(g, "x", randn(rng, 2*3*4*4), 2, 3, 4, 4)
	gamma := newInput(g, "gamma", randn(rng, 3), 3)
	beta := newInput(g, "beta", randn(rng, 3), 3)
	y := gorgonia.Must(LayerNormAct(x, gamma, beta, 1e-5, LeakyReLU, 0.2, 0))
	cost := gorgonia.Must(gorgonia.Sum(gorgonia.Must(MeanPool2(y))))
	gx, err := gorgonia.Grad(cost, x)
	if err != nil {
		t.Fatal(err)
	}
	penalty := gorgonia.Must(gorgonia.Sum(gorgonia.Must(SquaredDiffSum(gx[0], x, NoParamGrad))))
	if _, err := gorgonia.Grad(penalty, gamma); err == nil {
		t.Error("the gradient of an input gradient with respect to gamma was taken")
	}
}
