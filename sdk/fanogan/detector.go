package fanogan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/figures"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/score"
	"github.com/anogo/anogo/sdk/train"
)

// Method is the name f-AnoGAN is registered under.
const Method = "fanogan"

func init() {
	detector.Register(detector.Method{
		Name:     Method,
		Summary:  "f-AnoGAN: WGAN-GP with the authors' residual networks, an izi_f encoder that maps in one pass; rows f-AnoGAN (A_R + κ·A_D, map |x - G(E(x))|) and f-AnoGAN_z (latent cycle)",
		Settings: Setting,
		New:      func(s any) (detector.Detector, error) { return newDetector(s) },
		Load:     loadDetector,
	})
}

// Settings are the settings of the registered f-AnoGAN: the networks (their
// Size is the data's), WGAN-GP training for Steps critic steps (or Epochs
// passes over the training images when Steps is 0), then the encoder's
// training for EncoderSteps steps.
type Settings struct {
	Model        Config        `json:"model"`
	Train        TrainConfig   `json:"train"`
	Steps        int           `json:"steps"`
	Epochs       int           `json:"epochs,omitempty"`
	Encoder      EncoderConfig `json:"encoder"`
	EncoderSteps int           `json:"encoder_steps"`
}

// SetSeed implements detector.Seeder: the seed of the networks'
// initialisation, of WGAN-GP's draws and batches and of the encoder's.
func (s *Settings) SetSeed(seed uint64) {
	s.Train.Seed = seed
	s.Encoder.Seed = seed
}

// Setting returns f-AnoGAN's named setting:
//
//   - "small": width 8, batches of 32, 400 critic steps (80 generator
//     steps) and 300 encoder steps, for tests and CI;
//   - "demo": width 16, batches of 64, 2500 critic steps and 1500 encoder
//     steps;
//   - "paper": the authors' code: width 64, batches of 64, 7 epochs of
//     critic steps, 50,000 encoder steps.
//
// All use z of 128 values, λ = 10, five critic steps per generator step,
// Adam with β = (0, 0.9), izi_f with κ = 1 and RMSProp, as the authors'
// code does. The learning rates are the code's (Adam 1e-4, RMSProp 5e-5)
// in "paper"; the shorter runs raise them (Adam 1e-3 and 5e-4, RMSProp 1e-3
// and 5e-4), because at 1e-4 eighty generator steps leave G at its
// initial noise: docs/fanogan.md has the loss curves and samples of both.
func Setting(name string) (any, error) {
	s := &Settings{Model: Config{Latent: 128}, Train: DefaultTrainConfig(), Encoder: DefaultEncoderConfig()}
	switch name {
	case "small", "":
		s.Model.Width = 8
		s.Train.BatchSize, s.Encoder.BatchSize = 32, 32
		s.Steps, s.EncoderSteps = 400, 300
		s.Train.LR, s.Encoder.LR = 1e-3, 1e-3
	case "demo":
		s.Model.Width = 16
		s.Steps, s.EncoderSteps = 2500, 1500
		s.Train.LR, s.Encoder.LR = 5e-4, 5e-4
	case "paper":
		s.Model.Width = 64
		s.Epochs, s.EncoderSteps = 7, 50000
	default:
		return nil, fmt.Errorf("fanogan: unknown setting %q (small, demo or paper)", name)
	}
	return s, nil
}

// Detector is f-AnoGAN as a detector.Detector; it implements
// detector.Resumer and detector.Latenter.
type Detector struct {
	Settings Settings
	Model    *Model
}

func newDetector(s any) (*Detector, error) {
	st, ok := s.(*Settings)
	if !ok {
		return nil, fmt.Errorf("fanogan: settings of type %T, want *fanogan.Settings", s)
	}
	return &Detector{Settings: *st}, nil
}

// The files of a model directory: the final networks, and the checkpoints
// of the two training stages.
const (
	ModelFile   = "fanogan.ckpt"
	WGANFile    = "wgan.ckpt"
	EncoderFile = "encoder.ckpt"
)

// checkpointEvery is the period, in steps, of both stages' checkpoints.
const checkpointEvery = 500

func (s *Settings) wganOptions(dir string, hooks []train.Hook) train.Options {
	o := train.Options{Steps: s.Steps, Epochs: s.Epochs, BatchSize: s.Train.BatchSize, Seed: s.Train.Seed, Hooks: hooks}
	if dir != "" {
		o.CheckpointPath, o.CheckpointEvery = filepath.Join(dir, WGANFile), checkpointEvery
	}
	return o
}

func (s *Settings) encoderOptions(dir string, hooks []train.Hook) train.Options {
	o := train.Options{Steps: s.EncoderSteps, BatchSize: s.Encoder.BatchSize, Seed: s.Encoder.Seed + 1, Hooks: hooks}
	if dir != "" {
		o.CheckpointPath, o.CheckpointEvery = filepath.Join(dir, EncoderFile), checkpointEvery
	}
	return o
}

