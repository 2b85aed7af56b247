// Package experiment provides the one experiment runner of anogo, generic
// over methods: every registered method (package detector) named in a
// Config, once per seed, on one data source prepared once per seed
// (package prep), giving one results table with image- and pixel-level
// metrics and timings, and reusing trained models whose settings and data
// match.
//
// The results table has one row per method row (a detector may contribute
// several: AnoGAN, GAN_R and P_D from one DCGAN) and seed, with the columns
//
//	dataset,class,method,seed,auc,ap,pixel_auc,dice,fit_s,score_s,images_per_s
//
// auc and ap are the image-level AUROC and average precision on the test
// samples (patches, in patch-based runs, as the AnoGAN paper evaluates);
// pixel_auc and dice are the pooled pixel AUROC and the best Dice of the
// row's anomaly maps against the annotations (metrics.PixelAUROC,
// metrics.BestDice), empty when the source has no masks or the row no map.
// In patch-based runs they are computed on whole test images: each of the
// prepared scans (prep.Data.Scans) is cut into a grid of patches that do
// not overlap (the last row and column flush with the border, so those
// overlap their neighbours), every patch is scored, and the patch maps are
// stitched into a whole-image map, each pixel the mean of the patch maps
// covering it. A scan's image score is the maximum of its patches' scores
// (patch.Aggregate "max": an image is as anomalous as its most anomalous
// part). fit_s is the fit's wall time (0 when the model was reused),
// score_s the time to score the test samples and images_per_s their
// number over score_s.
package experiment

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"github.com/anogo/anogo/datasets"
	"github.com/anogo/anogo/datasets/patch"
	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/metrics"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/score"
	"github.com/anogo/anogo/sdk/train"
)

// Config is one comparison.
type Config struct {
	// Data is the data preparation; its Seed is replaced by each seed of
	// Seeds.
	Data prep.Config
	// Methods names the registered methods to run, in table order.
	Methods []string
	// Setting names every method's setting ("small", "demo", "paper";
	// "" is "small"), unless Settings gives a method's settings.
	Setting  string
	Settings map[string]any
	// Set holds "key=value" overrides per method (detector.Override).
	Set map[string][]string
	// Seeds lists the seeds; each reseeds the data preparation and every
	// method's settings that are a detector.Seeder. Empty: one run with
	// Data.Seed and the settings as they are.
	Seeds []uint64
	// Out, when set, holds the models (Out/models/<method>/seed<N>) and
	// Write's tables.
	Out string
	// Reuse loads a model from Out instead of fitting it when its method,
	// settings and training data match (detector.Same).
	Reuse bool
	// Aggregate is the rule that turns a scan's patch scores into its
	// image score (patch.Aggregate; "" is "max").
	Aggregate string
	// Progress returns the hooks of one training stage (progress bars);
	// ScoreProgress, when set, is told how many samples of a method are
	// scored. Log receives one-line messages (nil: os.Stderr).
	Progress      func(stage string) []train.Hook
	ScoreProgress func(label string, done, total int)
	Log           io.Writer
}

// MethodRun is one method on one seed.
type MethodRun struct {
	Method string
	Seed   uint64
	Model  *detector.Model
	Data   *prep.Data
	// Test holds the scored test samples, Scans the whole test images of a
	// patch-based run.
	Test  []score.Result
	Scans []ScanResult
	// Reused is true when the model was loaded instead of fitted.
	Reused                   bool
	FitSeconds, ScoreSeconds float64
}

// ScanResult is a whole test image scored patch by patch.
type ScanResult struct {
	ID          string
	Label       int
	Image, Mask *data.Image
	// Maps holds the stitched anomaly map of every row that has one.
	Maps map[string]*data.Image
	// Scores holds every score column aggregated over the scan's patches.
	Scores map[string]float64
}

// Report is what Run returns.
type Report struct {
	Config  Config
	Runs    []*MethodRun
	Results dataframe.DataFrame
}

// ResultColumns are the columns of Report.Results, in order.
var ResultColumns = []string{"dataset", "class", "method", "seed", "auc", "ap", "pixel_auc", "dice", "fit_s", "score_s", "images_per_s"}

