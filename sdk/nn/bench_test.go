package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// dcganLayer is one 5×5 stride-2 layer of the paper's DCGAN at 64×64
// (Schlegl et al. 2017, Sec. 2.1; Radford et al. 2016), in conv sense: the
// discriminator's Conv2d maps (c, h) to (co, h/2); the generator's
// ConvTranspose2d (padding 2, output padding 1) maps (co, h/2) back to (c, h).
type dcganLayer struct{ c, h, co int }

var dcganLayers = []dcganLayer{
	{c: 1, h: 64, co: 64},
	{c: 64, h: 32, co: 128},
	{c: 128, h: 16, co: 256},
	{c: 256, h: 8, co: 512},
}

const benchBatch = 64

func (l dcganLayer) geom(n int) geom {
	return withOut(geom{n: n, c: l.c, h: l.h, w: l.h, co: l.co, k: 5, s: 2, p: 2})
}

// flops is the number of floating-point operations of one pass (forward,
// data gradient or filter gradient: all three are the same products).
func (g geom) flops() float64 {
	return 2 * float64(g.n) * float64(g.co) * float64(g.rows()) * float64(g.pix())
}

// BenchmarkConv2d64 runs the discriminator's convolutions at batch 64:
// forward, input gradient and weight gradient.
func BenchmarkConv2d64(b *testing.B) {
	for _, l := range dcganLayers {
		g := l.geom(benchBatch)
		name := fmt.Sprintf("%d→%d_%d→%d", l.c, l.co, l.h, g.ho)
		benchmarkConv(b, name+"/fwd", g, kFwd)
		benchmarkConv(b, name+"/dx", g, kData)
		benchmarkConv(b, name+"/dw", g, kFilter)
	}
}

// BenchmarkConvTranspose2d64 runs the generator's transposed convolutions
// at batch 64: forward (a conv data gradient), input gradient (a conv
// forward) and weight gradient.
func BenchmarkConvTranspose2d64(b *testing.B) {
	for i := len(dcganLayers) - 1; i >= 0; i-- {
		l := dcganLayers[i]
		g := l.geom(benchBatch)
		name := fmt.Sprintf("%d→%d_%d→%d", l.co, l.c, g.ho, l.h)
		benchmarkConv(b, name+"/fwd", g, kData)
		benchmarkConv(b, name+"/dx", g, kFwd)
		benchmarkConv(b, name+"/dw", g, kFilter)
	}
}

func benchmarkConv(b *testing.B, name string, g geom, kind int) {
	b.Run(name, func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		x := randn(rng, g.n*g.inSize())
		w := randn(rng, g.co*g.rows())
		y := randn(rng, g.n*g.outSize())
		run := func() {
			switch kind {
			case kFwd:
				convForward(&g, x, w, y)
			case kData:
				convBackwardData(&g, y, w, x)
			default:
				convBackwardFilter(&g, x, y, w)
			}
		}
		run() // warm the scratch pool
		b.ResetTimer()
		for range b.N {
			run()
		}
		b.ReportMetric(g.flops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
