package hqanogan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/anogo/anogo/sdk/ada"
	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/figures"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/psp"
	"github.com/anogo/anogo/sdk/score"
	"github.com/anogo/anogo/sdk/stylegan2"
	"github.com/anogo/anogo/sdk/train"
	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"
)

// Method is the name the method is registered under.
const Method = "hqanogan"

func init() {
	detector.Register(detector.Method{
		Name:     Method,
		Summary:  "HQ-AnoGAN (Sato et al. 2024): StyleGAN2 with ADA, a pSp encoder into W+; rows HQ-AnoGAN (the W+/residual score chosen on validation, map |x - G(E(x))|), HQ-AnoGAN_R, HQ-AnoGAN_maha, HQ-AnoGAN_knn",
		Settings: Setting,
		New:      func(s any) (detector.Detector, error) { return newDetector(s) },
		Load:     loadDetector,
	})
}

// Settings are the settings of the registered method.
type Settings struct {
	// GAN and GANTrain are the StyleGAN2 and its training (GAN.Size is
	// the data's image size).
	GAN      stylegan2.Config      `json:"gan"`
	GANTrain stylegan2.TrainConfig `json:"gan_train"`
	// ADA are the augmentation's options; NoADA trains without
	// augmentation.
	ADA   ada.Options `json:"ada"`
	NoADA bool        `json:"no_ada,omitempty"`
	// EncoderWidth and EncoderBlocks shape the pSp encoder
	// (psp.ConfigFor); EncoderTrain and EncoderSteps are its training
	// with the generator frozen.
	EncoderWidth  int             `json:"encoder_width"`
	EncoderBlocks int             `json:"encoder_blocks"`
	EncoderTrain  psp.TrainConfig `json:"encoder_train"`
	EncoderSteps  int             `json:"encoder_steps"`
	// K is the number of neighbours of the kNN score.
	K int `json:"k"`
	// Seed seeds the weights of both networks.
	Seed uint64 `json:"seed"`
}

// SetSeed implements detector.Seeder.
func (s *Settings) SetSeed(seed uint64) {
	s.Seed, s.GANTrain.Seed, s.ADA.Seed = seed, seed, seed
}

// Setting returns the named setting:
//
//   - "small": stylegan2's small setting (width 8, at most 64 channels,
//     z and w of 32, 300 steps of 16 images) and an encoder of width 8
//     trained 300 steps of 8 images: tests and CI;
//   - "demo": stylegan2's demo setting (width 16, at most 128 channels,
//     z and w of 128, 5000 steps of 32) and 2000 encoder steps;
//   - "paper": 256 channels at the image size doubling to at most 512, z
//     and w of 512, batches of 32 (the StyleGAN2-ADA reference's 'auto'
//     configuration at 64 pixels; at 32 it would start from 512), for
//     50,000 steps (1.6 M images) and 20,000 encoder steps. The HQ-AnoGAN
//     paper's own settings are not public.
//
// All use the reference's training (stylegan2.DefaultTrainConfig: Adam
// 0.0025, β = (0, 0.99), lazy R1 'auto', style mixing 0.9, G_ema), ADA on
// the grey transforms with target 0.6 from p = 0, and pSp's loss (1.0·L2
// + 0.8·perceptual, psp.DefaultTrainConfig).
func Setting(name string) (any, error) {
	s := &Settings{GANTrain: stylegan2.DefaultTrainConfig(), EncoderTrain: psp.DefaultTrainConfig(),
		EncoderBlocks: 1, K: psp.DefaultK, Seed: 1, ADA: ada.Options{Seed: 1}}
	switch name {
	case "small", "":
		g, _ := stylegan2.Setting("small")
		s.GAN, s.GANTrain = g.Model, g.Train
		s.EncoderWidth, s.EncoderSteps = 8, 300
	case "demo":
		g, _ := stylegan2.Setting("demo")
		s.GAN, s.GANTrain = g.Model, g.Train
		s.EncoderWidth, s.EncoderSteps = 16, 2000
	case "paper":
		s.GAN = stylegan2.Config{Width: 256, MaxChannels: 512, ZDim: 512, WDim: 512, MappingLayers: 2}
		s.GANTrain.BatchSize, s.GANTrain.Steps = 32, 50000
		s.EncoderWidth, s.EncoderSteps = 32, 20000
	default:
		return nil, fmt.Errorf("hqanogan: unknown setting %q (small, demo or paper)", name)
	}
	return s, nil
}

