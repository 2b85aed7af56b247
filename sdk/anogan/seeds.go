package anogan

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"

	"github.com/anogo/anogo/sdk/metrics"
	"github.com/anogo/anogo/sdk/train"
)

// WithSeed returns c with every random source seeded by seed: the patch
// positions (training and test), the models' initialisation and batches,
// and the mapping's initial codes.
func (c Config) WithSeed(seed uint64) Config {
	c.Seed, c.Train.Seed, c.Mapping.Seed = seed, seed, seed
	return c
}

// Seeds runs the experiment once for each seed (cfg.WithSeed; into
// cfg.Out/seed<N> when cfg.Out is set, so cfg.Reuse reuses each seed's
// models) and returns the image AUC of each run, one row per seed: seed,
// then AnoGAN, GAN_R, P_D, aCAE (when trained) and, with cfg.Ideal on the
// phantom, ideal_R and ideal_A. summary has one row per method: method,
// mean, sd (the sample standard deviation, n - 1), min and max over the
// seeds. A single run of a small test set moves by a few hundredths with
// the seed; compare methods by their means (docs/results.md).
func Seeds(ctx context.Context, cfg Config, seeds []uint64, hooks ...train.Hook) (perSeed, summary dataframe.DataFrame, err error) {
	if len(seeds) == 0 {
		return perSeed, summary, fmt.Errorf("anogan: no seeds")
	}
	var names []string
	cols := map[string][]float64{}
	for i, s := range seeds {
		c := cfg.WithSeed(s)
		if cfg.Out != "" {
			c.Out = filepath.Join(cfg.Out, fmt.Sprintf("seed%d", s))
		}
		r, err := Run(ctx, c, hooks...)
		if err != nil {
			return perSeed, summary, fmt.Errorf("anogan: seed %d: %w", s, err)
		}
		ms := Methods(r.Test)
		var row []string
		aucs := map[string]float64{}
		for _, m := range ms {
			row = append(row, m.Name)
			aucs[m.Name] = metrics.AUC(m.Scores, m.Labels)
		}
		if aucR, aucA, ok := r.IdealAUC(); ok {
			row = append(row, "ideal_R", "ideal_A")
			aucs["ideal_R"], aucs["ideal_A"] = aucR, aucA
		}
		if i == 0 {
			names = row
		} else if !slices.Equal(row, names) {
			return perSeed, summary, fmt.Errorf("anogan: seed %d scored %v, seed %d %v", s, row, seeds[0], names)
		}
		for _, n := range names {
			cols[n] = append(cols[n], aucs[n])
		}
	}
	ss := make([]int, len(seeds))
	for i, s := range seeds {
		ss[i] = int(s)
	}
	list := []series.Series{series.New(ss, series.Int, "seed")}
	var mean, sd, lo, hi []float64
	for _, n := range names {
		v := cols[n]
		list = append(list, series.New(v, series.Float, n))
		m, s := stat.MeanStdDev(v, nil)
		if len(v) < 2 {
			s = math.NaN()
		}
		mean, sd = append(mean, m), append(sd, s)
		lo, hi = append(lo, floats.Min(v)), append(hi, floats.Max(v))
	}
	perSeed = dataframe.New(list...)
	summary = dataframe.New(
		series.New(names, series.String, "method"),
		series.New(mean, series.Float, "mean"),
		series.New(sd, series.Float, "sd"),
		series.New(lo, series.Float, "min"),
		series.New(hi, series.Float, "max"),
	)
	return perSeed, summary, nil
}
