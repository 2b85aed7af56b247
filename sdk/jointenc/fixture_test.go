package jointenc

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/anogo/anogo/sdk/optim"
	"github.com/anogo/anogo/sdk/penalty"
)

// fixtureTensor is a tensor as testdata/make_fixture.py writes it.
type fixtureTensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

func (f fixtureTensor) f32() []float32 {
	out := make([]float32, len(f.Data))
	for i, v := range f.Data {
		out[i] = float32(v)
	}
	return out
}

type fixture struct {
	Meta struct {
		Alpha  float64 `json:"fade_alpha"`
		Level  int     `json:"level"`
		N      int     `json:"n"`
		Lambda float64 `json:"lambda"`
		Drift  float64 `json:"drift"`
		LR     float64 `json:"lr"`
		Beta2  float64 `json:"beta2"`
	} `json:"meta"`
	Weights             map[string]fixtureTensor `json:"weights"`
	Real, Fake, Mix, XH fixtureTensor
	DReal               fixtureTensor            `json:"d_real"`
	DFake               fixtureTensor            `json:"d_fake"`
	Loss                float64                  `json:"loss"`
	LossGrad            map[string]fixtureTensor `json:"loss_grad"`
	PenaltyFrozen       float64                  `json:"penalty_frozen"`
	PenaltyFrozenGrad   map[string]fixtureTensor `json:"penalty_frozen_grad"`
	GXFrozen            fixtureTensor            `json:"gx_frozen"`
	PenaltyCoupled      float64                  `json:"penalty_coupled"`
	PenaltyCoupledGrad  map[string]fixtureTensor `json:"penalty_coupled_grad"`
	CoupledVsFrozen     map[string]float64       `json:"coupled_vs_frozen"`
	AdamAfter           map[string]fixtureTensor `json:"adam_after"`
}

func loadFixture(t *testing.T) *fixture {
	t.Helper()
	b, err := os.ReadFile("testdata/fixture.json")
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 testdata/make_fixture.py)", err)
	}
	var f fixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return &f
}

