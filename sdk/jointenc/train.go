package jointenc

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

// Schedule is the progressive growing (Karras et al. 2018, Sec. 3): Stab
// steps at the first resolution, then for every higher one Fade steps of
// fade-in, α rising linearly from 0 to 1, and Stab steps of stabilisation
// (Final at the image size).
type Schedule struct {
	Stab  int `json:"stab"`
	Fade  int `json:"fade"`
	Final int `json:"final"`
}

// Phase is one part of the schedule: Steps steps at growing level Level,
// fading it in or not.
type Phase struct {
	Level, Steps int
	Fade         bool
}

// Phases returns the schedule of cfg's networks in order; phases of no
// steps are left out.
func (s Schedule) Phases(cfg Config) []Phase {
	top := cfg.Top()
	var ph []Phase
	add := func(p Phase) {
		if p.Steps > 0 {
			ph = append(ph, p)
		}
	}
	first := s.Stab
	if top == 0 {
		first = s.Final
	}
	add(Phase{Level: 0, Steps: first})
	for k := 1; k <= top; k++ {
		add(Phase{Level: k, Steps: s.Fade, Fade: true})
		st := s.Stab
		if k == top {
			st = s.Final
		}
		add(Phase{Level: k, Steps: st})
	}
	return ph
}

// Total is the number of steps of the schedule.
func (s Schedule) Total(cfg Config) int {
	n := 0
	for _, p := range s.Phases(cfg) {
		n += p.Steps
	}
	return n
}

// At returns the phase of step i (from 0) and the step's index in it; past
// the end, the last phase.
func (s Schedule) At(cfg Config, i int) (Phase, int) {
	ph := s.Phases(cfg)
	for j, p := range ph {
		if i < p.Steps || j == len(ph)-1 {
			return p, i
		}
		i -= p.Steps
	}
	return Phase{Level: cfg.Top()}, i
}

// TrainConfig holds the settings of the joint training.
type TrainConfig struct {
	// LR, Beta1 and Beta2 are Adam's for G, D and E (the authors' code:
	// 1e-3, 0, 0.99); a fresh Adam starts every phase, as the progressive
	// GAN's code resets its optimisers when the level changes.
	LR    float64 `json:"lr"`
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	// BatchSize is the number of images per step; a multiple of the
	// minibatch statistic's group (4) or smaller than it.
	BatchSize int `json:"batch_size"`
	// Lambda is the gradient penalty's weight (10), Drift the weight of
	// mean D(x)² on real images (0.001).
	Lambda float64 `json:"lambda"`
	Drift  float64 `json:"drift"`
	// Penalty sets the penalty's finite differences (package penalty); D
	// with its statistic and kinks frozen is piecewise linear, so one
	// central difference is exact up to rounding.
	Penalty penalty.Options `json:"penalty"`
	// Schedule is the progressive growing.
	Schedule Schedule `json:"schedule"`
	// Seed seeds the initialisation and the draws of z and of the
	// interpolation weights.
	Seed uint64 `json:"seed"`
}

// DefaultTrainConfig returns the authors' settings (Adam 1e-3, β = (0,
// 0.99), λ = 10, drift 0.001) with batches of 64 and no schedule.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{LR: 1e-3, Beta1: 0, Beta2: 0.99, BatchSize: 64, Lambda: 10, Drift: 0.001, Penalty: penalty.Options{Central: true}, Seed: 1}
}

func (c TrainConfig) validate() error {
	switch {
	case c.BatchSize <= 0 || (c.BatchSize > Group && c.BatchSize%Group != 0):
		return fmt.Errorf("jointenc: batch size %d (a multiple of %d)", c.BatchSize, Group)
	case c.LR <= 0 || math.IsNaN(c.LR):
		return fmt.Errorf("jointenc: learning rate %v", c.LR)
	case c.Lambda < 0 || math.IsNaN(c.Lambda) || c.Drift < 0 || math.IsNaN(c.Drift):
		return fmt.Errorf("jointenc: λ = %v, drift %v", c.Lambda, c.Drift)
	case c.Schedule.Stab < 0 || c.Schedule.Fade < 0 || c.Schedule.Final < 0:
		return fmt.Errorf("jointenc: schedule %+v", c.Schedule)
	}
	return nil
}

// ErrNotFitted is returned by a detector that has no model yet.
var ErrNotFitted = errors.New("jointenc: the detector is not fitted")

