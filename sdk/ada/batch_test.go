package ada

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func randSlice(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func norm(a []float32) float64 { return math.Sqrt(dot(a, a)) }

// linear returns b's batch without the colour offsets: Apply's linear part.
func linear(b *Batch) *Batch {
	s := slices.Clone(b.Samples)
	for i := range s {
		s[i].Offset = 0
	}
	return NewBatch(b.N, b.C, b.H, b.W, s)
}

var shapes = []struct{ n, c, h, w int }{
	{6, 1, 16, 16},
	{5, 2, 9, 11}, // odd, non-square, two channels
	{4, 1, 1, 7},  // one row
	{3, 3, 5, 1},  // one column
}

// TestAdjoint checks <Apply_lin(x), y> = <x, Backward(y)> for random
// draws at p = 1, and that Apply(0) is the offset of each sample.
func TestAdjoint(t *testing.T) {
	const tol = 1e-6 // relative to |Apply_lin(x)|·|y|
	r := rand.New(rand.NewPCG(1, 1))
	for k, sh := range shapes {
		for seed := range uint64(4) {
			a := New(Options{P: 1, Fixed: true, Seed: seed})
			b := a.DrawBatch(sh.n, sh.c, sh.h, sh.w)
			lin := linear(b)
			size := sh.n * sh.c * sh.h * sh.w
			x, y := randSlice(r, size), randSlice(r, size)
			ax, bty := make([]float32, size), make([]float32, size)
			lin.Apply(ax, x)
			b.Backward(bty, y)
			lhs, rhs := dot(ax, y), dot(x, bty)
			if d := math.Abs(lhs - rhs); d > tol*norm(ax)*norm(y) {
				t.Errorf("%d, seed %d: <Ax, y> = %.9g, <x, A'y> = %.9g", k, seed, lhs, rhs)
			}
			zero := make([]float32, size)
			b.Apply(ax, zero)
			chw := sh.c * sh.h * sh.w
			for i, s := range b.Samples {
				for _, v := range ax[i*chw : (i+1)*chw] {
					if v != float32(s.Offset) {
						t.Fatalf("%d, seed %d, sample %d: Apply(0) = %v, want the offset %v", k, seed, i, v, s.Offset)
					}
				}
			}
		}
	}
}

// TestFiniteDifference checks Backward against central differences of
// L(x) = sum(Apply(x)·R).
func TestFiniteDifference(t *testing.T) {
	const (
		eps = 1e-2
		tol = 1e-3
	)
	r := rand.New(rand.NewPCG(2, 2))
	for k, sh := range shapes[:2] {
		a := New(Options{P: 1, Fixed: true, Seed: 3})
		b := a.DrawBatch(sh.n, sh.c, sh.h, sh.w)
		size := sh.n * sh.c * sh.h * sh.w
		x, R := randSlice(r, size), randSlice(r, size)
		grad := make([]float32, size)
		b.Backward(grad, R)
		out := make([]float32, size)
		loss := func() float64 {
			b.Apply(out, x)
			return dot(out, R)
		}
		for range 40 {
			i := r.IntN(size)
			x0 := x[i]
			x[i] = x0 + eps
			xp, lp := x[i], loss()
			x[i] = x0 - eps
			xm, lm := x[i], loss()
			x[i] = x0
			fd := (lp - lm) / float64(xp-xm)
			if d := math.Abs(fd - float64(grad[i])); d > tol*max(1, math.Abs(fd)) {
				t.Errorf("%d: dL/dx[%d]: Backward %.6g, finite difference %.6g", k, i, grad[i], fd)
			}
		}
	}
}

// TestInPlace checks that Apply and Backward may write over their input.
func TestInPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	a := New(Options{P: 1, Fixed: true, Seed: 4})
	b := a.DrawBatch(5, 2, 8, 6)
	x := randSlice(r, 5*2*8*6)
	for _, f := range []func(dst, x []float32){b.Apply, b.Backward} {
		want := make([]float32, len(x))
		f(want, x)
		got := slices.Clone(x)
		f(got, got)
		if !slices.Equal(got, want) {
			t.Error("in place differs from out of place")
		}
	}
}

