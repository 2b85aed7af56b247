package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"github.com/anogo/anogo/sdk/detector"
	_ "github.com/anogo/anogo/sdk/detector/all" // every method
	"github.com/anogo/anogo/sdk/experiment"
	"github.com/anogo/anogo/sdk/metrics"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/score"
	"github.com/anogo/anogo/sdk/train"
)

// The commands of the method registry: methods, compare, repro, and
// train/score with -method.

func cmdMethods(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("methods", flag.ContinueOnError)
	fs.SetOutput(stderr)
	show := fs.String("settings", "", "also print this setting of every method as JSON keys for -set (small, demo or paper)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("methods: unexpected argument %q", fs.Arg(0))
	}
	for _, m := range detector.Methods() {
		fmt.Fprintf(stdout, "%-8s %s\n", m.Name, m.Summary)
		if *show != "" {
			s, err := m.Settings(*show)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "         %s settings: %s\n", *show, jsonLine(s))
		}
	}
	return nil
}

// setFlags collects repeated -set METHOD:key=value flags.
type setFlags map[string][]string

func (s setFlags) String() string { return fmt.Sprint(map[string][]string(s)) }

func (s setFlags) Set(v string) error {
	method, kv, ok := strings.Cut(v, ":")
	if !ok || !strings.Contains(kv, "=") {
		return fmt.Errorf("want METHOD:key=value, e.g. anogan:mapping.Steps=100 (anogo methods -settings small lists the keys)")
	}
	if _, err := detector.Lookup(method); err != nil {
		return err
	}
	s[method] = append(s[method], kv)
	return nil
}

// comparison registers the flags of compare and repro.
type comparison struct {
	methods, seeds, setting *string
	set                     setFlags
	reuse                   *bool
}

func comparisonFlags(fs *flag.FlagSet) *comparison {
	c := &comparison{
		methods: fs.String("methods", strings.Join(detector.Names(), ","), "methods to compare, comma-separated (anogo methods lists them)"),
		seeds:   fs.String("seeds", "1", "seeds: a range 1-3, a list 1,2,5, or both"),
		setting: fs.String("setting", "small", "setting of the data and of every method: small, demo or paper"),
		set:     setFlags{},
		reuse:   fs.Bool("reuse", true, "load models from -out that were fitted with the same settings and data"),
	}
	fs.Var(c.set, "set", "override one setting of one method, METHOD:key=value (repeatable)")
	return c
}

func (c *comparison) config(src, out string) (experiment.Config, error) {
	var cfg experiment.Config
	d, err := experiment.DataSetting(*c.setting, src)
	if err != nil {
		return cfg, err
	}
	seeds, err := parseSeeds(*c.seeds)
	if err != nil {
		return cfg, err
	}
	var methods []string
	for m := range strings.SplitSeq(*c.methods, ",") {
		if m = strings.TrimSpace(m); m == "" {
			continue
		}
		if _, err := detector.Lookup(m); err != nil {
			return cfg, err
		}
		methods = append(methods, m)
	}
	return experiment.Config{Data: d, Methods: methods, Setting: *c.setting, Set: c.set, Seeds: seeds, Out: out,
		Reuse: *c.reuse, Progress: stageProgress, ScoreProgress: scoreProgress()}, nil
}

func stageProgress(stage string) []train.Hook { return []train.Hook{progress(stage)} }

func scoreProgress() func(label string, done, total int) {
	bars := map[string]func(int, int){}
	return func(label string, done, total int) {
		if bars[label] == nil {
			bars[label] = mapProgress("scoring " + label)
		}
		bars[label](done, total)
	}
}

func cmdCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	src := fs.String("data", "phantom", "data source (see anogo data)")
	out := fs.String("out", filepath.Join("out", "compare"), "output directory: results.csv, scans.csv, figures/, models/")
	c := comparisonFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("compare: unexpected argument %q (flags go before it)", fs.Arg(0))
	}
	cfg, err := c.config(*src, *out)
	if err != nil {
		return err
	}
	t0 := time.Now()
	fmt.Fprintf(stdout, "anogo compare: %s on %s, %s setting, seeds %v -> %s\n", strings.Join(cfg.Methods, ", "), *src, *c.setting, cfg.Seeds, *out)
	rep, err := experiment.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := writeComparison(rep, *out); err != nil {
		return err
	}
	fmt.Fprintln(stdout, rep.Results)
	fmt.Fprintf(stdout, "wrote %s/{results.csv,figures/} in %s\n", *out, time.Since(t0).Round(time.Second))
	return nil
}

// writeComparison writes a report's tables and figures: results.csv,
// scans.csv, figures/auc and, for patch-based runs, figures/maps_<method>.
func writeComparison(rep *experiment.Report, out string) error {
	if err := rep.Write(out); err != nil {
		return err
	}
	figs := filepath.Join(out, "figures")
	f, err := experiment.AUCFigure(rep.Results, "auc", "image AUC by method")
	if err != nil {
		return err
	}
	if err := f.Save(figs, "auc"); err != nil {
		return err
	}
	for _, run := range rep.Runs {
		if len(run.Scans) == 0 || slices.IndexFunc(run.Model.Detector.Rows(), func(r detector.Row) bool { return r.Map }) < 0 {
			continue
		}
		f, err := run.MapFigure(4)
		if err != nil {
			return err
		}
		if err := f.Save(figs, fmt.Sprintf("maps_%s_seed%d", run.Method, run.Seed)); err != nil {
			return err
		}
	}
	return nil
}

// reproSources are the data sets of make repro, with why one is skipped.
func reproSources(fmnist, pneumonia string) (srcs []string, skipped []string) {
	srcs = []string{"phantom"}
	_, gz := os.Stat(filepath.Join(fmnist, "train-images-idx3-ubyte.gz"))
	_, plain := os.Stat(filepath.Join(fmnist, "train-images-idx3-ubyte"))
	if gz == nil || plain == nil {
		for k := range 10 {
			srcs = append(srcs, fmt.Sprintf("idx:%s:class=%d", fmnist, k))
		}
	} else {
		skipped = append(skipped, fmt.Sprintf("Fashion-MNIST: no IDX files in %s (apt-get install dataset-fashion-mnist)", fmnist))
	}
	if _, err := os.Stat(pneumonia); err == nil {
		srcs = append(srcs, "medmnist:"+pneumonia)
	} else {
		skipped = append(skipped, fmt.Sprintf("PneumoniaMNIST: no %s", pneumonia))
	}
	return srcs, skipped
}

func cmdRepro(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("repro", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", filepath.Join("out", "repro"), "output directory: methods.csv, figures/, one folder per data set")
	fmnist := fs.String("fmnist", "/usr/share/datasets/fashion-mnist", "Fashion-MNIST's IDX directory")
	pneumonia := fs.String("pneumonia", filepath.Join("..", "shared", "datasets", "pneumoniamnist", "pneumoniamnist.npz"), "PneumoniaMNIST's npz file")
	c := comparisonFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("repro: unexpected argument %q (flags go before it)", fs.Arg(0))
	}
	srcs, skipped := reproSources(*fmnist, *pneumonia)
	for _, s := range skipped {
		fmt.Fprintln(stdout, "anogo repro: skipped", s)
	}
	t0 := time.Now()
	var all dataframe.DataFrame
	for i, src := range srcs {
		dataset, class := experiment.Names(src)
		dir := filepath.Join(*out, dataset)
		if class != "" {
			dir = filepath.Join(dir, "class"+class)
		}
		cfg, err := c.config(src, dir)
		if err != nil {
			return err
		}
		t := time.Now()
		fmt.Fprintf(stdout, "anogo repro [%d/%d]: %s on %s, %s setting -> %s\n", i+1, len(srcs), strings.Join(cfg.Methods, ", "), src, *c.setting, dir)
		rep, err := experiment.Run(ctx, cfg)
		if err != nil {
			return fmt.Errorf("%s: %w", src, err)
		}
		if err := writeComparison(rep, dir); err != nil {
			return err
		}
		if i == 0 {
			all = rep.Results
		} else {
			all = all.RBind(rep.Results)
		}
		fmt.Fprintf(stdout, "%v(%s)\n", rep.Results, time.Since(t).Round(time.Second))
	}
	if all.Err != nil {
		return all.Err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := metrics.WriteCSV(all, filepath.Join(*out, "methods.csv")); err != nil {
		return err
	}
	f, err := experiment.AUCFigure(all, "auc", "image AUC by method and data set (mean over classes and seeds)")
	if err != nil {
		return err
	}
	if err := f.Save(filepath.Join(*out, "figures"), "auc"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s/{methods.csv,figures/auc.*} in %s\n", *out, time.Since(t0).Round(time.Second))
	return nil
}

// methodFlag reports the -method value in args, if any, so that train and
// score take the registry's path.
func methodFlag(args []string) (string, bool) {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, "method="); ok {
			return v, true
		}
		if a == "method" && i+1 < len(args) && strings.HasPrefix(args[i], "-") {
			return args[i+1], true
		}
	}
	return "", false
}

