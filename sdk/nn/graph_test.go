package nn

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// tinyNet is a DCGAN-like chain small enough for a unit test:
//
//	z → Linear → Reshape → BatchNorm → ReLU → ConvTranspose2d → BiasAct tanh
//	  → Conv2d → BatchNorm → LeakyReLU → Flatten → Linear → BCEWithLogits
//
// plus 0.01·AbsDiffSum(generated, real). The ConvTranspose2d and the Conv2d
// share one weight node (wt), so its gradient is the sum of two.
type tinyNet struct {
	g        *gorgonia.ExprGraph
	z        *gorgonia.Node
	params   gorgonia.Nodes // wl1 gamma1 beta1 wt bt gamma2 beta2 wl2
	st       []*BNStats
	gen      *gorgonia.Node
	cost     *gorgonia.Node
	wrt      gorgonia.Nodes
	grads    gorgonia.Nodes
	paramNG  NoGrad
	zOnlyWRT bool
}

const (
	tinyN, tinyZ = 4, 6
)

var tinyShapes = [][]int{
	{64, tinyZ}, // wl1: z → 4×4×4
	{4}, {4},    // gamma1, beta1
	{4, 3, 5, 5}, // wt: ConvT 4→3 channels, and Conv 3→4 channels
	{3},          // bt
	{4}, {4},     // gamma2, beta2
	{1, 4 * 4 * 4}, // wl2
}

// buildTiny builds the net with the given parameter values (random from a
// fixed seed when nil). paramNG is passed to every layer's parameters; with
// zOnly the gradient is taken with respect to z alone (latent mapping),
// otherwise with respect to the parameters.
func buildTiny(t *testing.T, vals [][]float32, paramNG NoGrad, zOnly bool) *tinyNet {
	return buildTinyNet(t, vals, paramNG, zOnly, false)
}

// buildTinyNet is buildTiny with, if smooth, tanh and sigmoid in place of
// ReLU and LeakyReLU, and real images far from any generated one, so that
// the cost has no kinks for finite differences to trip over.
func buildTinyNet(t *testing.T, vals [][]float32, paramNG NoGrad, zOnly, smooth bool) *tinyNet {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 5))
	net := &tinyNet{g: gorgonia.NewGraph(), paramNG: paramNG, zOnlyWRT: zOnly}
	g := net.g
	for i, s := range tinyShapes {
		d := randn(rng, tensor.Shape(s).TotalSize())
		for k := range d {
			d[k] *= 0.3
		}
		if i == 1 || i == 5 { // gammas around 1
			for k := range d {
				d[k] += 1
			}
		}
		if vals != nil {
			d = append(d[:0], vals[i]...)
		}
		net.params = append(net.params, newInput(g, "p"+string(rune('0'+i)), d, s...))
	}
	net.z = newInput(g, "z", randn(rng, tinyN*tinyZ), tinyN, tinyZ)
	realData := randn(rand.New(rand.NewPCG(9, 9)), tinyN*3*8*8)
	if smooth {
		for k := range realData {
			realData[k] = 3 + 0.1*realData[k]
		}
	}
	real := newInput(g, "real", realData, tinyN, 3, 8, 8)
	act1, act2 := ReLU, LeakyReLU
	if smooth {
		act1, act2 = Tanh, Sigmoid
	}
	net.st = []*BNStats{NewBNStats(4), NewBNStats(4)}
	p := net.params
	must := func(n *gorgonia.Node, err error) *gorgonia.Node {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	zng := NoGrad(0)
	if !zOnly {
		zng = NoInputGrad // nobody needs ∂z when training the net
	}
	h := must(Linear(net.z, p[0], paramNG|zng))
	h = must(gorgonia.Reshape(h, tensor.Shape{tinyN, 4, 4, 4})) // gorgonia's own reshape
	h = must(BatchNorm(h, p[1], p[2], net.st[0], true, paramNG))
	h = must(BiasAct(h, nil, act1, 0, paramNG))
	h = must(ConvTranspose2d(h, p[3], 2, 2, 1, paramNG))
	net.gen = must(BiasAct(h, p[4], Tanh, 0, paramNG))
	d := must(Conv2d(net.gen, p[3], 2, 2, paramNG))
	d = must(BatchNorm(d, p[5], p[6], net.st[1], true, paramNG))
	d = must(BiasAct(d, nil, act2, 0.2, paramNG))
	d = must(Flatten(d))
	logit := must(Linear(d, p[7], paramNG))
	bce := must(gorgonia.Sum(must(BCEWithLogits(logit, 1))))
	res := must(gorgonia.Sum(must(AbsDiffSum(net.gen, real, NoParamGrad))))
	net.cost = must(gorgonia.Add(bce, must(gorgonia.Mul(res, gorgonia.NewConstant(float32(0.01))))))
	net.wrt = p
	if zOnly {
		net.wrt = gorgonia.Nodes{net.z}
	}
	var err error
	if net.grads, err = gorgonia.Grad(net.cost, net.wrt...); err != nil {
		t.Fatalf("Grad: %v", err)
	}
	return net
}

