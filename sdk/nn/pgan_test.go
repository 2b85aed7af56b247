package nn

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
)

// TestPGANGradients checks PixelNorm, MinibatchStd (coupled and frozen)
// and AppendChannel against central differences. PixelNorm and the
// standard deviation are smooth but not quadratic: step 1e-2 leaves a
// truncation error of about 1e-4 relative, below tol.
func TestPGANGradients(t *testing.T) {
	const (
		eps = 1e-2
		tol = 2e-3
	)
	cases := []gradCase{
		{name: "PixelNorm [N C]", shapes: [][]int{{3, 5}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return PixelNorm(in[0], PixelNormEps) }},
		{name: "PixelNorm [N C H W]", shapes: [][]int{{2, 4, 3, 2}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return PixelNorm(in[0], PixelNormEps) }},
		{name: "MinibatchStd n8 g4", shapes: [][]int{{8, 3, 2, 2}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return MinibatchStd(in[0], 4, false) }},
		{name: "MinibatchStd n6 g3", shapes: [][]int{{6, 2, 3, 1}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return MinibatchStd(in[0], 3, false) }},
		{name: "MinibatchStd n3 g4 (one group of 3)", shapes: [][]int{{3, 2, 2, 2}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return MinibatchStd(in[0], 4, false) }},
		{name: "AppendChannel", shapes: [][]int{{3, 2, 2, 2}, {3}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return AppendChannel(in[0], in[1]) }},
	}
	for _, tc := range cases {
		checkGrad(t, tc, eps, tol)
	}
}

// TestMinibatchStdFrozen: the frozen op computes what the coupled one
// computes, its gradient is the coupled gradient's first C channels
// without the statistic's part, and MinibatchStdValues reads the statistic
// back as MinibatchStdStat computes it.
func TestMinibatchStdFrozen(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := randn(rng, 8*3*2*2)
	out := func(frozen bool) ([]float32, []float32) {
		g := gorgonia.NewGraph()
		xn := newInput(g, "x", append([]float32(nil), x...), 8, 3, 2, 2)
		y, err := MinibatchStd(xn, 4, frozen)
		if err != nil {
			t.Fatal(err)
		}
		var yv gorgonia.Value
		gorgonia.Read(y, &yv)
		grads, err := gorgonia.Grad(gorgonia.Must(gorgonia.Sum(y)), xn)
		if err != nil {
			t.Fatal(err)
		}
		m := gorgonia.NewTapeMachine(g)
		defer m.Close()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		d, _ := float32s(yv)
		return append([]float32(nil), d...), values(t, grads[0])
	}
	yc, gc := out(false)
	yf, gf := out(true)
	compare(t, "frozen output", yf, yc, 0)
	for i, v := range gf {
		if v != 1 {
			t.Fatalf("frozen gradient %d = %v, want 1", i, v)
		}
	}
	if equal := func() bool {
		for i := range gc {
			if gc[i] != gf[i] {
				return false
			}
		}
		return true
	}(); equal {
		t.Fatal("the coupled gradient ignores the statistic")
	}
	s := MinibatchStdStat(x, 8, 3, 4, 4)
	compare(t, "statistic", MinibatchStdValues(yc, 8, 4, 4), s, 0)
	if _, err := MinibatchStd(newInput(gorgonia.NewGraph(), "x", make([]float32, 6*4), 6, 1, 2, 2), 4, false); err == nil {
		t.Fatal("a batch of 6 in groups of 4 was accepted")
	}
}

// TestPGANFixture runs the cases of testdata/fixture_pgan.json (made by
// make_fixture_pgan.py with PyTorch 1.13).
func TestPGANFixture(t *testing.T) {
	// float32 against PyTorch's float32: sums of at most a few dozen
	// terms; the largest difference seen is below 1e-6.
	const tol = 1e-5
	for _, c := range loadFixtureFile(t, "testdata/fixture_pgan.json", "make_fixture_pgan.py") {
		if c.Op == "append_channel" {
			// s has no gradient: compare the output and ∂x by hand.
			g := gorgonia.NewGraph()
			x := newInput(g, "x", append([]float32(nil), c.Inputs["x"].Data...), c.Inputs["x"].Shape...)
			s := newInput(g, "s", append([]float32(nil), c.Inputs["s"].Data...), c.Inputs["s"].Shape...)
			y, err := AppendChannel(x, s)
			if err != nil {
				t.Fatal(err)
			}
			r := newInput(g, "R", append([]float32(nil), c.R.Data...), y.Shape()...)
			var yv gorgonia.Value
			gorgonia.Read(y, &yv)
			grads, err := gorgonia.Grad(gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(y, r)))), x)
			if err != nil {
				t.Fatal(err)
			}
			m := gorgonia.NewTapeMachine(g)
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			d, _ := float32s(yv)
			compare(t, c.Name+" out", d, c.Out.Data, tol)
			compare(t, c.Name+" ∂x", values(t, grads[0]), c.Grads["x"].Data, tol)
			m.Close()
			continue
		}
		runFixtureCase(t, c, tol, func(in map[string]*gorgonia.Node) (*gorgonia.Node, map[string]*BNStats, error) {
			switch c.Op {
			case "pixelnorm":
				out, err := PixelNorm(in["x"], float32(param(c, "eps")))
				return out, nil, err
			case "mbstd":
				out, err := MinibatchStd(in["x"], int(param(c, "group")), c.Params["frozen"] == true)
				return out, nil, err
			}
			return nil, nil, errUnknownCase(c.Op)
		})
	}
}
