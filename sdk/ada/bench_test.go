package ada

import (
	"math/rand/v2"
	"testing"
)

// The trainer's batch: 32 images of 1x64x64.
const benchN, benchC, benchH, benchW = 32, 1, 64, 64

// benchmarkAugment times Draw, Apply and Backward of one batch at
// probability p (fixed). Beside the wall time it reports the process's
// CPU time per batch (cpu-ns/op, Linux), which waiting for a loaded
// machine's cores does not inflate.
func benchmarkAugment(b *testing.B, p float64) {
	a := New(Options{P: p, Fixed: true, Seed: 41})
	r := rand.New(rand.NewPCG(42, 42))
	size := benchN * benchC * benchH * benchW
	x, g := randSlice(r, size), randSlice(r, size)
	out, gx := make([]float32, size), make([]float32, size)
	b.SetBytes(int64(4 * size))
	b.ResetTimer()
	c0, ok := cpuTime()
	for range b.N {
		aug := a.Draw(benchN, benchC, benchH, benchW)
		aug.Apply(out, x)
		aug.Backward(gx, g)
	}
	if c1, _ := cpuTime(); ok {
		b.ReportMetric(float64(c1-c0)/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkDrawApplyBackwardP0(b *testing.B)  { benchmarkAugment(b, 0) }
func BenchmarkDrawApplyBackwardP02(b *testing.B) { benchmarkAugment(b, 0.2) }
func BenchmarkDrawApplyBackwardP06(b *testing.B) { benchmarkAugment(b, 0.6) }
func BenchmarkDrawApplyBackwardP1(b *testing.B)  { benchmarkAugment(b, 1) }