func (net *tinyNet) paramValues(t *testing.T) [][]float32 {
	out := make([][]float32, len(net.params))
	for i, p := range net.params {
		out[i] = values(t, p)
	}
	return out
}

// gradValues returns the gradients bound to the wrt nodes' dual values.
func (net *tinyNet) gradValues(t *testing.T) [][]float32 {
	t.Helper()
	out := make([][]float32, len(net.wrt))
	for i, n := range net.wrt {
		gv, err := n.Grad()
		if err != nil {
			t.Fatalf("grad of %v: %v", n, err)
		}
		d, err := float32s(gv)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = append([]float32(nil), d...)
	}
	return out
}

func scalar(t *testing.T, n *gorgonia.Node) float32 {
	t.Helper()
	v, ok := n.Value().Data().(float32)
	if !ok {
		t.Fatalf("%v holds %T, want float32", n, n.Value().Data())
	}
	return v
}

func TestTinyNetTraining(t *testing.T) {
	const tol = 1e-5
	net := buildTiny(t, nil, 0, false)
	m := gorgonia.NewTapeMachine(net.g, gorgonia.BindDualValues(net.params...))
	defer m.Close()
	solver := gorgonia.NewVanillaSolver(gorgonia.WithLearnRate(0.05))
	step := func() float32 {
		t.Helper()
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatalf("run: %v", err)
		}
		c := scalar(t, net.cost)
		if err := solver.Step(gorgonia.NodesToValueGrads(net.params)); err != nil {
			t.Fatalf("solver: %v", err)
		}
		return c
	}
	first := step()
	genBuf := net.gen.Value()
	for range 4 {
		step()
	}
	if net.gen.Value() != genBuf {
		t.Errorf("BiasAct returned a new tensor on a later run; want its buffer reused")
	}

	// (a) A sixth run of the long-lived machine must give what a fresh net
	// and machine give for the same parameter values.
	vals := net.paramValues(t)
	m.Reset()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	cost := scalar(t, net.cost)
	grads := net.gradValues(t)
	if !(cost < first) {
		t.Errorf("cost went from %v to %v in 5 steps of gradient descent; want it lower", first, cost)
	}
	fresh := buildTiny(t, vals, 0, false)
	fm := gorgonia.NewTapeMachine(fresh.g, gorgonia.BindDualValues(fresh.params...))
	if err := fm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if fc := scalar(t, fresh.cost); fc != cost {
		t.Errorf("cost %v after 5 steps, fresh machine gives %v", cost, fc)
	}
	for i, fg := range fresh.gradValues(t) {
		compare(t, "gradient of parameter "+string(rune('0'+i))+" (reused vs fresh machine)", grads[i], fg, tol)
	}
	fm.Close()
	if err := solver.Step(gorgonia.NodesToValueGrads(net.params)); err != nil {
		t.Fatal(err)
	}

	// (b) The heap must stay flat: every op reuses its buffers, so 50 more
	// steps may only add gorgonia's small per-run garbage, which GC frees.
	var before, after runtime.MemStats
	for range 10 {
		step()
	}
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 50 {
		step()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	const maxGrowth = 1 << 20
	if grow := int64(after.HeapAlloc) - int64(before.HeapAlloc); grow > maxGrowth {
		t.Errorf("heap grew by %d bytes over 50 steps, want ≤ %d", grow, maxGrowth)
	}
	perRun := (after.TotalAlloc - before.TotalAlloc) / 50
	t.Logf("heap %d → %d bytes over 50 steps; %d bytes allocated per step", before.HeapAlloc, after.HeapAlloc, perRun)
}

