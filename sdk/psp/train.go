package psp

import (
	"fmt"
	"math"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/dpa"
	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/optim"
)

const noGradAll = nn.NoInputGrad | nn.NoParamGrad

// DefaultLayers are the feature layers of the perceptual term: every
// layer of dpa's VGG19 trunk (relu1_2, relu2_2, relu3_2 at full, half and
// quarter resolution). LPIPS's VGG variant takes relu1_2 to relu5_3; at
// 28 to 64 pixels relu3_2 (7x7 to 16x16) is as deep as a map stays
// meaningful, and dpa's trunk ends there.
var DefaultLayers = []string{dpa.Relu12, dpa.Relu22, dpa.Relu32}

// TrainConfig holds the settings of the encoder's training, the generator
// frozen.
type TrainConfig struct {
	// L2 and LPIPS weigh the image and the perceptual terms of the loss
	// (pSp's l2_lambda 1.0 and lpips_lambda 0.8; its identity and w-norm
	// terms are off by default and left out).
	L2    float64 `json:"l2"`
	LPIPS float64 `json:"lpips"`
	// Features is the feature network of the perceptual term (package
	// dpa): seeded random VGG19 weights by default, or the user's VGG19
	// weights (dpa.VGG19 with a path).
	Features dpa.Features `json:"features"`
	// Layers are the feature layers (nil: DefaultLayers).
	Layers []string `json:"layers,omitempty"`
	// LR, Beta1 and Beta2 are Adam's settings.
	LR    float64 `json:"lr"`
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	// BatchSize is the number of images per step.
	BatchSize int `json:"batch_size"`
}

// DefaultTrainConfig returns pSp's loss (1.0·L2 + 0.8·LPIPS) with our
// perceptual network (dpa's VGG19 trunk, seeded random weights of width 16,
// layers relu1_2, relu2_2, relu3_2) and Adam with learning rate 1e-3 and β
// = (0.9, 0.999) on batches of 8. pSp trains with Ranger (or Adam) at 1e-4
// for 500,000 steps on batches of 4; a CPU run takes a few thousand steps.
// On the tests' generator (TestLearningRates: 256 images, 400 steps) the
// loss ended at 0.58, 0.40, 0.39 and 0.39 with 1e-4, 3e-4, 1e-3 and 3e-3.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{
		L2: 1, LPIPS: 0.8,
		Features: dpa.Features{Kind: dpa.Random, Width: 16, Seed: 1},
		LR:       1e-3, Beta1: 0.9, Beta2: 0.999, BatchSize: 8,
	}
}

func (c TrainConfig) layers() []string {
	if c.Layers == nil {
		return DefaultLayers
	}
	return c.Layers
}

func (c TrainConfig) validate() error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case c.BatchSize <= 0:
		return fmt.Errorf("psp: batch size %d", c.BatchSize)
	case c.LR <= 0 || bad(c.LR):
		return fmt.Errorf("psp: learning rate %v", c.LR)
	case c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 || bad(c.Beta1) || bad(c.Beta2):
		return fmt.Errorf("psp: Adam's β = (%v, %v), want each in [0, 1)", c.Beta1, c.Beta2)
	case c.L2 < 0 || c.LPIPS < 0 || bad(c.L2) || bad(c.LPIPS) || c.L2+c.LPIPS == 0:
		return fmt.Errorf("psp: loss weights L2 %v, LPIPS %v: want both ≥ 0, not both 0", c.L2, c.LPIPS)
	}
	if c.LPIPS > 0 && len(c.layers()) == 0 {
		return fmt.Errorf("psp: a perceptual term with no feature layer")
	}
	return nil
}