// Run runs every method of cfg once per seed.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.checkMethods(); err != nil {
		return nil, err
	}
	src, err := datasets.Open(cfg.Data.Data)
	if err != nil {
		return nil, err
	}
	return runSource(ctx, cfg, src)
}

// checkMethods reports an empty or unknown method list.
func (cfg Config) checkMethods() error {
	if len(cfg.Methods) == 0 {
		return fmt.Errorf("experiment: no methods (registered: %s)", strings.Join(detector.Names(), ", "))
	}
	for _, name := range cfg.Methods {
		if _, err := detector.Lookup(name); err != nil {
			return err
		}
	}
	return nil
}

// runSource is Run on an opened source.
func runSource(ctx context.Context, cfg Config, src data.Source) (*Report, error) {
	if err := cfg.checkMethods(); err != nil {
		return nil, err
	}
	seeds := cfg.Seeds
	reseed := len(seeds) > 0
	if !reseed {
		seeds = []uint64{cfg.Data.Seed}
	}
	rep := &Report{Config: cfg}
	for _, seed := range seeds {
		pc := cfg.Data
		pc.Seed = seed
		d, err := prep.PrepareSourceContext(ctx, src, pc)
		if err != nil {
			return nil, err
		}
		if len(d.Test) == 0 {
			return nil, fmt.Errorf("experiment: %s has no test samples", pc.Data)
		}
		for _, name := range cfg.Methods {
			run, err := cfg.run(ctx, name, seed, reseed, d)
			if err != nil {
				return nil, fmt.Errorf("experiment: %s, seed %d: %w", name, seed, err)
			}
			rep.Runs = append(rep.Runs, run)
		}
	}
	var err error
	if rep.Results, err = rep.table(); err != nil {
		return nil, err
	}
	return rep, nil
}

// MethodSettings returns the settings cfg gives the named method for seed.
func (cfg Config) MethodSettings(name string, seed uint64, reseed bool) (any, error) {
	s := cfg.Settings[name]
	if s == nil {
		var err error
		if s, err = detector.Settings(name, cfg.Setting); err != nil {
			return nil, err
		}
	}
	if err := detector.Override(s, cfg.Set[name]...); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if sd, ok := s.(detector.Seeder); ok && reseed {
		sd.SetSeed(seed)
	}
	return s, nil
}

// ModelDir is where Run keeps the model of a method and seed under Out.
func (cfg Config) ModelDir(method string, seed uint64) string {
	if cfg.Out == "" {
		return ""
	}
	return filepath.Join(cfg.Out, "models", method, fmt.Sprintf("seed%d", seed))
}

func (cfg Config) logf(format string, args ...any) {
	w := cfg.Log
	if w == nil {
		w = os.Stderr
	}
	fmt.Fprintf(w, format+"\n", args...)
}

func (cfg Config) run(ctx context.Context, name string, seed uint64, reseed bool, d *prep.Data) (*MethodRun, error) {
	settings, err := cfg.MethodSettings(name, seed, reseed)
	if err != nil {
		return nil, err
	}
	run := &MethodRun{Method: name, Seed: seed, Data: d}
	dir := cfg.ModelDir(name, seed)
	if cfg.Reuse && dir != "" && detector.Same(dir, name, settings, d) {
		if run.Model, err = detector.Load(dir); err == nil {
			run.Reused = true
			cfg.logf("experiment: %s, seed %d: reusing the model in %s (same settings and data)", name, seed, dir)
		}
	}
	if run.Model == nil {
		start := time.Now()
		opt := detector.FitOptions{Progress: cfg.Progress}
		if dir != "" {
			opt.CheckpointDir = dir
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			// A model of other settings in dir is no longer complete.
			os.Remove(filepath.Join(dir, detector.MetaFile))
		}
		if run.Model, err = detector.Fit(ctx, name, settings, d, opt); err != nil {
			return nil, err
		}
		run.FitSeconds = time.Since(start).Seconds()
		if dir != "" {
			if err := run.Model.Save(dir); err != nil {
				return nil, err
			}
		}
	}
	start := time.Now()
	if run.Test, err = cfg.score(ctx, run.Model, name+" test", d.Test); err != nil {
		return nil, err
	}
	run.ScoreSeconds = time.Since(start).Seconds()
	if run.Scans, err = cfg.scans(ctx, run.Model, name, d); err != nil {
		return nil, err
	}
	return run, nil
}

