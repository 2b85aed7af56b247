package fanogan

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/params"
	"github.com/anogo/anogo/sdk/penalty"
)

// The fixture is PyTorch's (float64) values and gradients of the same
// three networks, every loss and score, written by
// testdata/make_fixture.py (its docstring has the layout), at 28x28 and
// 64x64 with width 2, z of 8 values and batches of 3.

type fxTensor struct {
	Name  string    `json:"name"`
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

type fxCase struct {
	Meta struct {
		Size, Width, Latent, N int
		Lambda, Kappa          float64
	} `json:"meta"`
	Params  []fxTensor            `json:"params"`
	Inputs  []fxTensor            `json:"inputs"`
	Outputs []fxTensor            `json:"outputs"`
	Grads   map[string][]fxTensor `json:"grads"`
}

func loadFixture(t testing.TB) []fxCase {
	t.Helper()
	const path = "testdata/fixture.json"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v (regenerate with /usr/bin/python3 sdk/fanogan/testdata/make_fixture.py)", path, err)
	}
	var f struct {
		Cases []fxCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(f.Cases) != 2 {
		t.Fatalf("%s: %d cases, want 2", path, len(f.Cases))
	}
	return f.Cases
}

func find(ts []fxTensor, name string) (fxTensor, bool) {
	for _, x := range ts {
		if x.Name == name {
			return x, true
		}
	}
	return fxTensor{}, false
}

func (c *fxCase) get(t testing.TB, name string) []float32 {
	t.Helper()
	for _, l := range [][]fxTensor{c.Inputs, c.Outputs} {
		if x, ok := find(l, name); ok {
			return toF32(x.Data)
		}
	}
	t.Fatalf("fixture: no tensor %q", name)
	return nil
}

func (c *fxCase) get64(t testing.TB, name string) []float64 {
	t.Helper()
	x, ok := find(c.Outputs, name)
	if !ok {
		t.Fatalf("fixture: no output %q", name)
	}
	return x.Data
}

func toF32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// goName maps a PyTorch state-dict name to the model's: BatchNorm's weight
// and bias are gamma and beta. It returns "" for the running statistics,
// with the layer's name in bn.
func goName(name string) (param, bn, stat string) {
	i := strings.LastIndex(name, ".")
	layer, leaf := name[:i], name[i+1:]
	isBN := strings.Contains(layer, ".bn") || strings.HasSuffix(layer, "out_bn")
	switch {
	case isBN && (leaf == "running_mean" || leaf == "running_var"):
		return "", layer, leaf
	case isBN && leaf == "weight":
		return layer + ".gamma", "", ""
	case isBN && leaf == "bias":
		return layer + ".beta", "", ""
	}
	return name, "", ""
}

func setOf(m *Model, name string) *params.Set {
	switch name[0] {
	case 'G':
		return &m.G
	case 'D':
		return &m.D
	}
	return &m.E
}

// fixtureModel builds the case's model with its weights and statistics.
func fixtureModel(t testing.TB, c *fxCase) *Model {
	t.Helper()
	m, err := New(Config{Size: c.Meta.Size, Width: c.Meta.Width, Latent: c.Meta.Latent}, 1)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, p := range c.Params {
		s := setOf(m, p.Name)
		param, bn, stat := goName(p.Name)
		if param != "" {
			v := s.Get(param)
			if v == nil {
				t.Fatalf("fixture parameter %s (%s): the model has none", p.Name, param)
			}
			if v.Shape().TotalSize() != len(p.Data) {
				t.Fatalf("%s: %d values, the model's %v", p.Name, len(p.Data), v.Shape())
			}
			copy(v.Data().([]float32), toF32(p.Data))
			seen++
			continue
		}
		st := s.BatchNorm(bn)
		if st == nil {
			t.Fatalf("fixture statistics %s: the model has no BatchNorm %s", p.Name, bn)
		}
		if stat == "running_mean" {
			copy(st.Mean, toF32(p.Data))
		} else {
			copy(st.Var, toF32(p.Data))
		}
	}
	if want := m.G.Len() + m.D.Len() + m.E.Len(); seen != want {
		t.Fatalf("fixture has %d parameters, the model %d", seen, want)
	}
	return m
}

// relErr is ‖got - want‖ / ‖want‖ over all values.
func relErr(got []float32, want []float64) float64 {
	var d, n float64
	for i, w := range want {
		e := float64(got[i]) - w
		d += e * e
		n += w * w
	}
	return math.Sqrt(d / math.Max(n, 1e-300))
}

func check(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	if e := relErr(got, want); !(e <= tol) {
		t.Errorf("%s: relative error %.3g, allowed %.3g", what, e, tol)
	} else if testing.Verbose() {
		t.Logf("%s: relative error %.3g", what, e)
	}
}

// checkGrads compares the gradients grads (in the order of set) with the
// fixture's records of loss.
func checkGrads(t *testing.T, c *fxCase, loss string, set *params.Set, grads [][]float32, tol float64) {
	t.Helper()
	recs := c.Grads[loss]
	if len(recs) != set.Len() {
		t.Fatalf("%s: fixture has %d gradients, the network %d parameters", loss, len(recs), set.Len())
	}
	var got []float32
	var want []float64
	for _, r := range recs {
		param, _, _ := goName(r.Name)
		i := set.Index(param)
		if i < 0 {
			t.Fatalf("%s: no parameter %s", loss, param)
		}
		got = append(got, grads[i]...)
		want = append(want, r.Data...)
		if e := relErr(grads[i], r.Data); testing.Verbose() {
			t.Logf("%s %s: %.3g", loss, param, e)
		}
	}
	check(t, loss+" gradient", got, want, tol)
}

// run1 builds a graph with build, runs it once and returns the values of
// the nodes it returns.
func run1(t *testing.T, build func(g *gorgonia.ExprGraph) ([]*gorgonia.Node, error)) [][]float32 {
	t.Helper()
	g := gorgonia.NewGraph()
	nodes, err := build(g)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	out := make([][]float32, len(nodes))
	for i, n := range nodes {
		switch v := n.Value().Data().(type) {
		case []float32:
			out[i] = append([]float32(nil), v...)
		case float32:
			out[i] = []float32{v}
		}
	}
	return out
}

func constant(g *gorgonia.ExprGraph, name string, x []float32, shape ...int) *gorgonia.Node {
	return gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(x)), gorgonia.WithName(name))
}

