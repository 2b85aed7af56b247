package fanogan

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/optim"
	"github.com/anogo/anogo/sdk/penalty"
)

const noGradAll = nn.NoInputGrad | nn.NoParamGrad

// TrainConfig holds the settings of WGAN-GP training (Gulrajani et al.
// 2017, Algorithm 1, with the values of f-AnoGAN's code).
type TrainConfig struct {
	// LR, Beta1 and Beta2 are Adam's settings for both networks (1e-4, 0,
	// 0.9).
	LR    float64 `json:"lr"`
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	// BatchSize is the number of real images per critic step (64).
	BatchSize int `json:"batch_size"`
	// Critic is the number of critic steps per generator step (5), each on
	// a fresh real batch.
	Critic int `json:"critic"`
	// Lambda is the weight λ of the gradient penalty (10).
	Lambda float64 `json:"lambda"`
	// Penalty sets the finite differences of the penalty's weight gradient
	// (package penalty). DefaultTrainConfig takes one central difference
	// (Central): 2.5e-5 to 3.5e-5 relative error against PyTorch's
	// create_graph gradient on this package's fixture, against 6e-6 for
	// Richardson's extrapolation (the zero value), at two weight-gradient
	// passes instead of four.
	Penalty penalty.Options `json:"penalty"`
	// Seed seeds the draws of z and of the interpolation weights α.
	Seed uint64 `json:"seed"`
}

// DefaultTrainConfig returns the settings of the authors' code: Adam 1e-4
// with β = (0, 0.9), batches of 64, five critic steps per generator step,
// λ = 10; the penalty's gradient by one central difference.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{LR: 1e-4, Beta1: 0, Beta2: 0.9, BatchSize: 64, Critic: 5, Lambda: 10, Penalty: penalty.Options{Central: true}, Seed: 1}
}

func (c TrainConfig) validate() error {
	switch {
	case c.BatchSize <= 0:
		return fmt.Errorf("fanogan: batch size %d", c.BatchSize)
	case c.Critic <= 0:
		return fmt.Errorf("fanogan: %d critic steps per generator step", c.Critic)
	case c.LR <= 0 || math.IsNaN(c.LR):
		return fmt.Errorf("fanogan: learning rate %v", c.LR)
	case c.Lambda < 0 || math.IsNaN(c.Lambda):
		return fmt.Errorf("fanogan: penalty weight λ = %v", c.Lambda)
	}
	return nil
}

// Trainer trains G and D with WGAN-GP and implements train.Model: one Step
// is one critic step on a real batch,
//
//	L_D = mean D(G(z)) - mean D(x) + λ/N Σ_i (‖∇D(x̂_i)‖ - 1)²,
//	x̂_i = x_i + α_i (G(z_i) - x_i), α_i ~ U(0, 1), z ~ N(0, I),
//
// (Gulrajani et al. 2017, Eq. 3) with G in train mode and not
// differentiated, and after every Critic-th critic step one generator step
// L_G = -mean D(G(z)) on a fresh z. The penalty's weight gradient comes
// from package penalty (first derivatives only, checked against PyTorch's
// create_graph gradients in this package's tests).
type Trainer struct {
	Model  *Model
	Config TrainConfig
	// OptG and OptD hold the Adam state of G and D.
	OptG, OptD *optim.Adam
	// Rand draws z and α; its state is saved in checkpoints.
	Rand *rand.PCG
	// CriticSteps counts the critic steps taken; GSteps the generator's.
	CriticSteps, GSteps int

	critic *critic
	fake   genGraph // G(z), train mode, no gradients
	gstep  genGraph // G(z) -> D -> L_G, gradients to G
	dgrads [][]float32
	ggrads [][]float32
	// Per-step buffers: the fakes, real and fake batches together with
	// their loss weights, D's values, the interpolation weights.
	fakeB, x, w, d, alpha []float32
}

// genGraph is a compiled graph fed by z.
type genGraph struct {
	vm    gorgonia.VM
	z     *gorgonia.Node
	zT    *tensor.Dense
	out   *gorgonia.Node // G(z) or L_G
	grads gorgonia.Nodes
}

// NewTrainer returns a WGAN-GP trainer of m.
func NewTrainer(m *Model, cfg TrainConfig) (*Trainer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t := &Trainer{
		Model: m, Config: cfg,
		OptG:   optim.NewAdamBetas(cfg.LR, cfg.Beta1, cfg.Beta2),
		OptD:   optim.NewAdamBetas(cfg.LR, cfg.Beta1, cfg.Beta2),
		Rand:   rand.NewPCG(cfg.Seed, 0x3c6ef372fe94f82b),
		critic: newCritic(m),
	}
	if err := t.build(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Trainer) build() error {
	m, n := t.Model, t.Config.BatchSize
	z := m.Config.Latent
	newZ := func(g *gorgonia.ExprGraph, gg *genGraph) {
		gg.z = gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(n, z), gorgonia.WithName("z"))
		gg.zT = tensor.New(tensor.WithShape(n, z), tensor.Of(tensor.Float32))
	}
	{
		g := gorgonia.NewGraph()
		newZ(g, &t.fake)
		var err error
		if t.fake.out, err = m.Generator(t.fake.z, m.G.Nodes(g), true, noGradAll); err != nil {
			return err
		}
		t.fake.vm = gorgonia.NewTapeMachine(g)
	}
	g := gorgonia.NewGraph()
	gs := &t.gstep
	newZ(g, gs)
	gp := m.G.Nodes(g)
	var err error
	if gs.out, err = m.generatorLoss(gs.z, gp, m.D.Nodes(g)); err != nil {
		return err
	}
	if gs.grads, err = gorgonia.Grad(gs.out, gp...); err != nil {
		return fmt.Errorf("fanogan: generator gradients: %w", err)
	}
	gs.vm = gorgonia.NewTapeMachine(g)
	t.dgrads = zerosLike(m.D.Values())
	t.ggrads = make([][]float32, m.G.Len())
	return nil
}