// cmdTrainMethod is train -method NAME: fit one registered method and save
// its model directory, thresholds included.
func cmdTrainMethod(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	method := fs.String("method", "", "registered method (anogo methods)")
	src := fs.String("data", "phantom", "data source")
	setting := fs.String("setting", "small", "setting of the data and the method: small, demo or paper")
	out := fs.String("out", "", "model directory to write (default: model-METHOD)")
	seed := fs.Uint64("seed", 0, "seed of the data preparation and the method (0: the setting's)")
	resume := fs.Bool("resume", false, "continue the fit interrupted after a checkpoint in -out (methods that can resume)")
	set := setFlags{}
	fs.Var(set, "set", "override one setting, METHOD:key=value (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("train: unexpected argument %q (flags go before it)", fs.Arg(0))
	}
	if *out == "" {
		*out = "model-" + *method
	}
	if fi, err := os.Stat(*out); err == nil && !fi.IsDir() {
		return fmt.Errorf("train: -out %s is a file; -method writes a model directory", *out)
	}
	pc, err := experiment.DataSetting(*setting, *src)
	if err != nil {
		return err
	}
	cfg := experiment.Config{Methods: []string{*method}, Setting: *setting, Set: set}
	if *seed > 0 {
		pc.Seed = *seed
	}
	settings, err := cfg.MethodSettings(*method, pc.Seed, *seed > 0)
	if err != nil {
		return err
	}
	d, err := prep.PrepareContext(ctx, pc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	t0 := time.Now()
	fmt.Fprintf(stdout, "anogo train: %s on %s (%d training images of %dx%d, %d validation samples) -> %s\n", *method, *src, len(d.Train), pc.Size, pc.Size, len(d.Val), *out)
	fit := detector.Fit
	if *resume {
		fit = detector.Resume
	}
	m, err := fit(ctx, *method, settings, d, detector.FitOptions{Progress: stageProgress, CheckpointDir: *out})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("%w; the last checkpoint is in %s: anogo train -method %s -resume -out %s with the same flags continues", err, *out, *method, *out)
		}
		return err
	}
	if err := m.Save(*out); err != nil {
		return err
	}
	for _, t := range m.Thresholds {
		fmt.Fprintf(stdout, "threshold %s (%s) = %.6g by %s on %d normal and %d anomalous validation samples\n", t.Row, t.Column, t.Value, t.Rule, t.Normal, t.Anomalous)
	}
	fmt.Fprintf(stdout, "wrote %s/ in %s\n", *out, time.Since(t0).Round(time.Second))
	return nil
}

