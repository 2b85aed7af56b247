package penalty

import (
	"math"
	"testing"
)

// relErr returns ‖a − b‖/‖b‖ over all the slices together.
func relErr(a [][]float32, b []fixtureTensor) float64 {
	var num, den float64
	for k := range a {
		for j, v := range a[k] {
			d := float64(v) - b[k].Data[j]
			num += d * d
			den += b[k].Data[j] * b[k].Data[j]
		}
	}
	return math.Sqrt(num / den)
}

func relErr64(a, b []fixtureTensor) float64 {
	var num, den float64
	for k := range a {
		for j, v := range a[k].Data {
			d := v - b[k].Data[j]
			num += d * d
			den += b[k].Data[j] * b[k].Data[j]
		}
	}
	return math.Sqrt(num / den)
}

// TestCriticMatchesPyTorch checks the test critic itself: D(x̂) and
// ∇_x D(x̂) against the fixture.
func TestCriticMatchesPyTorch(t *testing.T) {
	const tol = 1e-5
	f := loadFixture(t)
	c := newTestCritic(t, f)
	d := make([]float32, f.Meta.N)
	gx := make([]float32, len(f.Xhat.Data))
	if err := c.InputGrad(d, gx, f32(f.Xhat.Data)); err != nil {
		t.Fatal(err)
	}
	for i, v := range d {
		if e := math.Abs(float64(v) - f.DXhat.Data[i]); e > tol*math.Max(1, math.Abs(f.DXhat.Data[i])) {
			t.Errorf("D(x̂_%d) = %g, PyTorch %g", i, v, f.DXhat.Data[i])
		}
	}
	if e := relErr([][]float32{gx}, []fixtureTensor{f.GxXhat}); e > tol {
		t.Errorf("∇_x D(x̂): relative error %.2e > %g", e, tol)
	}
}

// Tolerances against PyTorch's double backpropagation in float64, relative
// to the norm of the whole weight gradient: the float32 test critic with
// Richardson's extrapolation (ε = 1e-2) measured 5.2e-6 (WGAN-GP) and 4.9e-6
// (R1) on this fixture, one central difference (ε = 2e-3) 3.4e-5 and
// 3.5e-5; PyTorch's own float32 result is 2.5e-7 off.
const (
	tolRichardson = 3e-5
	tolCentral    = 2e-4
	tolValue      = 1e-5 // penalty values
)

func TestWGANGPMatchesPyTorch(t *testing.T) {
	f := loadFixture(t)
	c := newTestCritic(t, f)
	t.Logf("PyTorch float32 against float64: relative error %.2e", relErr64(f.GPGradsF32, f.GPGrads))
	for i, tc := range []struct {
		name string
		o    *Options
		tol  float64
	}{
		{"richardson", nil, tolRichardson},
		{"central", &Options{Central: true}, tolCentral},
	} {
		grad := c.newGrads()
		p, err := WGANGP(c, grad, f32(f.Real.Data), f32(f.Fake.Data), f32(f.Alpha.Data), f.Meta.Lambda, tc.o)
		if err != nil {
			t.Fatalf("%d %s: %v", i, tc.name, err)
		}
		if want := f.GP.Data[0]; math.Abs(p-want) > tolValue*want {
			t.Errorf("%d %s: penalty %g, PyTorch %g", i, tc.name, p, want)
		}
		e := relErr(grad, f.GPGrads)
		t.Logf("%d %s: penalty %.6g (PyTorch %.6g), weight gradient relative error %.2e", i, tc.name, p, f.GP.Data[0], e)
		if e > tc.tol {
			t.Errorf("%d %s: weight gradient relative error %.2e > %g", i, tc.name, e, tc.tol)
		}
	}
}

func TestR1MatchesPyTorch(t *testing.T) {
	f := loadFixture(t)
	c := newTestCritic(t, f)
	t.Logf("PyTorch float32 against float64: relative error %.2e", relErr64(f.R1GradsF32, f.R1Grads))
	for i, tc := range []struct {
		name string
		o    *Options
		tol  float64
	}{
		{"richardson", nil, tolRichardson},
		{"central", &Options{Central: true}, tolCentral},
	} {
		grad := c.newGrads()
		p, err := R1(c, grad, f32(f.Real.Data), f.Meta.N, f.Meta.Gamma, tc.o)
		if err != nil {
			t.Fatalf("%d %s: %v", i, tc.name, err)
		}
		if want := f.R1.Data[0]; math.Abs(p-want) > tolValue*want {
			t.Errorf("%d %s: R1 %g, PyTorch %g", i, tc.name, p, want)
		}
		e := relErr(grad, f.R1Grads)
		t.Logf("%d %s: R1 %.6g (PyTorch %.6g), weight gradient relative error %.2e", i, tc.name, p, f.R1.Data[0], e)
		if e > tc.tol {
			t.Errorf("%d %s: weight gradient relative error %.2e > %g", i, tc.name, e, tc.tol)
		}
	}
}

// TestUnfrozenKinks shows why WeightGrad takes at: a critic that takes its
// LeakyReLU slopes at the shifted inputs instead of at x̂ sees the kinks
// that the steps cross, and the weight gradient is far off.
func TestUnfrozenKinks(t *testing.T) {
	f := loadFixture(t)
	c := newTestCritic(t, f)
	c.ignoreAt = true
	grad := c.newGrads()
	if _, err := WGANGP(c, grad, f32(f.Real.Data), f32(f.Fake.Data), f32(f.Alpha.Data), f.Meta.Lambda, nil); err != nil {
		t.Fatal(err)
	}
	e := relErr(grad, f.GPGrads)
	t.Logf("kinks not frozen: relative error %.2e", e)
	if e < 100*tolRichardson {
		t.Errorf("relative error %.2e with unfrozen kinks: the fixture no longer shows the problem", e)
	}
}

// TestEpsSweep logs the weight gradient's error against PyTorch for a range
// of steps, the measurements behind DefaultEps and DefaultEpsCentral.
func TestEpsSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	f := loadFixture(t)
	c := newTestCritic(t, f)
	for _, central := range []bool{false, true} {
		for _, eps := range []float64{1e-1, 3e-2, 1e-2, 3e-3, 2e-3, 1e-3, 3e-4, 1e-4} {
			grad := c.newGrads()
			o := &Options{Eps: eps, Central: central}
			if _, err := WGANGP(c, grad, f32(f.Real.Data), f32(f.Fake.Data), f32(f.Alpha.Data), f.Meta.Lambda, o); err != nil {
				t.Fatal(err)
			}
			t.Logf("central %v, ε %g: relative error %.2e", central, eps, relErr(grad, f.GPGrads))
		}
	}
}