// The files of a fitted model directory and of a checkpoint directory.
const (
	// GANFile holds the trained StyleGAN2 (G, G_ema, D, w_avg).
	GANFile = "hqanogan_gan.ckpt"
	// EncoderFile holds the encoder with its latent fit and the score
	// chosen on validation.
	EncoderFile = "hqanogan_encoder.ckpt"
	// GANTrainFile, GANDoneFile and EncoderTrainFile are the checkpoints
	// of an interrupted fit: the GAN's training (with ADA's state), the
	// GAN once trained, the encoder's training.
	GANTrainFile     = "stylegan2_train.ckpt"
	GANDoneFile      = "stylegan2_done.ckpt"
	EncoderTrainFile = "psp_train.ckpt"
)

const checkpointEvery = 500

// ErrNotFitted is returned by a detector that has no model yet.
var ErrNotFitted = errors.New("hqanogan: the detector is not fitted")

// Detector is HQ-AnoGAN as a detector.Detector; it implements
// detector.Resumer and detector.Latenter.
type Detector struct {
	Settings Settings
	GAN      *stylegan2.Model
	Encoder  *psp.Model
}

func newDetector(s any) (*Detector, error) {
	st, ok := s.(*Settings)
	if !ok {
		return nil, fmt.Errorf("hqanogan: settings of type %T, want *hqanogan.Settings", s)
	}
	return &Detector{Settings: *st}, nil
}

// adaAugmenter is ADA's pipeline as the trainer's augmenter.
type adaAugmenter struct{ *ada.Pipeline }

func (s *Settings) augmenter() (stylegan2.Augmenter, error) {
	if s.NoADA {
		return nil, nil
	}
	if err := s.ADA.Validate(); err != nil {
		return nil, fmt.Errorf("hqanogan: ADA: %w", err)
	}
	return adaAugmenter{ada.New(s.ADA)}, nil
}

func path(dir, name string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, name)
}

// Fit implements detector.Detector: the GAN on d.Train, then the encoder
// with the GAN frozen, then the latent fit on the training images and the
// choice of the default score on d.Val.
func (t *Detector) Fit(ctx context.Context, d *prep.Data, opt detector.FitOptions) error {
	s := t.Settings
	s.GAN.Size = d.Config.Size
	m, err := stylegan2.New(s.GAN, s.Seed)
	if err != nil {
		return err
	}
	aug, err := s.augmenter()
	if err != nil {
		return err
	}
	tr, err := stylegan2.NewTrainer(m, s.GANTrain, aug)
	if err != nil {
		return err
	}
	defer tr.Close()
	o := s.GANTrain.Options(path(opt.CheckpointDir, GANTrainFile), checkpointEvery, opt.StageHooks("StyleGAN2-ADA")...)
	if _, err := train.Run(ctx, tr, d.Train, o, train.State{}); err != nil {
		return err
	}
	return t.fitEncoder(ctx, m, d, s, opt)
}

func (s *Settings) encoderOptions(dir string, hooks []train.Hook) train.Options {
	o := train.Options{Steps: s.EncoderSteps, BatchSize: s.EncoderTrain.BatchSize, Seed: s.Seed + 1, Hooks: hooks}
	if dir != "" {
		o.CheckpointPath, o.CheckpointEvery = filepath.Join(dir, EncoderTrainFile), checkpointEvery
	}
	return o
}

// fitEncoder saves the trained GAN into the checkpoint directory, trains
// the encoder and finishes the fit.
func (t *Detector) fitEncoder(ctx context.Context, m *stylegan2.Model, d *prep.Data, s Settings, opt detector.FitOptions) error {
	if opt.CheckpointDir != "" {
		if err := m.Save(filepath.Join(opt.CheckpointDir, GANDoneFile)); err != nil {
			return err
		}
	}
	e, err := psp.New(psp.ConfigFor(m, s.EncoderWidth, s.EncoderBlocks), m, s.Seed)
	if err != nil {
		return err
	}
	et, err := psp.NewTrainer(e, m, s.EncoderTrain)
	if err != nil {
		return err
	}
	if _, err := train.Run(ctx, et, d.Train, s.encoderOptions(opt.CheckpointDir, opt.StageHooks("pSp encoder")), train.State{}); err != nil {
		return err
	}
	return t.finish(ctx, m, et.Model, d, s)
}