// The tolerances: float32 forward values and first-order gradients against
// PyTorch's float64 (their float32 results are within 1e-6 to 1e-5 of it,
// the fixture's floor), and the penalty's weight gradient, which the
// finite differences of package penalty make (3e-5 there, stated in
// docs/penalty.md).
const (
	tolValue   = 2e-5
	tolGrad    = 1e-4
	tolPenalty = 1e-4
)

// TestFixtureWGANGP checks G in train mode, the critic, the penalty and its
// weight gradient, the critic's loss gradient and the generator's against
// PyTorch (create_graph for the penalty).
func TestFixtureWGANGP(t *testing.T) {
	for _, c := range loadFixture(t) {
		c := c
		t.Run(fmt.Sprint(c.Meta.Size), func(t *testing.T) {
			m := fixtureModel(t, &c)
			n, s, z := c.Meta.N, c.Meta.Size, c.Meta.Latent
			real := c.get(t, "real")
			// G(z) in train mode, and its running statistics after it.
			out := run1(t, func(g *gorgonia.ExprGraph) ([]*gorgonia.Node, error) {
				x, err := m.Generator(constant(g, "z", c.get(t, "z"), n, z), m.G.Nodes(g), true, noGradAll)
				return []*gorgonia.Node{x}, err
			})
			check(t, "G(z)", out[0], c.get64(t, "fake"), tolValue)
			for _, st := range m.G.BN {
				check(t, st.Name+" running mean", st.Mean, c.get64(t, st.Name+".running_mean_after"), tolValue)
				check(t, st.Name+" running var", st.Var, c.get64(t, st.Name+".running_var_after"), tolValue)
			}
			fake := c.get(t, "fake")
			// D and f.
			out = run1(t, func(g *gorgonia.ExprGraph) ([]*gorgonia.Node, error) {
				d, f, _, err := m.Critic(constant(g, "x", real, n, 1, s, s), m.D.Nodes(g), nil, noGradAll)
				return []*gorgonia.Node{d, f}, err
			})
			check(t, "D(real)", out[0], c.get64(t, "d_real"), tolValue)
			check(t, "f(real)", out[1], c.get64(t, "f_real"), tolValue)

			cr := newCritic(m)
			// The loss part: mean D(fake) - mean D(real).
			grads := zerosLike(m.D.Values())
			w := make([]float32, 2*n)
			for i := range w {
				w[i] = 1 / float32(n)
				if i < n {
					w[i] = -1 / float32(n)
				}
			}
			d, err := cr.weightGrad(grads, []float32{}, append(append([]float32(nil), real...), fake...), w, nil)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "D(fake)", d[n:], c.get64(t, "d_fake"), tolValue)
			checkGrads(t, &c, "loss_d_wass", &m.D, grads, tolGrad)

			// ∇x D at x̂, the penalty and its gradient.
			alpha := c.get(t, "alpha")
			xhat := c.get(t, "xhat")
			dx, gx := make([]float32, n), make([]float32, len(xhat))
			if err := cr.InputGrad(dx, gx, xhat); err != nil {
				t.Fatal(err)
			}
			check(t, "∇x D(x̂)", gx, c.get64(t, "gx_xhat"), tolGrad)
			a := make([]float32, n)
			for i := range a {
				a[i] = 1 - alpha[i] // x̂ = α'·real + (1-α')·fake
			}
			pg := zerosLike(m.D.Values())
			gp, err := penalty.WGANGP(cr, pg, real, fake, a, c.Meta.Lambda, nil)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "penalty", []float32{float32(gp)}, c.get64(t, "gp"), tolValue)
			checkGrads(t, &c, "gp", &m.D, pg, tolPenalty)

			// The generator's loss -mean D(G(z)) in train mode, from fresh
			// statistics.
			m = fixtureModel(t, &c)
			var gnodes gorgonia.Nodes
			out = run1(t, func(g *gorgonia.ExprGraph) ([]*gorgonia.Node, error) {
				gnodes = m.G.Nodes(g)
				lg, err := m.generatorLoss(constant(g, "z", c.get(t, "z"), n, z), gnodes, m.D.Nodes(g))
				if err != nil {
					return nil, err
				}
				gr, err := gorgonia.Grad(lg, gnodes...)
				return append([]*gorgonia.Node{lg}, gr...), err
			})
			check(t, "L_G", out[0], c.get64(t, "loss_g"), tolValue)
			checkGrads(t, &c, "loss_g", &m.G, out[1:], tolGrad)
		})
	}
}

