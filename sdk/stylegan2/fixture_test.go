package stylegan2

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/params"
	"github.com/anogo/anogo/sdk/penalty"
)

// fixture is testdata/fixture.json (make_fixture.py).
type fixture struct {
	Meta struct {
		N             int       `json:"n"`
		Width         int       `json:"width"`
		MaxChannels   int       `json:"max_channels"`
		ZDim          int       `json:"z_dim"`
		WDim          int       `json:"w_dim"`
		MappingLayers int       `json:"mapping_layers"`
		Cutoff        int       `json:"cutoff"`
		Gamma         float64   `json:"gamma"`
		AugFlip       []int     `json:"aug_flip"`
		AugShift      []float64 `json:"aug_shift"`
	} `json:"meta"`
	Cases []fixtureCase `json:"cases"`
}

type fixtureCase struct {
	Size                  int                  `json:"size"`
	W1                    []float64            `json:"w1"`
	W2                    []float64            `json:"w2"`
	Img                   []float64            `json:"img"`
	DFake                 []float64            `json:"d_fake"`
	DReal                 []float64            `json:"d_real"`
	LossG                 float64              `json:"loss_g"`
	GradG                 map[string][]float64 `json:"grad_g"`
	LossD                 float64              `json:"loss_d"`
	GradD                 map[string][]float64 `json:"grad_d"`
	R1                    float64              `json:"r1"`
	GradR1                map[string][]float64 `json:"grad_r1"`
	R1Aug                 float64              `json:"r1_aug"`
	GradR1Aug             map[string][]float64 `json:"grad_r1_aug"`
	R1Coupled             float64              `json:"r1_coupled"`
	R1CoupledGradVsFrozen float64              `json:"r1_coupled_grad_vs_frozen"`
	Synth                 float64              `json:"synth"`
	WsGrad                []float64            `json:"ws_grad"`
}

func loadFixture(t testing.TB) *fixture {
	t.Helper()
	b, err := os.ReadFile("testdata/fixture.json")
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 testdata/make_fixture.py)", err)
	}
	var f fixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("testdata/fixture.json has no cases")
	}
	return &f
}

// gen reproduces make_fixture.py's generator: n float32 values
// offset + scale·g, g the centred sum of four 24-bit uniforms of a
// splitmix64 stream seeded by FNV-1a of key, scaled to unit variance.
func gen(key string, n int, scale, offset float64) []float32 {
	h := fnv.New64a()
	h.Write([]byte(key))
	state := h.Sum64()
	out := make([]float32, n)
	for i := range out {
		var s float64
		for range 4 {
			state += 0x9e3779b97f4a7c15
			z := state
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
			z = (z ^ (z >> 27)) * 0x94d049bb133111eb
			z ^= z >> 31
			s += float64(z>>40) / 16777216
		}
		g := (s - 2) * math.Sqrt(3)
		out[i] = float32(offset + float64(scale*g))
	}
	return out
}

// genScale is make_fixture.py's scale and offset of a parameter.
func genScale(name string) (scale, offset float64) {
	switch {
	case strings.HasPrefix(name, "G.mapping.") && strings.HasSuffix(name, ".weight"):
		return 100, 0
	case strings.HasPrefix(name, "G.mapping."):
		return 10, 0
	case strings.HasSuffix(name, ".affine.bias"):
		return 0.1, 1
	case strings.HasSuffix(name, ".noise_strength"), strings.HasSuffix(name, ".bias"):
		return 0.1, 0
	}
	return 1, 0
}

func (f *fixture) config(size int) Config {
	return Config{Size: size, Width: f.Meta.Width, MaxChannels: f.Meta.MaxChannels, ZDim: f.Meta.ZDim, WDim: f.Meta.WDim, MappingLayers: f.Meta.MappingLayers}
}

