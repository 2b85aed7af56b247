package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
)

// winoGeoms1 are 3×3 stride-1 pad-1 geometries (f-AnoGAN's residual
// blocks): batches of 1, 3 and some 60 samples, channel counts of 8, 16 and
// 33 (33 leaves partial groups of 8 lanes), the planes of f-AnoGAN's 28×28
// and 64×64 models (7, 14, 28; 4 to 64) and sizes that are no multiple of 4
// or not square. Those with fewer than winogradMinC channels and the planes
// of 5×5, 5×9, 1×1 and 2×3 do not take the Winograd path (useWinograd);
// the tests call its kernels directly.
func winoGeoms1() []geom {
	var gs []geom
	for _, c := range []struct{ n, c, co, h, w int }{
		{1, 16, 16, 32, 32}, {3, 33, 16, 28, 28}, {3, 16, 33, 14, 14}, {60, 16, 16, 7, 7},
		{1, 33, 33, 64, 64}, {3, 16, 16, 5, 5}, {1, 16, 16, 4, 4}, {2, 16, 24, 8, 8},
		{3, 17, 16, 16, 16}, {3, 8, 8, 7, 7}, {2, 8, 33, 14, 14}, {1, 33, 8, 28, 28},
		{64, 8, 16, 4, 4}, {2, 16, 16, 5, 9}, {1, 16, 16, 1, 1}, {2, 16, 16, 2, 3},
		{1, 16, 8, 64, 64}, {3, 8, 16, 32, 32}, {2, 16, 16, 13, 6},
	} {
		gs = append(gs, withOut(geom{n: c.n, c: c.c, h: c.h, w: c.w, co: c.co, k: 3, s: 1, p: 1}))
	}
	return gs
}

// naiveData and naiveFilter are the defining formulas of the two backward
// kernels in float64: gx[n,c,ih,iw] = Σ w[o,c,u,v]·gy[n,o,i,j] and
// gw[o,c,u,v] = Σ x[n,c,ih,iw]·gy[n,o,i,j] over ih = i·s-p+u, iw = j·s-p+v.
func naiveData(g *geom, gy, w []float32) []float32 {
	gx := make([]float64, g.n*g.inSize())
	naiveTaps(g, func(n, o, c, u, v, i, j, ih, iw int) {
		gx[((n*g.c+c)*g.h+ih)*g.w+iw] += float64(w[((o*g.c+c)*g.k+u)*g.k+v]) * float64(gy[((n*g.co+o)*g.ho+i)*g.wo+j])
	})
	return to32(gx)
}

func naiveFilter(g *geom, x, gy []float32) []float32 {
	gw := make([]float64, g.co*g.rows())
	naiveTaps(g, func(n, o, c, u, v, i, j, ih, iw int) {
		gw[((o*g.c+c)*g.k+u)*g.k+v] += float64(x[((n*g.c+c)*g.h+ih)*g.w+iw]) * float64(gy[((n*g.co+o)*g.ho+i)*g.wo+j])
	})
	return to32(gw)
}

// naiveTaps calls f for every tap of every output pixel that reads the
// input (not its padding).
func naiveTaps(g *geom, f func(n, o, c, u, v, i, j, ih, iw int)) {
	for n := range g.n {
		for o := range g.co {
			for c := range g.c {
				for u := range g.k {
					for v := range g.k {
						for i := range g.ho {
							ih := i*g.s - g.p + u
							if ih < 0 || ih >= g.h {
								continue
							}
							for j := range g.wo {
								iw := j*g.s - g.p + v
								if iw >= 0 && iw < g.w {
									f(n, o, c, u, v, i, j, ih, iw)
								}
							}
						}
					}
				}
			}
		}
	}
}

func to32(s []float64) []float32 {
	r := make([]float32, len(s))
	for i, v := range s {
		r[i] = float32(v)
	}
	return r
}

