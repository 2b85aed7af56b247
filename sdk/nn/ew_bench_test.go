package nn

import (
	"math/rand/v2"
	"testing"
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