// fixtureModel returns the fixture's model at size (G_ema = G).
func fixtureModel(t testing.TB, f *fixture, size int) *Model {
	t.Helper()
	m, err := New(f.config(size), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []struct {
		s    []string
		vals [][]float32
	}{{names(m.G.Params), m.G.Values()}, {names(m.D.Params), m.D.Values()}} {
		for i, name := range set.s {
			sc, off := genScale(name)
			copy(set.vals[i], gen(fmt.Sprintf("%d/%s", size, name), len(set.vals[i]), sc, off))
		}
	}
	ema := m.GEMA.Values()
	for i, v := range m.G.Values() {
		copy(ema[i], v)
	}
	m.Sync()
	return m
}

func names(ps []params.Param) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

// relErr is ‖got - want‖/‖want‖.
func relErr(got []float32, want []float64) float64 {
	var num, den float64
	for i, w := range want {
		d := float64(got[i]) - w
		num += d * d
		den += w * w
	}
	return math.Sqrt(num / den)
}

// relErrSet is relErr over every parameter of a set's gradients.
func relErrSet(t testing.TB, names []string, got [][]float32, want map[string][]float64) float64 {
	t.Helper()
	var num, den float64
	for i, name := range names {
		w, ok := want[name]
		if !ok || len(w) != len(got[i]) {
			t.Fatalf("the fixture's gradient of %s has %d values, ours %d", name, len(w), len(got[i]))
		}
		for j, v := range w {
			d := float64(got[i][j]) - v
			num += d * d
			den += v * v
		}
	}
	return math.Sqrt(num / den)
}

// flipShift is the fixture's augmentation: a horizontal flip of some
// images and a brightness offset per image.
type flipShift struct {
	n, h, w int
	flip    []bool
	shift   []float32
}

func (a *flipShift) Apply(dst, x []float32) {
	a.linear(dst, x)
	d := len(x) / a.n
	for i := range a.n {
		for j := range d {
			dst[i*d+j] += a.shift[i]
		}
	}
}

// Backward: the flip is its own transpose.
func (a *flipShift) Backward(dst, g []float32) { a.linear(dst, g) }

func (a *flipShift) linear(dst, x []float32) {
	d := a.h * a.w
	c := len(x) / (a.n * d)
	for i := range a.n {
		for k := range c {
			base := (i*c + k) * d
			for y := range a.h {
				for q := range a.w {
					src := q
					if a.flip[i] {
						src = a.w - 1 - q
					}
					dst[base+y*a.w+q] = x[base+y*a.w+src]
				}
			}
		}
	}
}

func (f *fixture) augmentation(size int) *flipShift {
	a := &flipShift{n: f.Meta.N, h: size, w: size, flip: make([]bool, f.Meta.N), shift: make([]float32, f.Meta.N)}
	for _, i := range f.Meta.AugFlip {
		a.flip[i] = true
	}
	for i, v := range f.Meta.AugShift {
		a.shift[i] = float32(v)
	}
	return a
}

// fixtureInputs sets the inputs of zg to the fixture's z1, z2, cutoff and
// noise at size.
func fixtureInputs(t testing.TB, f *fixture, zg *zGraph, size int) {
	t.Helper()
	n := f.Meta.N
	key := func(s string) string { return fmt.Sprintf("%d/%s", size, s) }
	copy(f32s(zg.zT[0]), gen(key("z1"), n*f.Meta.ZDim, 1, 0))
	copy(f32s(zg.zT[1]), gen(key("z2"), n*f.Meta.ZDim, 1, 0))
	f32s(zg.cutT)[0] = float32(f.Meta.Cutoff)
	for i, nz := range zg.noiseT {
		copy(f32s(nz), gen(key(fmt.Sprintf("noise%d", i)), len(f32s(nz)), 1, 0))
	}
	if err := zg.feed(); err != nil {
		t.Fatal(err)
	}
}

// TestFixture checks G and D against PyTorch in float64
// (testdata/make_fixture.py, the reference's formulation) at 28, 32 and
// 64 pixels: the mapping network, the synthesis network with style
// mixing and noise, D's logits, the gradients of G's and D's losses with
// respect to the stored weights (the constants of the equalised learning
// rate included), R1 and its weight gradient (against create_graph=True),
// with and without an augmentation, and the encoder's path through
// Synthesis to ws.
func TestFixture(t *testing.T) {
	f := loadFixture(t)
	const (
		tolValue = 1e-5 // images, logits, losses: float32 against float64
		tolGrad  = 2e-5 // first-order gradients
		tolR1    = 1e-5 // R1's weight gradient by one central difference
	)
	check := func(what string, e, tol float64) {
		t.Helper()
		if !(e <= tol) {
			t.Errorf("%s: relative error %.3g > %g", what, e, tol)
		} else {
			t.Logf("%s: relative error %.3g", what, e)
		}
	}
	scalarErr := func(got, want float64) float64 { return math.Abs(got-want) / math.Max(math.Abs(want), 1e-12) }
	for _, c := range f.Cases {
		size, n := c.Size, f.Meta.N
		m := fixtureModel(t, f, size)
		at := func(s string) string { return fmt.Sprintf("%d px: %s", size, s) }
		// Mapping (G_ema = G).
		z1 := gen(fmt.Sprintf("%d/z1", size), n*f.Meta.ZDim, 1, 0)
		w1, err := m.Mapping(z1, n)
		if err != nil {
			t.Fatal(err)
		}
		check(at("mapping"), relErr(w1, c.W1), tolValue)
		w2, err := m.Mapping(gen(fmt.Sprintf("%d/z2", size), n*f.Meta.ZDim, 1, 0), n)
		if err != nil {
			t.Fatal(err)
		}
		check(at("mapping of z2"), relErr(w2, c.W2), tolValue)

		tc := DefaultTrainConfig()
		tc.BatchSize = n
		tr, err := NewTrainer(m, tc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.build(); err != nil {
			t.Fatal(err)
		}
		gr := tr.graphs
		// Synthesis with mixing and noise.
		fixtureInputs(t, f, gr.fake, size)
		if err := gr.fake.vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		fake := append([]float32(nil), f32s(*gr.fake.imgV)...)
		if c.Img != nil {
			check(at("synthesis image"), relErr(fake, c.Img), tolValue)
		}
		gr.fake.vm.Reset()
		// G's loss and gradient.
		fixtureInputs(t, f, gr.gstep, size)
		if err := gr.gstep.vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		check(at("D(G(z)) in G's step"), relErr(f32s(*gr.gstep.dV), c.DFake), tolValue)
		check(at("loss_g"), scalarErr(float64(scalar(*gr.gstep.lossV)), c.LossG), tolValue)
		gg := zerosLike(m.G.Values())
		for i, g := range gr.gstep.grads {
			copy(gg[i], f32s(g.Value()))
		}
		gr.gstep.vm.Reset()
		m.toStored(netG, gg)
		check(at("G's loss gradient"), relErrSet(t, names(m.G.Params), gg, c.GradG), tolGrad)
		// D's loss and gradient.
		real := gen(fmt.Sprintf("%d/real", size), n*size*size, 0.5, 0)
		dg, dt := zerosLike(m.D.Values()), zerosLike(m.D.Values())
		lf, dFake, err := gr.lossFk.grad(dg, fake)
		if err != nil {
			t.Fatal(err)
		}
		lr, dReal, err := gr.lossReal.grad(dt, real)
		if err != nil {
			t.Fatal(err)
		}
		for i := range dg {
			for j := range dg[i] {
				dg[i][j] += dt[i][j]
			}
		}
		m.toStored(netD, dg)
		check(at("D(fake)"), relErr(dFake, c.DFake), tolValue)
		check(at("D(real)"), relErr(dReal, c.DReal), tolValue)
		check(at("loss_d"), scalarErr(lf+lr, c.LossD), tolValue)
		check(at("D's loss gradient"), relErrSet(t, names(m.D.Params), dg, c.GradD), tolGrad)
		// R1, without and with the augmentation.
		for _, aug := range []bool{false, true} {
			cr := newCritic(m, n)
			want, wantGrad, what := c.R1, c.GradR1, "R1"
			if aug {
				cr.setAug(f.augmentation(size))
				want, wantGrad, what = c.R1Aug, c.GradR1Aug, "R1 through the augmentation"
			}
			rg := zerosLike(m.D.Values())
			r1, err := penalty.R1(cr, rg, real, n, f.Meta.Gamma, &tc.Penalty)
			if err != nil {
				t.Fatal(err)
			}
			cr.close()
			m.toStored(netD, rg)
			check(at(what+" value"), scalarErr(r1, want), tolValue)
			check(at(what+" weight gradient (create_graph)"), relErrSet(t, names(m.D.Params), rg, wantGrad), tolR1)
			if !aug {
				t.Logf("%d px: the reference differentiates through the minibatch statistic: its R1 %.6g (ours %.6g, %.2g off), its weight gradient %.3g off ours",
					size, c.R1Coupled, r1, scalarErr(r1, c.R1Coupled), c.R1CoupledGradVsFrozen)
			}
		}
		tr.Close()
		// The encoder's path: Synthesis with frozen weights, zero noise.
		g := gorgonia.NewGraph()
		wsT := tensor.New(tensor.WithShape(n, m.NumWs(), m.WDim()), tensor.WithBacking(gen(fmt.Sprintf("%d/ws0", size), n*m.NumWs()*m.WDim(), 1, 0)))
		ws := gorgonia.NodeFromAny(g, wsT, gorgonia.WithName("ws"))
		img, err := m.Synthesis(ws)
		if err != nil {
			t.Fatal(err)
		}
		r := gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(n, 1, size, size), tensor.WithBacking(gen(fmt.Sprintf("%d/R", size), n*size*size, 1, 0))), gorgonia.WithName("R"))
		dot := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(img, r))))
		var dotV gorgonia.Value
		gorgonia.Read(dot, &dotV)
		wsGrad, err := gorgonia.Grad(dot, ws)
		if err != nil {
			t.Fatal(err)
		}
		vm := gorgonia.NewTapeMachine(g)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		// A sum of n·Size² products of both signs, which cancel: its
		// relative error is larger than the image's.
		check(at("Synthesis(ws)·R"), scalarErr(float64(scalar(dotV)), c.Synth), 10*tolValue)
		check(at("Synthesis's gradient to ws"), relErr(f32s(wsGrad[0].Value()), c.WsGrad), tolGrad)
		vm.Close()
		m.Close()
	}
}

