package stylegan2

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/optim"
	"github.com/anogo/anogo/sdk/penalty"
	"github.com/anogo/anogo/sdk/train"
)

// TrainConfig holds the settings of the training; DefaultTrainConfig has
// the reference's (stylegan2-ada-pytorch, train.py 'auto' configuration,
// training/loss.py, training/training_loop.py).
type TrainConfig struct {
	// BatchSize is the number of images per step: at most Group (4) or a
	// multiple of it (D's minibatch standard deviation).
	BatchSize int `json:"batch_size"`
	// Steps is the number of steps of a run (TrainConfig.Options).
	Steps int `json:"steps"`
	// LR, Beta1 and Beta2 are Adam's for G and D (0.0025, 0, 0.99); the
	// mapping network's rate is 0.01 of it through its weights' constants.
	// D's are corrected for the lazy R1 as the reference does: with
	// c = R1Interval/(R1Interval+1), rate LR·c and betas Beta^c.
	LR    float64 `json:"lr"`
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	// Gamma is R1's weight γ: R1 = γ/2·mean ‖∇x D(x)‖² on the real images;
	// 0 turns R1 off, a negative value means 'auto', AutoGamma(Size,
	// BatchSize).
	Gamma float64 `json:"gamma"`
	// R1Interval is R1's lazy interval (16): every R1Interval-th step
	// (from the first) takes a second D step on R1·R1Interval.
	R1Interval int `json:"r1_interval"`
	// StyleMixing is the probability of style mixing (0.9).
	StyleMixing float64 `json:"style_mixing"`
	// WAvgBeta is the decay of w_avg, the moving average of w (0.995).
	WAvgBeta float64 `json:"w_avg_beta"`
	// EMAKimg is the half-life of G_ema in thousands of images; 0 means
	// the reference's BatchSize·10/32. EMARampup (0.05) limits it to
	// EMARampup times the images seen so far; 0 means no ramp-up.
	EMAKimg   float64 `json:"ema_kimg"`
	EMARampup float64 `json:"ema_rampup"`
	// Penalty sets R1's finite differences (package penalty): D with its
	// kinks and its minibatch statistic frozen is piecewise linear (A
	// affine), so one central difference is exact up to rounding, and a
	// large step rounds least: the default is Central with ε = 0.1
	// (docs/stylegan2.md has the measurements).
	Penalty penalty.Options `json:"penalty"`
	// Seed seeds the draws of z, the style mixing and the noise inputs
	// (the weights are New's seed; the augmenter has its own source).
	Seed uint64 `json:"seed"`
}

// DefaultTrainConfig returns the reference's settings: Adam 0.0025,
// β = (0, 0.99); R1 'auto' every 16 steps; style mixing 0.9; w_avg decay
// 0.995; G_ema's half-life BatchSize·10/32 thousand images with ramp-up
// 0.05; batches of 32 and no steps.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{BatchSize: 32, LR: 0.0025, Beta1: 0, Beta2: 0.99, Gamma: -1, R1Interval: 16,
		StyleMixing: 0.9, WAvgBeta: 0.995, EMARampup: 0.05, Penalty: penalty.Options{Central: true, Eps: 0.1}, Seed: 1}
}

func (c TrainConfig) validate() error {
	switch {
	case c.BatchSize <= 0 || (c.BatchSize > Group && c.BatchSize%Group != 0):
		return fmt.Errorf("stylegan2: batch size %d (at most %d or a multiple of it)", c.BatchSize, Group)
	case c.Steps < 0:
		return fmt.Errorf("stylegan2: %d steps", c.Steps)
	case !(c.LR > 0) || !(c.Beta1 >= 0 && c.Beta1 < 1) || !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("stylegan2: Adam's rate %v and betas %v, %v", c.LR, c.Beta1, c.Beta2)
	case math.IsNaN(c.Gamma) || math.IsInf(c.Gamma, 0) || c.R1Interval < 1:
		return fmt.Errorf("stylegan2: R1 γ %v every %d steps", c.Gamma, c.R1Interval)
	case !(c.StyleMixing >= 0 && c.StyleMixing <= 1) || !(c.WAvgBeta >= 0 && c.WAvgBeta <= 1):
		return fmt.Errorf("stylegan2: style mixing %v, w_avg decay %v (want both in [0, 1])", c.StyleMixing, c.WAvgBeta)
	case !(c.EMAKimg >= 0) || !(c.EMARampup >= 0) || math.IsInf(c.EMAKimg, 0) || math.IsInf(c.EMARampup, 0):
		return fmt.Errorf("stylegan2: G_ema half-life %v kimg, ramp-up %v", c.EMAKimg, c.EMARampup)
	}
	return nil
}

