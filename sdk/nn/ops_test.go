package nn

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/anogo/anogo/sdk/blas"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func denseOf(data []float32, shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// TestOpOwnsItsOutput checks that an op returns the same tensor at every run,
// even after a later op reshaped it in place (as gorgonia.Reshape's unsafe
// path does), and that it does not allocate big buffers per run.
func TestOpOwnsItsOutput(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	g := gorgonia.NewGraph()
	xd := randn(rng, 8*16*16*16)
	wd := randn(rng, 32*16*5*5)
	x := newInput(g, "x", xd, 8, 16, 16, 16)
	w := newInput(g, "w", wd, 32, 16, 5, 5)
	y, err := Conv2d(x, w, 2, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	op := y.Op()
	in := []gorgonia.Value{denseOf(xd, 8, 16, 16, 16), denseOf(wd, 32, 16, 5, 5)}
	v1, err := op.Do(in...)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]float32(nil), v1.Data().([]float32)...)
	if err := v1.(*tensor.Dense).Reshape(8, 32*8*8); err != nil {
		t.Fatal(err)
	}
	v2, err := op.Do(in...)
	if err != nil {
		t.Fatal(err)
	}
	if v2 != v1 {
		t.Errorf("second run returned a new tensor")
	}
	if !v2.Shape().Eq(tensor.Shape{8, 32, 8, 8}) {
		t.Errorf("second run has shape %v, want (8, 32, 8, 8)", v2.Shape())
	}
	compare(t, "second run", v2.Data().([]float32), want, 0)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const runs = 20
	for range runs {
		if _, err := op.Do(in...); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	// The output is 64 KB and the column buffers 200 KB: a run must
	// allocate far less than either (goroutines and small slices only).
	const maxPerRun = 8 << 10
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > maxPerRun {
		t.Errorf("Conv2d allocates %d bytes per run, want ≤ %d", per, maxPerRun)
	}
}

// TestBuildErrors checks that bad arguments give errors that name the layer
// and the problem, not panics.
func TestBuildErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	x4 := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(2, 3, 8, 8), gorgonia.WithName("x4"))
	x2 := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(2, 3), gorgonia.WithName("x2"))
	x64 := gorgonia.NewTensor(g, tensor.Float64, 4, gorgonia.WithShape(2, 3, 8, 8), gorgonia.WithName("x64"))
	w := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(4, 3, 5, 5), gorgonia.WithName("w"))
	wBad := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(4, 2, 5, 5), gorgonia.WithName("wBad"))
	v3 := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(3), gorgonia.WithName("v3"))
	v4 := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(4), gorgonia.WithName("v4"))
	xSmall := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(2, 3, 2, 2), gorgonia.WithName("xSmall"))
	wT := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(3, 4, 5, 5), gorgonia.WithName("wT"))
	m42 := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(4, 2), gorgonia.WithName("m42"))
	cases := []struct {
		want string
		call func() (*gorgonia.Node, error)
	}{
		0:  {"Conv2d: w has shape", func() (*gorgonia.Node, error) { return Conv2d(x4, wBad, 2, 2, 0) }},
		1:  {"Conv2d: x has type", func() (*gorgonia.Node, error) { return Conv2d(x64, w, 2, 2, 0) }},
		2:  {"Conv2d: stride 0", func() (*gorgonia.Node, error) { return Conv2d(x4, w, 0, 2, 0) }},
		3:  {"Conv2d: kernel 5 larger", func() (*gorgonia.Node, error) { return Conv2d(xSmall, w, 1, 0, 0) }},
		4:  {"ConvTranspose2d: stride 2, pad 2, outPad 2", func() (*gorgonia.Node, error) { return ConvTranspose2d(x4, wT, 2, 2, 2, 0) }},
		5:  {"ConvTranspose2d: w has shape", func() (*gorgonia.Node, error) { return ConvTranspose2d(x4, w, 2, 2, 1, 0) }},
		6:  {"Linear: w has shape", func() (*gorgonia.Node, error) { return Linear(x2, m42, 0) }},
		7:  {"BiasAct: LeakyReLU slope -1", func() (*gorgonia.Node, error) { return BiasAct(x4, v3, LeakyReLU, -1, 0) }},
		8:  {"BiasAct: b has shape", func() (*gorgonia.Node, error) { return BiasAct(x4, v4, ReLU, 0, 0) }},
		9:  {"BatchNorm: gamma has shape", func() (*gorgonia.Node, error) { return BatchNorm(x4, v4, v3, NewBNStats(3), true, 0) }},
		10: {"BatchNorm: statistics for 4", func() (*gorgonia.Node, error) { return BatchNorm(x4, v3, v3, NewBNStats(4), true, 0) }},
		11: {"BatchNorm: nil statistics", func() (*gorgonia.Node, error) { return BatchNorm(x4, v3, v3, nil, false, 0) }},
		12: {"AbsDiffSum: shapes", func() (*gorgonia.Node, error) { return AbsDiffSum(x4, x2, 0) }},
		13: {"BCEWithLogits: target 2", func() (*gorgonia.Node, error) { return BCEWithLogits(v3, 2) }},
		14: {"BCEWithLogits: logits have shape", func() (*gorgonia.Node, error) { return BCEWithLogits(x2, 1) }},
		15: {"Unflatten: cannot reshape", func() (*gorgonia.Node, error) { return Unflatten(x2, 3, 2) }},
		16: {"BiasAct: x is nil", func() (*gorgonia.Node, error) { return BiasAct(nil, nil, Tanh, 0, 0) }},
	}
	for i, tc := range cases {
		n, err := tc.call()
		if err == nil {
			t.Errorf("case %d: built %v, want an error containing %q", i, n, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), "nn: "+tc.want) {
			t.Errorf("case %d: error %q, want it to contain %q", i, err, "nn: "+tc.want)
		}
	}
}