// TestWinogradStride1MatchesDirect checks the Winograd forward, data and
// filter kernels of 3×3 stride-1 convolutions (winoForward, winoData,
// winoFilter) against the im2col kernels on every geometry in winoGeoms1,
// for 1 to 3 workers, with the default chunks, chunks of a single sample
// and chunks of several that leave a shorter last one, and that outputs are
// overwritten, not accumulated. It also measures both paths against the
// float64 defining formulas. Errors are max|a-b| / max(1, max|b|) over a
// tensor (inputs and weights standard normal). With -v it logs the largest
// of each kernel; seen: Winograd against im2col up to about 5e-6
// (forward), 6e-6 (data) and 4e-6 (filter), the same against float64, where
// im2col's own error is up to about 7e-7 (forward), 2e-7 (data) and 4e-7
// (filter): F(4×4, 3×3) loses about 3 bits more than the direct sums, as
// its transforms scale by up to 8 and 1/24.
func TestWinogradStride1MatchesDirect(t *testing.T) {
	defer func(v, v1, t1 int) { winoMaxFloats, winoMaxFloats1, winoMinTiles1 = v, v1, t1 }(winoMaxFloats, winoMaxFloats1, winoMinTiles1)
	defer SetWorkers(Workers())
	// The default chunks; a sample at a time; chunks of 28 tiles' samples
	// (7 samples of 7×7, 2 of 14×14), leaving a shorter last chunk.
	bounds := []struct{ maxF, maxF1, minT1 int }{
		{winoMaxFloats, winoMaxFloats1, winoMinTiles1}, {1, winoMaxFloats1, winoMinTiles1}, {winoMaxFloats, 1, 28},
	}
	const tol = 2e-5
	rng := rand.New(rand.NewPCG(51, 52))
	kinds := []string{"forward", "data", "filter"}
	var worst, worst64, im2col64 [3]float64
	for gi, g := range winoGeoms1() {
		x := randn(rng, g.n*g.inSize())
		w := randn(rng, g.co*g.rows())
		gy := randn(rng, g.n*g.outSize())
		want := [3][]float32{make([]float32, len(gy)), make([]float32, len(x)), make([]float32, len(w))}
		direct(func() {
			SetWorkers(2)
			convForward(&g, x, w, want[0])
			convBackwardData(&g, gy, w, want[1])
			convBackwardFilter(&g, x, gy, want[2])
		})
		exact := [3][]float32{naiveConv(&g, x, w), naiveData(&g, gy, w), naiveFilter(&g, x, gy)}
		for k := range 3 {
			im2col64[k] = math.Max(im2col64[k], maxRelDiff(want[k], exact[k]))
		}
		for _, nw := range []int{1, 2, 3} {
			SetWorkers(nw)
			for _, bd := range bounds {
				winoMaxFloats, winoMaxFloats1, winoMinTiles1 = bd.maxF, bd.maxF1, bd.minT1
				what := fmt.Sprintf("geometry %d %+v, workers %d, chunks of %d samples", gi, g, nw, winoBatch(&g))
				got := [3][]float32{randn(rng, len(gy)), randn(rng, len(x)), randn(rng, len(w))} // garbage that must be overwritten
				winoForward(&g, x, w, got[0], nil)
				winoData(&g, gy, w, got[1])
				winoFilter(&g, x, gy, got[2], nil)
				for k := range 3 {
					d := maxRelDiff(got[k], want[k])
					worst[k] = math.Max(worst[k], d)
					worst64[k] = math.Max(worst64[k], maxRelDiff(got[k], exact[k]))
					if d > tol {
						t.Errorf("%s: %s differs from the im2col kernel by %g", what, kinds[k], d)
					}
				}
			}
		}
	}
	for k := range 3 {
		t.Logf("%s: Winograd vs im2col %.3g, Winograd vs float64 %.3g, im2col vs float64 %.3g", kinds[k], worst[k], worst64[k], im2col64[k])
	}
}

