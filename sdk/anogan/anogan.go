package anogan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"github.com/anogo/anogo/sdk/acae"
	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dcgan"
	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/experiment"
	"github.com/anogo/anogo/sdk/mapper"
	"github.com/anogo/anogo/sdk/metrics"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/score"
	"github.com/anogo/anogo/sdk/train"
)

// Config is one run of the experiment.
type Config struct {
	// Data names the source (see package datasets), e.g. "phantom" or
	// "medmnist:pneumoniamnist.npz".
	Data string
	// Model is the DCGAN's shape; its Size is the size of the patches or
	// images the model sees.
	Model dcgan.Config
	// Train holds the optimiser settings, Epochs and Steps the length of
	// adversarial training (Steps > 0 overrides Epochs).
	Train         dcgan.TrainConfig
	Epochs, Steps int
	// ACAESteps is the number of aCAE training steps (0: no aCAE).
	ACAESteps int
	// Patch cuts patches of PatchSize pixels (0: use whole images, resized
	// to Model.Size), PatchesPerImage per training image, keeping their
	// centres inside the source's region of interest when it has one, and
	// shrinks them to Model.Size.
	PatchSize, PatchesPerImage int
	// MaxTrain caps the number of training images or patches (0: all).
	MaxTrain int
	// TestPerClass, when positive, takes a balanced test set of that many
	// normal and as many anomalous test patches, drawn at random from
	// TestPatchesPerImage patches of every test image (0: 16; patch.Balanced);
	// otherwise MaxTest caps the test set (0: all).
	TestPerClass, MaxTest int
	TestPatchesPerImage   int
	// TrainScored is the number of normal training images also scored (the
	// "normal (train)" groups of Figs. 3 and 4c, 4d).
	TrainScored int
	// Flatten flattens the retina before cutting patches, as the paper
	// does (Sec. 3): every column is shifted so that the region of
	// interest's top edge lies on one row (patch.Flattened). Only for
	// sources with a region of interest (the phantom).
	Flatten bool
	// Contaminated keeps the anomalous images of the training split (the
	// contaminated-data setting); by default training sees normals only.
	Contaminated bool
	// Mapping holds the mapping settings (Γ, λ, learning rate, batch,
	// early stop).
	Mapping mapper.Iterative
	// Seed seeds patch positions; Train.Seed and Mapping.Seed are separate.
	Seed uint64
	// Ideal also scores the test set against the source's ideal
	// reconstruction (Ideal): the ceiling of the residual score on the
	// source, reported beside the trained model's scores. Run skips it for
	// sources without one (all but the phantom).
	Ideal bool `json:"-"`
	// Out is the output directory of Run ("" writes nothing).
	Out string `json:"-"`
	// Reuse makes Run load the models from Out instead of training them
	// when Out holds models trained with the same settings (training.json
	// records them), so re-running a notebook never retrains.
	Reuse bool `json:"-"`
}

// Small is a setting for tests and quick notebook runs: 28x28 patches,
// width 8, a few hundred steps, 50 mapping steps. Minutes on two cores.
func Small() Config {
	return Config{
		Data:            "phantom",
		Model:           dcgan.Config{Size: 28, Width: 8, Latent: 32},
		Train:           dcgan.TrainConfig{LR: 5e-4, Beta1: 0.5, BatchSize: 32, Seed: 1},
		Steps:           200,
		ACAESteps:       150,
		PatchSize:       32,
		PatchesPerImage: 8,
		TestPerClass:    48,
		TrainScored:     24,
		Mapping:         mapper.Iterative{Steps: 50, LR: 0.05, Batch: 64, Seed: 1},
		Seed:            1,
	}
}

// Demo is the setting of make demo: 32x32 patches, width 16, 1500
// training steps, 500 aCAE steps, 200 mapping steps from two starts per
// query, 150 + 150 test patches, and the ideal reconstruction's scores. Under 5 minutes on two cores (docs/results.md).
func Demo() Config {
	return Config{
		Data:            "phantom",
		Model:           dcgan.Config{Size: 32, Width: 16, Latent: 100},
		Train:           dcgan.TrainConfig{LR: 2e-4, Beta1: 0.5, BatchSize: 64, Seed: 1},
		Steps:           1500,
		ACAESteps:       500,
		PatchSize:       32,
		PatchesPerImage: 32,
		TestPerClass:    150,
		TrainScored:     64,
		Mapping:         mapper.Iterative{Steps: 200, LR: 0.03, Batch: 64, Seed: 1, Restarts: 2},
		Seed:            1,
		Ideal:           true,
	}
}