// GammaFor returns R1's weight for images of side size: Gamma, or
// AutoGamma(size, BatchSize) when Gamma is negative.
func (c TrainConfig) GammaFor(size int) float64 {
	if c.Gamma < 0 {
		return AutoGamma(size, c.BatchSize)
	}
	return c.Gamma
}

// EMABeta returns G_ema's decay at the step after images images were
// seen: 0.5^(BatchSize/n), n = EMAKimg·1000 (BatchSize·10/32·1000 by
// default), at most EMARampup·images (stylegan2-ada-pytorch,
// training_loop.py).
func (c TrainConfig) EMABeta(images int) float64 {
	kimg := c.EMAKimg
	if kimg == 0 {
		kimg = float64(c.BatchSize) * 10 / 32
	}
	n := kimg * 1000
	if c.EMARampup > 0 {
		n = math.Min(n, float64(images)*c.EMARampup)
	}
	return math.Pow(0.5, float64(c.BatchSize)/math.Max(n, 1e-8))
}

// Options returns train.Run's options for this training: Steps steps of
// BatchSize images with seed Seed, hooks, and a checkpoint every every
// steps at path (none when path is empty).
func (c TrainConfig) Options(path string, every int, hooks ...train.Hook) train.Options {
	o := train.Options{Steps: c.Steps, BatchSize: c.BatchSize, Seed: c.Seed, Hooks: hooks}
	if path != "" {
		o.CheckpointPath, o.CheckpointEvery = path, every
	}
	return o
}

// Trainer trains G and D; it implements train.Model. One Step, on one
// batch of real images x, is the reference's iteration (training/loss.py,
// training_loop.py), without the path-length regularisation:
//
//  1. G: L_G = mean softplus(-D(A(G(z)))), Adam on G;
//  2. D: L_D = mean softplus(D(A(G(z')))) + mean softplus(-D(A(x))), Adam on D;
//  3. every R1Interval-th step: R1·R1Interval with R1 = γ/2·mean ‖∇x D(A(x))‖²,
//     another Adam step on D;
//  4. G_ema ← G + β(G_ema - G), β = TrainConfig.EMABeta;
//
// where G(z) maps z and a second z (style mixing with probability
// StyleMixing, one cutoff per batch) with fresh noise inputs, and every
// mapping of a first z updates w_avg ← mean w + β_w(w_avg - mean w). Every
// A is a fresh draw of the augmenter (none without one), which observes
// D's logits on the real images of step 2, once per step (the reference
// also counts those of R1's pass; package ada counts its interval in
// Observe calls, one per minibatch).
type Trainer struct {
	Model  *Model
	Config TrainConfig
	// Augment is the augmenter (nil: no augmentation).
	Augment Augmenter
	// OptG and OptD are the two Adams.
	OptG, OptD *optim.Adam
	// Rand draws z, the style mixing and the noise; its state is saved in
	// checkpoints.
	Rand *rand.PCG
	// Steps counts the steps taken.
	Steps int

	graphs         *graphs
	ggrads, dgrads [][]float32
	dtmp, r1grads  [][]float32
	fake, augReal  []float32
	augFake, wMean []float32
}

// graphs are the trainer's compiled graphs.
type graphs struct {
	critic           *critic
	fake, gstep      *zGraph
	lossReal, lossFk *lossNet
	augG             *augSlot
}

