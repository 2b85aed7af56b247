package nn

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"gorgonia.org/gorgonia"
)

// modConv composes a modulated 3×3 convolution from the layers, as package
// stylegan2 does: x·s, conv (padding 1, or, with up, a transposed
// convolution of stride 2 and the [1, 3, 3, 1] filter with padding 1),
// times the demodulation coefficients.
func modConv(x, w, s *gorgonia.Node, gain float32, up bool) (*gorgonia.Node, error) {
	h, err := Modulate(x, s, 0)
	if err != nil {
		return nil, err
	}
	if up {
		wt, err := SwapIO(w)
		if err != nil {
			return nil, err
		}
		if h, err = ConvTranspose2d(h, wt, 2, 0, 0, 0); err != nil {
			return nil, err
		}
		if h, err = UpFIRDn2d(h, FIR1331(4), 1, 1, 1, 1); err != nil {
			return nil, err
		}
	} else if h, err = Conv2d(h, w, 1, 1, 0); err != nil {
		return nil, err
	}
	d, err := Demodulate(s, w, gain, DemodEps, 0)
	if err != nil {
		return nil, err
	}
	return Modulate(h, d, 0)
}

// TestStyleGAN2Gradients checks the layers of fir.go and modconv.go, and
// modulated convolutions composed of them, against central differences.
// The demodulation is smooth but not quadratic; step 1e-2 leaves a
// truncation error near 1e-4 relative.
func TestStyleGAN2Gradients(t *testing.T) {
	const (
		eps = 1e-2
		tol = 2e-3
	)
	cutAt := func(v float32) func(*rand.Rand, int, [][]float32) {
		return func(_ *rand.Rand, i int, d [][]float32) {
			if i == 2 {
				d[2][0] = v
			}
		}
	}
	cases := []gradCase{
		{name: "UpFIRDn2d up2 p2,1", shapes: [][]int{{2, 2, 3, 4}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return UpFIRDn2d(in[0], FIR1331(4), 2, 1, 2, 1) }},
		{name: "UpFIRDn2d down2 p1,1", shapes: [][]int{{2, 2, 6, 4}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return UpFIRDn2d(in[0], FIR1331(1), 1, 2, 1, 1) }},
		{name: "UpFIRDn2d up3 down2 asymmetric filter", shapes: [][]int{{1, 2, 4, 5}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				return UpFIRDn2d(in[0], []float32{0.5, -1, 2}, 3, 2, 2, 1)
			}},
		{name: "Modulate 4-d", shapes: [][]int{{3, 2, 2, 3}, {3, 2}}, wrt: []int{0, 1},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return Modulate(in[0], in[1], 0) }},
		{name: "Modulate 2-d", shapes: [][]int{{3, 4}, {3, 4}}, wrt: []int{0, 1},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return Modulate(in[0], in[1], 0) }},
		{name: "Demodulate", shapes: [][]int{{3, 4}, {5, 4, 3, 3}}, wrt: []int{0, 1},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				return Demodulate(in[0], in[1], float32(math.Sqrt2), DemodEps, 0)
			}},
		{name: "AddNoise", shapes: [][]int{{2, 3, 2, 2}, {2, 1, 2, 2}, {1}}, wrt: []int{0, 2},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return AddNoise(in[0], in[1], in[2], 0) }},
		{name: "Repeat", shapes: [][]int{{2, 3, 2}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return Repeat(in[0], 3) }},
		{name: "StyleMix cut 2", shapes: [][]int{{3, 4}, {3, 4}, {1}}, wrt: []int{0, 1}, init: cutAt(2),
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return StyleMix(in[0], in[1], in[2], 5) }},
		{name: "StyleMix no mixing", shapes: [][]int{{2, 3}, {2, 3}, {1}}, wrt: []int{0, 1}, init: cutAt(4),
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return StyleMix(in[0], in[1], in[2], 4) }},
		{name: "SwapIO", shapes: [][]int{{3, 2, 2, 2}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return SwapIO(in[0]) }},
		{name: "Pick", shapes: [][]int{{3, 4, 2}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return Pick(in[0], 2) }},
		{name: "modulated conv", shapes: [][]int{{2, 3, 4, 4}, {2, 3, 3, 3}, {2, 3}}, wrt: []int{0, 1, 2},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return modConv(in[0], in[1], in[2], 1.5, false) }},
		{name: "modulated conv up", shapes: [][]int{{2, 2, 3, 3}, {3, 2, 3, 3}, {2, 2}}, wrt: []int{0, 1, 2},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return modConv(in[0], in[1], in[2], 1.5, true) }},
	}
	for _, tc := range cases {
		checkGrad(t, tc, eps, tol)
	}
}