// TestNoGradDropsNodes checks that NoParamGrad keeps every parameter gradient
// op out of the graph of a latent mapping, that NoInputGrad keeps ∂z out of
// the graph of training, and that ∂z is the same either way.
func TestNoGradDropsNodes(t *testing.T) {
	const tol = 1e-5
	count := func(net *tinyNet, marks ...string) int {
		n := 0
		for _, node := range net.g.AllNodes() {
			if node.Op() == nil {
				continue
			}
			s := node.Op().String()
			for _, mk := range marks {
				if strings.Contains(s, mk) {
					n++
					break
				}
			}
		}
		return n
	}
	paramMarks := []string{"∂w", "∂gamma", "∂beta", "∂b"}

	full := buildTiny(t, nil, 0, false)
	// wl1, wl2, wt twice (ConvT and Conv), bt, gamma1, beta1, gamma2, beta2
	if n := count(full, paramMarks...); n != 9 {
		t.Errorf("training graph has %d parameter-gradient ops, want 9", n)
	}
	if n := count(full, "Linear(6→64)∂x"); n != 0 {
		t.Errorf("training graph has %d ∂z ops, want 0 (NoInputGrad)", n)
	}

	mapping := buildTiny(t, full.paramValues(t), NoParamGrad, true)
	if n := count(mapping, paramMarks...); n != 0 {
		t.Errorf("mapping graph has %d parameter-gradient ops, want 0", n)
	}
	// ∂z from the mapping graph equals ∂z from a graph that computes every
	// gradient.
	both := buildTiny(t, full.paramValues(t), 0, true)
	var dz [2][]float32
	for i, net := range []*tinyNet{mapping, both} {
		m := gorgonia.NewTapeMachine(net.g, gorgonia.BindDualValues(net.z))
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		dz[i] = net.gradValues(t)[0]
		m.Close()
	}
	compare(t, "∂z with and without NoParamGrad", dz[0], dz[1], tol)
	if n := count(both, paramMarks...); n == 0 {
		t.Errorf("graph without NoGrad flags has no parameter-gradient ops")
	}
}

// TestTinyNetGradient compares the gradients of the smooth tiny net's cost
// with central differences, for the weight shared by two layers (whose gradient
// gorgonia sums from two of our ops), a BatchNorm scale and the first
// Linear weight.
func TestTinyNetGradient(t *testing.T) {
	// The cost (about 26) is a float32 sum: its rounding error of about
	// 2e-6 over a step of 2·eps is 1e-4; the net is smooth, so the
	// truncation error (eps² times the third derivative) is of that order
	// too. The largest relative error seen is 3e-4.
	const (
		eps = 1e-2
		tol = 5e-3
	)
	net := buildTinyNet(t, nil, 0, false, true)
	m := gorgonia.NewTapeMachine(net.g, gorgonia.BindDualValues(net.params...))
	defer m.Close()
	run := func() float64 {
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		return float64(scalar(t, net.cost))
	}
	run()
	ana := net.gradValues(t)
	for _, i := range []int{0, 3, 5} {
		x, err := float32s(net.params[i].Value())
		if err != nil {
			t.Fatal(err)
		}
		num := make([]float32, len(x))
		for k := range x {
			old := x[k]
			x[k] = old + eps
			lp := run()
			x[k] = old - eps
			lm := run()
			x[k] = old
			num[k] = float32((lp - lm) / (2 * eps))
		}
		compare(t, "tiny net ∂parameter "+string(rune('0'+i)), ana[i], num, tol)
	}
}