// zGraph is a compiled graph of G fed by z1, z2 (mixing), the cutoff and
// the noise inputs.
type zGraph struct {
	vm     gorgonia.VM
	z1, z2 *gorgonia.Node
	cut    *gorgonia.Node
	noise  []*gorgonia.Node
	zT     [2]*tensor.Dense
	cutT   *tensor.Dense
	noiseT []*tensor.Dense
	img    *gorgonia.Node
	imgV   *gorgonia.Value
	w1V    *gorgonia.Value
	loss   *gorgonia.Node
	lossV  *gorgonia.Value
	dV     *gorgonia.Value
	grads  gorgonia.Nodes
}

// lossNet is D's loss on one batch: mean softplus(∓D(x)) (target 1: real,
// 0: fake), with the coupled statistic, and its weight gradients.
type lossNet struct {
	vm    gorgonia.VM
	x     *gorgonia.Node
	xT    *tensor.Dense
	dV    *gorgonia.Value
	lossV *gorgonia.Value
	grads gorgonia.Nodes
}

// NewTrainer returns a trainer of m with augmenter aug (nil: none).
func NewTrainer(m *Model, cfg TrainConfig, aug Augmenter) (*Trainer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t := &Trainer{Model: m, Config: cfg, Augment: aug, Rand: rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)}
	t.OptG = optim.NewAdamBetas(cfg.LR, cfg.Beta1, cfg.Beta2)
	c := float64(cfg.R1Interval) / float64(cfg.R1Interval+1)
	t.OptD = optim.NewAdamBetas(cfg.LR*c, math.Pow(cfg.Beta1, c), math.Pow(cfg.Beta2, c))
	t.ggrads, t.dgrads = zerosLike(m.G.Values()), zerosLike(m.D.Values())
	t.dtmp, t.r1grads = zerosLike(m.D.Values()), zerosLike(m.D.Values())
	return t, nil
}

func zerosLike(v [][]float32) [][]float32 {
	out := make([][]float32, len(v))
	for i, p := range v {
		out[i] = make([]float32, len(p))
	}
	return out
}

const noGradAll = nn.NoInputGrad | nn.NoParamGrad

// buildZ compiles G on z: the images alone, or (loss) G's loss through
// the augmentation in slot and D, with its gradients to G's weights.
func (t *Trainer) buildZ(loss bool, slot *augSlot) (*zGraph, error) {
	m, n := t.Model, t.Config.BatchSize
	cfg := m.Config
	g := gorgonia.NewGraph()
	zg := &zGraph{}
	for i, name := range []string{"z1", "z2"} {
		zg.zT[i] = tensor.New(tensor.WithShape(n, cfg.ZDim), tensor.Of(tensor.Float32))
		node := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(n, cfg.ZDim), gorgonia.WithName(name))
		if i == 0 {
			zg.z1 = node
		} else {
			zg.z2 = node
		}
	}
	zg.cutT = tensor.New(tensor.WithShape(1), tensor.Of(tensor.Float32))
	zg.cut = gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(1), gorgonia.WithName("cutoff"))
	for i, r := range cfg.NoiseResolutions() {
		zg.noiseT = append(zg.noiseT, tensor.New(tensor.WithShape(n, 1, r, r), tensor.Of(tensor.Float32)))
		zg.noise = append(zg.noise, gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, r, r), gorgonia.WithName(fmt.Sprintf("noise%d", i))))
	}
	gn := m.nodes(g, netG)
	p := m.lookup(netG, gn)
	ng := nn.NoGrad(0)
	if !loss {
		ng = noGradAll
	}
	w1, err := m.mappingNet(zg.z1, p, ng)
	if err != nil {
		return nil, err
	}
	w2, err := m.mappingNet(zg.z2, p, ng)
	if err != nil {
		return nil, err
	}
	ws, err := nn.StyleMix(w1, w2, zg.cut, cfg.NumWs())
	if err != nil {
		return nil, err
	}
	if zg.img, err = m.synthesisNet(ws, p, zg.noise, ng); err != nil {
		return nil, err
	}
	zg.w1V = nn.ReadValue(w1)
	if !loss {
		zg.imgV = nn.ReadValue(zg.img)
		zg.vm = gorgonia.NewTapeMachine(g)
		return zg, nil
	}
	x := zg.img
	if slot != nil {
		if x, err = augment(x, slot); err != nil {
			return nil, err
		}
	}
	dn := m.nodes(g, netD)
	d, _, _, err := m.discriminatorNet(x, m.lookup(netD, dn), Coupled, nil, nil, nn.NoParamGrad)
	if err != nil {
		return nil, err
	}
	zg.dV = nn.ReadValue(d)
	if zg.loss, err = meanBCE(d, 1); err != nil {
		return nil, err
	}
	zg.lossV = nn.ReadValue(zg.loss)
	if zg.grads, err = gorgonia.Grad(zg.loss, gn...); err != nil {
		return nil, fmt.Errorf("stylegan2: G's gradients: %w", err)
	}
	zg.vm = gorgonia.NewTapeMachine(g)
	return zg, nil
}