// TestR1Steps measures R1's weight gradient against PyTorch's for several
// central-difference steps ε: D with its kinks and statistic frozen is
// piecewise linear, so the error is float32 rounding alone and falls as ε
// grows (docs/stylegan2.md).
func TestR1Steps(t *testing.T) {
	f := loadFixture(t)
	for _, c := range f.Cases {
		m := fixtureModel(t, f, c.Size)
		n := f.Meta.N
		real := gen(fmt.Sprintf("%d/real", c.Size), n*c.Size*c.Size, 0.5, 0)
		var line []string
		for _, eps := range []float64{2e-3, 1e-2, 5e-2, 0.1, 0.5} {
			cr := newCritic(m, n)
			rg := zerosLike(m.D.Values())
			if _, err := penalty.R1(cr, rg, real, n, f.Meta.Gamma, &penalty.Options{Central: true, Eps: eps}); err != nil {
				t.Fatal(err)
			}
			cr.close()
			m.toStored(netD, rg)
			e := relErrSet(t, names(m.D.Params), rg, c.GradR1)
			if e > 1e-4 {
				t.Errorf("%d px, ε = %g: relative error %.3g", c.Size, eps, e)
			}
			line = append(line, fmt.Sprintf("ε %g: %.2g", eps, e))
		}
		t.Logf("%d px: R1 weight gradient, one central difference: %s", c.Size, strings.Join(line, ", "))
	}
}