// Fit implements detector.Detector: WGAN-GP, then the encoder.
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
	if _, err := train.Run(ctx, tr, d.Train, s.wganOptions(opt.CheckpointDir, opt.StageHooks("WGAN-GP")), train.State{}); err != nil {
		return err
	}
	return t.fitEncoder(ctx, m, d.Train, s, opt)
}

func (t *Detector) fitEncoder(ctx context.Context, m *Model, images []*data.Image, s Settings, opt detector.FitOptions) error {
	et, err := NewEncoderTrainer(m, s.Encoder)
	if err != nil {
		return err
	}
	if _, err := train.Run(ctx, et, images, s.encoderOptions(opt.CheckpointDir, opt.StageHooks("encoder")), train.State{}); err != nil {
		return err
	}
	t.Model, t.Settings = m, s
	return nil
}

// Resume implements detector.Resumer: it continues the encoder's stage
// from its checkpoint or, when there is none, WGAN-GP's from its own and
// then trains the encoder, taking the steps an uninterrupted fit takes.
func (t *Detector) Resume(ctx context.Context, d *prep.Data, opt detector.FitOptions) error {
	s := t.Settings
	s.Model.Size = d.Config.Size
	enc := filepath.Join(opt.CheckpointDir, EncoderFile)
	if _, err := os.Stat(enc); err == nil {
		et, st, err := ResumeEncoder(enc, s.Model)
		if err != nil {
			return err
		}
		if _, err := train.Run(ctx, et, d.Train, s.encoderOptions(opt.CheckpointDir, opt.StageHooks("encoder")), st); err != nil {
			return err
		}
		t.Model, t.Settings = et.Model, s
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tr, st, err := ResumeTrainer(filepath.Join(opt.CheckpointDir, WGANFile), s.Model)
	if err != nil {
		return err
	}
	if _, err := train.Run(ctx, tr, d.Train, s.wganOptions(opt.CheckpointDir, opt.StageHooks("WGAN-GP")), st); err != nil {
		return err
	}
	return t.fitEncoder(ctx, tr.Model, d.Train, s, opt)
}

func (t *Detector) scorer() (*Scorer, error) {
	if t.Model == nil {
		return nil, ErrNotFitted
	}
	return &Scorer{Model: t.Model, Kappa: t.Settings.Encoder.Kappa}, nil
}

// Score implements detector.Detector with Scorer.
func (t *Detector) Score(ctx context.Context, samples []data.Sample) ([]score.Result, error) {
	sc, err := t.scorer()
	if err != nil {
		return nil, err
	}
	return sc.Score(ctx, samples)
}

// Latents implements detector.Latenter: E(x).
func (t *Detector) Latents(ctx context.Context, samples []data.Sample) ([][]float32, error) {
	sc, err := t.scorer()
	if err != nil {
		return nil, err
	}
	mp, err := sc.Map(ctx, samples)
	if err != nil {
		return nil, err
	}
	return mp.Z, nil
}

// Rows implements detector.Detector: f-AnoGAN ranks by A_R + κ·A_D and
// maps |x - G(E(x))|; f-AnoGAN_z by the latent-cycle score.
func (t *Detector) Rows() []detector.Row {
	return []detector.Row{{Name: "f-AnoGAN", Column: ColScore, Map: true}, {Name: "f-AnoGAN_z", Column: ColCycle}}
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

// LossFigure draws the training record of stage "wgan" (the critic's loss
// L_D, its Wasserstein estimate, the penalty and the generator's loss) or
// "encoder" (its loss), each as a running mean over window values.
func (t *Detector) LossFigure(stage string, window int) (*figures.Figure, error) {
	if t.Model == nil {
		return nil, ErrNotFitted
	}
	switch stage {
	case "wgan":
		return t.Model.WGANHistory.Figure("WGAN-GP training", window, "loss_d", "wasserstein", "gp", "loss_g")
	case "encoder":
		return t.Model.EncoderHistory.Figure("encoder training ("+t.Settings.Encoder.Loss+")", window, "loss_e")
	}
	return nil, fmt.Errorf("fanogan: stage %q (wgan or encoder)", stage)
}

// SampleFigure shows n images G(z) of the fitted generator, drawn with
// seed, in rows of cols.
func (t *Detector) SampleFigure(n, cols int, seed uint64) (*figures.Figure, error) {
	if t.Model == nil {
		return nil, ErrNotFitted
	}
	ims, err := t.Model.Generate(n, seed)
	if err != nil {
		return nil, err
	}
	return figures.ImageGrid(ims, cols, nil)
}