// Paper is the paper's setting: 64x64 patches, the DCGAN of Sec. 2.1
// (width 64, z of 100), 20 epochs of Adam, 500 mapping steps with λ = 0.1.
func Paper() Config {
	return Config{
		Data:            "phantom",
		Model:           dcgan.PaperConfig(),
		Train:           dcgan.DefaultTrainConfig(),
		Epochs:          20,
		ACAESteps:       5000,
		PatchSize:       64,
		PatchesPerImage: 64,
		TestPerClass:    500,
		TrainScored:     200,
		Mapping:         mapper.Iterative{Steps: 500, Lambda: mapper.DefaultLambda, LR: 0.01, Batch: 64, Seed: 1},
		Seed:            1,
	}
}

// Setting returns the named setting: "small", "demo" or "paper".
func Setting(name string) (Config, error) {
	switch name {
	case "small", "":
		return Small(), nil
	case "demo":
		return Demo(), nil
	case "paper":
		return Paper(), nil
	}
	return Config{}, fmt.Errorf("anogan: unknown setting %q (small, demo or paper)", name)
}

// Data is what Prepare returns: the training images at Model.Size, the
// same as samples, the validation split, the test samples and, for patches,
// the whole test scans (prep.Data).
type Data = prep.Data

// Prep returns the data preparation of c (package prep).
func (c Config) Prep() prep.Config {
	return prep.Config{
		Data: c.Data, Size: c.Model.Size,
		PatchSize: c.PatchSize, PatchesPerImage: c.PatchesPerImage, MaxTrain: c.MaxTrain,
		TestPerClass: c.TestPerClass, MaxTest: c.MaxTest, TestPatchesPerImage: c.TestPatchesPerImage,
		TrainScored: c.TrainScored, Flatten: c.Flatten, Contaminated: c.Contaminated, Seed: c.Seed,
	}
}

// Prepare reads cfg.Data and returns training images and test samples at
// the model's size (prep.Prepare with cfg.Prep()).
func Prepare(cfg Config) (*Data, error) { return prep.Prepare(cfg.Prep()) }

// PrepareSource is Prepare for a source already opened.
func PrepareSource(src data.Source, cfg Config) (*Data, error) {
	return prep.PrepareSource(src, cfg.Prep())
}

// TrainGAN trains a DCGAN on d.Train. ckpt, when not empty, receives
// periodic checkpoints and the final model.
func TrainGAN(ctx context.Context, cfg Config, d *Data, ckpt string, hooks ...train.Hook) (*dcgan.Model, error) {
	return cfg.Settings().TrainGAN(ctx, d.Train, ckpt, hooks...)
}

// TrainACAE trains the aCAE baseline on d.Train for cfg.ACAESteps steps.
func TrainACAE(ctx context.Context, cfg Config, d *Data, ckpt string, hooks ...train.Hook) (*acae.Model, error) {
	return cfg.ACAESettings().TrainModel(ctx, d.Train, ckpt, hooks...)
}

// ACAEColumn is the score column holding the aCAE's anomaly score.
const ACAEColumn = "aCAE"

// Columns are the score columns Score produces, in table order.
var Columns = []string{score.R, score.D, score.A, score.RRef, score.DRef, score.ARef, score.PD, ACAEColumn}

// ScoreColumns returns Columns, without the aCAE's when withACAE is false.
func ScoreColumns(withACAE bool) []string {
	if withACAE {
		return Columns
	}
	return Columns[:len(Columns)-1]
}

// Score scores samples with AnoGAN (and GAN_R, P_D) and, when ae is not
// nil, with the aCAE, whose anomaly score goes into the column "aCAE".
func Score(ctx context.Context, cfg Config, gan *dcgan.Model, ae *acae.Model, samples []data.Sample) ([]score.Result, error) {
	s := &score.AnoGAN{Model: gan, Mapping: cfg.Mapping, Reference: true}
	res, err := s.Score(ctx, samples)
	if err != nil {
		return nil, err
	}
	if ae != nil {
		ar, err := (&acae.Scorer{Model: ae, Lambda: cfg.Mapping.Lambda, NoLambda: cfg.Mapping.NoLambda}).Score(ctx, samples)
		if err != nil {
			return nil, err
		}
		for i := range res {
			res[i].Scores[ACAEColumn] = ar[i].Scores[score.A]
		}
	}
	if err := score.Finite(res); err != nil {
		return nil, fmt.Errorf("anogan: %w", err)
	}
	return res, nil
}

// Methods returns Table 1's methods from scored results: AnoGAN (A), GAN_R
// (Ahat), P_D (PD) and aCAE when its column is present.
func Methods(res []score.Result) []metrics.Method {
	labels := score.Labels(res)
	ms := []metrics.Method{
		{Name: "AnoGAN", Scores: score.Column(res, score.A), Labels: labels},
		{Name: "GAN_R", Scores: score.Column(res, score.ARef), Labels: labels},
		{Name: "P_D", Scores: score.Column(res, score.PD), Labels: labels},
	}
	if len(res) > 0 {
		if _, ok := res[0].Scores[ACAEColumn]; ok {
			ms = append(ms, metrics.Method{Name: "aCAE", Scores: score.Column(res, ACAEColumn), Labels: labels})
		}
	}
	return ms
}