// meanBCE is mean softplus(-d) (target 1) or mean softplus(d) (target 0).
func meanBCE(d *gorgonia.Node, target float32) (*gorgonia.Node, error) {
	l, err := nn.BCEWithLogits(d, target)
	if err != nil {
		return nil, err
	}
	return gorgonia.Mean(l)
}

// buildLoss compiles D's loss on a batch for target 1 (real) or 0 (fake).
func (t *Trainer) buildLoss(target float32) (*lossNet, error) {
	m, n, s := t.Model, t.Config.BatchSize, t.Model.Config.Size
	g := gorgonia.NewGraph()
	ln := &lossNet{xT: tensor.New(tensor.WithShape(n, 1, s, s), tensor.Of(tensor.Float32))}
	ln.x = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, s, s), gorgonia.WithName("x"))
	dn := m.nodes(g, netD)
	d, _, _, err := m.discriminatorNet(ln.x, m.lookup(netD, dn), Coupled, nil, nil, nn.NoInputGrad)
	if err != nil {
		return nil, err
	}
	ln.dV = nn.ReadValue(d)
	loss, err := meanBCE(d, target)
	if err != nil {
		return nil, err
	}
	ln.lossV = nn.ReadValue(loss)
	if ln.grads, err = gorgonia.Grad(loss, dn...); err != nil {
		return nil, fmt.Errorf("stylegan2: D's gradients: %w", err)
	}
	ln.vm = gorgonia.NewTapeMachine(g)
	return ln, nil
}

// grad runs ln on x, sets dst to the weight gradient and returns the loss
// and D(x).
func (ln *lossNet) grad(dst [][]float32, x []float32) (float64, []float32, error) {
	defer ln.vm.Reset()
	copy(f32s(ln.xT), x)
	if err := gorgonia.Let(ln.x, ln.xT); err != nil {
		return 0, nil, err
	}
	if err := ln.vm.RunAll(); err != nil {
		return 0, nil, err
	}
	for i, g := range ln.grads {
		copy(dst[i], f32s(g.Value()))
	}
	return float64(scalar(*ln.lossV)), append([]float32(nil), f32s(*ln.dV)...), nil
}

func (t *Trainer) build() error {
	gr := &graphs{critic: newCritic(t.Model, t.Config.BatchSize)}
	if t.Augment != nil {
		gr.augG = &augSlot{}
	}
	var err error
	if gr.fake, err = t.buildZ(false, nil); err != nil {
		return err
	}
	if gr.gstep, err = t.buildZ(true, gr.augG); err != nil {
		return err
	}
	if gr.lossReal, err = t.buildLoss(1); err != nil {
		return err
	}
	if gr.lossFk, err = t.buildLoss(0); err != nil {
		return err
	}
	t.graphs = gr
	return nil
}

// Close releases the trainer's compiled graphs; a later Step builds them
// again.
func (t *Trainer) Close() {
	if t.graphs == nil {
		return
	}
	t.graphs.critic.close()
	for _, vm := range []gorgonia.VM{t.graphs.fake.vm, t.graphs.gstep.vm, t.graphs.lossReal.vm, t.graphs.lossFk.vm} {
		vm.Close()
	}
	t.graphs = nil
}