// fixtureCritic returns the model with the fixture's D and its critic in
// the fixture's phase.
func fixtureCritic(t *testing.T, f *fixture) (*Model, *critic) {
	t.Helper()
	m, err := New(Config{Size: 28, Width: 2, Latent: 8}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.D.Params {
		w, ok := f.Weights[p.Name]
		if !ok {
			t.Fatalf("the fixture has no %s", p.Name)
		}
		copy(p.Value.Data().([]float32), w.f32())
	}
	m.Sync()
	c := newCritic(m, Phase{Level: f.Meta.Level, Fade: true, Steps: 10}, f.Meta.N)
	c.alpha = f.Meta.Alpha
	return m, c
}

// relErr is ‖got - want‖/‖want‖ over every parameter of D.
func relErr(m *Model, got [][]float32, want map[string]fixtureTensor) float64 {
	var num, den float64
	for i, p := range m.D.Params {
		for j, v := range want[p.Name].Data {
			d := float64(got[i][j]) - v
			num += d * d
			den += v * v
		}
	}
	return math.Sqrt(num / den)
}

// criticStep computes the fixture's loss and penalty gradients with
// respect to the stored weights.
func criticStep(t *testing.T, f *fixture, m *Model, c *critic, lambda float64, o *penalty.Options) (loss, pen [][]float32, dr, df []float32, p float64) {
	t.Helper()
	n := f.Meta.N
	wr, wf, a := make([]float32, n), make([]float32, n), make([]float32, n)
	for j := range wr {
		wr[j], wf[j], a[j] = -1/float32(n), 1/float32(n), float32(f.Meta.Drift/float64(n))
	}
	loss, tmp := zerosLike(m.D.Values()), zerosLike(m.D.Values())
	var err error
	if dr, err = c.lossGrad(loss, f.Real.f32(), wr, a); err != nil {
		t.Fatal(err)
	}
	if df, err = c.lossGrad(tmp, f.Fake.f32(), wf, make([]float32, n)); err != nil {
		t.Fatal(err)
	}
	for j := range loss {
		for q := range loss[j] {
			loss[j][q] += tmp[j][q]
		}
	}
	pen = zerosLike(m.D.Values())
	if lambda > 0 {
		if p, err = penalty.WGANGP(c, pen, f.Real.f32(), f.Fake.f32(), f.Mix.f32(), lambda, o); err != nil {
			t.Fatal(err)
		}
	}
	m.toStored(netD, loss)
	m.toStored(netD, pen)
	return loss, pen, dr, df, p
}

// TestFixtureCriticStep checks the whole critic step against PyTorch in
// float64 (testdata/make_fixture.py): D on both batches with the coupled
// minibatch statistic, the Wasserstein loss with the drift term and its
// gradient with respect to the stored weights (the equalised learning
// rate's constants included), the penalty with the statistic held
// constant (create_graph=True), and one Adam step on their sum.
func TestFixtureCriticStep(t *testing.T) {
	f := loadFixture(t)
	m, c := fixtureCritic(t, f)
	loss, pen, dr, df, p := criticStep(t, f, m, c, f.Meta.Lambda, &penalty.Options{Central: true})
	var lv float64
	for i := range dr {
		lv += (-float64(dr[i]) + float64(df[i]) + f.Meta.Drift*float64(dr[i])*float64(dr[i])) / float64(len(dr))
	}
	const (
		tolValue   = 1e-5 // D's values and the penalty, relative
		tolGrad    = 2e-5 // first-order weight gradients (float32 sums)
		tolPenalty = 2e-4 // the penalty's weight gradient by one central difference
	)
	if e := math.Abs(lv-f.Loss) / math.Abs(f.Loss); e > tolValue {
		t.Errorf("loss %v, PyTorch %v (relative %.2g)", lv, f.Loss, e)
	}
	if e := relErr(m, loss, f.LossGrad); e > tolGrad {
		t.Errorf("loss gradient: relative error %.3g > %g", e, tolGrad)
	} else {
		t.Logf("loss gradient (coupled statistic, drift): relative error %.3g", e)
	}
	if e := math.Abs(p-f.PenaltyFrozen) / f.PenaltyFrozen; e > tolValue {
		t.Errorf("penalty %v, PyTorch %v (relative %.2g)", p, f.PenaltyFrozen, e)
	} else {
		t.Logf("penalty value: relative error %.3g", e)
	}
	e := relErr(m, pen, f.PenaltyFrozenGrad)
	if e > tolPenalty {
		t.Errorf("penalty gradient: relative error %.3g > %g", e, tolPenalty)
	}
	t.Logf("penalty gradient (statistic frozen), central: relative error %.3g", e)
	_, penR, _, _, _ := criticStep(t, f, m, c, f.Meta.Lambda, nil)
	t.Logf("penalty gradient (statistic frozen), Richardson: relative error %.3g", relErr(m, penR, f.PenaltyFrozenGrad))
	t.Logf("against differentiating through the statistic (PyTorch, coupled): our gradient %.3g off; PyTorch's own coupled vs frozen: value %.3g, weight gradient %.3g, input gradient %.3g",
		relErr(m, pen, f.PenaltyCoupledGrad), f.CoupledVsFrozen["penalty"], f.CoupledVsFrozen["grad"], f.CoupledVsFrozen["input_grad"])

	// One Adam step on the sum.
	total := zerosLike(m.D.Values())
	for i := range total {
		for j := range total[i] {
			total[i][j] = loss[i][j] + pen[i][j]
		}
	}
	opt := optim.NewAdamBetas(f.Meta.LR, 0, f.Meta.Beta2)
	if err := opt.Update(m.D.Values(), total); err != nil {
		t.Fatal(err)
	}
	var worst float64
	for _, prm := range m.D.Params {
		for j, v := range prm.Value.Data().([]float32) {
			worst = math.Max(worst, math.Abs(float64(v)-f.AdamAfter[prm.Name].Data[j]))
		}
	}
	// Adam's first step is lr·sign(g) where |g| ≫ ε: a gradient agreeing
	// in sign gives the same update; tolerance 1e-3 of the learning rate
	// plus float32 rounding of weights of size ~3.
	if worst > 1e-3*f.Meta.LR+1e-6 {
		t.Errorf("after one Adam step: max difference %.3g", worst)
	} else {
		t.Logf("after one Adam step: max difference %.3g (lr %g)", worst, f.Meta.LR)
	}
}

// TestPenaltyChangesUpdate fails if the penalty leaves the critic's
// update unchanged: with λ = 10 the gradient of every weight the phase
// trains differs from the one with λ = 0. (∇xD does not depend on the
// biases: with the kinks and the statistic frozen they add constants to
// D, and PyTorch's penalty gradients for them are exactly 0 in the
// fixture too.)
func TestPenaltyChangesUpdate(t *testing.T) {
	f := loadFixture(t)
	m, c := fixtureCritic(t, f)
	loss, pen, _, _, _ := criticStep(t, f, m, c, 10, &penalty.Options{Central: true})
	changed, used := 0, 0
	for i, prm := range m.D.Params {
		var pn, ln, ref float64
		for j := range pen[i] {
			pn += math.Abs(float64(pen[i][j]))
			ln += math.Abs(float64(loss[i][j]))
			ref += math.Abs(f.PenaltyFrozenGrad[prm.Name].Data[j])
		}
		if ln == 0 {
			continue // not in this phase
		}
		if strings.HasSuffix(prm.Name, ".bias") {
			if ref != 0 {
				t.Errorf("%s: PyTorch's penalty gradient %g, want 0", prm.Name, ref)
			}
			continue
		}
		used++
		if pn > 1e-3*ln {
			changed++
		} else {
			t.Errorf("%s: the penalty does not reach it (%.3g against %.3g)", prm.Name, pn, ln)
		}
	}
	t.Logf("the penalty changes the gradient of %d of the %d weights the phase trains", changed, used)
	// And the step: Adam on loss + penalty against Adam on the loss alone.
	step := func(g [][]float32) [][]float32 {
		v := zerosLike(m.D.Values())
		for i, p := range m.D.Values() {
			copy(v[i], p)
		}
		if err := optim.NewAdamBetas(1e-3, 0, 0.99).Update(v, g); err != nil {
			t.Fatal(err)
		}
		return v
	}
	total := zerosLike(loss)
	for i := range total {
		for j := range total[i] {
			total[i][j] = loss[i][j] + pen[i][j]
		}
	}
	a, b := step(loss), step(total)
	differ := 0
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				differ++
			}
		}
	}
	if differ == 0 {
		t.Fatal("the penalty leaves the Adam step unchanged")
	}
	t.Logf("the penalty changes %d stored values of one Adam step", differ)
}

// TestCriticPerSample: with the statistic and the kinks held at an
// anchor, the critic is a function of each sample alone (the weight
// gradient of Σ w·D at one sample does not move when another changes).
func TestCriticPerSample(t *testing.T) {
	f := loadFixture(t)
	m, c := fixtureCritic(t, f)
	n := f.Meta.N
	xh := f.XH.f32()
	w := make([]float32, n)
	w[1] = 1
	a, b := zerosLike(m.D.Values()), zerosLike(m.D.Values())
	if err := c.WeightGrad(a, xh, w, xh); err != nil {
		t.Fatal(err)
	}
	y := append([]float32(nil), xh...)
	for j := 0; j < len(y)/n; j++ {
		y[j] = -2*y[j] + 0.5
	}
	if err := c.WeightGrad(b, y, w, xh); err != nil {
		t.Fatal(err)
	}
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				t.Fatalf("parameter %s: sample 1's gradient moved with sample 0", m.D.Params[i].Name)
			}
		}
	}
}