// Table1 returns the paper's Table 1 for scored results. A result that
// lacks one of the score columns (A, Ahat, PD, and aCAE when the first
// result has it) gives a DataFrame whose Err names it.
func Table1(res []score.Result) dataframe.DataFrame {
	cols := []string{score.A, score.ARef, score.PD}
	if len(res) > 0 {
		if _, ok := res[0].Scores[ACAEColumn]; ok {
			cols = append(cols, ACAEColumn)
		}
	}
	for _, c := range cols {
		if _, err := score.Lookup(res, c); err != nil {
			return dataframe.DataFrame{Err: fmt.Errorf("anogan: Table 1: %w", err)}
		}
	}
	return metrics.Table1(Methods(res))
}

// BySize returns the image AUC of every method of Table 1 by the size of
// the anomaly (metrics.AUCBySize with metrics.SizeEdges): columns pixels,
// anomalous, then one AUC column per method. ok is false when an anomalous
// result has no pixel mask (data sources without annotations).
func BySize(res []score.Result) (df dataframe.DataFrame, ok bool, err error) {
	return bySize(res, Methods(res))
}

// BySize is the package's BySize for r.Test with, when r.Ideal is set, two
// more columns: ideal_R and ideal_A, the AUC of the ideal reconstruction's
// R and A.
func (r *Report) BySize() (df dataframe.DataFrame, ok bool, err error) {
	ms := Methods(r.Test)
	if len(r.Ideal) == len(r.Test) && len(r.Ideal) > 0 {
		labels := score.Labels(r.Ideal)
		ms = append(ms,
			metrics.Method{Name: "ideal_R", Scores: score.Column(r.Ideal, score.R), Labels: labels},
			metrics.Method{Name: "ideal_A", Scores: score.Column(r.Ideal, score.A), Labels: labels})
	}
	return bySize(r.Test, ms)
}

func bySize(res []score.Result, methods []metrics.Method) (df dataframe.DataFrame, ok bool, err error) {
	sizes := make([]int, len(res))
	for i, r := range res {
		if r.Mask == nil {
			if r.Label == 1 {
				return df, false, nil
			}
			continue
		}
		for _, v := range r.Mask.Pix {
			if v > 0.5 {
				sizes[i]++
			}
		}
	}
	for i, m := range methods {
		t, err := metrics.AUCBySize(m.Scores, m.Labels, sizes, metrics.SizeEdges)
		if err != nil {
			return df, false, err
		}
		if i == 0 {
			df = t.Select([]string{"pixels", "anomalous"})
		}
		df = df.Mutate(t.Col("auc").Copy()).Rename(m.Name, "auc")
		if df.Err != nil {
			return df, false, df.Err
		}
	}
	return df, true, nil
}

// Report is what Run produced.
type Report struct {
	Config Config
	Data   *Data
	GAN    *dcgan.Model
	ACAE   *acae.Model
	// Test holds the scored test samples; TrainScored a few scored normal
	// training images.
	Test, TrainScored []score.Result
	// Ideal holds the test samples scored against the source's ideal
	// reconstruction (Config.Ideal), in the order of Test.
	Ideal  []score.Result
	Table1 dataframe.DataFrame
	// Experiment is the runner's report: the runs of anogan and acae and
	// their results table (image and pixel level).
	Experiment *experiment.Report
}

// IdealAUC returns the image AUC of the ideal reconstruction's R and A
// (Config.Ideal), or ok false when Run did not score it.
func (r *Report) IdealAUC() (aucR, aucA float64, ok bool) {
	if len(r.Ideal) == 0 {
		return 0, 0, false
	}
	labels := score.Labels(r.Ideal)
	return metrics.AUC(score.Column(r.Ideal, score.R), labels), metrics.AUC(score.Column(r.Ideal, score.A), labels), true
}

// ACAESettings returns the settings of the aCAE baseline in c: the
// DCGAN's shape and optimiser, ACAESteps steps, the mapping's λ.
func (c Config) ACAESettings() *acae.Settings {
	return &acae.Settings{Model: c.Model, Train: acae.TrainConfig{TrainConfig: c.Train}, Steps: c.ACAESteps,
		Lambda: c.Mapping.Lambda, NoLambda: c.Mapping.NoLambda, SeedOffset: 100}
}

