package ada

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestProbabilities checks that each transform is selected for a fraction
// p·multiplier of the samples (the rotation counted once for its two
// chances), within 4.5 standard deviations.
func TestProbabilities(t *testing.T) {
	const n, p = 20000, 0.3
	m := Grey()
	m[Contrast] = 2
	m[Brightness] = 0.5
	delete(m, Aniso)
	a := New(Options{Multipliers: m, P: p, Fixed: true, Seed: 21})
	b := a.DrawBatch(n, 1, 2, 2)
	var count [NumTransforms]int
	for _, s := range b.Samples {
		for tr := range NumTransforms {
			if s.Applied.Has(tr) {
				count[tr]++
			}
		}
	}
	for tr := range NumTransforms {
		q := p * m[tr]
		got := float64(count[tr]) / n
		tol := 4.5*math.Sqrt(q*(1-q)/n) + 1e-12
		t.Logf("%-10v %.4f, want %.4f", tr, got, q)
		if math.Abs(got-q) > tol {
			t.Errorf("%v: fraction %.4f, want %.4f ± %.4f", tr, got, q, tol)
		}
	}
}

// meanStd returns the mean and standard deviation of v.
func meanStd(v []float64) (float64, float64) {
	var s, s2 float64
	for _, x := range v {
		s += x
	}
	mean := s / float64(len(v))
	for _, x := range v {
		s2 += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(s2 / float64(len(v)-1))
}

// TestStrengths checks the distributions of the drawn values at p = 1
// against the defaults: their means within 5 standard errors, their
// standard deviations within 3%.
func TestStrengths(t *testing.T) {
	const n, h, w = 20000, 32, 48
	a := New(Options{P: 1, Fixed: true, Seed: 22})
	vals := map[string][]float64{}
	for range n {
		d := drawParams(a.rng, &a.o, &a.mult, 1, h, w)
		add := func(k string, v float64) { vals[k] = append(vals[k], v) }
		add("xflip", float64(d.xflip))
		add("rot90", float64(d.rot90))
		add("xint/w", d.xint[0]/w)
		add("xint/h", d.xint[1]/h)
		add("log2 scale", math.Log2(d.scale))
		add("rotation", d.preRot+d.postRot)
		add("log2 aniso", math.Log2(d.aniso))
		add("xfrac/w", d.xfrac[0]/w)
		add("xfrac/h", d.xfrac[1]/h)
		add("brightness", d.brightness)
		add("log2 contrast", math.Log2(d.contrast))
		add("lumaflip", float64(d.lumaflip))
		if math.Abs(d.xint[0]) > math.Round(0.125*w) || math.Abs(d.xint[1]) > math.Round(0.125*h) {
			t.Fatalf("integer translation %v beyond 0.125 of %dx%d", d.xint, h, w)
		}
		if d.xint[0] != math.Round(d.xint[0]) || d.xint[1] != math.Round(d.xint[1]) {
			t.Fatalf("integer translation %v", d.xint)
		}
	}
	// The rotation at p = 1: both chances taken, each uniform in ±π, so
	// the sum has variance 2π²/3. The integer translation: uniform in
	// ±0.125 of the size, rounded (the rounding adds 1/12 pixel² of variance).
	uni := 0.125 / math.Sqrt(3)
	for _, c := range []struct {
		name      string
		mean, std float64
	}{
		{"xflip", 0.5, 0.5},
		{"rot90", 1.5, math.Sqrt(15.0 / 12)},
		{"xint/w", 0, math.Sqrt(uni*uni + 1.0/12/(w*w))},
		{"xint/h", 0, math.Sqrt(uni*uni + 1.0/12/(h*h))},
		{"log2 scale", 0, 0.2},
		{"rotation", 0, math.Pi * math.Sqrt(2.0/3)},
		{"log2 aniso", 0, 0.2},
		{"xfrac/w", 0, 0.125},
		{"xfrac/h", 0, 0.125},
		{"brightness", 0, 0.2},
		{"log2 contrast", 0, 0.5},
		{"lumaflip", 0.5, 0.5},
	} {
		mean, std := meanStd(vals[c.name])
		se := c.std / math.Sqrt(n)
		if math.Abs(mean-c.mean) > 5*se || math.Abs(std-c.std) > 0.03*c.std {
			t.Errorf("%s: mean %.4f, std %.4f, want %.4f, %.4f", c.name, mean, std, c.mean, c.std)
		}
	}
}

// TestTuning checks the heuristic: p moves by batch·Interval/(Kimg·1000)
// every Interval calls, up when r_t > Target, down when below, not at all
// when equal or Fixed, and stays in [0, 1].
func TestTuning(t *testing.T) {
	const batch = 32
	const step = batch * 4 / 500e3
	logits := func(pos, neg, zero int) []float32 {
		var l []float32
		for range pos {
			l = append(l, 2)
		}
		for range neg {
			l = append(l, -0.5)
		}
		for range zero {
			l = append(l, 0)
		}
		return l
	}
	up, down := logits(batch, 0, 0), logits(0, batch, 0)

	a := New(Options{Seed: 1})
	for i := range 3 {
		a.Observe(up)
		if a.P() != 0 || !math.IsNaN(a.RT()) {
			t.Fatalf("call %d: p %v, r_t %v before the interval ends", i, a.P(), a.RT())
		}
	}
	a.Observe(up)
	if a.P() != step || a.RT() != 1 {
		t.Fatalf("p %v, r_t %v after one interval, want %v, 1", a.P(), a.RT(), step)
	}
	for range 4 {
		a.Observe(down)
	}
	if a.P() != 0 || a.RT() != -1 {
		t.Fatalf("p %v, r_t %v, want 0, -1", a.P(), a.RT())
	}
	for range 8 {
		a.Observe(down)
	}
	if a.P() != 0 {
		t.Fatalf("p %v below 0", a.P())
	}

	// r_t = 0.6 exactly: sign(0) = 0, p stays.
	b := New(Options{P: 0.5, Interval: 1, Seed: 1})
	b.Observe(logits(3, 1, 1)) // (3 - 1) / 5 = 0.4
	if want := 0.5 - 5/500e3; b.P() != want || b.RT() != 0.4 {
		t.Fatalf("p %v, r_t %v, want %v, 0.4", b.P(), b.RT(), want)
	}
	p := b.P()
	b.Observe(logits(4, 1, 0)) // 0.6
	if b.P() != p || b.RT() != 0.6 {
		t.Fatalf("p %v, r_t %v at r_t = 0.6, want %v", b.P(), b.RT(), p)
	}
	nan := []float32{float32(math.NaN()), 1, 1, -1, 1}
	b.Observe(nan) // NaN counts as 0: r_t = 2/5
	if b.RT() != 0.4 {
		t.Fatalf("r_t %v with a NaN, want 0.4", b.RT())
	}
	p = b.P()
	b.Observe(nil) // no logits: nothing changes
	if b.P() != p || b.RT() != 0.4 {
		t.Fatalf("an empty interval changed p or r_t")
	}

	// The clamp at 1, which the reference code lacks.
	c := New(Options{P: 0.99, Kimg: 0.1, Interval: 2, Seed: 1})
	c.Observe(up)
	c.Observe(up)
	if c.P() != 1 {
		t.Fatalf("p %v, want 1", c.P())
	}

	// Fixed: r_t is recorded, p stays.
	d := New(Options{P: 0.2, Fixed: true, Interval: 1, Seed: 1})
	d.Observe(up)
	if d.P() != 0.2 || d.RT() != 1 {
		t.Fatalf("fixed: p %v, r_t %v, want 0.2, 1", d.P(), d.RT())
	}
}

// TestTuningConverges runs the heuristic against a simulated
// discriminator whose real logits are positive with probability 1 - p
// (more augmentation, less overfitting): p settles where the mean sign
// 1 - 2p is the target 0.6, at p = 0.2.
func TestTuningConverges(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 23))
	a := New(Options{Kimg: 10, Seed: 1})
	l := make([]float32, 32)
	var sum float64
	const steps, tail = 20000, 10000
	for i := range steps {
		for k := range l {
			l[k] = 1
			if r.Float64() < a.P() {
				l[k] = -1
			}
		}
		a.Observe(l)
		if i >= steps-tail {
			sum += a.P()
		}
	}
	mean := sum / tail
	t.Logf("p over the last %d minibatches: mean %.4f", tail, mean)
	if math.Abs(mean-0.2) > 0.02 {
		t.Errorf("p settles at %.4f, want 0.2", mean)
	}
}
