package nn

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

func BenchmarkElementwise(b *testing.B) {
	p := planes{n: 64, c: 64, hw: 196}
	n := p.n * p.c * p.hw
	rng := rand.New(rand.NewPCG(1, 2))
	x, y, g, gx := randn(rng, n), randn(rng, n), randn(rng, n), make([]float32, n)
	a, bb := randn(rng, p.c), randn(rng, p.c)
	b.Run("affineAct1", func(b *testing.B) {
		for range b.N {
			affineAct(p, 0, p.n*p.c, x, y, a, bb, LeakyReLU, 0.2)
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
	})
	for _, act := range []Act{Identity, ReLU, LeakyReLU, Tanh, Sigmoid} {
		b.Run("actGrad"+act.String(), func(b *testing.B) {
			for range b.N {
				actGrad(p, 0, p.n*p.c, y, g, gx, a, act, 0.2)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
	}
	mean, inv, r := randn(rng, p.c), randn(rng, p.c), make([]float32, 2*p.c)
	tmp := make([]float32, p.hw)
	b.Run("bnSums", func(b *testing.B) {
		for range b.N {
			bnSums(p, 0, p.c, x, y, g, tmp, mean, inv, r, LeakyReLU, 0.2)
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
	})
	b.Run("bnGradX", func(b *testing.B) {
		for range b.N {
			bnGradX(p, 0, p.n*p.c, x, y, g, gx, tmp, mean, a, bb, inv, LeakyReLU, 0.2)
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
	})
	s1, s2 := make([]float64, p.c), make([]float64, p.c)
	b.Run("moments", func(b *testing.B) {
		for range b.N {
			moments(p, 0, p.c, x, s1, s2)
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
	})
	b.Run("goLeaky1", func(b *testing.B) {
		for range b.N {
			applyAct(LeakyReLU, 0.2, 0.1, x, y)
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
	})
	b.Run("copy1", func(b *testing.B) {
		for range b.N {
			copy(y, x)
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
	})
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkChunkSweep times the im2col convolution kernels of the 28×28
// model's large layer and of the 64×64 model for several targetCols and
// targetColsBack, reporting CPU time per call (getrusage) besides wall
// time. These layers take the Winograd path in the models; the sweep turns
// it off so that it measures the kernels whose chunks it varies.
func BenchmarkChunkSweep(b *testing.B) {
	defer func(v, w, m int) { targetCols, targetColsBack, winogradMinC = v, w, m }(targetCols, targetColsBack, winogradMinC)
	winogradMinC = 1 << 30
	layers := []dcganLayer{{c: 64, h: 14, co: 128}, {c: 64, h: 32, co: 128}, {c: 128, h: 16, co: 256}, {c: 256, h: 8, co: 512}}
	for _, l := range layers {
		g := l.geom(benchBatch)
		for _, kind := range []int{kFwd, kData, kFilter} {
			for _, tc := range []int{128, 256, 512, 1024, 2048} {
				b.Run(fmt.Sprintf("%d→%d_%d/%s/tc%d", l.c, l.co, l.h, []string{"fwd", "data", "filter"}[kind], tc), func(b *testing.B) {
					targetCols, targetColsBack = tc, tc
					rng := rand.New(rand.NewPCG(1, 2))
					run := randomConv(&g, kind, rng)
					run()
					b.ResetTimer()
					c0 := cpuNow()
					for range b.N {
						run()
					}
					cpu := cpuNow() - c0
					b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
					b.ReportMetric(g.flops()*float64(b.N)/cpu.Seconds()/1e9, "GFLOP/cpu-s")
				})
			}
		}
	}
}
