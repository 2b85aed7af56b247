package acae

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dcgan"
	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/score"
	"github.com/anogo/anogo/sdk/train"
)

// Method is the name the aCAE is registered under.
const Method = "acae"

func init() {
	detector.Register(detector.Method{
		Name:     Method,
		Summary:  "adversarial convolutional autoencoder, AnoGAN's baseline: DCGAN-shaped encoder and decoder, L1 + adversarial loss; row aCAE",
		Settings: Setting,
		New:      func(s any) (detector.Detector, error) { return newDetector(s) },
		Load:     loadDetector,
	})
}

// Settings are the settings of the registered aCAE: the network shape (its
// Size is the data's), training and the λ of its score (0:
// mapper.DefaultLambda; NoLambda: 0).
type Settings struct {
	Model    dcgan.Config `json:"model"`
	Train    TrainConfig  `json:"train"`
	Steps    int          `json:"steps"`
	Lambda   float64      `json:"lambda,omitempty"`
	NoLambda bool         `json:"no_lambda,omitempty"`
	// SeedOffset is added to Train.Seed for the aCAE's initialisation and
	// batches, so that an aCAE and a DCGAN seeded alike draw different
	// numbers (100, as the AnoGAN experiment has always done).
	SeedOffset uint64 `json:"seed_offset"`
}

// SetSeed implements detector.Seeder.
func (s *Settings) SetSeed(seed uint64) { s.Train.Seed = seed }

// Setting returns the aCAE's named setting, matching the AnoGAN
// experiment's: "small" (width 8, z 32, 150 steps), "demo" (width 16, z
// 100, 500 steps) or "paper" (width 64, z 100, 5000 steps).
func Setting(name string) (any, error) {
	s := &Settings{SeedOffset: 100}
	switch name {
	case "small", "":
		s.Model = dcgan.Config{Size: 28, Width: 8, Latent: 32}
		s.Train.TrainConfig = dcgan.TrainConfig{LR: 5e-4, Beta1: 0.5, BatchSize: 32, Seed: 1}
		s.Steps = 150
	case "demo":
		s.Model = dcgan.Config{Size: 32, Width: 16, Latent: 100}
		s.Train.TrainConfig = dcgan.TrainConfig{LR: 2e-4, Beta1: 0.5, BatchSize: 64, Seed: 1}
		s.Steps = 500
	case "paper":
		s.Model = dcgan.PaperConfig()
		s.Train.TrainConfig = dcgan.DefaultTrainConfig()
		s.Steps = 5000
	default:
		return nil, fmt.Errorf("acae: unknown setting %q (small, demo or paper)", name)
	}
	return s, nil
}

// Detector is the aCAE as a detector.Detector.
type Detector struct {
	Settings Settings
	AE       *Model
}

func newDetector(s any) (*Detector, error) {
	st, ok := s.(*Settings)
	if !ok {
		return nil, fmt.Errorf("acae: settings of type %T, want *acae.Settings", s)
	}
	return &Detector{Settings: *st}, nil
}

// CheckpointFile is the aCAE's file in a model directory.
const CheckpointFile = "acae.ckpt"

// Fit implements detector.Detector.
func (t *Detector) Fit(ctx context.Context, d *prep.Data, opt detector.FitOptions) error {
	s := t.Settings
	s.Model.Size = d.Config.Size
	if err := s.Model.Validate(); err != nil {
		return err
	}
	ckpt := ""
	if opt.CheckpointDir != "" {
		ckpt = filepath.Join(opt.CheckpointDir, CheckpointFile)
	}
	m, err := s.TrainModel(ctx, d.Train, ckpt, opt.StageHooks("aCAE")...)
	if err != nil {
		return err
	}
	t.AE, t.Settings.Model = m, s.Model
	return nil
}

// TrainModel trains a new aCAE of s (s.Model.Size must be the images'
// size) on images, initialised and batched with seed Train.Seed +
// SeedOffset; ckpt, when not empty, receives the final model.
func (s *Settings) TrainModel(ctx context.Context, images []*data.Image, ckpt string, hooks ...train.Hook) (*Model, error) {
	seed := s.Train.Seed + s.SeedOffset
	m, err := New(s.Model, seed)
	if err != nil {
		return nil, err
	}
	tr, err := NewTrainer(m, s.Train)
	if err != nil {
		return nil, err
	}
	o := train.Options{Steps: s.Steps, BatchSize: s.Train.BatchSize, Seed: seed, CheckpointPath: ckpt, Hooks: hooks}
	if _, err := train.Run(ctx, tr, images, o, train.State{}); err != nil {
		return nil, err
	}
	return m, nil
}

// Score implements detector.Detector (Scorer: R, D, A, the residual map).
func (t *Detector) Score(ctx context.Context, samples []data.Sample) ([]score.Result, error) {
	if t.AE == nil {
		return nil, errors.New("acae: the detector is not fitted")
	}
	return (&Scorer{Model: t.AE, Lambda: t.Settings.Lambda, NoLambda: t.Settings.NoLambda}).Score(ctx, samples)
}

// Rows implements detector.Detector: aCAE ranks by A and maps |x - x̂|.
func (t *Detector) Rows() []detector.Row {
	return []detector.Row{{Name: "aCAE", Column: score.A, Map: true}}
}

// Save implements detector.Detector.
func (t *Detector) Save(dir string) error {
	if t.AE == nil {
		return errors.New("acae: the detector is not fitted")
	}
	return t.AE.Save(filepath.Join(dir, CheckpointFile))
}

func loadDetector(dir string, s any) (detector.Detector, error) {
	t, err := newDetector(s)
	if err != nil {
		return nil, err
	}
	if t.AE, err = Load(filepath.Join(dir, CheckpointFile)); err != nil {
		return nil, err
	}
	t.Settings.Model = t.AE.Config()
	return t, nil
}