// TestWinogradStride1Geometries checks which stride-1 geometries take the
// Winograd path.
func TestWinogradStride1Geometries(t *testing.T) {
	for _, c := range []struct {
		g    geom
		want bool
	}{
		{withOut(geom{n: 16, c: 64, h: 32, w: 32, co: 64, k: 3, s: 1, p: 1}), true},
		{withOut(geom{n: 1, c: 32, h: 7, w: 7, co: 32, k: 3, s: 1, p: 1}), true},
		{withOut(geom{n: 1, c: 32, h: 3, w: 3, co: 32, k: 3, s: 1, p: 1}), true},
		{withOut(geom{n: 1, c: 32, h: 4, w: 4, co: 32, k: 3, s: 1, p: 1}), true},
		{withOut(geom{n: 1, c: 32, h: 6, w: 9, co: 32, k: 3, s: 1, p: 1}), true},
		{withOut(geom{n: 64, c: 512, h: 28, w: 28, co: 512, k: 3, s: 1, p: 1}), true},
		{withOut(geom{n: 1, c: 32, h: 1, w: 1, co: 32, k: 3, s: 1, p: 1}), false},   // tiles mostly padding
		{withOut(geom{n: 1, c: 32, h: 2, w: 2, co: 32, k: 3, s: 1, p: 1}), false},   // tiles mostly padding
		{withOut(geom{n: 1, c: 64, h: 5, w: 5, co: 64, k: 3, s: 1, p: 1}), false},   // tiles mostly padding
		{withOut(geom{n: 1, c: 64, h: 1, w: 64, co: 64, k: 3, s: 1, p: 1}), false},  // one row
		{withOut(geom{n: 1, c: 15, h: 32, w: 32, co: 64, k: 3, s: 1, p: 1}), false}, // too few channels
		{withOut(geom{n: 1, c: 16, h: 32, w: 32, co: 64, k: 3, s: 1, p: 1}), false}, // below winogradMinC1
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 31, k: 3, s: 1, p: 1}), false}, // below winogradMinC1
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 3, k: 3, s: 1, p: 1}), false},  // too few channels
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 64, k: 3, s: 1, p: 0}), false}, // no padding
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 64, k: 3, s: 1, p: 2}), false}, // padding 2
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 64, k: 1, s: 1, p: 0}), false}, // 1×1
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 64, k: 5, s: 1, p: 2}), false}, // 5×5
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 64, k: 3, s: 2, p: 1}), false}, // stride 2, two taps
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 64, k: 3, s: 3, p: 1}), false}, // stride 3
	} {
		if got := useWinograd(&c.g); got != c.want {
			t.Errorf("useWinograd(%+v) = %v, want %v", c.g, got, c.want)
		}
	}
}

// TestWinogradStride1Cache checks that the cached kernels of a stride-1
// convolution follow its weights when they change in place (forward and
// data kernels, between other weights' lookups, with and without eviction),
// and that the cache's count of values matches its entries when stride-1
// (c input planes) and stride-2 (4c) entries mix.
func TestWinogradStride1Cache(t *testing.T) {
	defer func(v int) { winoCacheMaxFloats = v }(winoCacheMaxFloats)
	ReleaseKernelCache()
	rng := rand.New(rand.NewPCG(53, 54))
	g1 := withOut(geom{n: 2, c: 16, h: 9, w: 9, co: 24, k: 3, s: 1, p: 1})
	g2 := withOut(geom{n: 2, c: 16, h: 8, w: 8, co: 24, k: 5, s: 2, p: 2})
	x1, gy1 := randn(rng, g1.n*g1.inSize()), randn(rng, g1.n*g1.outSize())
	x2 := randn(rng, g2.n*g2.inSize())
	w := randn(rng, g1.co*g1.rows())
	for _, bound := range []int{256 << 20, 1} {
		winoCacheMaxFloats = bound
		for step := range 3 {
			y, want := make([]float32, len(gy1)), make([]float32, len(gy1))
			gx, wantX := make([]float32, len(x1)), make([]float32, len(x1))
			convForward(&g1, x1, w, y)
			convBackwardData(&g1, gy1, w, gx)
			direct(func() {
				convForward(&g1, x1, w, want)
				convBackwardData(&g1, gy1, w, wantX)
			})
			if d := max(maxRelDiff(y, want), maxRelDiff(gx, wantX)); d > 2e-5 {
				t.Fatalf("cache bound %d, step %d: differs from the direct kernels by %g", bound, step, d)
			}
			w[rng.IntN(len(w))] += 0.5 // one weight changes, as after an update
			// Other tensors' kernels, of both kinds, come and go in between.
			convForward(&g1, x1, randn(rng, len(w)), y)
			convForward(&g2, x2, randn(rng, g2.co*g2.rows()), make([]float32, g2.n*g2.outSize()))
		}
	}
	winoCache.mu.Lock()
	var sum int
	for k := range winoCache.m {
		sum += k.floats()
	}
	if sum != winoCache.floats {
		t.Errorf("cache counts %d values, its entries hold %d", winoCache.floats, sum)
	}
	winoCache.mu.Unlock()
	ReleaseKernelCache()
}

