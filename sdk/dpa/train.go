package dpa

import (
	"errors"
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/optim"
)

// Schedule is the progressive growing (Karras et al. 2018, which the
// authors' pg_networks.py follows): Stab steps at the first resolution,
// then for every higher one Fade steps of fade-in, α rising linearly from
// 0 to 1, and Stab steps of stabilisation (Final at the image size).
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

// Phases returns the schedule of cfg's autoencoder, in order; phases of no
// steps are left out.
func (s Schedule) Phases(cfg Config) []Phase {
	top := len(cfg.Levels()) - 1
	var ph []Phase
	add := func(p Phase) {
		if p.Steps > 0 {
			ph = append(ph, p)
		}
	}
	first := s.Stab
	if cfg.Start() == top {
		first = s.Final
	}
	add(Phase{Level: cfg.Start(), Steps: first})
	for k := cfg.Start() + 1; k <= top; k++ {
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
	return Phase{Level: len(cfg.Levels()) - 1}, i
}

// TrainConfig holds the settings of the training.
type TrainConfig struct {
	// LR, Beta1 and Beta2 are Adam's (the authors' learning rate 1e-3;
	// PyTorch's default βs 0.9 and 0.999); a fresh Adam starts every
	// phase.
	LR    float64 `json:"lr"`
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	// BatchSize is the number of images per step.
	BatchSize int `json:"batch_size"`
	// Schedule is the progressive growing.
	Schedule Schedule `json:"schedule"`
	// Layer is the feature layer at the image size (and at every
	// resolution of 28 pixels and more); at 14 or 16 pixels the loss
	// uses relu2_2, at 7 or 8 relu1_2 (the paper's layers per resolution).
	Layer string `json:"layer"`
	// Seed seeds the autoencoder's initialisation.
	Seed uint64 `json:"seed"`
}

// LayerAt returns the feature layer of the loss at resolution res.
func (c TrainConfig) LayerAt(res int) string {
	switch {
	case res <= 8:
		return Relu12
	case res <= 16:
		return Relu22
	}
	return c.Layer
}

func (c TrainConfig) validate() error {
	switch {
	case c.BatchSize <= 0:
		return fmt.Errorf("dpa: batch size %d", c.BatchSize)
	case c.LR <= 0 || math.IsNaN(c.LR):
		return fmt.Errorf("dpa: learning rate %v", c.LR)
	case c.Schedule.Stab < 0 || c.Schedule.Fade < 0 || c.Schedule.Final < 0:
		return fmt.Errorf("dpa: schedule %+v", c.Schedule)
	}
	if _, ok := layerConvs[c.Layer]; !ok {
		return fmt.Errorf("dpa: feature layer %q (relu1_2, relu2_2 or relu3_2)", c.Layer)
	}
	return nil
}

// ErrNotFitted is returned by a detector that has no model yet.
var ErrNotFitted = errors.New("dpa: the detector is not fitted")

// Trainer trains the autoencoder with the relative perceptual loss and
// progressive growing; it implements train.Model. One Step is one Adam
// step on the batch's mean L_rel at the phase's resolution, the batch
// shrunk to it by 2x2 mean pooling.
type Trainer struct {
	Model    *Model
	Features *FeatureNet
	Config   TrainConfig
	// Opt is the Adam of the current phase.
	Opt *optim.Adam
	// Steps counts the steps taken.
	Steps int

	phase Phase
	g     *stepGraph
	grads [][]float32
}

// stepGraph is the compiled training graph of one phase.
type stepGraph struct {
	vm    gorgonia.VM
	x     *gorgonia.Node
	xT    *tensor.Dense
	fade  *Fade
	loss  *gorgonia.Node
	lossV *gorgonia.Value // read as computed (nn.ReadValue)
	used  []int           // indices in Model.AE of the parameters the phase trains
	grads gorgonia.Nodes
}

// NewTrainer returns a trainer of m with feature network fn.
func NewTrainer(m *Model, fn *FeatureNet, cfg TrainConfig) (*Trainer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Schedule.Total(m.Config) == 0 {
		return nil, fmt.Errorf("dpa: schedule %+v has no steps", cfg.Schedule)
	}
	t := &Trainer{Model: m, Features: fn, Config: cfg, phase: Phase{Level: -1}}
	t.grads = make([][]float32, m.AE.Len())
	for i, v := range m.AE.Values() {
		t.grads[i] = make([]float32, len(v))
	}
	return t, nil
}

// usedParams returns the indices of the parameters that the graph's
// output depends on.
func usedParams(g *gorgonia.ExprGraph, nodes gorgonia.Nodes) []int {
	var used []int
	for i, n := range nodes {
		if g.To(n.ID()).Len() > 0 {
			used = append(used, i)
		}
	}
	return used
}

func (t *Trainer) build(p Phase) (*stepGraph, error) {
	m, n := t.Model, t.Config.BatchSize
	r := m.Config.Levels()[p.Level]
	g := gorgonia.NewGraph()
	sg := &stepGraph{}
	sg.x = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, r, r), gorgonia.WithName("x"))
	sg.xT = tensor.New(tensor.WithShape(n, 1, r, r), tensor.Of(tensor.Float32))
	if p.Fade {
		sg.fade = NewFade(g)
	}
	an := m.AE.Nodes(g)
	xr, err := m.Reconstruct(sg.x, an, p.Level, sg.fade, nn.NoInputGrad)
	if err != nil {
		return nil, err
	}
	l, _, _, err := Perceptual(t.Features, t.Features.Set.Nodes(g), sg.x, xr, t.Config.LayerAt(r), 0)
	if err != nil {
		return nil, err
	}
	if sg.loss, err = gorgonia.Mean(l); err != nil {
		return nil, err
	}
	sg.lossV = nn.ReadValue(sg.loss)
	sg.used = usedParams(g, an)
	wrt := make(gorgonia.Nodes, len(sg.used))
	for i, j := range sg.used {
		wrt[i] = an[j]
	}
	if sg.grads, err = gorgonia.Grad(sg.loss, wrt...); err != nil {
		return nil, fmt.Errorf("dpa: gradients: %w", err)
	}
	sg.vm = gorgonia.NewTapeMachine(g)
	return sg, nil
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