// finish fits the latent statistics on the training images and chooses
// the default score on the validation split.
func (t *Detector) finish(ctx context.Context, m *stylegan2.Model, e *psp.Model, d *prep.Data, s Settings) error {
	sc := &psp.Scorer{Model: e, Gen: m}
	if err := sc.Fit(ctx, d.TrainSamples, s.K); err != nil {
		return err
	}
	ch, err := Choose(ctx, sc, d.Val)
	if err != nil {
		return err
	}
	if err := e.SetDefault(ch); err != nil {
		return err
	}
	t.GAN, t.Encoder, t.Settings = m, e, s
	return nil
}

// Choose picks the default score on the validation samples val: the
// candidate of highest validation AUROC (psp.ChooseDefault). When val
// lacks normal or anomalous samples it falls back to the reconstruction
// residual A_R, the one candidate that needs no choice, with an empty
// candidate table.
func Choose(ctx context.Context, sc *psp.Scorer, val []data.Sample) (psp.Choice, error) {
	var normal, anomalous bool
	for _, v := range val {
		normal = normal || v.Label == data.Normal
		anomalous = anomalous || v.Label == data.Anomalous
	}
	if !normal || !anomalous {
		return psp.Choice{Column: psp.ColR}, nil
	}
	res, err := sc.Score(ctx, val)
	if err != nil {
		return psp.Choice{}, err
	}
	return psp.ChooseDefault(res, sc.Columns())
}

// Resume implements detector.Resumer: it continues an interrupted fit
// from the checkpoints in opt.CheckpointDir, in whichever stage it
// stopped.
func (t *Detector) Resume(ctx context.Context, d *prep.Data, opt detector.FitOptions) error {
	s := t.Settings
	s.GAN.Size = d.Config.Size
	dir := opt.CheckpointDir
	if _, err := os.Stat(filepath.Join(dir, GANDoneFile)); err == nil {
		m, err := stylegan2.Load(filepath.Join(dir, GANDoneFile))
		if err != nil {
			return err
		}
		enc := filepath.Join(dir, EncoderTrainFile)
		if _, err := os.Stat(enc); errors.Is(err, fs.ErrNotExist) {
			return t.fitEncoder(ctx, m, d, s, opt)
		} else if err != nil {
			return err
		}
		et, st, err := psp.Resume(enc, m)
		if err != nil {
			return err
		}
		if _, err := train.Run(ctx, et, d.Train, s.encoderOptions(dir, opt.StageHooks("pSp encoder")), st); err != nil {
			return err
		}
		return t.finish(ctx, m, et.Model, d, s)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	aug, err := s.augmenter()
	if err != nil {
		return err
	}
	tr, st, err := stylegan2.ResumeTrainer(filepath.Join(dir, GANTrainFile), s.GAN, aug)
	if err != nil {
		return err
	}
	defer tr.Close()
	o := s.GANTrain.Options(path(dir, GANTrainFile), checkpointEvery, opt.StageHooks("StyleGAN2-ADA")...)
	if _, err := train.Run(ctx, tr, d.Train, o, st); err != nil {
		return err
	}
	return t.fitEncoder(ctx, tr.Model, d, s, opt)
}

func (t *Detector) scorer() (*psp.Scorer, error) {
	if t.GAN == nil || t.Encoder == nil {
		return nil, ErrNotFitted
	}
	return &psp.Scorer{Model: t.Encoder, Gen: t.GAN}, nil
}

// Score implements detector.Detector with psp.Scorer: every candidate
// column, the chosen one as psp.ColDefault, the reconstruction and the
// map |x - G(E(x))|.
func (t *Detector) Score(ctx context.Context, samples []data.Sample) ([]score.Result, error) {
	sc, err := t.scorer()
	if err != nil {
		return nil, err
	}
	return sc.Score(ctx, samples)
}

// Latents implements detector.Latenter: E(x), the W+ code flattened.
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
		{Name: "HQ-AnoGAN", Column: psp.ColDefault, Map: true},
		{Name: "HQ-AnoGAN_R", Column: psp.ColR, Map: true},
		{Name: "HQ-AnoGAN_maha", Column: psp.ColMaha},
		{Name: "HQ-AnoGAN_knn", Column: psp.ColKNN},
	}
}

