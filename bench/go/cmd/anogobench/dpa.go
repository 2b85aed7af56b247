package main

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/anogo/anogo/sdk/dpa"
)

// The deep perceptual autoencoder's tasks (bench/dpa_ref.py has the same
// models): train_dpa times one Adam step of the autoencoder at the image
// size (the last, stable phase of the growing) on the relative perceptual
// L1 loss through VGG19's trunk up to relu3_2 (random weights of VGG19's
// widths, 64 to 256 channels; speed does not depend on their values); an
// item is a real image consumed. encode_dpa times the scoring of a batch
// (the reconstruction, both feature passes, L_rel and the maps) and
// counts images.
const (
	taskTrainDpa  = "train_dpa"
	taskEncodeDpa = "encode_dpa"
)

// dpaConfigs are the benchmarked autoencoders: the paper setting's width
// 32 and code of 16 values, with VGG19's feature widths (conv1: 64).
var dpaConfigs = map[string]dpa.Config{
	"64": {Size: 64, Width: 32, Latent: 16},
	"28": {Size: 28, Width: 32, Latent: 16},
}

// dpaFeatureWidth is conv1's width of the benchmarked feature network.
const dpaFeatureWidth = 64

func dpaModel(cfg dpa.Config, seed uint64) (*dpa.Model, *dpa.FeatureNet, error) {
	m, err := dpa.New(cfg, seed)
	if err != nil {
		return nil, nil, err
	}
	fn, err := dpa.NewFeatureNet(dpa.Features{Kind: dpa.Random, Width: dpaFeatureWidth, Seed: seed})
	return m, fn, err
}

func timeTrainDpa(cfg dpa.Config, batch, warmup, reps int, seed uint64) ([]time.Duration, time.Duration, error) {
	m, fn, err := dpaModel(cfg, seed)
	if err != nil {
		return nil, 0, err
	}
	tc := dpa.TrainConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, BatchSize: batch, Layer: dpa.Relu32, Seed: seed,
		// One step per lower phase: step 2·(top - start) is the first of
		// the stable phase at the image size.
		Schedule: dpa.Schedule{Stab: 1, Fade: 1, Final: 1 << 30}}
	tr, err := dpa.NewTrainer(m, fn, tc)
	if err != nil {
		return nil, 0, err
	}
	tr.Steps = 2 * (len(cfg.Levels()) - 1 - cfg.Start())
	rng := rand.New(rand.NewPCG(seed, seed))
	b := uniform(rng, batch*cfg.Size*cfg.Size)
	return timeSteps(warmup, reps, func() error {
		_, err := tr.Step(b, batch)
		return err
	})
}

func timeEncodeDpa(cfg dpa.Config, batch, warmup, reps int, seed uint64) ([]time.Duration, time.Duration, error) {
	m, fn, err := dpaModel(cfg, seed)
	if err != nil {
		return nil, 0, err
	}
	qs := syntheticQueries(cfg.Size, batch, seed)
	sc := &dpa.Scorer{Model: m, Features: fn, Layer: dpa.Relu32, BatchSize: batch}
	return timeSteps(warmup, reps, func() error {
		_, err := sc.Score(context.Background(), qs)
		return err
	})
}
