package stylegan2

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// testAugmenter is a small augmenter for the tests: each image is flipped
// horizontally with probability p and shifted in brightness by N(0, 0.2²)
// with probability p; every four Observe calls move p by ±0.05 towards
// D's real logits having mean sign 0.6, as ADA moves it (clamped to
// [0, 1]).
type testAugmenter struct {
	p        float64
	signs    float64
	count    int
	observed int // Observe calls, for the tests
	rng      *rand.PCG
}

func newTestAugmenter(seed uint64) *testAugmenter {
	return &testAugmenter{p: 0.5, rng: rand.NewPCG(seed, 0x617567)}
}

func (a *testAugmenter) Draw(n, c, h, w int) Augmentation {
	r := rand.New(a.rng)
	d := &flipShift{n: n, h: h, w: w, flip: make([]bool, n), shift: make([]float32, n)}
	for i := range n {
		d.flip[i] = r.Float64() < a.p
		if r.Float64() < a.p {
			d.shift[i] = float32(0.2 * r.NormFloat64())
		}
	}
	return d
}

func (a *testAugmenter) Observe(logits []float32) {
	a.observed++
	for _, v := range logits {
		switch {
		case v > 0:
			a.signs++
		case v < 0:
			a.signs--
		}
	}
	a.count += len(logits)
	if a.observed%4 == 0 {
		if a.signs/float64(a.count) > 0.6 {
			a.p = math.Min(1, a.p+0.05)
		} else {
			a.p = math.Max(0, a.p-0.05)
		}
		a.signs, a.count = 0, 0
	}
}

func (a *testAugmenter) P() float64 { return a.p }

func (a *testAugmenter) MarshalBinary() ([]byte, error) {
	rs, err := a.rng.MarshalBinary()
	if err != nil {
		return nil, err
	}
	b := binary.LittleEndian.AppendUint64(nil, math.Float64bits(a.p))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(a.signs))
	b = binary.LittleEndian.AppendUint64(b, uint64(a.count))
	b = binary.LittleEndian.AppendUint64(b, uint64(a.observed))
	return append(b, rs...), nil
}

func (a *testAugmenter) UnmarshalBinary(b []byte) error {
	if len(b) < 32 {
		return errors.New("testAugmenter: short state")
	}
	a.p = math.Float64frombits(binary.LittleEndian.Uint64(b))
	a.signs = math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
	a.count = int(binary.LittleEndian.Uint64(b[16:]))
	a.observed = int(binary.LittleEndian.Uint64(b[24:]))
	if a.rng == nil {
		a.rng = rand.NewPCG(0, 0)
	}
	return a.rng.UnmarshalBinary(b[32:])
}

var _ Augmenter = (*testAugmenter)(nil)

