package anogan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dcgan"
	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/mapper"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/score"
	"github.com/anogo/anogo/sdk/train"
)

// Method is the name AnoGAN is registered under.
const Method = "anogan"

func init() {
	detector.Register(detector.Method{
		Name:     Method,
		Summary:  "AnoGAN (Schlegl et al. 2017): DCGAN on normal images, iterative latent mapping, A = (1-λ)R + λD; rows AnoGAN, GAN_R, P_D",
		Settings: func(name string) (any, error) { c, err := Setting(name); return c.Settings(), err },
		New:      func(s any) (detector.Detector, error) { return newDetector(s) },
		Load:     loadDetector,
	})
}

// Settings are the settings of the registered AnoGAN detector: the DCGAN
// (its Size is the data's), its training, and the mapping.
type Settings struct {
	Model   dcgan.Config      `json:"model"`
	Train   dcgan.TrainConfig `json:"train"`
	Epochs  int               `json:"epochs,omitempty"`
	Steps   int               `json:"steps,omitempty"`
	Mapping mapper.Iterative  `json:"mapping"`
}

// SetSeed implements detector.Seeder: training and mapping.
func (s *Settings) SetSeed(seed uint64) { s.Train.Seed, s.Mapping.Seed = seed, seed }

// Settings returns the detector settings of the experiment's Config.
func (c Config) Settings() *Settings {
	return &Settings{Model: c.Model, Train: c.Train, Epochs: c.Epochs, Steps: c.Steps, Mapping: c.Mapping}
}

// Detector is AnoGAN as a detector.Detector: a DCGAN, mapped iteratively
// with the feature-matching loss (AnoGAN's A, its residual map) and the
// reference loss (GAN_R's Ahat), and D on the query (P_D).
type Detector struct {
	Settings Settings
	GAN      *dcgan.Model
}

func newDetector(s any) (*Detector, error) {
	st, ok := s.(*Settings)
	if !ok {
		return nil, fmt.Errorf("anogan: settings of type %T, want *anogan.Settings", s)
	}
	return &Detector{Settings: *st}, nil
}

// CheckpointFile is the DCGAN's file in a model directory.
const CheckpointFile = "model.ckpt"

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
	m, err := s.TrainGAN(ctx, d.Train, ckpt, opt.StageHooks("DCGAN")...)
	if err != nil {
		return err
	}
	t.GAN, t.Settings.Model = m, s.Model
	return nil
}

// trainOptions are the loop settings of the DCGAN's training: s's length,
// batch and seed, a checkpoint to ckpt every 500 steps and at the end.
func (s *Settings) trainOptions(ckpt string, hooks []train.Hook) train.Options {
	return train.Options{Epochs: s.Epochs, Steps: s.Steps, BatchSize: s.Train.BatchSize, Seed: s.Train.Seed,
		CheckpointPath: ckpt, CheckpointEvery: 500, Hooks: hooks}
}

// TrainGAN trains a new DCGAN of s (s.Model.Size must be the images' size)
// on images; ckpt, when not empty, receives periodic checkpoints and the
// final model.
func (s *Settings) TrainGAN(ctx context.Context, images []*data.Image, ckpt string, hooks ...train.Hook) (*dcgan.Model, error) {
	m, err := dcgan.New(s.Model, s.Train.Seed)
	if err != nil {
		return nil, err
	}
	tr, err := dcgan.NewTrainer(m, s.Train)
	if err != nil {
		return nil, err
	}
	if _, err := train.Run(ctx, tr, images, s.trainOptions(ckpt, hooks), train.State{}); err != nil {
		return nil, err
	}
	return m, nil
}

// Resume implements detector.Resumer: it continues from the DCGAN's
// checkpoint in opt.CheckpointDir.
func (t *Detector) Resume(ctx context.Context, d *prep.Data, opt detector.FitOptions) error {
	s := t.Settings
	s.Model.Size = d.Config.Size
	path := filepath.Join(opt.CheckpointDir, CheckpointFile)
	tr, st, err := dcgan.Resume(path, s.Model)
	if err != nil {
		return err
	}
	if _, err := train.Run(ctx, tr, d.Train, s.trainOptions(path, opt.StageHooks("DCGAN")), st); err != nil {
		return err
	}
	t.GAN, t.Settings.Model = tr.Model, s.Model
	return nil
}

// Score implements detector.Detector with score.AnoGAN (both mappings).
func (t *Detector) Score(ctx context.Context, samples []data.Sample) ([]score.Result, error) {
	if t.GAN == nil {
		return nil, errors.New("anogan: the detector is not fitted")
	}
	return (&score.AnoGAN{Model: t.GAN, Mapping: t.Settings.Mapping, Reference: true}).Score(ctx, samples)
}

// Latents implements detector.Latenter: the codes z_Γ of the
// feature-matching mapping.
func (t *Detector) Latents(ctx context.Context, samples []data.Sample) ([][]float32, error) {
	res, err := t.Score(ctx, samples)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(res))
	for i, r := range res {
		out[i] = r.Z
	}
	return out, nil
}

// Rows implements detector.Detector: AnoGAN (A, with the residual map),
// GAN_R (Ahat) and P_D (PD).
func (t *Detector) Rows() []detector.Row {
	return []detector.Row{{Name: "AnoGAN", Column: score.A, Map: true}, {Name: "GAN_R", Column: score.ARef}, {Name: "P_D", Column: score.PD}}
}

// Save implements detector.Detector.
func (t *Detector) Save(dir string) error {
	if t.GAN == nil {
		return errors.New("anogan: the detector is not fitted")
	}
	return t.GAN.Save(filepath.Join(dir, CheckpointFile))
}

func loadDetector(dir string, s any) (detector.Detector, error) {
	t, err := newDetector(s)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, CheckpointFile)
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	if t.GAN, err = dcgan.Load(path); err != nil {
		return nil, err
	}
	t.Settings.Model = t.GAN.Config
	return t, nil
}