func (cfg Config) score(ctx context.Context, m *detector.Model, label string, samples []data.Sample) ([]score.Result, error) {
	if cfg.ScoreProgress == nil {
		return m.Score(ctx, samples)
	}
	const chunk = 64
	var out []score.Result
	cfg.ScoreProgress(label, 0, len(samples))
	for lo := 0; lo < len(samples); lo += chunk {
		res, err := m.Score(ctx, samples[lo:min(lo+chunk, len(samples))])
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
		cfg.ScoreProgress(label, len(out), len(samples))
	}
	return out, nil
}

// scans scores the patches of every scan of d and stitches their maps.
func (cfg Config) scans(ctx context.Context, m *detector.Model, name string, d *prep.Data) ([]ScanResult, error) {
	if len(d.Scans) == 0 {
		return nil, nil
	}
	how := cfg.Aggregate
	if how == "" {
		how = "max"
	}
	var all []data.Sample
	for _, sc := range d.Scans {
		all = append(all, sc.Samples...)
	}
	res, err := cfg.score(ctx, m, name+" scans", all)
	if err != nil {
		return nil, err
	}
	rows := m.Detector.Rows()
	out := make([]ScanResult, len(d.Scans))
	k := 0
	for i, sc := range d.Scans {
		pr := res[k : k+len(sc.Samples)]
		k += len(sc.Samples)
		sr := ScanResult{ID: sc.Sample.ID, Label: sc.Sample.Label, Image: sc.Sample.Image, Mask: sc.Sample.Mask,
			Maps: map[string]*data.Image{}, Scores: map[string]float64{}}
		for col := range pr[0].Scores {
			v := make([]float64, len(pr))
			for j, r := range pr {
				v[j] = r.Scores[col]
			}
			if sr.Scores[col], err = patch.Aggregate(v, how); err != nil {
				return nil, fmt.Errorf("%s: %w", sc.Sample.ID, err)
			}
		}
		for _, row := range rows {
			if !row.Map {
				continue
			}
			maps := make([]*data.Image, len(pr))
			for j, r := range pr {
				if r.Residual == nil {
					return nil, fmt.Errorf("%s: row %s has a map, but patch %s has none", name, row.Name, r.ID)
				}
				maps[j] = r.Residual
			}
			sr.Maps[row.Name] = sc.Stitch(maps)
		}
		out[i] = sr
	}
	return out, nil
}

// Metrics are one row's numbers on one run.
type Metrics struct {
	Row                      detector.Row
	AUC, AP                  float64
	PixelAUC, Dice           float64 // NaN without masks or maps
	ImagesPerSecond          float64
	FitSeconds, ScoreSeconds float64
}

// Metrics computes every row's metrics of the run.
func (r *MethodRun) Metrics() ([]Metrics, error) {
	var out []Metrics
	labels := score.Labels(r.Test)
	for _, row := range r.Model.Detector.Rows() {
		col, err := detector.Column(r.Test, row.Column)
		if err != nil {
			return nil, err
		}
		m := Metrics{Row: row, AUC: metrics.AUC(col, labels), AP: metrics.AveragePrecision(col, labels),
			PixelAUC: math.NaN(), Dice: math.NaN(), FitSeconds: r.FitSeconds, ScoreSeconds: r.ScoreSeconds}
		if r.ScoreSeconds > 0 {
			m.ImagesPerSecond = float64(len(r.Test)) / r.ScoreSeconds
		}
		if row.Map {
			var maps, masks []*data.Image
			if len(r.Scans) > 0 {
				for _, s := range r.Scans {
					maps, masks = append(maps, s.Maps[row.Name]), append(masks, s.Mask)
				}
			} else {
				for _, t := range r.Test {
					maps, masks = append(maps, t.Residual), append(masks, t.Mask)
				}
			}
			if auc, err := metrics.PixelAUROC(maps, masks); err == nil {
				m.PixelAUC = auc
				if m.Dice, _, err = metrics.BestDice(maps, masks); err != nil {
					m.Dice = math.NaN()
				}
			}
		}
		out = append(out, m)
	}
	return out, nil
}