// TestAugmentOp: the op wrapping an augmentation in G's step computes
// D(A(x)) and passes Aᵀ∇D(A(x)) back to x: the same values as D fed A(x)
// outside the graph, with A's Backward applied to its input gradient.
func TestAugmentOp(t *testing.T) {
	f := loadFixture(t)
	const size = 28
	m := fixtureModel(t, f, size)
	n := f.Meta.N
	aug := f.augmentation(size)
	x := gen("aug/x", n*size*size, 0.5, 0)
	run := func(withOp bool) (d, gx []float32) {
		g := gorgonia.NewGraph()
		in := append([]float32(nil), x...)
		if !withOp {
			aug.Apply(in, x)
		}
		xn := gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(n, 1, size, size), tensor.WithBacking(in)), gorgonia.WithName("x"))
		h := xn
		if withOp {
			var err error
			if h, err = augment(xn, &augSlot{a: aug}); err != nil {
				t.Fatal(err)
			}
		}
		dn, _, _, err := m.discriminatorNet(h, m.lookup(netD, m.nodes(g, netD)), Coupled, nil, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		loss, err := meanBCE(dn, 1)
		if err != nil {
			t.Fatal(err)
		}
		var dV gorgonia.Value
		gorgonia.Read(dn, &dV)
		grads, err := gorgonia.Grad(loss, xn)
		if err != nil {
			t.Fatal(err)
		}
		vm := gorgonia.NewTapeMachine(g)
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		gx = append([]float32(nil), f32s(grads[0].Value())...)
		if !withOp {
			back := make([]float32, len(gx))
			aug.Backward(back, gx)
			gx = back
		}
		return append([]float32(nil), f32s(dV)...), gx
	}
	d1, g1 := run(true)
	d2, g2 := run(false)
	for i := range d1 {
		if d1[i] != d2[i] {
			t.Fatalf("D(A(x))[%d]: %v through the op, %v outside", i, d1[i], d2[i])
		}
	}
	var nonzero int
	for i := range g1 {
		if g1[i] != g2[i] {
			t.Fatalf("gradient %d: %v through the op, %v by Backward", i, g1[i], g2[i])
		}
		if g1[i] != 0 {
			nonzero++
		}
	}
	if nonzero == 0 {
		t.Fatal("the gradient through the augmentation is zero")
	}
	// Central differences of Σ R·A(x) (affine in x: exact up to rounding)
	// against the op's gradient, for a draw of the test augmenter.
	a := newTestAugmenter(2).Draw(n, 1, size, size)
	r := gen("aug/R", len(x), 1, 0)
	g := gorgonia.NewGraph()
	xt := tensor.New(tensor.WithShape(n, 1, size, size), tensor.WithBacking(append([]float32(nil), x...)))
	xn := gorgonia.NodeFromAny(g, xt, gorgonia.WithName("x"))
	y, err := augment(xn, &augSlot{a: a})
	if err != nil {
		t.Fatal(err)
	}
	rn := gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(n, 1, size, size), tensor.WithBacking(r)), gorgonia.WithName("R"))
	obj := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(y, rn))))
	var objV gorgonia.Value
	gorgonia.Read(obj, &objV)
	grads, err := gorgonia.Grad(obj, xn)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	eval := func() float64 {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return float64(scalar(objV))
	}
	eval()
	ana := append([]float32(nil), f32s(grads[0].Value())...)
	xs := f32s(xt)
	const h = 0.05
	for _, i := range []int{0, 1, 27, 100, 784 + 5, len(xs) - 1} {
		old := xs[i]
		xs[i] = old + h
		up := eval()
		xs[i] = old - h
		dn := eval()
		xs[i] = old
		if num := (up - dn) / (2 * h); math.Abs(num-float64(ana[i])) > 1e-3*math.Max(1, math.Abs(num)) {
			t.Errorf("∂/∂x[%d]: %v by differences, %v by the op", i, num, ana[i])
		}
	}
	if _, err := augment(gorgonia.NewMatrix(gorgonia.NewGraph(), tensor.Float32, gorgonia.WithShape(2, 3)), &augSlot{}); err == nil {
		t.Fatal("a matrix was augmented")
	}
}

// TestTrainerAugment trains a few steps with the test augmenter: every
// step hands it D's logits on the real images once, the history holds its
// probability at every step and follows it, the losses stay finite, and
// the trainer differs from one without augmentation.
func TestTrainerAugment(t *testing.T) {
	cfg := Config{Size: 28, Width: 2, MaxChannels: 8, ZDim: 8, WDim: 8, MappingLayers: 2}
	tc := DefaultTrainConfig()
	tc.BatchSize, tc.R1Interval = 4, 4
	x := gen("aug/train", 4*28*28, 0.5, 0)
	train := func(aug Augmenter) *Trainer {
		m, err := New(cfg, 3)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewTrainer(m, tc, aug)
		if err != nil {
			t.Fatal(err)
		}
		for range 12 {
			out, err := tr.Step(x, 4)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range out {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("step %d: %s = %v", tr.Steps, k, v)
				}
			}
		}
		tr.Close()
		return tr
	}
	a := newTestAugmenter(5)
	with, without := train(a), train(nil)
	if a.observed != 12 {
		t.Errorf("Observe was called %d times in 12 steps, want 12 (once per minibatch)", a.observed)
	}
	p := with.Model.History.Losses["p"]
	if len(p.Value) != 12 || float64(p.Value[11]) != float32to64(a.P()) {
		t.Errorf("history of p: %v, the augmenter's p %v", p.Value, a.P())
	}
	moved := false
	for _, v := range p.Value {
		if v != 0.5 {
			moved = true
		}
	}
	if !moved {
		t.Error("the augmentation probability never moved")
	}
	if q := without.Model.History.Losses["p"]; len(q.Value) != 12 || q.Value[0] != 0 {
		t.Errorf("without an augmenter, p's history is %v", q.Value)
	}
	same := true
	for i, v := range with.Model.D.Values() {
		for j := range v {
			if v[j] != without.Model.D.Values()[i][j] {
				same = false
			}
		}
	}
	if same {
		t.Error("D trained with augmentation equals D trained without")
	}
}

func float32to64(v float64) float64 { return float64(float32(v)) }
