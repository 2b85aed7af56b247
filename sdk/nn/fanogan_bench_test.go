package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Benchmarks of the layers of f-AnoGAN's ResNet at batch 64 (the ops) and
// 16 (the blocks), with the model's width 64 halved for the blocks to keep
// them short on a shared machine; testdata/bench_torch_fanogan.py times
// PyTorch on the same shapes.

// fanoganShape is the tensor the element-wise ops are timed on: the
// critic's second block's input, 128 channels of 32×32 at batch 64.
var fanoganShape = tensor.Shape{64, 128, 32, 32}

// benchDo times op.Do on in and reports the elements of fanoganShape per
// second.
func benchDo(b *testing.B, name string, op gorgonia.Op, in ...gorgonia.Value) {
	b.Run(name, func(b *testing.B) {
		if _, err := op.Do(in...); err != nil { // allocate the output
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			if _, err := op.Do(in...); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(fanoganShape.TotalSize()*b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
	})
}

func randDense(rng *rand.Rand, shape ...int) *tensor.Dense {
	return denseOf(randn(rng, tensor.Shape(shape).TotalSize()), shape...)
}

// BenchmarkFAnoGANLayerNorm times LayerNormAct(ReLU) with per-channel and
// per-value parameters: the statistics, the normalisation, the input
// gradient and the parameter gradients, each alone.
func BenchmarkFAnoGANLayerNorm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 3))
	xs := fanoganShape
	lg := lnGeom{planes: planes{n: xs[0], c: xs[1], hw: xs[2] * xs[3]}}
	ss := tensor.Shape{2, lg.n}
	x, g := randDense(rng, xs...), randDense(rng, xs...)
	stats := &lnStatsOp{base: newBase("stats", false, ss, xs), g: lg, eps: 1e-5}
	benchDo(b, "stats", stats, x)
	sv, err := stats.Do(x)
	if err != nil {
		b.Fatal(err)
	}
	s := sv.(*tensor.Dense).Clone().(*tensor.Dense)
	for _, elem := range []bool{false, true} {
		lg.elem = elem
		ps := tensor.Shape{lg.c}
		kind := "channel"
		if elem {
			ps, kind = xs[1:], "value"
		}
		gamma, beta := randDense(rng, ps...), randDense(rng, ps...)
		fwd := &lnOp{base: newBase("ln", false, xs, xs, ss, ps, ps), g: lg, act: ReLU}
		benchDo(b, kind+"/fwd", fwd, x, s, gamma, beta)
		yv, err := fwd.Do(x, s, gamma, beta)
		if err != nil {
			b.Fatal(err)
		}
		y := yv.(*tensor.Dense).Clone().(*tensor.Dense)
		gx := &lnGradXOp{base: newBase("ln∂x", false, xs, xs, ss, ps, xs, xs), g: lg, act: ReLU}
		benchDo(b, kind+"/dx", gx, x, s, gamma, y, g)
		sums := &lnSumsOp{base: newBase("ln∂sums", false, tensor.Shape{2, lg.params()}, xs, ss, xs, xs), g: lg, act: ReLU}
		benchDo(b, kind+"/dparams", sums, x, s, y, g)
	}
}

// BenchmarkFAnoGANResample times Upsample2x from and MeanPool2 to
// [64 128 16 16] (so that the large side is fanoganShape); each is the
// other's backward op.
func BenchmarkFAnoGANResample(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 4))
	n, c, h, w := fanoganShape[0], fanoganShape[1], fanoganShape[2]/2, fanoganShape[3]/2
	benchDo(b, "Upsample2x", newResampleOp("up", true, 1, n, c, h, w), randDense(rng, n, c, h, w))
	benchDo(b, "MeanPool2", newResampleOp("pool", false, 0.25, n, c, h, w), randDense(rng, fanoganShape...))
}

// BenchmarkFAnoGANSquaredDiff times SquaredDiffSum and its gradient.
func BenchmarkFAnoGANSquaredDiff(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 5))
	xs := fanoganShape
	n := xs[0]
	a, bb := randDense(rng, xs...), randDense(rng, xs...)
	fwd := &sqDiffOp{base: newBase("sq", false, tensor.Shape{n}, xs, xs), n: n, scale: 1}
	benchDo(b, "fwd", fwd, a, bb)
	grad := &sqDiffGradOp{base: newBase("sq∂a", false, xs, xs, xs, tensor.Shape{n}), n: n, f: 2}
	benchDo(b, "da", grad, a, bb, randDense(rng, n))
}