// firAxis is the reference form of one axis of UpFIRDn2d: output j is
// Σ w·x[idx] over taps off[j] to off[j+1], built from the definition.
type firAxis struct {
	in, out int
	off     []int
	idx     []int
	w       []float32
}

func newFIRAxis(l int, f []float32, up, down, pad0, pad1 int) firAxis {
	k := len(f)
	a := firAxis{in: l, out: (l*up+pad0+pad1-k)/down + 1}
	a.off = make([]int, a.out+1)
	for j := range a.out {
		for t := range k {
			m := j*down + t - pad0
			if m < 0 || m >= l*up || m%up != 0 {
				continue
			}
			a.idx = append(a.idx, m/up)
			a.w = append(a.w, f[k-1-t])
		}
		a.off[j+1] = len(a.idx)
	}
	return a
}

// transpose returns the adjoint map as a matrix transpose.
func (a firAxis) transpose() firAxis {
	t := firAxis{in: a.out, out: a.in, off: make([]int, a.in+1)}
	for _, i := range a.idx {
		t.off[i+1]++
	}
	for i := range a.in {
		t.off[i+1] += t.off[i]
	}
	t.idx = make([]int, len(a.idx))
	t.w = make([]float32, len(a.w))
	next := append([]int(nil), t.off[:a.in]...)
	for j := range a.out {
		for q := a.off[j]; q < a.off[j+1]; q++ {
			i := a.idx[q]
			t.idx[next[i]] = j
			t.w[next[i]] = a.w[q]
			next[i]++
		}
	}
	return t
}

// firPlaneGo maps one plane x [ah.in, aw.in] to y [ah.out, aw.out] through
// tmp [ah.in, aw.out]: the columns first, then the rows (the reference of
// anogo_fir).
func firPlaneGo(x, y, tmp []float32, ah, aw firAxis) {
	for i := range ah.in {
		xr, tr := x[i*aw.in:(i+1)*aw.in], tmp[i*aw.out:(i+1)*aw.out]
		for b := range aw.out {
			var s float32
			for q := aw.off[b]; q < aw.off[b+1]; q++ {
				s += aw.w[q] * xr[aw.idx[q]]
			}
			tr[b] = s
		}
	}
	for a := range ah.out {
		yr := y[a*aw.out : (a+1)*aw.out]
		clear(yr)
		for q := ah.off[a]; q < ah.off[a+1]; q++ {
			w, tr := ah.w[q], tmp[ah.idx[q]*aw.out:(ah.idx[q]+1)*aw.out]
			for b, v := range tr {
				yr[b] += w * v
			}
		}
	}
}

// firCases are StyleGAN2's four uses of UpFIRDn2d and two others, on
// planes of h×w.
var firCases = []struct {
	f                      []float32
	up, down, p0, p1, h, w int
}{
	{FIR1331(4), 2, 1, 2, 1, 5, 7}, {FIR1331(4), 2, 1, 3, 2, 4, 4}, {FIR1331(1), 1, 1, 2, 2, 8, 6},
	{FIR1331(1), 1, 2, 1, 1, 6, 8}, {[]float32{0.5, -1, 2}, 3, 2, 2, 1, 4, 5}, {[]float32{1, 2, -1, 0.5, 3}, 1, 3, 0, 4, 7, 9},
}

// firSpecOf builds the op's specification as UpFIRDn2d does.
func firSpecOf(t *testing.T, f []float32, up, down, p0, p1, h, w int) firSpec {
	t.Helper()
	x := newInput(gorgonia.NewGraph(), "x", make([]float32, 2*h*w), 1, 2, h, w)
	y, err := UpFIRDn2d(x, f, up, down, p0, p1)
	if err != nil {
		t.Fatal(err)
	}
	return y.Op().(*firOp).s
}