func (rep *Report) table() (dataframe.DataFrame, error) {
	dataset, class := Names(rep.Config.Data.Data)
	cols := map[string][]string{}
	add := func(k, v string) { cols[k] = append(cols[k], v) }
	num := func(x float64) string {
		if math.IsNaN(x) {
			return ""
		}
		return fmt.Sprintf("%.4f", x)
	}
	for _, run := range rep.Runs {
		ms, err := run.Metrics()
		if err != nil {
			return dataframe.DataFrame{}, err
		}
		for _, m := range ms {
			add("dataset", dataset)
			add("class", class)
			add("method", m.Row.Name)
			add("seed", fmt.Sprint(run.Seed))
			add("auc", num(m.AUC))
			add("ap", num(m.AP))
			add("pixel_auc", num(m.PixelAUC))
			add("dice", num(m.Dice))
			add("fit_s", fmt.Sprintf("%.1f", m.FitSeconds))
			add("score_s", fmt.Sprintf("%.2f", m.ScoreSeconds))
			add("images_per_s", fmt.Sprintf("%.1f", m.ImagesPerSecond))
		}
	}
	var ss []series.Series
	for _, c := range ResultColumns {
		ss = append(ss, series.New(cols[c], series.String, c))
	}
	return dataframe.New(ss...), nil
}

// Write writes results.csv (Report.Results) and, for patch-based runs,
// scans.csv (every scan's aggregated scores per method and seed) into dir.
func (rep *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := metrics.WriteCSV(rep.Results, filepath.Join(dir, "results.csv")); err != nil {
		return err
	}
	var ids, methods, cols []string
	var seeds, labels []int
	var vals []float64
	for _, run := range rep.Runs {
		for _, s := range run.Scans {
			for _, row := range run.Model.Detector.Rows() {
				ids, methods, cols = append(ids, s.ID), append(methods, row.Name), append(cols, row.Column)
				seeds, labels = append(seeds, int(run.Seed)), append(labels, s.Label)
				vals = append(vals, s.Scores[row.Column])
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	df := dataframe.New(series.New(ids, series.String, "id"), series.New(labels, series.Int, "label"),
		series.New(methods, series.String, "method"), series.New(seeds, series.Int, "seed"),
		series.New(cols, series.String, "column"), series.New(vals, series.Float, "score"))
	return metrics.WriteCSV(df, filepath.Join(dir, "scans.csv"))
}

var (
	classRE  = regexp.MustCompile(`class=([^,:]+)`)
	normalRE = regexp.MustCompile(`normal=([^,:]+)`)
)

// Names returns the data set and class columns of a source name:
// "phantom" -> ("phantom", ""); "idx:DIR:class=3" -> (base of DIR, "3");
// "medmnist:DIR/pneumoniamnist.npz:normal=0" -> ("pneumoniamnist", "0"),
// "" when the data set's default normal labels are used; folders -> (base of the normal folder, "").
func Names(src string) (dataset, class string) {
	kind, rest, _ := strings.Cut(src, ":")
	if m := classRE.FindStringSubmatch(src); m != nil {
		class = m[1]
	}
	switch kind {
	case "phantom":
		return "phantom", class
	case "idx":
		dir, _, _ := strings.Cut(rest, ":")
		return filepath.Base(filepath.Clean(dir)), class
	case "medmnist":
		path, _, _ := strings.Cut(rest, ":")
		base := strings.TrimSuffix(filepath.Base(path), ".npz")
		if m := normalRE.FindStringSubmatch(rest); m != nil {
			class = m[1]
		}
		return base, class
	}
	return kind, class
}
