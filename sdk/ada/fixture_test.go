package ada

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// fixtureParams is one sample's parameters as testdata/make_fixture.py
// writes them.
type fixtureParams struct {
	XFlip      int        `json:"xflip"`
	Rot90      int        `json:"rot90"`
	XInt       [2]float64 `json:"xint"`
	Scale      float64    `json:"scale"`
	PreRot     float64    `json:"pre_rot"`
	Aniso      float64    `json:"aniso"`
	PostRot    float64    `json:"post_rot"`
	XFrac      [2]float64 `json:"xfrac"`
	Brightness float64    `json:"brightness"`
	Contrast   float64    `json:"contrast"`
	LumaFlip   int        `json:"lumaflip"`
}

func (f fixtureParams) params() params {
	return params{
		xflip: f.XFlip, rot90: f.Rot90, xint: f.XInt, scale: f.Scale, preRot: f.PreRot,
		aniso: f.Aniso, postRot: f.PostRot, xfrac: f.XFrac, brightness: f.Brightness,
		contrast: f.Contrast, lumaflip: f.LumaFlip,
	}
}

type fixtureCase struct {
	Name   string          `json:"name"`
	Shape  [4]int          `json:"shape"`
	Params []fixtureParams `json:"params"`
	Geom   []float64       `json:"geom"`
	Scale  []float64       `json:"scale"`
	Offset []float64       `json:"offset"`
	X      []float64       `json:"x"`
	R      []float64       `json:"r"`
	Out    []float64       `json:"out"`
	Grad   []float64       `json:"grad"`
}

func loadFixture(t *testing.T) []fixtureCase {
	t.Helper()
	b, err := os.ReadFile("testdata/fixture.json")
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 testdata/make_fixture.py)", err)
	}
	var f struct {
		Cases []fixtureCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("fixture has no cases")
	}
	return f.Cases
}

func f32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func maxAbsDiff(a []float32, b []float64) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-b[i]))
	}
	return m
}

// TestFixture checks the composition of the transforms into one affine
// and one colour map, Apply and Backward against PyTorch (affine_grid,
// grid_sample with reflection, align_corners=False; autograd) in float64.
func TestFixture(t *testing.T) {
	const (
		tolMap = 1e-12 // the composed maps, float64 both sides
		tol    = 1e-5  // float32 sampling against float64
	)
	for _, c := range loadFixture(t) {
		n, ch, h, w := c.Shape[0], c.Shape[1], c.Shape[2], c.Shape[3]
		samples := make([]Sample, n)
		var errMap float64
		for i, fp := range c.Params {
			d := fp.params()
			s := d.sample()
			for k := range 6 {
				errMap = max(errMap, math.Abs(s.Geom[k]-c.Geom[6*i+k]))
			}
			errMap = max(errMap, math.Abs(s.Scale-c.Scale[i]), math.Abs(s.Offset-c.Offset[i]))
			samples[i] = s
		}
		if errMap > tolMap {
			t.Errorf("%s: composed maps differ from PyTorch's by %.3g", c.Name, errMap)
		}
		b := NewBatch(n, ch, h, w, samples)
		x, r := f32s(c.X), f32s(c.R)
		out := make([]float32, len(x))
		b.Apply(out, x)
		grad := make([]float32, len(x))
		b.Backward(grad, r)
		errOut, errGrad := maxAbsDiff(out, c.Out), maxAbsDiff(grad, c.Grad)
		t.Logf("%s (%dx%dx%dx%d): max |error| maps %.2g, Apply %.2g, Backward %.2g",
			c.Name, n, ch, h, w, errMap, errOut, errGrad)
		if errOut > tol {
			t.Errorf("%s: Apply differs from PyTorch by %.3g", c.Name, errOut)
		}
		if errGrad > tol {
			t.Errorf("%s: Backward differs from PyTorch's gradient by %.3g", c.Name, errGrad)
		}
	}
}