// draw fills zg's inputs: z1 and z2 from N(0, I), the cutoff (uniform on
// [1, NumWs) with probability StyleMixing, else NumWs: no mixing) and the
// noise inputs from N(0, 1), in that order.
func (t *Trainer) draw(rng *rand.Rand, zg *zGraph) error {
	for _, z := range zg.zT {
		normal(rng, f32s(z))
	}
	l := t.Model.Config.NumWs()
	cut := 1 + rng.IntN(l-1)
	if rng.Float64() >= t.Config.StyleMixing {
		cut = l
	}
	f32s(zg.cutT)[0] = float32(cut)
	for _, nz := range zg.noiseT {
		normal(rng, f32s(nz))
	}
	return zg.feed()
}

// feed binds zg's input tensors to its graph.
func (zg *zGraph) feed() error {
	for _, v := range []struct {
		n *gorgonia.Node
		t *tensor.Dense
	}{{zg.z1, zg.zT[0]}, {zg.z2, zg.zT[1]}, {zg.cut, zg.cutT}} {
		if err := gorgonia.Let(v.n, v.t); err != nil {
			return err
		}
	}
	for i, nz := range zg.noise {
		if err := gorgonia.Let(nz, zg.noiseT[i]); err != nil {
			return err
		}
	}
	return nil
}

func normal(rng *rand.Rand, v []float32) {
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
}

// updateWAvg moves w_avg towards the batch mean of w1 [n, WDim].
func (t *Trainer) updateWAvg(w1 []float32) {
	m := t.Model
	d := m.Config.WDim
	n := len(w1) / d
	beta := t.Config.WAvgBeta
	for j := range d {
		var s float64
		for i := range n {
			s += float64(w1[i*d+j])
		}
		mean := s / float64(n)
		m.wAvg[j] = float32(mean + beta*(float64(m.wAvg[j])-mean))
	}
}

// augmentBatch returns a fresh draw of the augmenter applied to x (x
// itself without an augmenter), in dst.
func (t *Trainer) augmentBatch(dst, x []float32, n int) []float32 {
	if t.Augment == nil {
		return x
	}
	s := t.Model.Config.Size
	t.Augment.Draw(n, 1, s, s).Apply(dst, x)
	return dst
}

// Step implements train.Model. The losses are loss_g (L_G), loss_d (L_D),
// d_real and d_fake (D's mean logits on the real and the generated images
// of the D step), signs_real (the mean sign of D's real logits, ADA's
// r_t), r1 (γ/2·mean ‖∇x D‖², at the steps that take it, without the
// interval's factor) and p (the augmenter's probability after the step; 0
// without one).
func (t *Trainer) Step(batch []float32, n int) (map[string]float64, error) {
	if n != t.Config.BatchSize {
		return nil, fmt.Errorf("stylegan2: batch of %d, trainer built for %d", n, t.Config.BatchSize)
	}
	m := t.Model
	s := m.Config.Size
	if len(batch) != n*s*s {
		return nil, fmt.Errorf("stylegan2: %d values for %d images of %dx%d", len(batch), n, s, s)
	}
	if t.graphs == nil {
		if err := t.build(); err != nil {
			return nil, err
		}
		t.fake, t.augReal, t.augFake = make([]float32, len(batch)), make([]float32, len(batch)), make([]float32, len(batch))
	}
	gr := t.graphs
	rng := rand.New(t.Rand)
	out := map[string]float64{}

	// 1. G.
	if t.Augment != nil {
		gr.augG.a = t.Augment.Draw(n, 1, s, s)
	}
	lg, err := t.gStep(rng)
	if err != nil {
		return nil, err
	}
	out["loss_g"] = lg

	// 2. D.
	if err := t.draw(rng, gr.fake); err != nil {
		return nil, err
	}
	if err := gr.fake.vm.RunAll(); err != nil {
		gr.fake.vm.Reset()
		return nil, err
	}
	copy(t.fake, f32s(*gr.fake.imgV))
	t.updateWAvg(f32s(*gr.fake.w1V))
	gr.fake.vm.Reset()
	lf, dFake, err := gr.lossFk.grad(t.dgrads, t.augmentBatch(t.augFake, t.fake, n))
	if err != nil {
		return nil, err
	}
	lr, dReal, err := gr.lossReal.grad(t.dtmp, t.augmentBatch(t.augReal, batch, n))
	if err != nil {
		return nil, err
	}
	for j, g := range t.dgrads {
		for q, v := range t.dtmp[j] {
			g[q] += v
		}
	}
	if t.Augment != nil {
		t.Augment.Observe(dReal)
	}
	m.toStored(netD, t.dgrads)
	if err := t.OptD.Update(m.D.Values(), t.dgrads); err != nil {
		return nil, err
	}
	m.syncNet(netD)
	out["loss_d"] = lf + lr
	out["d_real"], out["d_fake"] = mean32(dReal), mean32(dFake)
	out["signs_real"] = meanSign(dReal)

	// 3. R1, lazily.
	gamma := t.Config.GammaFor(s)
	if gamma != 0 && t.Steps%t.Config.R1Interval == 0 {
		r1, err := t.r1Step(batch, n, gamma)
		if err != nil {
			return nil, err
		}
		out["r1"] = r1
	}

	// 4. G_ema.
	t.updateEMA()
	t.Steps++
	if t.Augment != nil {
		out["p"] = t.Augment.P()
	} else {
		out["p"] = 0
	}
	m.History.Add(out)
	return out, nil
}

