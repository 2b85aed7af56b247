package main

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/anogo/anogo/sdk/jointenc"
)

// The jointly trained encoder's tasks (bench/jointenc_ref.py has the same
// models): train_jointenc times one joint step at the full resolution
// (the last, stable phase of the growing): the critic with the gradient
// penalty and the drift term, the generator, and the encoder on
// mean|G(z) - G(E(G(z)))|; an item is a real image consumed.
// encode_jointenc times the one-pass scoring of a batch (E, G, the
// critic's features of x and G(E(x))) and counts images.
const (
	taskTrainJointenc  = "train_jointenc"
	taskEncodeJointenc = "encode_jointenc"
)

// jointencConfigs are the benchmarked models, at width 32 and z of 128
// values as bench/jointenc_ref.py's CONFIGS.
var jointencConfigs = map[string]jointenc.Config{
	"64": {Size: 64, Width: 32, Latent: 128},
	"32": {Size: 32, Width: 32, Latent: 128},
	"28": {Size: 28, Width: 32, Latent: 128},
}

// jointencItems is the number of items one timed call of task processes.
func jointencItems(task string, batch int) int { return batch }

func timeTrainJointenc(cfg jointenc.Config, batch, warmup, reps int, seed uint64) ([]time.Duration, time.Duration, error) {
	m, err := jointenc.New(cfg, seed)
	if err != nil {
		return nil, 0, err
	}
	tc := jointenc.DefaultTrainConfig()
	tc.BatchSize, tc.Seed = batch, seed
	// Start in the last phase: with one step per lower phase, step 2·Top
	// is the first of the stable phase at the image size.
	tc.Schedule = jointenc.Schedule{Stab: 1, Fade: 1, Final: 1 << 30}
	tr, err := jointenc.NewTrainer(m, tc)
	if err != nil {
		return nil, 0, err
	}
	tr.Steps = 2 * cfg.Top()
	rng := rand.New(rand.NewPCG(seed, seed))
	b := uniform(rng, batch*cfg.Size*cfg.Size)
	return timeSteps(warmup, reps, func() error {
		_, err := tr.Step(b, batch)
		return err
	})
}

func timeEncodeJointenc(cfg jointenc.Config, batch, warmup, reps int, seed uint64) ([]time.Duration, time.Duration, error) {
	m, err := jointenc.New(cfg, seed)
	if err != nil {
		return nil, 0, err
	}
	qs := syntheticQueries(cfg.Size, batch, seed)
	// The two-sided norm score's statistics (their values do not matter
	// for speed).
	m.Norms = &jointenc.NormStats{Median: 1, Scale: 1, N: 1}
	sc := &jointenc.Scorer{Model: m, BatchSize: batch}
	return timeSteps(warmup, reps, func() error {
		_, err := sc.Score(context.Background(), qs)
		return err
	})
}