// Choice is the score chosen on validation data, with every candidate's
// validation AUROC (nil before fitting).
func (t *Detector) Choice() *psp.Choice {
	if t.Encoder == nil {
		return nil
	}
	return t.Encoder.Default
}

// Save implements detector.Detector.
func (t *Detector) Save(dir string) error {
	if t.GAN == nil || t.Encoder == nil {
		return ErrNotFitted
	}
	if err := t.GAN.Save(filepath.Join(dir, GANFile)); err != nil {
		return err
	}
	return t.Encoder.Save(filepath.Join(dir, EncoderFile))
}

func loadDetector(dir string, s any) (detector.Detector, error) {
	t, err := newDetector(s)
	if err != nil {
		return nil, err
	}
	if t.GAN, err = stylegan2.Load(filepath.Join(dir, GANFile)); err != nil {
		return nil, err
	}
	if t.Encoder, err = psp.Load(filepath.Join(dir, EncoderFile)); err != nil {
		return nil, err
	}
	if err := t.Encoder.Config.Check(t.GAN); err != nil {
		return nil, fmt.Errorf("hqanogan: %s: the encoder does not fit the generator: %w", dir, err)
	}
	if t.Encoder.Default == nil {
		return nil, fmt.Errorf("hqanogan: %s: the encoder has no chosen score (an unfinished fit?)", filepath.Join(dir, EncoderFile))
	}
	t.Settings.GAN = t.GAN.Config
	return t, nil
}

// LossFigure draws a stage's training record as running means over window
// steps: "gan" (G's and D's losses, R1 and ADA's probability p) or
// "encoder" (the loss and its L2 and perceptual terms).
func (t *Detector) LossFigure(stage string, window int) (*figures.Figure, error) {
	if t.GAN == nil || t.Encoder == nil {
		return nil, ErrNotFitted
	}
	switch stage {
	case "gan":
		return t.GAN.History.Figure("StyleGAN2-ADA training", window, "loss_g", "loss_d", "r1", "p")
	case "encoder":
		return t.Encoder.History.Figure("pSp encoder training", window, "loss", "l2", "lpips")
	}
	return nil, fmt.Errorf("hqanogan: stage %q (gan or encoder)", stage)
}

// PFigure draws ADA's augmentation probability p against the step.
func (t *Detector) PFigure() (*figures.Figure, error) {
	if t.GAN == nil {
		return nil, ErrNotFitted
	}
	return t.GAN.History.Figure("ADA's augmentation probability", 1, "p")
}

// SampleFigure draws n images of the EMA generator from seed, cols per
// row.
func (t *Detector) SampleFigure(n, cols int, seed uint64) (*figures.Figure, error) {
	if t.GAN == nil {
		return nil, ErrNotFitted
	}
	px, err := t.GAN.Sample(n, seed)
	if err != nil {
		return nil, err
	}
	size := t.GAN.Size()
	ims := make([]*data.Image, n)
	for i := range ims {
		ims[i] = data.NewImage(size, size)
		copy(ims[i].Pix, px[i*size*size:(i+1)*size*size])
	}
	return figures.ImageGrid(ims, cols, nil)
}

// ChoiceTable returns the validation AUROC of every candidate score as a
// DataFrame (columns column, val_auroc, chosen), in the order they were
// compared; it is empty when the fit had no labelled validation split.
func (t *Detector) ChoiceTable() (dataframe.DataFrame, error) {
	ch := t.Choice()
	if ch == nil {
		return dataframe.DataFrame{}, ErrNotFitted
	}
	cols := make([]string, len(ch.Candidates))
	aucs := make([]float64, len(ch.Candidates))
	chosen := make([]bool, len(ch.Candidates))
	for i, c := range ch.Candidates {
		cols[i], aucs[i], chosen[i] = c.Column, c.AUROC, c.Column == ch.Column
	}
	return dataframe.New(series.New(cols, series.String, "column"), series.New(aucs, series.Float, "val_auroc"),
		series.New(chosen, series.Bool, "chosen")), nil
}