// Trainer trains G, D and E jointly with progressive growing; it
// implements train.Model. One Step, on one real batch at the phase's
// resolution, is (Berg et al. 2019; the authors' loss.py):
//
//  1. D: L_D = mean D(G(z)) - mean D(x) + λ/N Σ (‖∇D(x̂)‖ - 1)² + drift·mean D(x)²,
//     x̂ = α·x + (1-α)·G(z), α ~ U(0, 1) per sample;
//  2. G: L_G = -mean D(G(z')) on a fresh z';
//  3. E: L_E = mean |G(z”) - G(E(G(z”)))| on a fresh z”, gradients to E only,
//
// each with its own Adam, on the stored weights (the equalised learning
// rate: the networks run on the weights times their constants). During a
// fade-in the real images are blended as the progressive GAN's code does,
// α·x + (1-α)·upsample(pool(x)).
type Trainer struct {
	Model  *Model
	Config TrainConfig
	// OptG, OptD and OptE are the current phase's Adams.
	OptG, OptD, OptE *optim.Adam
	// Rand draws z, α; its state is saved in checkpoints.
	Rand *rand.PCG
	// Steps counts the steps taken.
	Steps int

	phase                        Phase
	pg                           *phaseGraphs
	dgrads, dtmp, ggrads, egrads [][]float32
}

// phaseGraphs are the compiled graphs of one phase.
type phaseGraphs struct {
	critic             *critic
	fake, gstep, estep *zGraph
}

// zGraph is a compiled graph fed by z.
type zGraph struct {
	vm    gorgonia.VM
	fade  *Fade
	z     *gorgonia.Node
	zT    *tensor.Dense
	out   *gorgonia.Node
	outV  *gorgonia.Value // nn.ReadValue
	used  []int
	wrt   gorgonia.Nodes
	grads gorgonia.Nodes
}

// NewTrainer returns a trainer of m.
func NewTrainer(m *Model, cfg TrainConfig) (*Trainer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Schedule.Total(m.Config) == 0 {
		return nil, fmt.Errorf("jointenc: schedule %+v has no steps", cfg.Schedule)
	}
	t := &Trainer{Model: m, Config: cfg, phase: Phase{Level: -1},
		Rand: rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)}
	t.dgrads, t.dtmp = zerosLike(m.D.Values()), zerosLike(m.D.Values())
	t.ggrads, t.egrads = zerosLike(m.G.Values()), zerosLike(m.E.Values())
	return t, nil
}

func zerosLike(v [][]float32) [][]float32 {
	out := make([][]float32, len(v))
	for i, p := range v {
		out[i] = make([]float32, len(p))
	}
	return out
}

func (t *Trainer) newAdam() *optim.Adam {
	return optim.NewAdamBetas(t.Config.LR, t.Config.Beta1, t.Config.Beta2)
}

const noGradAll = nn.NoInputGrad | nn.NoParamGrad

// buildZ compiles a graph of z: the fake images (kind 0), G's loss (1) or
// E's loss (2) at phase p.
func (t *Trainer) buildZ(p Phase, kind int) (*zGraph, error) {
	m, n := t.Model, t.Config.BatchSize
	g := gorgonia.NewGraph()
	zg := &zGraph{}
	if p.Fade {
		zg.fade = NewFade(g)
	}
	zg.z = gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(n, m.Config.Latent), gorgonia.WithName("z"))
	zg.zT = tensor.New(tensor.WithShape(n, m.Config.Latent), tensor.Of(tensor.Float32))
	gn := m.Nodes(g, "G")
	var wrt gorgonia.Nodes
	var err error
	switch kind {
	case 0:
		zg.out, err = m.Generator(zg.z, gn, p.Level, zg.fade, noGradAll)
	case 1:
		dn := m.Nodes(g, "D")
		var x, d *gorgonia.Node
		if x, err = m.Generator(zg.z, gn, p.Level, zg.fade, nn.NoInputGrad); err != nil {
			return nil, err
		}
		if d, _, _, err = m.Critic(x, dn, p.Level, zg.fade, Coupled, nil, nil, nn.NoParamGrad); err != nil {
			return nil, err
		}
		var mean *gorgonia.Node
		if mean, err = gorgonia.Mean(d); err == nil {
			zg.out, err = gorgonia.Neg(mean)
		}
		wrt = gn
	case 2:
		en := m.Nodes(g, "E")
		var x, e, rec *gorgonia.Node
		if x, err = m.Generator(zg.z, gn, p.Level, zg.fade, noGradAll); err != nil {
			return nil, err
		}
		if e, err = m.Encoder(x, en, p.Level, zg.fade, nn.NoInputGrad); err != nil {
			return nil, err
		}
		// G's second pass on the same weight nodes, not differentiated.
		if rec, err = m.Generator(e, gn, p.Level, zg.fade, nn.NoParamGrad); err != nil {
			return nil, err
		}
		zg.out, err = meanAbsDiff(g, x, rec)
		wrt = en
	}
	if err != nil {
		return nil, err
	}
	zg.outV = nn.ReadValue(zg.out)
	if wrt != nil {
		zg.used = usedParams(g, wrt)
		zg.wrt = make(gorgonia.Nodes, len(zg.used))
		for i, j := range zg.used {
			zg.wrt[i] = wrt[j]
		}
		if zg.grads, err = gorgonia.Grad(zg.out, zg.wrt...); err != nil {
			return nil, fmt.Errorf("jointenc: gradients: %w", err)
		}
	}
	zg.vm = gorgonia.NewTapeMachine(g)
	return zg, nil
}

