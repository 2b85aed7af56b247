package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// naiveConvData is the defining formula of the data kernel (the adjoint of
// naiveConv): gx[n,c,ih,iw] = Σ w[o,c,u,v]·gy[n,o,i,j] over ih = i·s-p+u,
// iw = j·s-p+v.
func naiveConvData(g *geom, gy, w []float32) []float32 {
	gx := make([]float64, g.n*g.inSize())
	for n := range g.n {
		for o := range g.co {
			for i := range g.ho {
				for j := range g.wo {
					v0 := float64(gy[((n*g.co+o)*g.ho+i)*g.wo+j])
					for c := range g.c {
						for u := range g.k {
							for v := range g.k {
								ih, iw := i*g.s-g.p+u, j*g.s-g.p+v
								if ih < 0 || ih >= g.h || iw < 0 || iw >= g.w {
									continue
								}
								gx[((n*g.c+c)*g.h+ih)*g.w+iw] += float64(w[((o*g.c+c)*g.k+u)*g.k+v]) * v0
							}
						}
					}
				}
			}
		}
	}
	out := make([]float32, len(gx))
	for i, v := range gx {
		out[i] = float32(v)
	}
	return out
}

// tconvGeom is a transposed convolution of an hi×wi input to the output size
// that stride s, padding p and output padding op give (conv sense).
func tconvGeom(n, c, co, hi, wi, k, s, p, op int) geom {
	h, w := (hi-1)*s-2*p+k+op, (wi-1)*s-2*p+k+op
	return geom{n: n, c: c, h: h, w: w, co: co, k: k, s: s, p: p, ho: hi, wo: wi}
}

// TestConvBackwardDataSub checks the sub-pixel data kernel against the
// defining formula and against the column-matrix kernel (col2im) for
// kernel sizes 1 to 5, strides 2 and 3, paddings 0 to 3 and every output
// padding, on odd and even sizes, with 1 to 3 workers and several chunk
// sizes.
func TestConvBackwardDataSub(t *testing.T) {
	defer SetWorkers(Workers())
	defer func(v int) { targetColsSub = v }(targetColsSub)
	var geoms []geom
	for _, k := range []int{1, 2, 3, 4, 5} {
		for _, s := range []int{2, 3} {
			for p := 0; p <= min(3, k-1); p++ {
				for op := 0; op < s; op++ {
					for _, hw := range [][2]int{{3, 3}, {4, 5}, {7, 6}} {
						g := tconvGeom(5, 3, 4, hw[0], hw[1], k, s, p, op)
						if g.h < 1 || g.w < 1 || withOut(g).ho != g.ho || withOut(g).wo != g.wo {
							continue
						}
						geoms = append(geoms, g)
					}
				}
			}
		}
	}
	// The DCGAN layers' shape (k 5, s 2, p 2, output padding 1), small.
	geoms = append(geoms, tconvGeom(6, 17, 9, 7, 7, 5, 2, 2, 1), tconvGeom(3, 16, 8, 5, 3, 5, 2, 2, 0))
	defer func(v int) { winogradMinC = v }(winogradMinC)
	winogradMinC = 1 << 30 // this test is about the other two paths
	rng := rand.New(rand.NewPCG(31, 32))
	for gi, g := range geoms {
		gy := randn(rng, g.n*g.outSize())
		w := randn(rng, g.co*g.rows())
		want := naiveConvData(&g, gy, w)
		ref := randn(rng, len(want))
		func() {
			defer func(v int) { subpixelMinC = v }(subpixelMinC)
			subpixelMinC = 1 << 30
			convBackwardData(&g, gy, w, ref) // the col2im path
		}()
		if d := maxRelDiff(ref, want); d > 1e-5 {
			t.Fatalf("geometry %d %+v: the col2im kernel differs from the formula by %g", gi, g, d)
		}
		for _, nw := range []int{1, 2, 3} {
			SetWorkers(nw)
			for _, tc := range []int{1, 16, 256} {
				targetColsSub = tc
				got := randn(rng, len(want)) // garbage that must be overwritten
				convBackwardDataSub(&g, gy, w, got)
				if d := maxRelDiff(got, ref); d > 1e-5 {
					t.Errorf("%s: differs from the col2im kernel by %g", fmt.Sprintf("geometry %d %+v, workers %d, target %d", gi, g, nw, tc), d)
				}
			}
		}
	}
	t.Logf("%d geometries", len(geoms))
}

// BenchmarkDataSub times the data kernel (D's input gradient, G's forward)
// of every stride-2 layer of the two models through col2im and through the
// sub-pixel phases, reporting CPU time per call (getrusage).
func BenchmarkDataSub(b *testing.B) {
	defer func(v, t, m int) { subpixelMinC, targetColsSub, winogradMinC = v, t, m }(subpixelMinC, targetColsSub, winogradMinC)
	winogradMinC = 1 << 30 // these layers take the Winograd path in the models
	layers := append(append([]dcganLayer(nil), dcganLayers28...), dcganLayers...)
	for _, l := range layers {
		g := l.geom(benchBatch)
		for _, path := range []string{"col2im", "sub64", "sub128", "sub256", "sub512"} {
			b.Run(fmt.Sprintf("%d→%d_%d/%s", l.c, l.co, l.h, path), func(b *testing.B) {
				subpixelMinC = 1 << 30
				if path != "col2im" {
					subpixelMinC = 1
					fmt.Sscanf(path, "sub%d", &targetColsSub)
				}
				rng := rand.New(rand.NewPCG(1, 2))
				x := randn(rng, g.n*g.inSize())
				w := randn(rng, g.co*g.rows())
				y := randn(rng, g.n*g.outSize())
				convBackwardData(&g, y, w, x)
				b.ResetTimer()
				c0 := cpuNow()
				for range b.N {
					convBackwardData(&g, y, w, x)
				}
				cpu := cpuNow() - c0
				b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
				b.ReportMetric(g.flops()*float64(b.N)/cpu.Seconds()/1e9, "GFLOP/cpu-s")
			})
		}
	}
}