// generatorLoss adds L_G = -mean D(G(z)) to the graph, G in train mode
// and differentiated, D's weights frozen.
func (m *Model) generatorLoss(z *gorgonia.Node, gp, dp gorgonia.Nodes) (*gorgonia.Node, error) {
	x, err := m.Generator(z, gp, true, nn.NoInputGrad)
	if err != nil {
		return nil, err
	}
	d, _, _, err := m.Critic(x, dp, nil, nn.NoParamGrad)
	if err != nil {
		return nil, err
	}
	mean, err := gorgonia.Mean(d)
	if err != nil {
		return nil, err
	}
	return gorgonia.Neg(mean)
}

func zerosLike(v [][]float32) [][]float32 {
	out := make([][]float32, len(v))
	for i, p := range v {
		out[i] = make([]float32, len(p))
	}
	return out
}

// run runs gg on a fresh z.
func (gg *genGraph) run(rng *rand.Rand) error {
	SampleZ(rng, f32s(gg.zT))
	if err := gorgonia.Let(gg.z, gg.zT); err != nil {
		return err
	}
	return gg.vm.RunAll()
}

// Step implements train.Model: one critic step on the n real images of
// batch and, every Config.Critic steps, one generator step. The losses are
// loss_d (L_D), gp (the penalty, λ included), wasserstein (mean D(x) -
// mean D(G(z)), the critic's estimate of the Wasserstein distance) and, on
// generator steps, loss_g.
func (t *Trainer) Step(batch []float32, n int) (map[string]float64, error) {
	if n != t.Config.BatchSize {
		return nil, fmt.Errorf("fanogan: batch of %d, trainer built for %d", n, t.Config.BatchSize)
	}
	s := t.Model.Config.Size
	if len(batch) != n*s*s {
		return nil, fmt.Errorf("fanogan: %d values for %d images of %dx%d", len(batch), n, s, s)
	}
	rng := rand.New(t.Rand)
	if err := t.fake.run(rng); err != nil {
		t.fake.vm.Reset()
		return nil, err
	}
	t.fakeB = append(t.fakeB[:0], f32s(t.fake.out.Value())...)
	fake := t.fakeB
	t.fake.vm.Reset()

	// mean D(fake) - mean D(real): one weight gradient on both batches.
	t.x = append(append(t.x[:0], batch...), fake...)
	if len(t.w) != 2*n {
		t.w = make([]float32, 2*n)
		for i := range t.w {
			t.w[i] = 1 / float32(n)
			if i < n {
				t.w[i] = -1 / float32(n)
			}
		}
	}
	if t.d == nil {
		t.d = make([]float32, 0, 2*n)
	}
	d, err := t.critic.weightGrad(t.dgrads, t.d[:0], t.x, t.w, nil)
	if err != nil {
		return nil, err
	}
	t.d = d
	var dReal, dFake float64
	for i, v := range d {
		if i < n {
			dReal += float64(v) / float64(n)
		} else {
			dFake += float64(v) / float64(n)
		}
	}
	// x̂ = x + α(G(z) - x) is α'·x + (1-α')·G(z) with α' = 1 - α, the form
	// penalty.WGANGP takes.
	if len(t.alpha) != n {
		t.alpha = make([]float32, n)
	}
	alpha := t.alpha
	for i := range alpha {
		alpha[i] = float32(1 - rng.Float64())
	}
	gp := 0.0
	if t.Config.Lambda > 0 {
		if gp, err = penalty.WGANGP(t.critic, t.dgrads, batch, fake, alpha, t.Config.Lambda, &t.Config.Penalty); err != nil {
			return nil, err
		}
	}
	if err := t.OptD.Update(t.Model.D.Values(), t.dgrads); err != nil {
		return nil, err
	}
	t.CriticSteps++
	out := map[string]float64{"loss_d": dFake - dReal + gp, "gp": gp, "wasserstein": dReal - dFake}
	if t.CriticSteps%t.Config.Critic == 0 {
		lg, err := t.generatorStep(rng)
		if err != nil {
			return nil, err
		}
		out["loss_g"] = lg
	}
	t.Model.WGANHistory.Add(out)
	return out, nil
}

// generatorStep takes one step of L_G = -mean D(G(z)) on a fresh z.
func (t *Trainer) generatorStep(rng *rand.Rand) (float64, error) {
	gs := &t.gstep
	defer gs.vm.Reset()
	if err := gs.run(rng); err != nil {
		return 0, err
	}
	lg := float64(scalar(gs.out.Value()))
	for i, g := range gs.grads {
		t.ggrads[i] = f32s(g.Value())
	}
	if err := t.OptG.Update(t.Model.G.Values(), t.ggrads); err != nil {
		return 0, err
	}
	t.GSteps++
	return lg, nil
}

func scalar(v gorgonia.Value) float32 {
	switch x := v.Data().(type) {
	case float32:
		return x
	case []float32:
		return x[0]
	}
	return float32(math.NaN())
}

// ErrNotFitted is returned by a detector that has no model yet.
var ErrNotFitted = errors.New("fanogan: the detector is not fitted")