// meanAbsDiff is mean |a - b| over every value, the gradient to b only.
func meanAbsDiff(g *gorgonia.ExprGraph, a, b *gorgonia.Node) (*gorgonia.Node, error) {
	s, err := nn.AbsDiffSum(a, b, nn.NoInputGrad)
	if err != nil {
		return nil, err
	}
	mean, err := gorgonia.Mean(s)
	if err != nil {
		return nil, err
	}
	per := a.Shape().TotalSize() / a.Shape()[0]
	c := gorgonia.NewScalar(g, tensor.Float32, gorgonia.WithName("inv_pixels"), gorgonia.WithValue(float32(1/float64(per))))
	return gorgonia.Mul(c, mean)
}

// run runs zg on a fresh z at fade-in α.
func (zg *zGraph) run(rng *rand.Rand, alpha float64) error {
	SampleZ(rng, f32s(zg.zT))
	if err := gorgonia.Let(zg.z, zg.zT); err != nil {
		return err
	}
	if err := zg.fade.Set(alpha); err != nil {
		return err
	}
	return zg.vm.RunAll()
}

func (t *Trainer) build(p Phase) error {
	t.closeGraphs()
	pg := &phaseGraphs{critic: newCritic(t.Model, p, t.Config.BatchSize)}
	var err error
	if pg.fake, err = t.buildZ(p, 0); err != nil {
		return err
	}
	if pg.gstep, err = t.buildZ(p, 1); err != nil {
		return err
	}
	if pg.estep, err = t.buildZ(p, 2); err != nil {
		return err
	}
	t.pg, t.phase = pg, p
	return nil
}

func (t *Trainer) closeGraphs() {
	if t.pg == nil {
		return
	}
	t.pg.critic.close()
	for _, zg := range []*zGraph{t.pg.fake, t.pg.gstep, t.pg.estep} {
		zg.vm.Close()
	}
	t.pg = nil
}

// Shrink returns the n images of side size in batch mean-pooled by 2x2
// blocks until their side is res (size/res a power of two).
func Shrink(batch []float32, n, size, res int) []float32 {
	for s := size; s > res; s /= 2 {
		h := s / 2
		out := make([]float32, n*h*h)
		for i := 0; i < n; i++ {
			in, o := batch[i*s*s:(i+1)*s*s], out[i*h*h:(i+1)*h*h]
			for y := 0; y < h; y++ {
				for x := 0; x < h; x++ {
					a, b := in[2*y*s+2*x], in[2*y*s+2*x+1]
					c, d := in[(2*y+1)*s+2*x], in[(2*y+1)*s+2*x+1]
					o[y*h+x] = 0.25 * ((a + b) + (c + d))
				}
			}
		}
		batch = out
	}
	return batch
}

// blendReals returns α·x + (1-α)·upsample(pool(x)) for n images of side r.
func blendReals(x []float32, n, r int, alpha float64) []float32 {
	lo := Shrink(x, n, r, r/2)
	h := r / 2
	out := make([]float32, len(x))
	a, b := float32(alpha), float32(1-alpha)
	for i := 0; i < n; i++ {
		for y := 0; y < r; y++ {
			for c := 0; c < r; c++ {
				j := i*r*r + y*r + c
				out[j] = a*x[j] + b*lo[i*h*h+(y/2)*h+c/2]
			}
		}
	}
	return out
}