// Experiment returns the experiment.Config that Run runs: the methods
// anogan and (with ACAESteps) acae with c's settings, on c.Prep(), with
// their models in c.Out/models.
func (c Config) Experiment(hooks ...train.Hook) experiment.Config {
	methods := []string{Method}
	settings := map[string]any{Method: c.Settings()}
	if c.ACAESteps > 0 {
		methods = append(methods, acae.Method)
		settings[acae.Method] = c.ACAESettings()
	}
	e := experiment.Config{Data: c.Prep(), Methods: methods, Settings: settings, Out: c.Out, Reuse: c.Reuse}
	if len(hooks) > 0 {
		e.Progress = func(string) []train.Hook { return hooks }
	}
	return e
}

// Run runs the whole experiment through the experiment runner (anogan and
// acae on c.Prep()) and, when cfg.Out is set, writes scores.csv,
// train_scores.csv, table1.csv, results.csv (image and pixel level, one
// row per method) and the models (models/anogan/seed<N>/model.ckpt,
// models/acae/seed<N>/acae.ckpt) there. hooks are called at every training
// step of both models.
func Run(ctx context.Context, cfg Config, hooks ...train.Hook) (*Report, error) {
	exp, err := experiment.Run(ctx, cfg.Experiment(hooks...))
	if err != nil {
		return nil, err
	}
	gr := exp.Runs[0]
	d := gr.Data
	r := &Report{Config: cfg, Data: d, Experiment: exp, GAN: gr.Model.Detector.(*Detector).GAN, Test: gr.Test}
	models := []*detector.Model{gr.Model}
	if len(exp.Runs) > 1 {
		ar := exp.Runs[1]
		r.ACAE = ar.Model.Detector.(*acae.Detector).AE
		models = append(models, ar.Model)
		merge(r.Test, ar.Test)
	}
	if n := min(cfg.TrainScored, len(d.TrainSamples)); n > 0 {
		for i, m := range models {
			res, err := m.Score(ctx, d.TrainSamples[:n])
			if err != nil {
				return nil, err
			}
			if i == 0 {
				r.TrainScored = res
			} else {
				merge(r.TrainScored, res)
			}
		}
	}
	if cfg.Ideal {
		r.Ideal, err = Ideal(cfg, d, r.GAN)
		if errors.Is(err, ErrNoIdeal) {
			fmt.Fprintf(os.Stderr, "%v: %s; the ideal reconstruction is skipped\n", err, cfg.Data)
		} else if err != nil {
			return nil, err
		}
	}
	r.Table1 = Table1(r.Test)
	if cfg.Out != "" {
		if err := r.Write(cfg.Out); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// merge puts the aCAE's anomaly score into the column "aCAE" of res.
func merge(res, ae []score.Result) {
	for i := range res {
		res[i].Scores[ACAEColumn] = ae[i].Scores[score.A]
	}
}

// PixelLevel returns the pixel AUROC and best Dice of AnoGAN's residual
// maps (and the aCAE's) on the whole test scans, from the experiment's
// results (NaN-free rows only), or ok false when the source has no masks.
func (r *Report) PixelLevel() (df dataframe.DataFrame, ok bool) {
	if r.Experiment == nil {
		return df, false
	}
	df = r.Experiment.Results.Filter(dataframe.F{Colname: "pixel_auc", Comparator: series.Neq, Comparando: ""})
	if df.Err != nil || df.Nrow() == 0 {
		return df, false
	}
	return df.Select([]string{"method", "auc", "pixel_auc", "dice"}), true
}

// Write writes the report's tables under dir: scores.csv, train_scores.csv,
// table1.csv, ideal_scores.csv (with Config.Ideal) and, when the test
// samples have pixel masks, auc_by_size.csv.
func (r *Report) Write(dir string) error {
	cols := ScoreColumns(r.ACAE != nil)
	if err := metrics.WriteCSV(score.Table(r.Test, cols...), filepath.Join(dir, "scores.csv")); err != nil {
		return err
	}
	if len(r.TrainScored) > 0 {
		if err := metrics.WriteCSV(score.Table(r.TrainScored, cols...), filepath.Join(dir, "train_scores.csv")); err != nil {
			return err
		}
	}
	if err := metrics.WriteCSV(r.Table1, filepath.Join(dir, "table1.csv")); err != nil {
		return err
	}
	if r.Experiment != nil {
		if err := r.Experiment.Write(dir); err != nil {
			return err
		}
	}
	if len(r.Ideal) > 0 {
		if err := metrics.WriteCSV(score.Table(r.Ideal, score.R, score.D, score.A), filepath.Join(dir, "ideal_scores.csv")); err != nil {
			return err
		}
	}
	// With pixel masks: the AUC by anomaly size, auc_by_size.csv.
	sized, ok, err := r.BySize()
	if err != nil || !ok {
		return err
	}
	return metrics.WriteCSV(sized, filepath.Join(dir, "auc_by_size.csv"))
}