// TestUpFIRDn2dC: the C loops, forward and transposed, give the values of
// the reference loops on tap lists built from the definition (and, for
// the gradient, their matrix transpose), bit for bit.
func TestUpFIRDn2dC(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range firCases {
		s := firSpecOf(t, c.f, c.up, c.down, c.p0, c.p1, c.h, c.w)
		ah, aw := newFIRAxis(c.h, c.f, c.up, c.down, c.p0, c.p1), newFIRAxis(c.w, c.f, c.up, c.down, c.p0, c.p1)
		for dir, v := range []struct {
			s      firSpec
			ah, aw firAxis
		}{{s, ah, aw}, {s.transpose(), ah.transpose(), aw.transpose()}} {
			const planes = 3
			if v.s.hin != v.ah.in || v.s.win != v.aw.in || v.s.hout != v.ah.out || v.s.wout != v.aw.out {
				t.Fatalf("%+v direction %d: %dx%d -> %dx%d, the reference %dx%d -> %dx%d", c, dir, v.s.hin, v.s.win, v.s.hout, v.s.wout, v.ah.in, v.aw.in, v.ah.out, v.aw.out)
			}
			x := randn(rng, planes*v.ah.in*v.aw.in)
			got, want := make([]float32, planes*v.ah.out*v.aw.out), make([]float32, planes*v.ah.out*v.aw.out)
			firPlanes(x, got, make([]float32, v.s.hin*v.s.wout+firRowLen(v.s)), 0, planes, v.s)
			isz, osz := v.ah.in*v.aw.in, v.ah.out*v.aw.out
			for p := range planes {
				firPlaneGo(x[p*isz:(p+1)*isz], want[p*osz:(p+1)*osz], make([]float32, v.ah.in*v.aw.out), v.ah, v.aw)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%+v direction %d: value %d is %v in C, %v in the reference", c, dir, i, got[i], want[i])
				}
			}
		}
	}
	if _, err := UpFIRDn2d(newInput(gorgonia.NewGraph(), "x", make([]float32, 4), 1, 1, 2, 2), FIR1331(1), 1, 2, 0, 0); err == nil {
		t.Fatal("a 2x2 input shorter than the filter was accepted")
	}
}

// TestStyleGAN2Fixture runs the cases of testdata/fixture_stylegan2.json
// (made by make_fixture_stylegan2.py with PyTorch 1.13): the single layers,
// and the modulated convolutions that the authors' code fuses into one
// grouped convolution (the upsampling one a transposed convolution and
// the [1, 3, 3, 1] filter) against their composition here.
func TestStyleGAN2Fixture(t *testing.T) {
	// float32 against PyTorch's float32: sums of at most a few hundred
	// terms in another order; the largest difference seen is 4e-7.
	const tol = 1e-5
	for _, c := range loadFixtureFile(t, "testdata/fixture_stylegan2.json", "make_fixture_stylegan2.py") {
		runFixtureCaseWRT(t, c, tol, func(in map[string]*gorgonia.Node) (*gorgonia.Node, error) {
			switch c.Op {
			case "upfirdn2d":
				return UpFIRDn2d(in["x"], FIR1331(param(c, "gain")), int(param(c, "up")), int(param(c, "down")), int(param(c, "pad0")), int(param(c, "pad1")))
			case "modulate":
				return Modulate(in["x"], in["s"], 0)
			case "demodulate":
				return Demodulate(in["s"], in["w"], float32(param(c, "gain")), float32(param(c, "eps")), 0)
			case "add_noise":
				return AddNoise(in["x"], in["noise"], in["strength"], 0)
			case "repeat":
				return Repeat(in["x"], int(param(c, "n")))
			case "style_mix":
				return StyleMix(in["a"], in["b"], in["cut"], int(param(c, "layers")))
			case "pick":
				return Pick(in["x"], int(param(c, "layer")))
			case "swap_io":
				return SwapIO(in["w"])
			case "modconv", "modconv_up":
				return modConv(in["x"], in["w"], in["s"], float32(param(c, "gain")), c.Op == "modconv_up")
			}
			return nil, errUnknownCase(c.Op)
		})
	}
}

// runFixtureCaseWRT is runFixtureCase for cases where some inputs are data
// without a gradient: it compares the gradients the case holds.
func runFixtureCaseWRT(t *testing.T, c fixtureCase, tol float64, build func(map[string]*gorgonia.Node) (*gorgonia.Node, error)) {
	t.Helper()
	g := gorgonia.NewGraph()
	in := map[string]*gorgonia.Node{}
	var names []string
	for n, ft := range c.Inputs {
		in[n] = newInput(g, n, append([]float32(nil), ft.Data...), ft.Shape...)
	}
	for n := range c.Grads {
		names = append(names, n)
	}
	sort.Strings(names)
	out, err := build(in)
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	r := newInput(g, "R", append([]float32(nil), c.R.Data...), out.Shape()...)
	loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(out, r))))
	var outVal gorgonia.Value
	gorgonia.Read(out, &outVal)
	wrt := make(gorgonia.Nodes, len(names))
	for i, n := range names {
		wrt[i] = in[n]
	}
	grads, err := gorgonia.Grad(loss, wrt...)
	if err != nil {
		t.Fatalf("%s: Grad: %v", c.Name, err)
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatalf("%s: run: %v", c.Name, err)
	}
	got, err := float32s(outVal)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, c.Name+" out", got, c.Out.Data, tol)
	for i, n := range names {
		compare(t, c.Name+" ∂"+n, values(t, grads[i]), c.Grads[n].Data, tol)
	}
}