// Step implements train.Model. The losses are loss_d (L_D), gp (the
// penalty, λ included), drift (its term, weight included), wasserstein
// (mean D(x) - mean D(G(z))), loss_g, loss_e, res and alpha.
func (t *Trainer) Step(batch []float32, n int) (map[string]float64, error) {
	if n != t.Config.BatchSize {
		return nil, fmt.Errorf("jointenc: batch of %d, trainer built for %d", n, t.Config.BatchSize)
	}
	m := t.Model
	s := m.Config.Size
	if len(batch) != n*s*s {
		return nil, fmt.Errorf("jointenc: %d values for %d images of %dx%d", len(batch), n, s, s)
	}
	p, i := t.Config.Schedule.At(m.Config, t.Steps)
	if p != t.phase || t.pg == nil {
		if err := t.build(p); err != nil {
			return nil, err
		}
		if i == 0 || t.OptD == nil {
			t.OptG, t.OptD, t.OptE = t.newAdam(), t.newAdam(), t.newAdam()
		}
	}
	alpha := 1.0
	if p.Fade {
		alpha = float64(i) / float64(p.Steps)
	}
	pg := t.pg
	pg.critic.alpha = alpha
	r := m.Config.Levels()[p.Level]
	real := Shrink(batch, n, s, r)
	if p.Fade {
		real = blendReals(real, n, r, alpha)
	}
	rng := rand.New(t.Rand)

	// 1. D.
	if err := pg.fake.run(rng, alpha); err != nil {
		pg.fake.vm.Reset()
		return nil, err
	}
	fake := append([]float32(nil), f32s(*pg.fake.outV)...)
	pg.fake.vm.Reset()
	wr, wf, a := make([]float32, n), make([]float32, n), make([]float32, n)
	for j := range wr {
		wr[j], wf[j], a[j] = -1/float32(n), 1/float32(n), float32(t.Config.Drift/float64(n))
	}
	dReal, err := pg.critic.lossGrad(t.dgrads, real, wr, a)
	if err != nil {
		return nil, err
	}
	dFake, err := pg.critic.lossGrad(t.dtmp, fake, wf, make([]float32, n))
	if err != nil {
		return nil, err
	}
	for j, g := range t.dgrads {
		for q, v := range t.dtmp[j] {
			g[q] += v
		}
	}
	var mr, mf, drift float64
	for j := range dReal {
		mr += float64(dReal[j]) / float64(n)
		mf += float64(dFake[j]) / float64(n)
		drift += t.Config.Drift * float64(dReal[j]) * float64(dReal[j]) / float64(n)
	}
	mix := make([]float32, n)
	for j := range mix {
		mix[j] = float32(rng.Float64())
	}
	gp := 0.0
	if t.Config.Lambda > 0 {
		if gp, err = penalty.WGANGP(pg.critic, t.dgrads, real, fake, mix, t.Config.Lambda, &t.Config.Penalty); err != nil {
			return nil, err
		}
	}
	m.toStored(netD, t.dgrads)
	if err := t.OptD.Update(m.D.Values(), t.dgrads); err != nil {
		return nil, err
	}
	m.Sync()

	// 2. G.
	lg, err := t.zStep(pg.gstep, rng, alpha, netG, t.ggrads, t.OptG)
	if err != nil {
		return nil, err
	}
	// 3. E.
	le, err := t.zStep(pg.estep, rng, alpha, netE, t.egrads, t.OptE)
	if err != nil {
		return nil, err
	}
	t.Steps++
	out := map[string]float64{"loss_d": mf - mr + gp + drift, "gp": gp, "drift": drift, "wasserstein": mr - mf,
		"loss_g": lg, "loss_e": le, "res": float64(r), "alpha": alpha}
	m.History.Add(out)
	return out, nil
}

// zStep runs zg on a fresh z and takes an Adam step of network net.
func (t *Trainer) zStep(zg *zGraph, rng *rand.Rand, alpha float64, net int, grads [][]float32, opt *optim.Adam) (float64, error) {
	defer zg.vm.Reset()
	if err := zg.run(rng, alpha); err != nil {
		return 0, err
	}
	loss := float64(scalar(*zg.outV))
	for _, g := range grads {
		clear(g)
	}
	for k, j := range zg.used {
		copy(grads[j], f32s(zg.grads[k].Value()))
	}
	m := t.Model
	m.toStored(net, grads)
	if err := opt.Update(m.set(net).Values(), grads); err != nil {
		return 0, err
	}
	m.Sync()
	return loss, nil
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
