package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveConv is the defining formula of Conv2d, written as plainly as possible.
func naiveConv(g *geom, x, w []float32) []float32 {
	y := make([]float32, g.n*g.outSize())
	for n := range g.n {
		for o := range g.co {
			for i := range g.ho {
				for j := range g.wo {
					var s float64
					for c := range g.c {
						for u := range g.k {
							for v := range g.k {
								ih, iw := i*g.s-g.p+u, j*g.s-g.p+v
								if ih < 0 || ih >= g.h || iw < 0 || iw >= g.w {
									continue
								}
								s += float64(w[((o*g.c+c)*g.k+u)*g.k+v]) * float64(x[((n*g.c+c)*g.h+ih)*g.w+iw])
							}
						}
					}
					y[((n*g.co+o)*g.ho+i)*g.wo+j] = float32(s)
				}
			}
		}
	}
	return y
}

func randn(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// maxRelDiff returns max|a-b| / max(1, max|b|).
func maxRelDiff(a, b []float32) float64 {
	var d, m float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
		m = math.Max(m, math.Abs(float64(b[i])))
	}
	return d / math.Max(1, m)
}

// convGeoms covers odd sizes, both kernel parities, strides 1 to 3 and
// paddings that leave input rows unused.
var convGeoms = []geom{
	0: {n: 3, c: 2, h: 7, w: 6, co: 3, k: 3, s: 1, p: 1},
	1: {n: 2, c: 3, h: 8, w: 8, co: 4, k: 5, s: 2, p: 2},
	2: {n: 1, c: 3, h: 9, w: 7, co: 2, k: 4, s: 2, p: 1},
	3: {n: 5, c: 1, h: 6, w: 6, co: 2, k: 3, s: 3, p: 0},
	4: {n: 4, c: 4, h: 4, w: 4, co: 5, k: 5, s: 2, p: 2},
	5: {n: 1, c: 5, h: 5, w: 5, co: 1, k: 1, s: 1, p: 0},
}

func withOut(g geom) geom {
	g.ho, g.wo = (g.h+2*g.p-g.k)/g.s+1, (g.w+2*g.p-g.k)/g.s+1
	return g
}

// TestConvKernels checks the forward kernel against the defining formula and
// the two backward kernels through the adjoint identities
// <conv(x), y> = <x, data(y)> and <conv(x), y> = <w, filter(x, y)>,
// for 1 and 2 workers.
func TestConvKernels(t *testing.T) {
	const tol = 1e-5
	defer SetWorkers(Workers())
	for _, nw := range []int{1, 2, 3} {
		SetWorkers(nw)
		for i, g0 := range convGeoms {
			g := withOut(g0)
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			x := randn(rng, g.n*g.inSize())
			w := randn(rng, g.co*g.rows())
			y := randn(rng, g.n*g.outSize())
			got := randn(rng, len(y)) // garbage that must be overwritten
			convForward(&g, x, w, got)
			want := naiveConv(&g, x, w)
			if d := maxRelDiff(got, want); d > tol {
				t.Errorf("workers %d, geom %d: forward differs by %g", nw, i, d)
			}
			gx := randn(rng, len(x))
			convBackwardData(&g, y, w, gx)
			gw := randn(rng, len(w))
			convBackwardFilter(&g, x, y, gw)
			lhs := dot(want, y)
			scale := math.Max(1, math.Abs(lhs))
			if d := math.Abs(lhs - dot(x, gx)); d > tol*scale*10 {
				t.Errorf("workers %d, geom %d: <conv x, y> = %g, <x, data y> = %g", nw, i, lhs, dot(x, gx))
			}
			if d := math.Abs(lhs - dot(w, gw)); d > tol*scale*10 {
				t.Errorf("workers %d, geom %d: <conv x, y> = %g, <w, filter(x, y)> = %g", nw, i, lhs, dot(w, gw))
			}
		}
	}
}