// TestFixtureEncoder checks the izi_f, izi and ziz losses and their
// gradients (E in train mode, G eval, D frozen), E's statistics after a
// train-mode pass, and the scores in eval mode against PyTorch.
func TestFixtureEncoder(t *testing.T) {
	for _, c := range loadFixture(t) {
		c := c
		t.Run(fmt.Sprint(c.Meta.Size), func(t *testing.T) {
			n, s, z := c.Meta.N, c.Meta.Size, c.Meta.Latent
			real := c.get(t, "real")
			for _, loss := range []string{"izif_loss", "izi_loss", "ziz_loss"} {
				m := fixtureModel(t, &c)
				out := run1(t, func(g *gorgonia.ExprGraph) ([]*gorgonia.Node, error) {
					ep, gp, dp := m.E.Nodes(g), m.G.Nodes(g), m.D.Nodes(g)
					var l *gorgonia.Node
					var err error
					switch loss {
					case "ziz_loss":
						if l, err = m.zizLoss(constant(g, "z", c.get(t, "z_enc"), n, z), ep, gp); err != nil {
							return nil, err
						}
					default:
						kappa := c.Meta.Kappa
						if loss == "izi_loss" {
							kappa = 0
						}
						if l, err = m.residuals(constant(g, "x", real, n, 1, s, s), ep, gp, dp, true, kappa); err != nil {
							return nil, err
						}
					}
					gr, err := gorgonia.Grad(l, ep...)
					return append([]*gorgonia.Node{l}, gr...), err
				})
				check(t, loss, out[0], c.get64(t, loss), tolValue)
				checkGrads(t, &c, loss, &m.E, out[1:], tolGrad)
				if loss == "izif_loss" {
					for _, st := range m.E.BN {
						check(t, st.Name+" running mean", st.Mean, c.get64(t, st.Name+".running_mean_after"), tolValue)
						check(t, st.Name+" running var", st.Var, c.get64(t, st.Name+".running_var_after"), tolValue)
					}
				}
			}
			m := fixtureModel(t, &c)
			var samples []data.Sample
			for i := 0; i < n; i++ {
				im := data.NewImage(s, s)
				copy(im.Pix, real[i*s*s:])
				samples = append(samples, data.Sample{ID: fmt.Sprint(i), Image: im})
			}
			mp, err := (&Scorer{Model: m, Kappa: c.Meta.Kappa}).Map(context.Background(), samples)
			if err != nil {
				t.Fatal(err)
			}
			var sc, cyc, rec, zs []float32
			for i := range samples {
				sc = append(sc, float32(Anomaly(mp.R[i], mp.D[i], c.Meta.Kappa)))
				cyc = append(cyc, float32(mp.Cycle[i]))
				rec = append(rec, mp.Recon[i]...)
				zs = append(zs, mp.Z[i]...)
			}
			check(t, "E(x), eval", zs, c.get64(t, "e_x_eval"), tolValue)
			check(t, "G(E(x))", rec, c.get64(t, "recon"), tolValue)
			check(t, "f-AnoGAN score", sc, c.get64(t, "score_izif"), tolValue)
			check(t, "latent-cycle score", cyc, c.get64(t, "score_cycle"), 1e-4)
		})
	}
}

// TestFixturePenaltyCentral: the cheaper one-pair difference
// (penalty.Options.Central) against PyTorch, within the bound package
// penalty states for it.
func TestFixturePenaltyCentral(t *testing.T) {
	for _, c := range loadFixture(t) {
		m := fixtureModel(t, &c)
		n := c.Meta.N
		alpha := c.get(t, "alpha")
		a := make([]float32, n)
		for i := range a {
			a[i] = 1 - alpha[i]
		}
		pg := zerosLike(m.D.Values())
		if _, err := penalty.WGANGP(newCritic(m), pg, c.get(t, "real"), c.get(t, "fake"), a, c.Meta.Lambda, &penalty.Options{Central: true}); err != nil {
			t.Fatal(err)
		}
		checkGrads(t, &c, "gp", &m.D, pg, 2e-4)
	}
}
