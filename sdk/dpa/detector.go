package dpa

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/figures"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/score"
	"github.com/anogo/anogo/sdk/train"
)

// Method is the name the deep perceptual autoencoder is registered under.
const Method = "dpa"

func init() {
	detector.Register(detector.Method{
		Name:     Method,
		Summary:  "deep perceptual autoencoder (Shvetsova et al. 2021): residual AE grown from 8x8 with fade-in, relative perceptual L1 loss on VGG19's trunk (random weights unless a VGG19 file is given); row DPA_rand or DPA (score and map L_rel)",
		Settings: Setting,
		New:      func(s any) (detector.Detector, error) { return newDetector(s) },
		Load:     loadDetector,
	})
}

// Settings are the settings of the registered method.
type Settings struct {
	Model    Config      `json:"model"`
	Train    TrainConfig `json:"train"`
	Features Features    `json:"features"`
	// Chosen, when not nil, records the search on the validation split
	// that chose Train.Layer, Model.Latent and Train.LR (Search).
	Chosen *Choice `json:"chosen,omitempty"`
}

// SetSeed implements detector.Seeder: the seed of the autoencoder's
// initialisation and of the batches. The feature network's seed stays, so
// that every seed is measured with the same f.
func (s *Settings) SetSeed(seed uint64) { s.Train.Seed = seed }

// VGG19Env names the environment variable that the "paper" setting reads
// the VGG19 weights file from.
const VGG19Env = "ANOGO_VGG19"

// Setting returns the named setting:
//
//   - "small": width 8, a code of 16, the random trunk at width 8,
//     batches of 16, 100 steps per stabilisation and fade-in phase and
//     200 at the image size (600 steps at 28 pixels), for tests and CI;
//   - "demo": width 16, the random trunk at width 16, batches of 32, 300
//     steps per phase and 1500 at the image size;
//   - "paper": width 32, the authors' code of 16 and learning rate 1e-3,
//     batches of 64, 2000 steps per phase and 10,000 at the image size,
//     with VGG19 from the file $ANOGO_VGG19 when set, else the random
//     trunk at VGG19's width 64.
//
// All take the feature layer relu3_2 at 28 pixels and more, Adam 1e-3
// with PyTorch's default βs, and a fresh Adam per phase.
func Setting(name string) (any, error) {
	s := &Settings{
		Model:    Config{Latent: 16},
		Train:    TrainConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Layer: Relu32, Seed: 1},
		Features: Features{Kind: Random, Seed: 1},
	}
	switch name {
	case "small", "":
		s.Model.Width, s.Features.Width = 8, 8
		s.Train.BatchSize = 16
		s.Train.Schedule = Schedule{Stab: 100, Fade: 100, Final: 200}
	case "demo":
		s.Model.Width, s.Features.Width = 16, 16
		s.Train.BatchSize = 32
		s.Train.Schedule = Schedule{Stab: 300, Fade: 300, Final: 1500}
	case "paper":
		s.Model.Width, s.Features.Width = 32, 64
		s.Train.BatchSize = 64
		s.Train.Schedule = Schedule{Stab: 2000, Fade: 2000, Final: 10000}
		if p := os.Getenv(VGG19Env); p != "" {
			s.Features = Features{Kind: VGG19, Path: p}
		}
	default:
		return nil, fmt.Errorf("dpa: unknown setting %q (small, demo or paper)", name)
	}
	return s, nil
}

// Detector is the deep perceptual autoencoder as a detector.Detector; it
// implements detector.Resumer.
type Detector struct {
	Settings Settings
	Model    *Model
	Features *FeatureNet

	scorer *Scorer
}

func newDetector(s any) (*Detector, error) {
	st, ok := s.(*Settings)
	if !ok {
		return nil, fmt.Errorf("dpa: settings of type %T, want *dpa.Settings", s)
	}
	return &Detector{Settings: *st}, nil
}

// The files of a model directory.
const (
	ModelFile = "dpa.ckpt"
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
	fn, err := NewFeatureNet(s.Features)
	if err != nil {
		return err
	}
	tr, err := NewTrainer(m, fn, s.Train)
	if err != nil {
		return err
	}
	if _, err := train.Run(ctx, tr, d.Train, s.options(opt.CheckpointDir, opt.StageHooks("DPA")), train.State{}); err != nil {
		return err
	}
	t.Model, t.Features, t.Settings, t.scorer = m, fn, s, nil
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
	if _, err := train.Run(ctx, tr, d.Train, s.options(opt.CheckpointDir, opt.StageHooks("DPA")), st); err != nil {
		return err
	}
	t.Model, t.Features, t.Settings, t.scorer = tr.Model, tr.Features, s, nil
	return nil
}

// Score implements detector.Detector with Scorer.
func (t *Detector) Score(ctx context.Context, samples []data.Sample) ([]score.Result, error) {
	if t.Model == nil {
		return nil, ErrNotFitted
	}
	if t.scorer == nil {
		t.scorer = &Scorer{Model: t.Model, Features: t.Features, Layer: t.Settings.Train.Layer}
	}
	return t.scorer.Score(ctx, samples)
}

// RowName is the table row of a feature network: "DPA" with VGG19's
// weights from a file, "DPA_rand" with the random trunk.
func RowName(f Features) string {
	if f.Kind == VGG19 {
		return "DPA"
	}
	return "DPA_rand"
}

// Rows implements detector.Detector.
func (t *Detector) Rows() []detector.Row {
	return []detector.Row{{Name: RowName(t.Settings.Features), Column: ColScore, Map: true}}
}

// Save implements detector.Detector.
func (t *Detector) Save(dir string) error {
	if t.Model == nil {
		return ErrNotFitted
	}
	return t.Model.Save(filepath.Join(dir, ModelFile), t.Features, t.Settings.Train)
}

func loadDetector(dir string, s any) (detector.Detector, error) {
	t, err := newDetector(s)
	if err != nil {
		return nil, err
	}
	if t.Model, t.Features, err = Load(filepath.Join(dir, ModelFile)); err != nil {
		return nil, err
	}
	t.Settings.Model = t.Model.Config
	return t, nil
}

// LossFigure draws the training record, one line per resolution, as a
// running mean over window steps.
func (t *Detector) LossFigure(window int) (*figures.Figure, error) {
	if t.Model == nil {
		return nil, ErrNotFitted
	}
	return t.Model.History.Figure("DPA training ("+t.Settings.Features.String()+")", window)
}
