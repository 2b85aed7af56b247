package experiment

import (
	"context"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"
	"gonum.org/v1/gonum/stat"

	"github.com/anogo/anogo/datasets"
	"github.com/anogo/anogo/datasets/idx"
	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/figures"
	"github.com/anogo/anogo/sdk/metrics"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/train"
)

// DefaultLevels are the contamination levels of the study: the fraction γ
// of anomalies in the training set (0, 1, 5, 10 and 20 %), as Berg et al.
// (2019, Sec. 4) define it: n_anom = γ·N_normal/(1-γ) anomalies beside
// N_normal normal images (prep.Config.Contamination).
var DefaultLevels = []float64{0, 0.01, 0.05, 0.1, 0.2}

// PhantomContamination is the fraction of anomalous scans in the phantom's
// training split that ContaminableSource asks for when a phantom spec names
// none: the pool the contaminated training sets draw their anomalous
// patches from.
const PhantomContamination = 0.6

// ContaminationColumns are the columns of ContaminationReport.Results.
var ContaminationColumns = []string{"dataset", "class", "method", "contamination", "seed", "auc", "ap", "fit_s"}

// ContaminationConfig is one contamination study: every method on every
// source at every level, with the validation and test sets of the clean
// run at every level.
type ContaminationConfig struct {
	// Sources are the data sources (package datasets specs), each opened
	// with ContaminableSource.
	Sources []string
	// Levels are the contamination fractions γ in [0, 1); nil is
	// DefaultLevels. γ = 0 is the clean one-class run.
	Levels []float64
	// Methods names the registered methods; nil is all of them
	// (detector.Names).
	Methods []string
	// Setting names the data preparation (DataSetting) and every method's
	// setting ("" is "small"); Settings and Set are as in Config.
	Setting  string
	Settings map[string]any
	Set      map[string][]string
	// Prep, when set, changes the data preparation of each source after
	// DataSetting (smaller test sets in tests and notebooks).
	Prep func(*prep.Config)
	// Seeds are as in Config.
	Seeds []uint64
	// Out, when set, holds the models, under
	// Out/<data set>[/class<K>]/contamination<γ>/models/<method>/seed<N>
	// (one folder per level, so that a rerun reuses every model whose
	// settings and training data match when Reuse is set), and
	// contamination.csv, rewritten after every level so that an
	// interrupted study keeps what it finished.
	Out   string
	Reuse bool
	// Progress, ScoreProgress and Log are as in Config.
	Progress      func(stage string) []train.Hook
	ScoreProgress func(label string, done, total int)
	Log           io.Writer
}

// ContaminationReport is what Contamination returns.
type ContaminationReport struct {
	Config ContaminationConfig
	// Results has one row per source, method row, level and seed, with
	// ContaminationColumns.
	Results dataframe.DataFrame
	// Seconds is the study's wall time.
	Seconds float64
}

// LevelDir is where Contamination keeps the models of source src at level
// γ under out.
func LevelDir(out, src string, level float64) string {
	dataset, class := Names(src)
	dir := filepath.Join(out, dataset)
	if class != "" {
		dir = filepath.Join(dir, "class"+class)
	}
	return filepath.Join(dir, "contamination"+strconv.FormatFloat(level, 'f', -1, 64))
}