// cmdScoreMethod is score -model DIR for a model directory: every score
// column, and pred_<row> (1 anomalous, 0 normal) at the thresholds saved
// with the model, for any split of any source, labelled or not.
func cmdScoreMethod(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.String("method", "", "ignored: the model directory names its method")
	model := fs.String("model", "", "model directory written by anogo train -method")
	src := fs.String("data", "", "data source (default: the one the model was fitted on)")
	split := fs.String("split", "test", "split to score")
	max := fs.Int("max", 0, "score at most this many samples (0: all)")
	out := fs.String("out", "scores.csv", "scores CSV to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("score: unexpected argument %q (flags go before it)", fs.Arg(0))
	}
	if filepath.Clean(*out) == filepath.Clean(*model) || strings.HasPrefix(filepath.Clean(*out), filepath.Clean(*model)+string(filepath.Separator)) {
		return fmt.Errorf("score: -out %s is inside the model directory %s", *out, *model)
	}
	m, err := detector.Load(*model)
	if err != nil {
		return err
	}
	pc := m.Data
	if *src != "" {
		pc.Data = *src
	}
	samples, err := prep.Samples(pc, *split, *max)
	if err != nil {
		return err
	}
	t0 := time.Now()
	fmt.Fprintf(stdout, "scoring %d samples of %s/%s with %s (%s)\n", len(samples), pc.Data, *split, m.Method, *model)
	res, err := m.Score(ctx, samples)
	if err != nil {
		return err
	}
	pred, err := m.Predict(res)
	if err != nil {
		return err
	}
	df, err := scoreTable(m, res, pred)
	if err != nil {
		return err
	}
	if err := metrics.WriteCSV(df, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d rows, %s)\n", *out, len(res), time.Since(t0).Round(time.Second))
	return nil
}

// scoreTable is score.Table with every column the model's rows use and a
// pred_<row> column per threshold.
func scoreTable(m *detector.Model, res []score.Result, pred map[string][]int) (dataframe.DataFrame, error) {
	var cols []string
	for _, r := range m.Detector.Rows() {
		if !slices.Contains(cols, r.Column) {
			cols = append(cols, r.Column)
		}
	}
	df := score.Table(res, cols...)
	for _, t := range m.Thresholds {
		df = df.Mutate(series.New(pred[t.Row], series.Int, "pred_"+t.Row))
	}
	return df, df.Err
}

func jsonLine(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// isModelDir reports whether score's -model names a model directory (or
// -method is given), so that score takes the registry's path.
func isModelDir(args []string) bool {
	if _, ok := methodFlag(args); ok {
		return true
	}
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		path, ok := strings.CutPrefix(a, "model=")
		if !ok && a == "model" && strings.HasPrefix(args[i], "-") && i+1 < len(args) {
			path, ok = args[i+1], true
		}
		if ok {
			if fi, err := os.Stat(path); err == nil && fi.IsDir() {
				return true
			}
		}
	}
	return false
}

// checkHeader reads the header of a scores CSV and refuses two columns of
// one name (gota would rename one of them silently), with hints for a
// UTF-8 byte-order mark and for semicolon separators.
func checkHeader(r io.Reader, name string) error {
	head, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && head == "" {
		return fmt.Errorf("%s: no header line: %w", name, err)
	}
	if strings.HasPrefix(head, "\ufeff") {
		return fmt.Errorf("%s: the header starts with a UTF-8 byte-order mark; save the file as plain UTF-8 (without BOM)", name)
	}
	cols, err := csv.NewReader(strings.NewReader(head)).Read()
	if err != nil {
		return fmt.Errorf("%s: header: %w", name, err)
	}
	if len(cols) == 1 && strings.Contains(head, ";") {
		return fmt.Errorf("%s: the header has no commas but semicolons; anogo reads comma-separated files", name)
	}
	seen := map[string]bool{}
	for _, c := range cols {
		if seen[c] {
			return fmt.Errorf("%s: two columns named %q", name, c)
		}
		seen[c] = true
	}
	return nil
}