// TestWinogradStride1Graph runs Conv2d(x, w, 1, 1, 0) forward and backward
// (gradients of Σ out·R with respect to x and w) through a TapeMachine,
// once on the Winograd path and once on the im2col path, and compares the
// output and both gradients.
func TestWinogradStride1Graph(t *testing.T) {
	defer func(v int) { winogradMinC1 = v }(winogradMinC1)
	winogradMinC1 = 16
	for _, s := range []struct{ n, c, co, h int }{{4, 16, 32, 14}, {2, 33, 16, 7}} {
		g := gorgonia.NewGraph()
		rng := rand.New(rand.NewPCG(55, uint64(s.h)))
		x := newInput(g, "x", randn(rng, s.n*s.c*s.h*s.h), s.n, s.c, s.h, s.h)
		w := newInput(g, "w", randn(rng, s.co*s.c*9), s.co, s.c, 3, 3)
		out, err := Conv2d(x, w, 1, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		geo := withOut(geom{n: s.n, c: s.c, h: s.h, w: s.h, co: s.co, k: 3, s: 1, p: 1})
		if !useWinograd(&geo) {
			t.Fatalf("%+v does not take the Winograd path", geo)
		}
		r := newInput(g, "R", randn(rng, out.Shape().TotalSize()), out.Shape()...)
		loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(out, r))))
		grads, err := gorgonia.Grad(loss, x, w)
		if err != nil {
			t.Fatal(err)
		}
		m := gorgonia.NewTapeMachine(g)
		run := func() [][]float32 {
			m.Reset()
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			return [][]float32{values(t, out), values(t, grads[0]), values(t, grads[1])}
		}
		got := run()
		var want [][]float32
		direct(func() { want = run() })
		m.Close()
		for i, what := range []string{"output", "x gradient", "w gradient"} {
			d := maxRelDiff(got[i], want[i])
			if d > 2e-5 {
				t.Errorf("%+v: %s: Winograd and im2col differ by %g", s, what, d)
			} else if testing.Verbose() {
				t.Logf("%+v: %s: Winograd and im2col differ by %.3g", s, what, d)
			}
		}
	}
}

// TestFAnoGANFixtureWinograd is TestFAnoGANFixture with winogradMinC
// lowered to 1, so that the residual blocks' 3×3 convolutions (3 and 4
// channels on 3×3 to 6×6 planes) take the Winograd path and are checked
// against PyTorch, with the same tolerance.
func TestFAnoGANFixtureWinograd(t *testing.T) {
	defer func(v, v1 int) { winogradMinC, winogradMinC1 = v, v1 }(winogradMinC, winogradMinC1)
	winogradMinC, winogradMinC1 = 1, 1
	const tol = 1e-5
	n := 0
	for _, c := range loadFixtureFile(t, "testdata/fixture_fanogan.json", "make_fixture_fanogan.py") {
		if !slices.Contains([]string{"resblock_up", "resblock_down"}, c.Op) {
			continue
		}
		n++
		runFixtureCase(t, c, tol, func(in map[string]*gorgonia.Node) (*gorgonia.Node, map[string]*BNStats, error) {
			stats := map[string]*BNStats{}
			out, err := buildFAnoGANCase(c, in, stats)
			return out, stats, err
		})
	}
	if n == 0 {
		t.Fatal("no residual block in the fixture")
	}
}

