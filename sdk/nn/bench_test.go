package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/anogo/anogo/sdk/blas"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
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

// dcganLayers28 are the two stride-2 layers of the 28×28 model
// (bench/README.md: G 128-64-1, D 64-128).
var dcganLayers28 = []dcganLayer{
	{c: 1, h: 28, co: 64},
	{c: 64, h: 14, co: 128},
}

// BenchmarkConv2d64 runs the discriminator's convolutions at batch 64:
// forward, input gradient and weight gradient.
func BenchmarkConv2d64(b *testing.B) { benchmarkConv2d(b, dcganLayers) }

// BenchmarkConv2d28 is BenchmarkConv2d64 for the 28×28 model.
func BenchmarkConv2d28(b *testing.B) { benchmarkConv2d(b, dcganLayers28) }

func benchmarkConv2d(b *testing.B, layers []dcganLayer) {
	for _, l := range layers {
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
func BenchmarkConvTranspose2d64(b *testing.B) { benchmarkConvTranspose2d(b, dcganLayers) }

// BenchmarkConvTranspose2d28 is BenchmarkConvTranspose2d64 for the 28×28
// model.
func BenchmarkConvTranspose2d28(b *testing.B) { benchmarkConvTranspose2d(b, dcganLayers28) }

func benchmarkConvTranspose2d(b *testing.B, layers []dcganLayer) {
	for i := len(layers) - 1; i >= 0; i-- {
		l := layers[i]
		g := l.geom(benchBatch)
		name := fmt.Sprintf("%d→%d_%d→%d", l.co, l.c, g.ho, l.h)
		benchmarkConv(b, name+"/fwd", g, kData)
		benchmarkConv(b, name+"/dx", g, kFwd)
		benchmarkConv(b, name+"/dw", g, kFilter)
	}
}

// randomConv returns a function that runs kernel kind (kFwd, kData or
// kFilter) of g on random tensors drawn from rng.
func randomConv(g *geom, kind int, rng *rand.Rand) func() {
	x := randn(rng, g.n*g.inSize())
	w := randn(rng, g.co*g.rows())
	y := randn(rng, g.n*g.outSize())
	return func() {
		switch kind {
		case kFwd:
			convForward(g, x, w, y)
		case kData:
			convBackwardData(g, y, w, x)
		default:
			convBackwardFilter(g, x, y, w)
		}
	}
}

func benchmarkConv(b *testing.B, name string, g geom, kind int) {
	b.Run(name, func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		run := randomConv(&g, kind, rng)
		run() // warm the scratch pool
		b.ResetTimer()
		for range b.N {
			run()
		}
		b.ReportMetric(g.flops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// BenchmarkDCGAN64 runs one forward and backward pass of the paper's DCGAN
// (generator z[100] → 512×4×4 → 256×8×8 → 128×16×16 → 64×32×32 → 1×64×64,
// discriminator back down, 5×5 kernels, BatchNorm in training mode) on a
// batch of 64 through a gorgonia TapeMachine, cost BCEWithLogits(D(G(z)), 1),
// gradients with respect to every parameter of both networks. It reports
// images per second.
func BenchmarkDCGAN64(b *testing.B) {
	const n = benchBatch
	rng := rand.New(rand.NewPCG(1, 1))
	g := gorgonia.NewGraph()
	var params gorgonia.Nodes
	param := func(name string, shape ...int) *gorgonia.Node {
		d := randn(rng, tensor.Shape(shape).TotalSize())
		for i := range d {
			d[i] *= 0.02
		}
		p := newInput(g, name, d, shape...)
		params = append(params, p)
		return p
	}
	ones := func(name string, c int) *gorgonia.Node {
		d := make([]float32, c)
		for i := range d {
			d[i] = 1
		}
		p := newInput(g, name, d, c)
		params = append(params, p)
		return p
	}
	must := func(x *gorgonia.Node, err error) *gorgonia.Node {
		if err != nil {
			b.Fatal(err)
		}
		return x
	}
	z := newInput(g, "z", randn(rng, n*100), n, 100)
	h := must(Linear(z, param("g.fc", 512*16, 100), NoInputGrad))
	h = must(Unflatten(h, n, 512, 4, 4))
	chans := []int{512, 256, 128, 64, 1}
	for i := range 4 {
		c := chans[i]
		h = must(BatchNorm(h, ones(fmt.Sprint("g.gamma", i), c), param(fmt.Sprint("g.beta", i), c), NewBNStats(c), true, 0))
		h = must(BiasAct(h, nil, ReLU, 0, 0))
		h = must(ConvTranspose2d(h, param(fmt.Sprint("g.w", i), c, chans[i+1], 5, 5), 2, 2, 1, 0))
	}
	h = must(BiasAct(h, param("g.b", 1), Tanh, 0, 0))
	dch := []int{1, 64, 128, 256, 512}
	for i := range 4 {
		h = must(Conv2d(h, param(fmt.Sprint("d.w", i), dch[i+1], dch[i], 5, 5), 2, 2, 0))
		if i > 0 {
			c := dch[i+1]
			h = must(BatchNorm(h, ones(fmt.Sprint("d.gamma", i), c), param(fmt.Sprint("d.beta", i), c), NewBNStats(c), true, 0))
		}
		h = must(BiasAct(h, nil, LeakyReLU, 0.2, 0))
	}
	h = must(Linear(must(Flatten(h)), param("d.fc", 1, 512*16), 0))
	cost := must(gorgonia.Mean(must(BCEWithLogits(h, 1))))
	if _, err := gorgonia.Grad(cost, params...); err != nil {
		b.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(params...))
	defer m.Close()
	benchImages(b, m, n)
}

// largeConvs are the convolutions of the two benchmarked models with at
// least 64 channels on both sides (bench/README.md): D's 64→128, 128→256,
// 256→512 and G's 512→256, 256→128, 128→64 at 64×64; D's 64→128 and G's
// 128→64 at 28×28. A D convolution and the G transposed convolution with
// the same channels run the same three kernels on the same geometry (G's
// forward is D's ∂x kernel, G's ∂x is D's forward), so each geometry is
// measured once per kernel and named by both uses.
var largeConvs = []struct {
	config string
	l      dcganLayer
}{
	{"64", dcganLayer{c: 64, h: 32, co: 128}},
	{"64", dcganLayer{c: 128, h: 16, co: 256}},
	{"64", dcganLayer{c: 256, h: 8, co: 512}},
	{"28", dcganLayer{c: 64, h: 14, co: 128}},
}

// BenchmarkLargeConvs reports the GFLOP/s of each large convolution kernel
// at batch 64 next to the sgemm ceiling measured in the same process, two
// products just before and two just after the kernel's timed runs: an
// OpenBLAS product of two 2048×2048 float32 matrices on Workers() threads
// (the harness's definition, bench/README.md). Both rates are medians over
// single calls (the kernel's runs, the four products), so that a
// stall of the shared machine moves neither much; pct_ceiling is their
// ratio. GFLOP/s counts the direct convolution's operations, so a Winograd
// kernel (all three of these stride-2 layers) goes past the ceiling;
// exec_GFLOP/s and exec_pct_ceiling count the operations its products
// execute (execFlops). The ceiling products run outside the benchmark timer.
// bench/run.py prints the table (out/bench/layers.csv).
func BenchmarkLargeConvs(b *testing.B) {
	const n = 2048
	rng := rand.New(rand.NewPCG(3, 4))
	ma, mb, mc := randn(rng, n*n), randn(rng, n*n), make([]float32, n*n)
	nw := Workers()
	ceiling := func(rates []float64) []float64 {
		blas.SetThreads(nw)
		defer func() {
			if nw > 1 {
				blas.SetThreads(1)
			}
		}()
		for range 2 {
			t0 := time.Now()
			blas.Sgemm(false, false, n, n, n, 1, ma, n, mb, n, 0, mc, n)
			rates = append(rates, 2*n*n*n/time.Since(t0).Seconds()/1e9)
		}
		return rates
	}
	ceiling(nil) // start OpenBLAS's threads
	kinds := []struct {
		kind int
		tag  string
	}{{kFwd, "fwd"}, {kData, "data"}, {kFilter, "filter"}}
	for _, lc := range largeConvs {
		l := lc.l
		g := l.geom(benchBatch)
		for _, k := range kinds {
			name := fmt.Sprintf("%s/%d→%d_%d/%s", lc.config, l.c, l.co, l.h, k.tag)
			b.Run(name, func(b *testing.B) {
				run := randomConv(&g, k.kind, rng)
				b.StopTimer()
				run() // warm the scratch pool
				ceil := ceiling(nil)
				var rates []float64
				b.StartTimer()
				// At least b.N runs and half a second: the 28×28 kernels
				// take some 25 ms, and a median of five of them is at the
				// mercy of the machine's other jobs.
				for t0 := time.Now(); len(rates) < b.N || time.Since(t0) < time.Second/2; {
					t1 := time.Now()
					run()
					rates = append(rates, g.flops()/time.Since(t1).Seconds()/1e9)
				}
				b.StopTimer()
				ceil = ceiling(ceil)
				rate, c := medianOf(rates), medianOf(ceil)
				exec := rate * execFlops(&g) / g.flops()
				b.ReportMetric(rate, "GFLOP/s")
				b.ReportMetric(c, "ceiling_GFLOP/s")
				b.ReportMetric(100*rate/c, "pct_ceiling")
				b.ReportMetric(exec, "exec_GFLOP/s")
				b.ReportMetric(100*exec/c, "exec_pct_ceiling")
			})
		}
	}
}

// execFlops is the number of floating-point operations that the products of
// a kernel on g execute: the direct convolution's (g.flops) for the im2col
// and sub-pixel kernels, 36 products of cout × cin × tiles for the Winograd
// ones (cin = c for a stride-1 convolution, 4c for a stride-2 one),
// forward, data and filter alike (their transforms not counted).
func execFlops(g *geom) float64 {
	if !useWinograd(g) {
		return g.flops()
	}
	tiles := float64(g.n * ((g.ho + 3) / 4) * ((g.wo + 3) / 4))
	return 2 * 36 * float64(g.co) * float64(winoCin(g)) * tiles
}

func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchImages times b.N runs of the graph of m after one warm-up run and
// reports images per second for n images per run.
func benchImages(b *testing.B, m gorgonia.VM, n int) {
	b.Helper()
	run := func() {
		m.Reset()
		if err := m.RunAll(); err != nil {
			b.Fatal(err)
		}
	}
	run()
	b.ResetTimer()
	for range b.N {
		run()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
}