// Contamination runs every method of cfg on every source at every level of
// cfg.Levels: the training set of level γ holds the normal training images
// of the clean run plus n_anom = γ·N/(1-γ) anomalous images of the source's
// training split (ContaminableSource), and the validation and test sets are
// those of the clean run (prep prepares them from the validation and test
// splits alone). It returns one table over all sources and levels.
func Contamination(ctx context.Context, cfg ContaminationConfig) (*ContaminationReport, error) {
	start := time.Now()
	if len(cfg.Sources) == 0 {
		return nil, fmt.Errorf("experiment: contamination: no sources")
	}
	levels := cfg.Levels
	if levels == nil {
		levels = DefaultLevels
	}
	for _, g := range levels {
		if g < 0 || g >= 1 || math.IsNaN(g) {
			return nil, fmt.Errorf("experiment: contamination level %v outside [0, 1)", g)
		}
	}
	methods := cfg.Methods
	if len(methods) == 0 {
		methods = detector.Names()
	}
	rep := &ContaminationReport{Config: cfg}
	var tables []dataframe.DataFrame
	for _, spec := range cfg.Sources {
		src, used, err := ContaminableSource(spec)
		if err != nil {
			return nil, fmt.Errorf("experiment: contamination: %w", err)
		}
		pc, err := DataSetting(cfg.Setting, used)
		if err != nil {
			return nil, err
		}
		if cfg.Prep != nil {
			cfg.Prep(&pc)
		}
		for _, g := range levels {
			t := time.Now()
			pc.Contaminated, pc.Contamination = false, g
			ec := Config{Data: pc, Methods: methods, Setting: cfg.Setting, Settings: cfg.Settings, Set: cfg.Set,
				Seeds: cfg.Seeds, Reuse: cfg.Reuse, Progress: cfg.Progress, ScoreProgress: cfg.ScoreProgress, Log: cfg.Log}
			if cfg.Out != "" {
				ec.Out = LevelDir(cfg.Out, spec, g)
			}
			r, err := runSource(ctx, ec, src)
			if err != nil {
				return nil, fmt.Errorf("experiment: contamination %v: %w", g, err)
			}
			tables = append(tables, withLevel(r.Results, g))
			rep.Results = stack(tables)
			ec.logf("experiment: contamination %g on %s: %d rows in %s", g, spec, r.Results.Nrow(), time.Since(t).Round(time.Second))
			if cfg.Out != "" {
				if err := metrics.WriteCSV(rep.Results, filepath.Join(cfg.Out, "contamination.csv")); err != nil {
					return nil, err
				}
			}
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// withLevel turns a results table (ResultColumns) into rows of
// ContaminationColumns at level g.
func withLevel(res dataframe.DataFrame, g float64) dataframe.DataFrame {
	var ss []series.Series
	lv := make([]string, res.Nrow())
	for i := range lv {
		lv[i] = strconv.FormatFloat(g, 'f', -1, 64)
	}
	for _, c := range ContaminationColumns {
		if c == "contamination" {
			ss = append(ss, series.New(lv, series.String, c))
			continue
		}
		ss = append(ss, series.New(res.Col(c).Records(), series.String, c))
	}
	return dataframe.New(ss...)
}

func stack(ts []dataframe.DataFrame) dataframe.DataFrame {
	out := ts[0]
	for _, t := range ts[1:] {
		out = out.RBind(t)
	}
	return out
}

// Write writes contamination.csv (Results) into dir and the figures of
// ContaminationFigure into dir/figures: contamination.* over all data sets
// and contamination_<data set>.* for each, as PNG, SVG and PDF.
func (r *ContaminationReport) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := metrics.WriteCSV(r.Results, filepath.Join(dir, "contamination.csv")); err != nil {
		return err
	}
	f, err := ContaminationFigure(r.Results, "")
	if err != nil {
		return err
	}
	if err := f.Save(filepath.Join(dir, "figures"), "contamination"); err != nil {
		return err
	}
	for _, ds := range unique(r.Results.Col("dataset").Records()) {
		f, err := ContaminationFigure(r.Results, ds)
		if err != nil {
			return err
		}
		if err := f.Save(filepath.Join(dir, "figures"), "contamination_"+ds); err != nil {
			return err
		}
	}
	return nil
}

// ContaminationFigure draws the image AUC against the contamination level
// (in %) of a contamination table (ContaminationReport.Results), one line
// per method row. On one data set (dataset non-empty) each point is the
// mean over its classes and seeds; with dataset empty, the mean of the data
// sets' means, so that Fashion-MNIST's ten classes count as one data set.
func ContaminationFigure(results dataframe.DataFrame, dataset string) (*figures.Figure, error) {
	if results.Err != nil {
		return nil, results.Err
	}
	ds, ms := results.Col("dataset").Records(), results.Col("method").Records()
	lv, auc := results.Col("contamination").Records(), results.Col("auc").Records()
	type key struct{ d, m, l string }
	vals := map[key][]float64{}
	for i := range ds {
		if dataset != "" && ds[i] != dataset {
			continue
		}
		v, err := strconv.ParseFloat(auc[i], 64)
		if err != nil {
			continue
		}
		k := key{ds[i], ms[i], lv[i]}
		vals[k] = append(vals[k], v)
	}
	var levels []float64
	for _, l := range unique(lv) {
		g, err := strconv.ParseFloat(l, 64)
		if err != nil {
			return nil, fmt.Errorf("experiment: contamination %q is not a number", l)
		}
		levels = append(levels, g)
	}
	slices.Sort(levels)
	var series []figures.Series
	for _, m := range unique(ms) {
		s := figures.Series{Name: m}
		for _, g := range levels {
			l := strconv.FormatFloat(g, 'f', -1, 64)
			var means []float64
			for _, d := range unique(ds) {
				if v := vals[key{d, m, l}]; len(v) > 0 {
					means = append(means, stat.Mean(v, nil))
				}
			}
			y := math.NaN()
			if len(means) > 0 {
				y = stat.Mean(means, nil)
			}
			s.X, s.Y = append(s.X, 100*g), append(s.Y, y)
		}
		if slices.ContainsFunc(s.Y, func(y float64) bool { return !math.IsNaN(y) }) {
			series = append(series, s)
		}
	}
	title := "image AUC against contamination (mean over data sets)"
	if dataset != "" {
		title = "image AUC against contamination on " + dataset
	}
	return figures.Lines(series, title, "anomalies in the training set (%)", "AUC")
}

// ContaminableSource opens spec as a source whose training split holds
// anomalies for a contaminated training set, and returns the spec it
// opened:
//
//   - the phantom: a spec that names no contamination gets
//     contamination=PhantomContamination, so that that fraction of its
//     training scans carry lesions (the patches touching a lesion are the
//     anomalous ones, patch.Label);
//   - an IDX source (Fashion-MNIST, class K normal): the train split of
//     package idx holds class K alone, so the returned source's train
//     split adds the train images of the other classes, labelled
//     anomalous, one after every normal image and taking the classes in
//     turn (so that the first n anomalies mix the classes evenly);
//   - any other source (PneumoniaMNIST's train split holds both labels)
//     as datasets.Open opens it.
//
// Its validation and test splits are the source's own.
func ContaminableSource(spec string) (data.Source, string, error) {
	spec = strings.TrimSpace(spec)
	if spec == "phantom" || strings.HasPrefix(spec, "phantom:") {
		if !strings.Contains(spec, "contamination=") {
			opt := "contamination=" + strconv.FormatFloat(PhantomContamination, 'f', -1, 64)
			if spec == "phantom" || spec == "phantom:" {
				spec = "phantom:" + opt
			} else {
				spec += "," + opt
			}
		}
	}
	src, err := datasets.Open(spec)
	if err != nil {
		return nil, "", err
	}
	if s, ok := src.(*idx.Source); ok {
		if src, err = otherClasses(s); err != nil {
			return nil, "", err
		}
	}
	return src, spec, nil
}

// idxPlus is an IDX source whose train split also holds the other classes'
// train images as anomalies.
type idxPlus struct {
	*idx.Source
	others []*idx.Source // one per other class, their images normal to them
}

func otherClasses(s *idx.Source) (*idxPlus, error) {
	dir := strings.TrimSuffix(strings.TrimPrefix(s.Name(), "idx:"), ":class="+strconv.Itoa(s.Class()))
	p := &idxPlus{Source: s}
	for k := range 10 { // MNIST-style labels
		if k == s.Class() {
			continue
		}
		o, err := idx.Open(dir, k)
		if err != nil {
			continue // no train image of class k
		}
		p.others = append(p.others, o)
	}
	if len(p.others) == 0 {
		return nil, fmt.Errorf("%s: no train images of another class", s.Name())
	}
	return p, nil
}

// Samples streams a split; the train split interleaves the other classes'
// images (label data.Anomalous) with the normal ones, at most one after
// each normal image.
func (p *idxPlus) Samples(split string) iter.Seq2[data.Sample, error] {
	if split != data.Train {
		return p.Source.Samples(split)
	}
	return func(yield func(data.Sample, error) bool) {
		var next []func() (data.Sample, error, bool)
		for _, o := range p.others {
			n, stop := iter.Pull2(o.Samples(data.Train))
			defer stop()
			next = append(next, n)
		}
		k := 0
		for s, err := range p.Source.Samples(data.Train) {
			if !yield(s, err) || err != nil {
				return
			}
			for range len(next) {
				if len(next) == 0 {
					break
				}
				a, err, ok := next[k%len(next)]()
				if !ok {
					next = slices.Delete(next, k%len(next), k%len(next)+1)
					continue
				}
				k++
				if err == nil {
					a.Label = data.Anomalous
				}
				if !yield(a, err) || err != nil {
					return
				}
				break
			}
		}
	}
}