// gStep runs G's loss on fresh inputs and takes G's Adam step.
func (t *Trainer) gStep(rng *rand.Rand) (float64, error) {
	zg, m := t.graphs.gstep, t.Model
	defer zg.vm.Reset()
	if err := t.draw(rng, zg); err != nil {
		return 0, err
	}
	if err := zg.vm.RunAll(); err != nil {
		return 0, err
	}
	t.updateWAvg(f32s(*zg.w1V))
	for i, g := range zg.grads {
		copy(t.ggrads[i], f32s(g.Value()))
	}
	m.toStored(netG, t.ggrads)
	if err := t.OptG.Update(m.G.Values(), t.ggrads); err != nil {
		return 0, err
	}
	m.syncNet(netG)
	return float64(scalar(*zg.lossV)), nil
}

// r1Step takes the lazy R1 step on the real batch with weight gamma and
// returns R1 (without the interval's factor).
func (t *Trainer) r1Step(batch []float32, n int, gamma float64) (float64, error) {
	m, c := t.Model, t.graphs.critic
	if t.Augment != nil {
		s := m.Config.Size
		c.setAug(t.Augment.Draw(n, 1, s, s))
	} else {
		c.setAug(nil)
	}
	for _, g := range t.r1grads {
		clear(g)
	}
	k := float64(t.Config.R1Interval)
	r1, err := penalty.R1(c, t.r1grads, batch, n, gamma*k, &t.Config.Penalty)
	if err != nil {
		return 0, err
	}
	m.toStored(netD, t.r1grads)
	if err := t.OptD.Update(m.D.Values(), t.r1grads); err != nil {
		return 0, err
	}
	m.syncNet(netD)
	return r1 / k, nil
}

// updateEMA moves G_ema towards G: G_ema ← G + β(G_ema - G).
func (t *Trainer) updateEMA() {
	m := t.Model
	beta := float32(t.Config.EMABeta(t.Steps * t.Config.BatchSize))
	ema := m.GEMA.Values()
	for i, g := range m.G.Values() {
		e := ema[i]
		for j, v := range g {
			e[j] = v + beta*(e[j]-v)
		}
	}
	m.syncNet(netEMA)
}

func mean32(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x)
	}
	return s / float64(len(v))
}

func meanSign(v []float32) float64 {
	var s float64
	for _, x := range v {
		switch {
		case x > 0:
			s++
		case x < 0:
			s--
		}
	}
	return s / float64(len(v))
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
