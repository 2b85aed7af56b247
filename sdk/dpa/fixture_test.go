package dpa

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/params"
)

type fixtureTensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

type fixturePhase struct {
	Level int                  `json:"level"`
	Res   int                  `json:"res"`
	Fade  bool                 `json:"fade"`
	Alpha float64              `json:"alpha"`
	Layer string               `json:"layer"`
	Recon []float64            `json:"recon"`
	Loss  []float64            `json:"loss"`
	Grads map[string][]float64 `json:"grads"`
}

type fixtureCase struct {
	Size          int                      `json:"size"`
	Width         int                      `json:"width"`
	Latent        int                      `json:"latent"`
	FeaturesWidth int                      `json:"features_width"`
	Params        map[string]fixtureTensor `json:"params"`
	Features      map[string]fixtureTensor `json:"features"`
	X             []float64                `json:"x"`
	Phases        []fixturePhase           `json:"phases"`
}

func setFrom(t *testing.T, s *params.Set, want map[string]fixtureTensor) {
	t.Helper()
	if len(want) != s.Len() {
		t.Fatalf("fixture has %d tensors, the set %d", len(want), s.Len())
	}
	for _, p := range s.Params {
		w, ok := want[p.Name]
		if !ok {
			t.Fatalf("fixture lacks %s", p.Name)
		}
		if !p.Value.Shape().Eq(tensor.Shape(w.Shape)) {
			t.Fatalf("%s: shape %v in Go, %v in the fixture", p.Name, p.Value.Shape(), w.Shape)
		}
		d := p.Value.Data().([]float32)
		for i, v := range w.Data {
			d[i] = float32(v)
		}
	}
}

// maxRel returns max|got - want| / max(1e-3, max|want|).
func maxRel(got []float32, want []float64) float64 {
	var d, m float64
	for i, w := range want {
		d = math.Max(d, math.Abs(float64(got[i])-w))
		m = math.Max(m, math.Abs(w))
	}
	return d / math.Max(m, 1e-3)
}

// TestFixture compares the autoencoder's output at every growing phase
// (fade-ins at α = 0.3, 0.7 or 0.5), the relative perceptual loss per
// image and its gradients with respect to every weight the phase trains
// with PyTorch's float64 values (testdata/make_fixture.py). The float32
// forward agrees to about 1e-6 relative; tol leaves a margin for the
// gradients' sums over thousands of terms.
func TestFixture(t *testing.T) {
	const tol = 1e-4
	raw, err := os.ReadFile("testdata/fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Cases []fixtureCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	for _, c := range fx.Cases {
		m, err := New(Config{Size: c.Size, Width: c.Width, Latent: c.Latent}, 1)
		if err != nil {
			t.Fatal(err)
		}
		setFrom(t, &m.AE, c.Params)
		fn, err := NewFeatureNet(Features{Width: c.FeaturesWidth})
		if err != nil {
			t.Fatal(err)
		}
		setFrom(t, &fn.Set, c.Features)
		n := len(c.X) / (c.Size * c.Size)
		x := make([]float32, len(c.X))
		for i, v := range c.X {
			x[i] = float32(v)
		}
		for _, ph := range c.Phases {
			name := fmt.Sprintf("S=%d level %d fade %v", c.Size, ph.Level, ph.Fade)
			g := gorgonia.NewGraph()
			xs := Shrink(x, n, c.Size, ph.Res)
			xn := gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(n, 1, ph.Res, ph.Res), tensor.WithBacking(xs)), gorgonia.WithName("x"))
			var fade *Fade
			if ph.Fade {
				fade = NewFade(g)
				if err := fade.Set(ph.Alpha); err != nil {
					t.Fatal(err)
				}
			}
			an := m.AE.Nodes(g)
			xr, err := m.Reconstruct(xn, an, ph.Level, fade, nn.NoInputGrad)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			l, _, _, err := Perceptual(fn, fn.Set.Nodes(g), xn, xr, ph.Layer, 0)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			loss := gorgonia.Must(gorgonia.Mean(l))
			var xrV, lV gorgonia.Value
			gorgonia.Read(xr, &xrV)
			gorgonia.Read(l, &lV)
			used := usedParams(g, an)
			wrt := make(gorgonia.Nodes, len(used))
			for i, j := range used {
				wrt[i] = an[j]
			}
			grads, err := gorgonia.Grad(loss, wrt...)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			vm := gorgonia.NewTapeMachine(g)
			if err := vm.RunAll(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if e := maxRel(f32s(xrV), ph.Recon); e > tol {
				t.Errorf("%s: reconstruction off by %.2g relative", name, e)
			}
			if e := maxRel(f32s(lV), ph.Loss); e > tol {
				t.Errorf("%s: L_rel %v, PyTorch %v", name, f32s(lV), ph.Loss)
			}
			if len(used) != len(ph.Grads) {
				t.Errorf("%s: %d parameters trained, PyTorch %d", name, len(used), len(ph.Grads))
			}
			worst := 0.0
			for i, j := range used {
				pn := m.AE.Params[j].Name
				want, ok := ph.Grads[pn]
				if !ok {
					t.Errorf("%s: %s trained in Go only", name, pn)
					continue
				}
				e := maxRel(f32s(grads[i].Value()), want)
				worst = math.Max(worst, e)
				if e > tol {
					t.Errorf("%s: gradient of %s off by %.2g relative", name, pn, e)
				}
			}
			t.Logf("%s: %d gradients, worst relative error %.2g", name, len(used), worst)
			vm.Close()
		}
	}
}
