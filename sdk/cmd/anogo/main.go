package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"github.com/anogo/anogo/datasets"
	"github.com/anogo/anogo/sdk/acae"
	"github.com/anogo/anogo/sdk/anogan"
	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dcgan"
	"github.com/anogo/anogo/sdk/display"
	"github.com/anogo/anogo/sdk/mapper"
	"github.com/anogo/anogo/sdk/metrics"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/score"
	"github.com/anogo/anogo/sdk/train"
)

const usage = `usage: anogo <command> [flags]

commands:
  data SOURCE    describe a data source (counts per split and class, sizes, range, md5)
  train          train a DCGAN (and optionally the aCAE baseline) on normal images
  score          map and score test images; writes a scores CSV
  eval           Table 1 (precision, recall, sensitivity, specificity at Youden's cut-off, AUC) from a scores CSV
  demo           the whole AnoGAN experiment on the embedded OCT phantom
  seeds          the experiment once per seed; the AUCs per seed and their mean and sd
  methods        the registered methods (names and summaries)
  compare        methods x seeds on one data source: results.csv (image and pixel level) and figures
  repro          compare every method on the phantom, Fashion-MNIST's ten classes and PneumoniaMNIST
  contamination  every method with 0 to 20 % anomalies in the training set: contamination.csv and figures
  search         choose dpa's feature layer, code size and learning rate on the validation split

train -method NAME and score -model DIR use any registered method (model directories with thresholds).

Run "anogo <command> -h" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// The first Ctrl-C cancels the context (loops stop at the next step and
	// say where their checkpoint is); after it the default handling is back,
	// so a second Ctrl-C exits at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "anogo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "data":
		return cmdData(ctx, rest, stdout, stderr)
	case "train":
		return cmdTrain(ctx, rest, stdout, stderr)
	case "score":
		return cmdScore(ctx, rest, stdout, stderr)
	case "eval":
		return cmdEval(rest, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, stdout, stderr)
	case "seeds":
		return cmdSeeds(ctx, rest, stdout, stderr)
	case "methods":
		return cmdMethods(rest, stdout, stderr)
	case "compare":
		return cmdCompare(ctx, rest, stdout, stderr)
	case "repro":
		return cmdRepro(ctx, rest, stdout, stderr)
	case "contamination":
		return cmdContamination(ctx, rest, stdout, stderr)
	case "search":
		return cmdSearch(ctx, rest, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func cmdData(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("data", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "usage: anogo data SOURCE") }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return flag.ErrHelp
	}
	src, err := datasets.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	// Describe reads every sample; a Ctrl-C stops it between two.
	in := prep.WithContext(ctx, src)
	if p, ok := src.(datasets.Provenancer); ok {
		in = provenanced{Source: in, p: p}
	}
	return datasets.Describe(stdout, in)
}

// provenanced is a source that keeps the provenance of the source it wraps
// for datasets.Describe.
type provenanced struct {
	data.Source
	p datasets.Provenancer
}

func (s provenanced) Provenance() string { return s.p.Provenance() }

// settings registers the flags shared by train, score and demo and returns
// a function that resolves them into a Config.
func settings(fs *flag.FlagSet, defaultSetting string) func() (anogan.Config, error) {
	setting := fs.String("setting", defaultSetting, "starting setting: small, demo or paper")
	src := fs.String("data", "", "data source (default: the setting's, the phantom)")
	size := fs.Int("size", 0, "image size the model sees: 28, 32 or 64")
	width := fs.Int("width", 0, "base channel width (paper: 64)")
	latent := fs.Int("latent", 0, "size of z (paper: 100)")
	steps := fs.Int("steps", 0, "training steps (overrides -epochs)")
	epochs := fs.Int("epochs", 0, "training epochs (paper: 20)")
	batch := fs.Int("batch", 0, "batch size")
	lr := fs.Float64("lr", 0, "Adam learning rate for training (DCGAN: 2e-4)")
	patch := fs.Int("patch", -1, "patch size cut from source images (0: whole images)")
	perImage := fs.Int("per-image", 0, "patches per image")
	maxTrain := fs.Int("max-train", -1, "cap on training images (0: all)")
	perClass := fs.Int("test-per-class", -1, "balanced test set: this many normal and anomalous (0: whole test split)")
	maxTest := fs.Int("max-test", -1, "cap on test samples when not balanced (0: all)")
	mapSteps := fs.Int("map-steps", 0, "mapping steps Γ (paper: 500)")
	lambda := fs.Float64("lambda", 0, fmt.Sprintf("λ of Eqs. 5 and 6 (0: the paper's %v)", mapper.DefaultLambda))
	mapLR := fs.Float64("map-lr", 0, "Adam learning rate on z")
	tol := fs.Float64("map-tol", -1, "per-query early stop tolerance (0: off)")
	starts := fs.Int("map-starts", 0, "initial codes tried per query, the lowest final loss kept (paper: 1)")
	acaeSteps := fs.Int("acae-steps", -1, "aCAE training steps (0: no aCAE)")
	seed := fs.Uint64("seed", 0, "seed of training, patches and mapping (0: the setting's)")
	contaminated := fs.Bool("contaminated", false, "keep anomalous images of the training split")
	flatten := fs.String("flatten", "", "flatten the retina before cutting patches: true or false (default: the setting's)")
	return func() (anogan.Config, error) {
		if err := finite(map[string]float64{"lr": *lr, "lambda": *lambda, "map-lr": *mapLR, "map-tol": *tol}); err != nil {
			return anogan.Config{}, err
		}
		if *lambda < 0 || *lambda > 1 {
			return anogan.Config{}, fmt.Errorf("-lambda %v: λ weighs two losses and lies in [0, 1]", *lambda)
		}
		if *lr < 0 || *mapLR < 0 {
			return anogan.Config{}, fmt.Errorf("-lr %v, -map-lr %v: learning rates must be positive (0: the setting's)", *lr, *mapLR)
		}
		if err := counts(map[string]int{"size": *size, "width": *width, "latent": *latent, "steps": *steps, "epochs": *epochs,
			"batch": *batch, "per-image": *perImage, "map-steps": *mapSteps, "map-starts": *starts}, 0); err != nil {
			return anogan.Config{}, err
		}
		if err := counts(map[string]int{"patch": *patch, "max-train": *maxTrain, "test-per-class": *perClass,
			"max-test": *maxTest, "acae-steps": *acaeSteps}, -1); err != nil {
			return anogan.Config{}, err
		}
		if err := perImageBound(*perImage); err != nil {
			return anogan.Config{}, err
		}
		cfg, err := anogan.Setting(*setting)
		if err != nil {
			return cfg, err
		}
		set := func(dst *int, v int) {
			if v > 0 {
				*dst = v
			}
		}
		setNonNeg := func(dst *int, v int) {
			if v >= 0 {
				*dst = v
			}
		}
		if *src != "" {
			cfg.Data = *src
		}
		set(&cfg.Model.Size, *size)
		set(&cfg.Model.Width, *width)
		set(&cfg.Model.Latent, *latent)
		if *epochs > 0 {
			cfg.Epochs, cfg.Steps = *epochs, 0
		}
		set(&cfg.Steps, *steps)
		set(&cfg.Train.BatchSize, *batch)
		if *lr > 0 {
			cfg.Train.LR = *lr
		}
		setNonNeg(&cfg.PatchSize, *patch)
		set(&cfg.PatchesPerImage, *perImage)
		setNonNeg(&cfg.MaxTrain, *maxTrain)
		setNonNeg(&cfg.TestPerClass, *perClass)
		setNonNeg(&cfg.MaxTest, *maxTest)
		set(&cfg.Mapping.Steps, *mapSteps)
		if *lambda > 0 {
			cfg.Mapping.Lambda = *lambda
		}
		if *mapLR > 0 {
			cfg.Mapping.LR = *mapLR
		}
		if *tol >= 0 {
			cfg.Mapping.Tol = *tol
		}
		set(&cfg.Mapping.Restarts, *starts)
		setNonNeg(&cfg.ACAESteps, *acaeSteps)
		if *seed > 0 {
			cfg = cfg.WithSeed(*seed)
		}
		cfg.Contaminated = *contaminated
		switch *flatten {
		case "":
		case "true":
			cfg.Flatten = true
		case "false":
			cfg.Flatten = false
		default:
			return cfg, fmt.Errorf("-flatten=%q: want true or false", *flatten)
		}
		return cfg, cfg.Model.Validate()
	}
}

// progress returns a training hook that shows a progress bar (in a
// notebook or on stderr).
func progress(label string) train.Hook {
	var p *display.Progress
	return func(in train.Info) error {
		if p == nil {
			p = display.NewProgress(in.Total, label)
		}
		p.Update(in.Step, in.Losses)
		if in.Step == in.Total {
			p.Done()
			p = nil
		}
		return nil
	}
}

// mapProgress returns a mapper progress function that shows a bar per
// mapping run.
func mapProgress(label string) func(done, total int) {
	var p *display.Progress
	last := 0
	return func(done, total int) {
		if p == nil || done < last {
			p = display.NewProgress(total, label)
		}
		last = done
		p.Update(done, nil)
		if done == total {
			p.Done()
			p = nil
		}
	}
}

func cmdTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if _, ok := methodFlag(args); ok {
		return cmdTrainMethod(ctx, args, stdout, stderr)
	}
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	resolve := settings(fs, "demo")
	out := fs.String("out", "model.ckpt", "checkpoint of the trained DCGAN")
	acaeOut := fs.String("acae-out", "", "checkpoint of the trained aCAE (empty: no aCAE)")
	resume := fs.String("resume", "", "resume DCGAN training from this checkpoint")
	every := fs.Int("checkpoint-every", 500, "checkpoint every N steps")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	// -out may be the -resume checkpoint: it is read whole before the
	// first save replaces it atomically.
	if err := checkOutput("out", *out); err != nil {
		return err
	}
	if err := checkOutput("acae-out", *acaeOut, *out, *resume); err != nil {
		return err
	}
	cfg, err := resolve()
	if err != nil {
		return err
	}
	d, err := prepareOnly(ctx, cfg, data.Train) // no test split needed
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "training %v on %d images from %s\n", cfg.Model, len(d.Train), cfg.Data)
	var tr *dcgan.Trainer
	var st train.State
	if *resume != "" {
		if tr, st, err = dcgan.Resume(*resume, cfg.Model); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "resuming from %s at step %d\n", *resume, st.Step)
	} else {
		m, err := dcgan.New(cfg.Model, cfg.Train.Seed)
		if err != nil {
			return err
		}
		if tr, err = dcgan.NewTrainer(m, cfg.Train); err != nil {
			return err
		}
	}
	opt := train.Options{Epochs: cfg.Epochs, Steps: cfg.Steps, BatchSize: cfg.Train.BatchSize, Seed: cfg.Train.Seed,
		CheckpointPath: *out, CheckpointEvery: *every, Hooks: []train.Hook{progress("DCGAN")}}
	if st, err = train.Run(ctx, tr, d.Train, opt, st); err != nil {
		if errors.Is(err, train.ErrInterrupted) {
			return fmt.Errorf("%w\nto continue: %s", err, resumeHint("train", args, *out))
		}
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (step %d)\n", *out, st.Step)
	if *acaeOut != "" && cfg.ACAESteps > 0 {
		if _, err := anogan.TrainACAE(ctx, cfg, d, *acaeOut, progress("aCAE")); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", *acaeOut)
	}
	return nil
}

func cmdScore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if isModelDir(args) {
		return cmdScoreMethod(ctx, args, stdout, stderr)
	}
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	fs.SetOutput(stderr)
	resolve := settings(fs, "demo")
	model := fs.String("model", "model.ckpt", "trained DCGAN checkpoint")
	acaePath := fs.String("acae", "", "trained aCAE checkpoint (adds the aCAE column)")
	out := fs.String("out", "scores.csv", "scores CSV to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if err := checkOutput("out", *out, *model, *acaePath); err != nil {
		return err
	}
	cfg, err := resolve()
	if err != nil {
		return err
	}
	m, err := dcgan.Load(*model)
	if err != nil {
		return err
	}
	cfg.Model = m.Config
	var ae *acae.Model
	if *acaePath != "" {
		if ae, err = acae.Load(*acaePath); err != nil {
			return err
		}
	}
	d, err := prepareOnly(ctx, cfg, data.Test) // no training split needed
	if err != nil {
		return err
	}
	cfg.Mapping.Progress = mapProgress("mapping")
	fmt.Fprintf(stdout, "scoring %d test samples from %s (%d mapping steps%s)\n", len(d.Test), cfg.Data, cfg.Mapping.Steps, starts(cfg.Mapping))
	t0 := time.Now()
	res, err := anogan.Score(ctx, cfg, m, ae, d.Test)
	if err != nil {
		return err
	}
	if err := metrics.WriteCSV(score.Table(res, anogan.ScoreColumns(ae != nil)...), *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d rows, %s)\n", *out, len(res), time.Since(t0).Round(time.Second))
	return nil
}

func cmdEval(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("scores", "scores.csv", "scores CSV written by anogo score")
	out := fs.String("out", "", "Table 1 CSV to write (empty: print only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if err := checkOutput("out", *out, *in); err != nil {
		return err
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := checkHeader(f, *in); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	df := dataframe.ReadCSV(f, dataframe.WithTypes(map[string]series.Type{"id": series.String}))
	if df.Err != nil {
		return fmt.Errorf("reading %s: %w", *in, df.Err)
	}
	res, err := score.ReadTable(df)
	if err != nil {
		return fmt.Errorf("reading %s: %w", *in, err)
	}
	t1 := anogan.Table1(res)
	if t1.Err != nil {
		return fmt.Errorf("%s: %w", *in, t1.Err)
	}
	fmt.Fprintln(stdout, t1)
	if *out != "" {
		if err := metrics.WriteCSV(t1, *out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", *out)
	}
	return nil
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	resolve := settings(fs, "demo")
	out := fs.String("out", filepath.Join("out", "demo"), "output directory")
	reuse := fs.Bool("reuse", false, "load the models in -out/models when they were fitted with the same settings and data (their method.json) instead of training again")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	cfg, err := resolve()
	if err != nil {
		return err
	}
	cfg.Out, cfg.Reuse = *out, *reuse
	cfg.Mapping.Progress = mapProgress("mapping (query-steps)")
	t0 := time.Now()
	fmt.Fprintf(stdout, "anogo demo: AnoGAN on %s, %v, %d training steps, %d mapping steps%s -> %s\n",
		cfg.Data, cfg.Model, cfg.Steps, cfg.Mapping.Steps, starts(cfg.Mapping), cfg.Out)
	r, err := anogan.Run(ctx, cfg, progress("training"))
	if err != nil {
		return err
	}
	if err := anogan.Figures(r, filepath.Join(cfg.Out, "figures")); err != nil {
		return err
	}
	fmt.Fprintln(stdout, r.Table1)
	if aucR, aucA, ok := r.IdealAUC(); ok {
		fmt.Fprintf(stdout, "ideal reconstruction (phantom.Ideal in place of G(z): no speckle, lesions healed): image AUC R %.4f, A %.4f\n", aucR, aucA)
	}
	files := "table1.csv,scores.csv,train_scores.csv"
	if sized, ok, err := r.BySize(); err == nil && ok {
		fmt.Fprintln(stdout, "image AUC by the number of annotated pixels in the anomalous patches:")
		fmt.Fprintln(stdout, sized)
		files += ",auc_by_size.csv"
	}
	if len(r.Ideal) > 0 {
		files += ",ideal_scores.csv"
	}
	files += ",results.csv"
	if px, ok := r.PixelLevel(); ok {
		fmt.Fprintln(stdout, "pixel level on whole test scans (patch maps stitched; pixel AUROC and best Dice against the annotations):")
		fmt.Fprintln(stdout, px)
		files += ",scans.csv"
	}
	fmt.Fprintf(stdout, "wrote %s/{%s,models/,figures/} in %s\n", cfg.Out, files, time.Since(t0).Round(time.Second))
	return nil
}

func cmdSeeds(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seeds", flag.ContinueOnError)
	fs.SetOutput(stderr)
	resolve := settings(fs, "demo")
	list := fs.String("seeds", "1-8", "seeds to run: a range 1-8, a list 1,2,5, or both (1-3,7)")
	out := fs.String("out", filepath.Join("out", "seeds"), "output directory: seeds.csv, seeds_summary.csv and one folder seed<N> per run")
	reuse := fs.Bool("reuse", false, "load each seed's models from its folder when they were trained with the same settings")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	seeds, err := parseSeeds(*list)
	if err != nil {
		return err
	}
	cfg, err := resolve()
	if err != nil {
		return err
	}
	cfg.Out, cfg.Reuse = *out, *reuse
	cfg.Mapping.Progress = mapProgress("mapping (query-steps)")
	t0 := time.Now()
	fmt.Fprintf(stdout, "anogo seeds: AnoGAN on %s, %v, %d training steps, seeds %v -> %s\n", cfg.Data, cfg.Model, cfg.Steps, seeds, cfg.Out)
	per, sum, err := anogan.Seeds(ctx, cfg, seeds, progress("training"))
	if err != nil {
		return err
	}
	if err := metrics.WriteCSV(per, filepath.Join(cfg.Out, "seeds.csv")); err != nil {
		return err
	}
	if err := metrics.WriteCSV(sum, filepath.Join(cfg.Out, "seeds_summary.csv")); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "image AUC per seed:")
	fmt.Fprintln(stdout, per)
	fmt.Fprintln(stdout, sum)
	fmt.Fprintf(stdout, "wrote %s/{seeds.csv,seeds_summary.csv,seed<N>/} in %s\n", cfg.Out, time.Since(t0).Round(time.Second))
	return nil
}

// parseSeeds reads a list of seeds: comma-separated numbers and ranges
// ("1-8", "1,2,5", "1-3,7"); seeds are positive, a seed appears once.
func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	seen := map[uint64]bool{}
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		b := a
		if err == nil && isRange {
			b, err = strconv.ParseUint(hi, 10, 64)
		}
		if err != nil || a == 0 || b < a || b-a >= 10000 {
			return nil, fmt.Errorf("-seeds %q: %q is not a positive seed or range (want e.g. 1-8 or 1,2,5)", s, part)
		}
		for v := a; v <= b; v++ {
			if seen[v] {
				return nil, fmt.Errorf("-seeds %q: seed %d appears twice", s, v)
			}
			seen[v] = true
			out = append(out, v)
		}
	}
	return out, nil
}

// starts describes the mapping's starts per query when there is more than
// one.
func starts(m mapper.Iterative) string {
	if m.Restarts > 1 {
		return fmt.Sprintf(" from %d starts per query", m.Restarts)
	}
	return ""
}
