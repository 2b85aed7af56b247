package jointenc

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/figures"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/score"
	"github.com/anogo/anogo/sdk/train"
)

// Method is the name the method is registered under.
const Method = "jointenc"

func init() {
	detector.Register(detector.Method{
		Name:     Method,
		Summary:  "jointly trained encoder (Berg et al. 2019): progressive-growing WGAN-GP with E trained from the first step on mean|G(z) - G(E(G(z)))|; rows JointEnc (‖E(x)‖, the paper's cue), JointEnc_dev (|‖E(x)‖ - median| over the training images' spread), JointEnc_R (residual, map |x - G(E(x))|), JointEnc_A (0.9 R + 0.1 F)",
		Settings: Setting,
		New:      func(s any) (detector.Detector, error) { return newDetector(s) },
		Load:     loadDetector,
	})
}

// Settings are the settings of the registered method.
type Settings struct {
	Model Config      `json:"model"`
	Train TrainConfig `json:"train"`
}

// SetSeed implements detector.Seeder.
func (s *Settings) SetSeed(seed uint64) { s.Train.Seed = seed }

// Setting returns the named setting:
//
//   - "small": width 8, z of 64, batches of 16, 100 steps per phase and
//     200 at the image size (600 steps at 28 pixels), for tests and CI;
//   - "demo": width 16, z of 128, batches of 32, 300 steps per phase and
//     1500 at the image size;
//   - "paper": the authors' code: width 64 (512 channels at 4x4 and
//     8x8), z of 512, batches of 64, 9375 steps (600,000 images, the
//     progressive GAN's default) per phase.
//
// All use Adam 1e-3 with β = (0, 0.99), λ = 10 and drift 0.001.
func Setting(name string) (any, error) {
	s := &Settings{Train: DefaultTrainConfig()}
	switch name {
	case "small", "":
		s.Model = Config{Width: 8, Latent: 64}
		s.Train.BatchSize = 16
		s.Train.Schedule = Schedule{Stab: 100, Fade: 100, Final: 200}
	case "demo":
		s.Model = Config{Width: 16, Latent: 128}
		s.Train.BatchSize = 32
		s.Train.Schedule = Schedule{Stab: 300, Fade: 300, Final: 1500}
	case "paper":
		s.Model = Config{Width: 64, Latent: 512}
		s.Train.BatchSize = 64
		s.Train.Schedule = Schedule{Stab: 9375, Fade: 9375, Final: 9375}
	default:
		return nil, fmt.Errorf("jointenc: unknown setting %q (small, demo or paper)", name)
	}
	return s, nil
}

// Detector is the method as a detector.Detector; it implements
// detector.Resumer and detector.Latenter.
type Detector struct {
	Settings Settings
	Model    *Model

	scorer *Scorer
}

func newDetector(s any) (*Detector, error) {
	st, ok := s.(*Settings)
	if !ok {
		return nil, fmt.Errorf("jointenc: settings of type %T, want *jointenc.Settings", s)
	}
	return &Detector{Settings: *st}, nil
}

// The files of a model directory.
const (
	ModelFile = "jointenc.ckpt"
	TrainFile = "train.ckpt"
)

const checkpointEvery = 200

func (s *Settings) options(dir string, hooks []train.Hook) train.Options {
	o := train.Options{Steps: s.Train.Schedule.Total(s.Model), BatchSize: s.Train.BatchSize, Seed: s.Train.Seed, Hooks: hooks}
	if dir != "" {
		o.CheckpointPath, o.CheckpointEvery = filepath.Join(dir, TrainFile), checkpointEvery
	}
	return o
}

// Fit implements detector.Detector.
func (t *Detector) Fit(ctx context.Context, d *prep.Data, opt detector.FitOptions) error {
	s := t.Settings
	s.Model.Size = d.Config.Size
	m, err := New(s.Model, s.Train.Seed)
	if err != nil {
		return err
	}
	tr, err := NewTrainer(m, s.Train)
	if err != nil {
		return err
	}
	defer tr.closeGraphs()
	if _, err := train.Run(ctx, tr, d.Train, s.options(opt.CheckpointDir, opt.StageHooks("JointEnc")), train.State{}); err != nil {
		return err
	}
	if err := FitNorms(ctx, m, d.TrainSamples); err != nil {
		return err
	}
	t.Model, t.Settings, t.scorer = m, s, nil
	return nil
}

// Resume implements detector.Resumer: it continues the fit from the
// checkpoint in opt.CheckpointDir, in whichever growing phase it stopped.
func (t *Detector) Resume(ctx context.Context, d *prep.Data, opt detector.FitOptions) error {
	s := t.Settings
	s.Model.Size = d.Config.Size
	tr, st, err := ResumeTrainer(filepath.Join(opt.CheckpointDir, TrainFile), s.Model)
	if err != nil {
		return err
	}
	defer tr.closeGraphs()
	if _, err := train.Run(ctx, tr, d.Train, s.options(opt.CheckpointDir, opt.StageHooks("JointEnc")), st); err != nil {
		return err
	}
	if err := FitNorms(ctx, tr.Model, d.TrainSamples); err != nil {
		return err
	}
	t.Model, t.Settings, t.scorer = tr.Model, s, nil
	return nil
}

// Score implements detector.Detector with Scorer.
func (t *Detector) Score(ctx context.Context, samples []data.Sample) ([]score.Result, error) {
	if t.Model == nil {
		return nil, ErrNotFitted
	}
	if t.scorer == nil {
		t.scorer = &Scorer{Model: t.Model}
	}
	return t.scorer.Score(ctx, samples)
}

// Latents implements detector.Latenter: E(x).
func (t *Detector) Latents(ctx context.Context, samples []data.Sample) ([][]float32, error) {
	res, err := t.Score(ctx, samples)
	if err != nil {
		return nil, err
	}
	z := make([][]float32, len(res))
	for i, r := range res {
		z[i] = r.Z
	}
	return z, nil
}

// Rows implements detector.Detector.
func (t *Detector) Rows() []detector.Row {
	return []detector.Row{
		{Name: "JointEnc", Column: ColNorm, Map: true},
		{Name: "JointEnc_dev", Column: ColNormDev, Map: true},
		{Name: "JointEnc_R", Column: ColResidual, Map: true},
		{Name: "JointEnc_A", Column: ColAnoGAN},
	}
}

// Save implements detector.Detector.
func (t *Detector) Save(dir string) error {
	if t.Model == nil {
		return ErrNotFitted
	}
	return t.Model.Save(filepath.Join(dir, ModelFile))
}

func loadDetector(dir string, s any) (detector.Detector, error) {
	t, err := newDetector(s)
	if err != nil {
		return nil, err
	}
	if t.Model, err = Load(filepath.Join(dir, ModelFile)); err != nil {
		return nil, err
	}
	t.Settings.Model = t.Model.Config
	return t, nil
}

// LossFigure draws the training record (the critic's loss, its
// Wasserstein estimate, the penalty, G's and E's losses), each as a
// running mean over window steps.
func (t *Detector) LossFigure(window int) (*figures.Figure, error) {
	if t.Model == nil {
		return nil, ErrNotFitted
	}
	return t.Model.History.Figure("JointEnc training", window, "loss_d", "wasserstein", "gp", "loss_g", "loss_e")
}