// fanoganConvs are the 3×3 stride-1 convolutions of the benchmarked blocks
// (batch 16): the up block's 128→64 and 64→64 at 32×32, the down block's
// 64→64 and 64→128 at 32×32; and the 1×1 shortcuts.
var fanoganConvs = []geom{
	{n: 16, c: 128, h: 32, w: 32, co: 64, k: 3, s: 1, p: 1},
	{n: 16, c: 64, h: 32, w: 32, co: 64, k: 3, s: 1, p: 1},
	{n: 16, c: 64, h: 32, w: 32, co: 128, k: 3, s: 1, p: 1},
	{n: 16, c: 128, h: 16, w: 16, co: 64, k: 1, s: 1, p: 0},
}

// BenchmarkFAnoGANConv times the three kernels of fanoganConvs.
func BenchmarkFAnoGANConv(b *testing.B) {
	for _, g0 := range fanoganConvs {
		g := withOut(g0)
		name := fmt.Sprintf("k%d_%d→%d_%d", g.k, g.c, g.co, g.h)
		benchmarkConv(b, name+"/fwd", g, kFwd)
		benchmarkConv(b, name+"/dx", g, kData)
		benchmarkConv(b, name+"/dw", g, kFilter)
	}
}

// BenchmarkFAnoGANBlocks runs one residual block of each kind forward and
// backward (cost Σ SquaredDiffSum(block(x), t), gradients for x and every
// parameter, as WGAN-GP's penalty needs the input's) through a TapeMachine
// at batch 16: ResBlockUp 128→64 from 16×16 to 32×32 (BatchNorm in
// training) and ResBlockDown 64→128 from 32×32 to 16×16 (per-channel
// LayerNorm). It reports images per second.
func BenchmarkFAnoGANBlocks(b *testing.B) {
	const n = 16
	for _, up := range []bool{true, false} {
		name := "down_64→128_32→16"
		if up {
			name = "up_128→64_16→32"
		}
		b.Run(name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(2, 2))
			g := gorgonia.NewGraph()
			var wrt gorgonia.Nodes
			param := func(scale float32, shape ...int) *gorgonia.Node {
				d := randn(rng, tensor.Shape(shape).TotalSize())
				for i := range d {
					d[i] *= scale
				}
				p := newInput(g, fmt.Sprint("p", len(wrt)), d, shape...)
				wrt = append(wrt, p)
				return p
			}
			var x, out *gorgonia.Node
			var err error
			if up {
				ci, co := 128, 64
				x = param(1, n, ci, 16, 16)
				out, err = ResBlockUp(x, ResUpParams{
					BN1Gamma: param(1, ci), BN1Beta: param(0.1, ci), BN1: NewBNStats(ci), W1: param(0.05, co, ci, 3, 3),
					BN2Gamma: param(1, co), BN2Beta: param(0.1, co), BN2: NewBNStats(co), W2: param(0.05, co, co, 3, 3),
					B2: param(0.1, co), WS: param(0.1, co, ci, 1, 1), BS: param(0.1, co),
				}, true, 0)
			} else {
				ci, co := 64, 128
				x = param(1, n, ci, 32, 32)
				out, err = ResBlockDown(x, ResDownParams{
					LN1Gamma: param(1, ci), LN1Beta: param(0.1, ci), W1: param(0.05, ci, ci, 3, 3),
					LN2Gamma: param(1, ci), LN2Beta: param(0.1, ci), W2: param(0.05, co, ci, 3, 3),
					B2: param(0.1, co), WS: param(0.1, co, ci, 1, 1), BS: param(0.1, co),
				}, 1e-5, 0)
			}
			if err != nil {
				b.Fatal(err)
			}
			t := newInput(g, "t", randn(rng, out.Shape().TotalSize()), out.Shape()...)
			cost := gorgonia.Must(gorgonia.Sum(gorgonia.Must(SquaredDiffSum(out, t, NoParamGrad))))
			if _, err := gorgonia.Grad(cost, wrt...); err != nil {
				b.Fatal(err)
			}
			m := gorgonia.NewTapeMachine(g)
			defer m.Close()
			benchImages(b, m, n)
		})
	}
}