// TestWinogradKeptTiles runs training-style graphs through
// Conv2d(x, w, s, p, 0) on the Winograd path, whose filter gradients take
// the forward passes' transformed inputs (winoTiles): a stride-1 3×3
// convolution, a ReLU, a second one (whose input is an op's output) and a
// stride-2 5×5 one, with the loss Σ out·R (so that the last output
// gradient does not depend on the forward pass). Each graph runs several
// times with x changed in place in between, in one chunk of samples and in
// several (winoMaxFloats1 and winoMinTiles1 shrunk), and its output and
// gradients must match the im2col path's; the tiles must have been taken
// by every filter gradient.
func TestWinogradKeptTiles(t *testing.T) {
	defer func(v, f, m int) { winogradMinC1, winoMaxFloats1, winoMinTiles1 = v, f, m }(winogradMinC1, winoMaxFloats1, winoMinTiles1)
	winogradMinC1 = 16
	for _, s := range []struct {
		n, c, co, h int
		small       bool // chunks of a sample or two
	}{{4, 16, 32, 14, false}, {5, 16, 24, 12, true}, {3, 33, 16, 7, true}} {
		winoMaxFloats1, winoMinTiles1 = 512<<10, 128
		if s.small {
			winoMaxFloats1, winoMinTiles1 = 1, 1
		}
		g := gorgonia.NewGraph()
		rng := rand.New(rand.NewPCG(57, uint64(s.h)))
		xd := randn(rng, s.n*s.c*s.h*s.h)
		x := newInput(g, "x", xd, s.n, s.c, s.h, s.h)
		w1 := newInput(g, "w1", randn(rng, s.co*s.c*9), s.co, s.c, 3, 3)
		w2 := newInput(g, "w2", randn(rng, s.co*s.co*9), s.co, s.co, 3, 3)
		w3 := newInput(g, "w3", randn(rng, s.co*s.co*25), s.co, s.co, 5, 5)
		h1, err := Conv2d(x, w1, 1, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		a := gorgonia.Must(gorgonia.Rectify(h1))
		h2, err := Conv2d(a, w2, 1, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Conv2d(h2, w3, 2, 2, 0)
		if err != nil {
			t.Fatal(err)
		}
		convs := []*gorgonia.Node{h1, h2, out}
		for _, c := range convs {
			op := c.Op().(*convOp)
			if !useWinograd(&op.g) {
				t.Fatalf("%+v does not take the Winograd path", op.g)
			}
		}
		r := newInput(g, "R", randn(rng, out.Shape().TotalSize()), out.Shape()...)
		loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(out, r))))
		wrt := []*gorgonia.Node{x, w1, w2, w3}
		grads, err := gorgonia.Grad(loss, wrt...)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range convs {
			if c.Op().(*convOp).tiles == nil {
				t.Fatalf("%v: no tiles kept for the filter gradient", c.Op())
			}
		}
		m := gorgonia.NewTapeMachine(g)
		run := func() [][]float32 {
			m.Reset()
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			vs := [][]float32{values(t, out)}
			for _, gr := range grads {
				vs = append(vs, values(t, gr))
			}
			return vs
		}
		for step := range 3 {
			got := run()
			for _, c := range convs {
				if k := c.Op().(*convOp).tiles; k.ok || k.v != nil {
					t.Errorf("%+v, step %d: %v: the filter gradient did not take the kept tiles", s, step, c.Op())
				}
			}
			var want [][]float32
			direct(func() { want = run() })
			for i, what := range []string{"output", "x gradient", "w1 gradient", "w2 gradient", "w3 gradient"} {
				d := maxRelDiff(got[i], want[i])
				if d > 2e-5 {
					t.Errorf("%+v, step %d: %s: Winograd and im2col differ by %g", s, step, what, d)
				} else if testing.Verbose() {
					t.Logf("%+v, step %d: %s: Winograd and im2col differ by %.3g", s, step, what, d)
				}
			}
			for i := range xd {
				xd[i] = 0.5*xd[i] + float32(rng.NormFloat64()) // a new batch in place
			}
		}
		m.Close()
	}
}