// Step implements train.Model. The losses are loss (the batch's mean
// L_rel), res (the phase's resolution) and alpha.
func (t *Trainer) Step(batch []float32, n int) (map[string]float64, error) {
	if n != t.Config.BatchSize {
		return nil, fmt.Errorf("dpa: batch of %d, trainer built for %d", n, t.Config.BatchSize)
	}
	s := t.Model.Config.Size
	if len(batch) != n*s*s {
		return nil, fmt.Errorf("dpa: %d values for %d images of %dx%d", len(batch), n, s, s)
	}
	p, i := t.Config.Schedule.At(t.Model.Config, t.Steps)
	if p != t.phase || t.g == nil {
		if t.g != nil {
			t.g.vm.Close()
		}
		g, err := t.build(p)
		if err != nil {
			return nil, err
		}
		t.g, t.phase = g, p
		for _, gr := range t.grads { // the parameters the phase leaves alone
			clear(gr)
		}
		if i == 0 || t.Opt == nil {
			t.Opt = newAdam(t.Config)
		}
	}
	sg := t.g
	r := t.Model.Config.Levels()[p.Level]
	copy(f32s(sg.xT), Shrink(batch, n, s, r))
	if err := gorgonia.Let(sg.x, sg.xT); err != nil {
		return nil, err
	}
	alpha := 1.0
	if sg.fade != nil {
		alpha = float64(i) / float64(p.Steps)
		if err := sg.fade.Set(alpha); err != nil {
			return nil, err
		}
	}
	defer sg.vm.Reset()
	if err := sg.vm.RunAll(); err != nil {
		return nil, fmt.Errorf("dpa: %w", err)
	}
	loss := float64(scalar(*sg.lossV))
	for k, j := range sg.used {
		copy(t.grads[j], f32s(sg.grads[k].Value()))
	}
	if err := t.Opt.Update(t.Model.AE.Values(), t.grads); err != nil {
		return nil, err
	}
	t.Steps++
	t.Model.History.add(loss, r, alpha)
	return map[string]float64{"loss": loss, "res": float64(r), "alpha": alpha}, nil
}

func newAdam(c TrainConfig) *optim.Adam { return optim.NewAdamBetas(c.LR, c.Beta1, c.Beta2) }

func f32s(v gorgonia.Value) []float32 { return v.Data().([]float32) }

func scalar(v gorgonia.Value) float32 {
	switch x := v.Data().(type) {
	case float32:
		return x
	case []float32:
		return x[0]
	}
	return float32(math.NaN())
}