// TestIntegerExact checks that x-flips, quarter turns and integer
// translations gather pixels exactly, as the inverse map and reflection
// about the borders say, and that flips and turns alone permute them.
func TestIntegerExact(t *testing.T) {
	const n, h, w = 64, 8, 8
	reflectInt := func(k, n int) int {
		for k < 0 || k >= n {
			if k < 0 {
				k = -1 - k
			} else {
				k = 2*n - 1 - k
			}
		}
		return k
	}
	x := make([]float32, n*h*w)
	for i := range x {
		x[i] = float32(i%(h*w)) + 0.25
	}
	for _, m := range []map[Transform]float64{
		{XFlip: 1, Rotate90: 1},
		{XFlip: 1, Rotate90: 1, XInt: 1},
	} {
		a := New(Options{Multipliers: m, P: 1, Fixed: true, Seed: 5})
		b := a.DrawBatch(n, 1, h, w)
		out := make([]float32, len(x))
		b.Apply(out, x)
		for i, s := range b.Samples {
			if k := b.kinds[i]; k == kindBilinear {
				t.Fatalf("sample %d: bilinear plan for %v", i, s.Geom)
			}
			g := s.Geom
			const cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
			for yo := range h {
				for xo := range w {
					u, v := float64(xo)-cx, float64(yo)-cy
					xi := reflectInt(int(math.Round(g[0]*u+g[1]*v+g[2]+cx)), w)
					yi := reflectInt(int(math.Round(g[3]*u+g[4]*v+g[5]+cy)), h)
					got, want := out[i*h*w+yo*w+xo], x[i*h*w+yi*w+xi]
					if got != want {
						t.Fatalf("sample %d %v: pixel (%d, %d) = %v, want %v", i, g, xo, yo, got, want)
					}
				}
			}
			if m[XInt] == 0 {
				o := slices.Clone(out[i*h*w : (i+1)*h*w])
				slices.Sort(o)
				if !slices.Equal(o, x[i*h*w:(i+1)*h*w]) {
					t.Fatalf("sample %d: flips and turns are not a permutation", i)
				}
			}
		}
	}
	// The turn by a quarter, by hand: out[i][j] = x[j][W-1-i].
	s := Identity()
	s.Geom = quarterTurns[1]
	b := NewBatch(1, 1, h, w, []Sample{s})
	out := make([]float32, h*w)
	b.Apply(out, x[:h*w])
	for i := range h {
		for j := range w {
			if out[i*w+j] != x[j*w+w-1-i] {
				t.Fatalf("quarter turn: out[%d][%d] = %v, want %v", i, j, out[i*w+j], x[j*w+w-1-i])
			}
		}
	}
}

// TestIdentityAtZero checks that at p = 0 a batch copies bit for bit
// (NaN payloads, -0, infinities, subnormals), allocates nothing in Apply
// and Backward, and draws no random numbers.
func TestIdentityAtZero(t *testing.T) {
	a := New(Options{Seed: 6})
	before, _ := a.MarshalBinary()
	b := a.DrawBatch(4, 2, 5, 7)
	after, _ := a.MarshalBinary()
	if string(before) != string(after) {
		t.Error("Draw at p = 0 changed the state")
	}
	if !b.Identity() {
		t.Fatal("batch at p = 0 is not the identity")
	}
	r := rand.New(rand.NewPCG(7, 7))
	x := randSlice(r, 4*2*5*7)
	x[0], x[1], x[2], x[3] = math.Float32frombits(0x7fc00123), float32(math.Copysign(0, -1)), float32(math.Inf(-1)), math.Float32frombits(1)
	out := make([]float32, len(x))
	for name, f := range map[string]func(dst, x []float32){"Apply": b.Apply, "Backward": b.Backward} {
		f(out, x)
		for i := range x {
			if math.Float32bits(out[i]) != math.Float32bits(x[i]) {
				t.Fatalf("%s: element %d is %x, want %x", name, i, math.Float32bits(out[i]), math.Float32bits(x[i]))
			}
		}
		if n := testing.AllocsPerRun(10, func() { f(out, x) }); n != 0 {
			t.Errorf("%s at p = 0: %v allocations", name, n)
		}
	}
}

// TestReflect checks reflectCoord on values that grid_sample (reflection,
// align_corners=False) maps, on a row of 4 pixels, to the ones listed.
func TestReflect(t *testing.T) {
	for i, c := range []struct {
		x    float64
		n    int
		want float64
	}{
		{2.5, 4, 2.5},
		{-0.25, 4, 0},    // between the border and the first centre: clipped
		{-0.75, 4, 0},    // reflected about -0.5 to -0.25, clipped
		{-1.25, 4, 0.25}, // reflected about -0.5
		{4.25, 4, 2.75},  // about 3.5
		{3.75, 4, 3},     // about 3.5 to 3.25, clipped
		{-5.25, 4, 2.75}, // about -0.5, then 3.5
		{9, 4, 1},        // about 3.5, then -0.5
		{-10.5, 4, 1.5},  // three times
		{0.3, 1, 0},
		{math.NaN(), 4, 0},
		{math.Inf(1), 4, 0},
		{1e300, 4, 0},
	} {
		if got := reflectCoord(c.x, c.n); got != c.want {
			t.Errorf("%d: reflectCoord(%v, %d) = %v, want %v", i, c.x, c.n, got, c.want)
		}
	}
}

// TestExtremeOptions checks that strengths far beyond any use (infinite
// scale factors, translations of 1e12 sizes) neither panic nor read
// outside the image.
func TestExtremeOptions(t *testing.T) {
	a := New(Options{P: 1, Fixed: true, Seed: 8, XIntMax: 1e12, ScaleStd: 1e4, AnisoStd: 1e4,
		XFracStd: 1e12, ContrastStd: 10, RotateMax: 1e6})
	r := rand.New(rand.NewPCG(9, 9))
	for range 20 {
		b := a.DrawBatch(4, 1, 6, 5)
		x := randSlice(r, 4*6*5)
		out := make([]float32, len(x))
		b.Apply(out, x)
		b.Backward(out, x)
	}
}