// Perceptual adds the perceptual distance of our LPIPS stand-in to the
// graph, per image: the sum over the layers l of NormDist(f_l(x),
// f_l(x̂)), f = fn (dpa's VGG19 trunk on the grey image repeated to three
// channels and normalised with ImageNet's statistics), i.e. LPIPS (Zhang
// et al. 2018, Eq. 1) with unit layer weights. x takes no gradient, x̂
// does. fnodes are fn.Set.Nodes of the graph. Each image passes through
// the trunk once, every layer taken on the way (dpa.ExtractLayers).
func Perceptual(fn *dpa.FeatureNet, fnodes gorgonia.Nodes, x, xr *gorgonia.Node, layers []string) (*gorgonia.Node, error) {
	if len(layers) == 0 {
		return nil, fmt.Errorf("psp: perceptual distance with no layer")
	}
	// One pass through the trunk for each image, every layer taken on the way.
	fxs, err := fn.ExtractLayers(x, fnodes, layers, nn.NoInputGrad)
	if err != nil {
		return nil, fmt.Errorf("psp: perceptual: %w", err)
	}
	frs, err := fn.ExtractLayers(xr, fnodes, layers, 0)
	if err != nil {
		return nil, fmt.Errorf("psp: perceptual: %w", err)
	}
	var sum *gorgonia.Node
	for i := range layers {
		d, err := nn.NormDist(fxs[i], frs[i])
		if err != nil {
			return nil, err
		}
		if sum == nil {
			sum = d
		} else if sum, err = gorgonia.Add(sum, d); err != nil {
			return nil, err
		}
	}
	return sum, nil
}

// synthesize runs g on ws and checks the image's shape.
func synthesize(g Generator, ws *gorgonia.Node) (*gorgonia.Node, error) {
	xr, err := g.Synthesis(ws)
	if err != nil {
		return nil, fmt.Errorf("psp: generator: %w", err)
	}
	n, s := ws.Shape()[0], g.Size()
	if want := (tensor.Shape{n, 1, s, s}); !xr.Shape().Eq(want) {
		return nil, fmt.Errorf("psp: the generator returned images of shape %v, want %v", xr.Shape(), want)
	}
	return xr, nil
}

// loss adds pSp's training loss of the batch x to the graph (Richardson
// et al. 2021, Eq. 3 with λ_ID = λ_reg = 0), averaged over the batch:
//
//	L = λ_2 · mean_i 1/n ‖x_i - G(E(x_i))‖² + λ_p · mean_i P(x_i, G(E(x_i)))
//
// with n pixels per image and P the perceptual distance (Perceptual). It
// returns L and its two means (l2, lp; lp nil when λ_p = 0). Only E is
// differentiated; G is frozen (its Synthesis takes the gradient to the ws
// alone).
func (m *Model) loss(x *gorgonia.Node, en gorgonia.Nodes, g Generator, fn *dpa.FeatureNet, fnodes gorgonia.Nodes, cfg TrainConfig) (loss, l2, lp *gorgonia.Node, err error) {
	ws, err := m.Encode(x, en, nn.NoInputGrad)
	if err != nil {
		return nil, nil, nil, err
	}
	xr, err := synthesize(g, ws)
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := nn.SquaredDiffMean(xr, x, nn.NoParamGrad)
	if err != nil {
		return nil, nil, nil, err
	}
	if l2, err = gorgonia.Mean(r); err != nil {
		return nil, nil, nil, err
	}
	if loss, err = gorgonia.Mul(l2, gorgonia.NewConstant(float32(cfg.L2))); err != nil {
		return nil, nil, nil, err
	}
	if cfg.LPIPS == 0 {
		return loss, l2, nil, nil
	}
	d, err := Perceptual(fn, fnodes, x, xr, cfg.layers())
	if err != nil {
		return nil, nil, nil, err
	}
	if lp, err = gorgonia.Mean(d); err != nil {
		return nil, nil, nil, err
	}
	wp, err := gorgonia.Mul(lp, gorgonia.NewConstant(float32(cfg.LPIPS)))
	if err != nil {
		return nil, nil, nil, err
	}
	if loss, err = gorgonia.Add(loss, wp); err != nil {
		return nil, nil, nil, err
	}
	return loss, l2, lp, nil
}

// checkGenerator reports whether g is the generator m was built for: the
// same shapes and the same w_avg.
func (m *Model) checkGenerator(g Generator) error {
	if err := m.Config.Check(g); err != nil {
		return err
	}
	if !slices.Equal(g.WAvg(), m.WAvg) {
		return fmt.Errorf("psp: the generator's w_avg differs from the one the encoder %v was built with: another generator?", m.Config)
	}
	return nil
}

