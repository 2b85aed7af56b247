package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/dpa"
	"github.com/anogo/anogo/sdk/experiment"
	"github.com/anogo/anogo/sdk/metrics"
	"github.com/anogo/anogo/sdk/prep"
)

// cmdSearch chooses a method's hyperparameters on the validation split
// (the deep perceptual autoencoder's protocol; dpa.Search): search.csv,
// chosen.json and, with -fit, the model of the chosen settings.
func cmdSearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	fs.SetOutput(stderr)
	method := fs.String("method", dpa.Method, "method whose hyperparameters to search (dpa)")
	src := fs.String("data", "phantom", "data source (see anogo data); its validation split must hold both classes")
	setting := fs.String("setting", "small", "setting of the data and of the method: small, demo or paper")
	out := fs.String("out", filepath.Join("out", "search"), "output directory: search.csv, chosen.json, model/ (with -fit)")
	def := dpa.DefaultGrid()
	layers := fs.String("layers", strings.Join(def.Layers, ","), "feature layers to try (relu1_2, relu2_2, relu3_2)")
	latents := fs.String("latents", joinInts(def.Latents), "code sizes to try")
	lrs := fs.String("lrs", joinFloats(def.LRs), "learning rates to try")
	fit := fs.Bool("fit", false, "fit the chosen settings and save the model (with thresholds) in -out/model")
	set := setFlags{}
	fs.Var(set, "set", "override one setting, METHOD:key=value (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("search: unexpected argument %q (flags go before it)", fs.Arg(0))
	}
	if *method != dpa.Method {
		return fmt.Errorf("search: -method %q: only %q has a search", *method, dpa.Method)
	}
	grid := dpa.Grid{Layers: splitList(*layers)}
	var err error
	if grid.Latents, err = parseInts(*latents); err != nil {
		return fmt.Errorf("search: -latents: %w", err)
	}
	if grid.LRs, err = parseFloats(*lrs); err != nil {
		return fmt.Errorf("search: -lrs: %w", err)
	}
	pc, err := experiment.DataSetting(*setting, *src)
	if err != nil {
		return err
	}
	cfg := experiment.Config{Methods: []string{*method}, Setting: *setting, Set: set}
	s, err := cfg.MethodSettings(*method, pc.Seed, false)
	if err != nil {
		return err
	}
	d, err := prep.Prepare(pc)
	if err != nil {
		return err
	}
	t0 := time.Now()
	fmt.Fprintf(stdout, "anogo search: %s on %s, %s setting, %d validation samples -> %s\n", *method, *src, *setting, len(d.Val), *out)
	res, err := dpa.Search(ctx, d, s.(*dpa.Settings), grid, detector.FitOptions{Progress: stageProgress})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := metrics.WriteCSV(res.Table(), filepath.Join(*out, "search.csv")); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res.Best, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "chosen.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(stdout, res.Table())
	c := res.Choice
	fmt.Fprintf(stdout, "chosen on %d normal and %d anomalous validation samples: layer %s, latent %d, lr %g (validation AUC %.4f)\n",
		c.Normal, c.Anomalous, c.Layer, c.Latent, c.LR, c.ValAUC)
	if *fit {
		m, err := detector.Fit(ctx, *method, res.Best, d, detector.FitOptions{Progress: stageProgress})
		if err != nil {
			return err
		}
		if err := m.Save(filepath.Join(*out, "model")); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote %s in %s\n", *out, time.Since(t0).Round(time.Second))
	return nil
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, p := range splitList(s) {
		v, err := strconv.Atoi(p)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, p := range splitList(s) {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func joinFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}
