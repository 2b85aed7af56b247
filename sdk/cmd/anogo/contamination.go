package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/experiment"
)

// smallClasses are the Fashion-MNIST normal classes of the small study
// (T-shirt/top and Sneaker: clothes and shoes), so that it fits an hour
// on two cores; docs/results.md says why.
const smallClasses = "0,7"

// cmdContamination is the contamination study: every method on the
// phantom, Fashion-MNIST and PneumoniaMNIST with 0 to 20 % anomalies in the
// training set (experiment.Contamination).
func cmdContamination(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("contamination", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", filepath.Join("out", "repro"), "output directory: contamination.csv, figures/contamination.*, models under DATASET/[classK/]contaminationG/")
	setting := fs.String("setting", "small", "setting of the data and of every method: small, demo or paper")
	methods := fs.String("methods", strings.Join(detector.Names(), ","), "methods, comma-separated (anogo methods lists them)")
	levels := fs.String("levels", "0,0.01,0.05,0.1,0.2", "contamination levels: fractions of anomalies in the training set, comma-separated, in [0, 1)")
	seeds := fs.String("seeds", "1", "seeds: a range 1-3, a list 1,2,5, or both")
	classes := fs.String("classes", "", "Fashion-MNIST's normal classes, comma-separated, or all (default: "+smallClasses+" in the small setting, all otherwise)")
	fmnist := fs.String("fmnist", "/usr/share/datasets/fashion-mnist", "Fashion-MNIST's IDX directory")
	pneumonia := fs.String("pneumonia", filepath.Join("..", "shared", "datasets", "pneumoniamnist", "pneumoniamnist.npz"), "PneumoniaMNIST's npz file")
	reuse := fs.Bool("reuse", true, "load models from -out that were fitted with the same settings and data")
	set := setFlags{}
	fs.Var(set, "set", "override one setting of one method, METHOD:key=value (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("contamination: unexpected argument %q (flags go before it)", fs.Arg(0))
	}
	cfg := experiment.ContaminationConfig{Setting: *setting, Set: set, Out: *out, Reuse: *reuse,
		Progress: stageProgress, ScoreProgress: scoreProgress()}
	for m := range strings.SplitSeq(*methods, ",") {
		if m = strings.TrimSpace(m); m == "" {
			continue
		}
		if _, err := detector.Lookup(m); err != nil {
			return err
		}
		cfg.Methods = append(cfg.Methods, m)
	}
	if len(cfg.Methods) == 0 {
		return fmt.Errorf("contamination: no methods (registered: %s)", strings.Join(detector.Names(), ", "))
	}
	for l := range strings.SplitSeq(*levels, ",") {
		g, err := strconv.ParseFloat(strings.TrimSpace(l), 64)
		if err != nil || g < 0 || g >= 1 {
			return fmt.Errorf("contamination: -levels: %q is not a fraction in [0, 1)", l)
		}
		cfg.Levels = append(cfg.Levels, g)
	}
	var err error
	if cfg.Seeds, err = parseSeeds(*seeds); err != nil {
		return err
	}
	if _, err := experiment.DataSetting(*setting, "phantom"); err != nil {
		return err
	}
	if *classes == "" {
		*classes = "all"
		if *setting == "small" {
			*classes = smallClasses
		}
	}
	keep := map[string]bool{}
	if *classes != "all" {
		for c := range strings.SplitSeq(*classes, ",") {
			k, err := strconv.Atoi(strings.TrimSpace(c))
			if err != nil || k < 0 || k > 9 {
				return fmt.Errorf("contamination: -classes: %q is not a class 0 to 9 (or all)", c)
			}
			keep[strconv.Itoa(k)] = true
		}
	}
	srcs, skipped := reproSources(*fmnist, *pneumonia)
	for _, s := range skipped {
		fmt.Fprintln(stdout, "anogo contamination: skipped", s)
	}
	for _, s := range srcs {
		if _, class := experiment.Names(s); strings.HasPrefix(s, "idx:") && len(keep) > 0 && !keep[class] {
			continue
		}
		cfg.Sources = append(cfg.Sources, s)
	}
	fmt.Fprintf(stdout, "anogo contamination: %s on %d sources at levels %v, %s setting -> %s\n",
		strings.Join(cfg.Methods, ", "), len(cfg.Sources), cfg.Levels, *setting, *out)
	t0 := time.Now()
	rep, err := experiment.Contamination(ctx, cfg)
	if err != nil {
		return err
	}
	if err := rep.Write(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%v\n", rep.Results)
	figs := []string{"contamination"}
	for _, ds := range slices.Compact(rep.Results.Col("dataset").Records()) {
		if !slices.Contains(figs, "contamination_"+ds) {
			figs = append(figs, "contamination_"+ds)
		}
	}
	fmt.Fprintf(stdout, "wrote %s/contamination.csv and figures/{%s}.{png,svg,pdf} in %s\n", *out, strings.Join(figs, ","), time.Since(t0).Round(time.Second))
	return nil
}