// Trainer trains E with G frozen and implements train.Model: one Step is
// one Adam step of the loss (Model.loss) on a batch of normal training
// images. A step drops the model's latent fit and default score, which
// were made with the encoder as it was.
type Trainer struct {
	Model  *Model
	Gen    Generator
	Config TrainConfig
	Opt    *optim.Adam
	// Features is the perceptual network (nil when LPIPS is 0).
	Features *dpa.FeatureNet

	vm       gorgonia.VM
	x        *gorgonia.Node
	xT       *tensor.Dense
	out      *gorgonia.Node
	l2V, lpV *gorgonia.Value // nn.ReadValue
	grads    gorgonia.Nodes
	gv       [][]float32
}

// NewTrainer returns a trainer of m's encoder with the generator g, which
// must be the one m was built for.
func NewTrainer(m *Model, g Generator, cfg TrainConfig) (*Trainer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := m.checkGenerator(g); err != nil {
		return nil, err
	}
	if cfg.Layers == nil && cfg.LPIPS > 0 {
		cfg.Layers = slices.Clone(DefaultLayers) // saved as they are
	}
	t := &Trainer{Model: m, Gen: g, Config: cfg, Opt: optim.NewAdamBetas(cfg.LR, cfg.Beta1, cfg.Beta2)}
	if cfg.LPIPS > 0 {
		fn, err := dpa.NewFeatureNet(cfg.Features)
		if err != nil {
			return nil, fmt.Errorf("psp: perceptual network: %w", err)
		}
		t.Features = fn
	}
	if err := t.build(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Trainer) build() error {
	m, n, s := t.Model, t.Config.BatchSize, t.Model.Config.Size
	g := gorgonia.NewGraph()
	t.x = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, s, s), gorgonia.WithName("x"))
	t.xT = tensor.New(tensor.WithShape(n, 1, s, s), tensor.Of(tensor.Float32))
	en := m.E.Nodes(g)
	var fnodes gorgonia.Nodes
	if t.Features != nil {
		fnodes = t.Features.Set.Nodes(g)
	}
	loss, l2, lp, err := m.loss(t.x, en, t.Gen, t.Features, fnodes, t.Config)
	if err != nil {
		return err
	}
	t.out = loss
	t.l2V = nn.ReadValue(l2)
	if lp != nil {
		t.lpV = nn.ReadValue(lp)
	}
	if t.grads, err = gorgonia.Grad(loss, en...); err != nil {
		return fmt.Errorf("psp: encoder gradients: %w", err)
	}
	t.vm = gorgonia.NewTapeMachine(g)
	t.gv = make([][]float32, len(t.grads))
	return nil
}

// Step implements train.Model; the losses are "loss" (the weighted sum),
// "l2" and "lpips" (the two terms' batch means, unweighted).
func (t *Trainer) Step(batch []float32, n int) (map[string]float64, error) {
	if n != t.Config.BatchSize {
		return nil, fmt.Errorf("psp: batch of %d, trainer built for %d", n, t.Config.BatchSize)
	}
	s := t.Model.Config.Size
	if len(batch) != n*s*s {
		return nil, fmt.Errorf("psp: %d values for %d images of %dx%d", len(batch), n, s, s)
	}
	copy(t.xT.Data().([]float32), batch)
	defer t.vm.Reset()
	if err := gorgonia.Let(t.x, t.xT); err != nil {
		return nil, err
	}
	if err := t.vm.RunAll(); err != nil {
		return nil, fmt.Errorf("psp: %w", err)
	}
	out := map[string]float64{"loss": scalar(t.out.Value()), "l2": scalar(*t.l2V)}
	if t.lpV != nil {
		out["lpips"] = scalar(*t.lpV)
	}
	for i, g := range t.grads {
		t.gv[i] = g.Value().Data().([]float32)
	}
	if err := t.Opt.Update(t.Model.E.Values(), t.gv); err != nil {
		return nil, err
	}
	// E changed: a latent fit and a default chosen before no longer hold.
	t.Model.Latent, t.Model.Default = nil, nil
	t.Model.History.Add(out)
	return out, nil
}

func scalar(v gorgonia.Value) float64 {
	if v == nil {
		return math.NaN()
	}
	switch x := v.Data().(type) {
	case float32:
		return float64(x)
	case []float32:
		if len(x) > 0 {
			return float64(x[0])
		}
	}
	return math.NaN()
}