// TestRunErrors checks that an op given a value of the wrong shape at run
// time (e.g. statistics replaced by a checkpoint of another layer) returns an
// error instead of panicking.
func TestRunErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	x := newInput(g, "x", make([]float32, 2*3*4*4), 2, 3, 4, 4)
	gm := newInput(g, "gamma", make([]float32, 3), 3)
	bt := newInput(g, "beta", make([]float32, 3), 3)
	st := NewBNStats(3)
	y, err := BatchNorm(x, gm, bt, st, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = y
	st.Mean = st.Mean[:2]
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err == nil || !strings.Contains(err.Error(), "statistics for 2") {
		t.Errorf("run with 2-channel statistics: error %v, want one about the statistics", err)
	}
	w := newInput(g, "w", make([]float32, 4*3*5*5), 4, 3, 5, 5)
	c, err := Conv2d(x, w, 2, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Op().Do(denseOf(make([]float32, 2*3*5*4), 2, 3, 5, 4), denseOf(make([]float32, 4*3*5*5), 4, 3, 5, 5)); err == nil {
		t.Errorf("Conv2d ran on an input of the wrong shape")
	}
}

// TestPgemm checks the split matrix product against one OpenBLAS call for
// shapes that split along rows and along columns, with every transpose.
func TestPgemm(t *testing.T) {
	const tol = 1e-6
	defer SetWorkers(Workers())
	SetWorkers(2)
	rng := rand.New(rand.NewPCG(4, 4))
	for i, c := range []struct{ m, n, k int }{
		0: {m: 64, n: 8192, k: 100}, // Linear of the generator: splits columns
		1: {m: 8192, n: 100, k: 64}, // its weight gradient: splits rows
		2: {m: 3, n: 2, k: 5},       // too small to split
	} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				a := randn(rng, c.m*c.k)
				b := randn(rng, c.k*c.n)
				lda, ldb := c.k, c.n
				if ta {
					lda = c.m
				}
				if tb {
					ldb = c.k
				}
				want := make([]float32, c.m*c.n)
				blas.Sgemm(ta, tb, c.m, c.n, c.k, 1, a, lda, b, ldb, 0, want, c.n)
				got := randn(rng, c.m*c.n)
				pgemm(ta, tb, c.m, c.n, c.k, a, lda, b, ldb, got, c.n)
				if d := maxRelDiff(got, want); d > tol {
					t.Errorf("case %d (transA %v, transB %v): differs by %g", i, ta, tb, d)
				}
			}
		}
	}
}
