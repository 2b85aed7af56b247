package penalty

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/anogo/anogo/sdk/optim"
)

// criticLossGrad returns the weight gradient of the WGAN critic loss
// mean D(fake) − mean D(real) (Gulrajani et al. 2017, Algorithm 1).
func criticLossGrad(t *testing.T, c *testCritic, f *fixture) [][]float32 {
	t.Helper()
	n := f.Meta.N
	grad, tmp := c.newGrads(), c.newGrads()
	for _, part := range []struct {
		x []float64
		w float32
	}{{f.Real.Data, -1 / float32(n)}, {f.Fake.Data, 1 / float32(n)}} {
		w := make([]float32, n)
		for i := range w {
			w[i] = part.w
		}
		if err := c.WeightGrad(tmp, f32(part.x), w, nil); err != nil {
			t.Fatal(err)
		}
		for k := range grad {
			for j := range grad[k] {
				grad[k][j] += tmp[k][j]
			}
		}
	}
	return grad
}

// adamUpdate returns the change of the weights after one Adam step with
// WGAN-GP's settings (lr 1e-4, β1 = 0, β2 = 0.9) from the fixture's weights.
func adamUpdate(t *testing.T, f *fixture, grad [][]float32) [][]float32 {
	t.Helper()
	a := optim.NewAdam(1e-4, 0)
	a.Beta2 = 0.9
	params := make([][]float32, len(f.Params))
	for k, p := range f.Params {
		params[k] = f32(p.Data)
	}
	if err := a.Update(params, grad); err != nil {
		t.Fatal(err)
	}
	for k, p := range f.Params {
		for j := range params[k] {
			params[k][j] -= float32(p.Data[j])
		}
	}
	return params
}

// TestPenaltyChangesUpdate fails if the penalty does not change the
// critic's Adam update, and checks the update against the one PyTorch's
// gradient of loss + penalty gives.
func TestPenaltyChangesUpdate(t *testing.T) {
	f := loadFixture(t)
	c := newTestCritic(t, f)
	loss := criticLossGrad(t, c, f)
	if e := relErr(loss, f.LossGrads); e > 1e-5 {
		t.Fatalf("critic loss gradient: relative error %.2e against PyTorch", e)
	}
	without := adamUpdate(t, f, loss)
	grad := c.newGrads()
	for k := range grad {
		copy(grad[k], loss[k])
	}
	if _, err := WGANGP(c, grad, f32(f.Real.Data), f32(f.Fake.Data), f32(f.Alpha.Data), f.Meta.Lambda, nil); err != nil {
		t.Fatal(err)
	}
	with := adamUpdate(t, f, grad)
	ref := make([][]float32, len(f.Params))
	for k := range ref {
		ref[k] = make([]float32, len(f.Params[k].Data))
		for j := range ref[k] {
			ref[k][j] = float32(f.LossGrads[k].Data[j] + f.GPGrads[k].Data[j])
		}
	}
	want := adamUpdate(t, f, ref)
	const lr = 1e-4
	changed, total := 0, 0
	for k := range with {
		for j := range with[k] {
			total++
			if math.Abs(float64(with[k][j]-without[k][j])) > 1e-3*lr {
				changed++
			}
			if math.Abs(float64(ref[k][j])) < 1e-6 { // Adam's step is sign-like: skip near-zero gradients
				continue
			}
			if d := math.Abs(float64(with[k][j] - want[k][j])); d > 1e-3*lr {
				t.Errorf("param %s[%d]: update %g, with PyTorch's gradient %g", f.Params[k].Name, j, with[k][j], want[k][j])
			}
		}
	}
	t.Logf("the penalty changed %d of %d weights' updates", changed, total)
	if changed < total/10 {
		t.Errorf("the penalty changed only %d of %d weights' updates", changed, total)
	}
}

// coupled wraps a critic and says it couples its samples.
type coupled struct{ Critic }

func (coupled) BatchCoupled() bool { return true }

// batchMean is a toy critic that couples its samples as BatchNorm in train
// mode does: D(x_i) = θ·(x_i − mean_j x_j).
type batchMean struct{ theta []float32 }

func (b batchMean) InputGrad(d, gx, x []float32) error {
	n, m := len(d), len(b.theta)
	for i := 0; i < n; i++ {
		d[i] = 0
		for j, th := range b.theta {
			var mean float32
			for k := 0; k < n; k++ {
				mean += x[k*m+j] / float32(n)
			}
			d[i] += th * (x[i*m+j] - mean)
			gx[i*m+j] = 0 // ∇ of Σ_i D(x_i) vanishes: Σ_i (x_i − mean) = 0
		}
	}
	return nil
}

func (b batchMean) WeightGrad(dst [][]float32, x, w, at []float32) error {
	return errors.New("not used")
}

func TestBatchCoupledRefused(t *testing.T) {
	f := loadFixture(t)
	c := newTestCritic(t, f)
	real, fake, alpha := f32(f.Real.Data), f32(f.Fake.Data), f32(f.Alpha.Data)
	if _, err := WGANGP(coupled{c}, c.newGrads(), real, fake, alpha, 10, nil); !errors.Is(err, ErrBatchCoupled) {
		t.Errorf("WGANGP: error %v, want ErrBatchCoupled", err)
	}
	if _, err := R1(coupled{c}, c.newGrads(), real, f.Meta.N, 10, nil); !errors.Is(err, ErrBatchCoupled) {
		t.Errorf("R1: error %v, want ErrBatchCoupled", err)
	}
	const tol = 1e-6
	if err := CheckPerSample(c, real, f.Meta.N, tol); err != nil {
		t.Errorf("test critic: %v", err)
	}
	if err := CheckPerSample(batchMean{theta: []float32{1, -2, 0.5}}, []float32{1, 2, 3, 0, 1, -1, 2, 2, 2}, 3, tol); err == nil {
		t.Error("CheckPerSample passed a critic that subtracts the batch mean")
	}
}

// TestCost measures one WGANGP call on the test critic against its passes.
func TestCost(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	f := loadFixture(t)
	c := newTestCritic(t, f)
	real, fake, alpha := f32(f.Real.Data), f32(f.Fake.Data), f32(f.Alpha.Data)
	const reps = 200
	grad := c.newGrads()
	w := make([]float32, f.Meta.N)
	timeit := func(fn func() error) time.Duration {
		start := time.Now()
		for i := 0; i < reps; i++ {
			if err := fn(); err != nil {
				t.Fatal(err)
			}
		}
		return time.Since(start) / reps
	}
	d, gx := make([]float32, f.Meta.N), make([]float32, len(real))
	ig := timeit(func() error { return c.InputGrad(d, gx, real) })
	wg := timeit(func() error { return c.WeightGrad(grad, real, w, nil) })
	gp := timeit(func() error {
		_, err := WGANGP(c, grad, real, fake, alpha, 10, nil)
		return err
	})
	central := timeit(func() error {
		_, err := WGANGP(c, grad, real, fake, alpha, 10, &Options{Central: true})
		return err
	})
	t.Logf("test critic, batch %d: InputGrad %v, WeightGrad %v, WGANGP %v (Richardson), %v (central)", f.Meta.N, ig, wg, gp, central)
}
