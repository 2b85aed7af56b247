package main

import (
	"math/rand/v2"
	"time"

	"github.com/anogo/anogo/sdk/stylegan2"
)

// StyleGAN2's task (bench/stylegan2_ref.py has the same models and step):
// train_stylegan2 times one lazy cycle of the training, R1Interval (16)
// iterations of stylegan2.Trainer.Step, the first with the lazy R1 step:
// each a G step, a D step and the G_ema update, no augmentation. An item
// is a real image consumed: items/s = 16 × batch / time of the cycle.
const taskTrainStylegan2 = "train_stylegan2"

// stylegan2Configs are the benchmarked models: the "small" setting (width
// 8, at most 64 channels, z and w of 32, two mapping layers) at each size,
// as bench/stylegan2_ref.py's CONFIGS.
var stylegan2Configs = map[string]stylegan2.Config{
	"64": {Size: 64, Width: 8, MaxChannels: 64, ZDim: 32, WDim: 32, MappingLayers: 2},
	"32": {Size: 32, Width: 8, MaxChannels: 64, ZDim: 32, WDim: 32, MappingLayers: 2},
	"28": {Size: 28, Width: 8, MaxChannels: 64, ZDim: 32, WDim: 32, MappingLayers: 2},
}

// stylegan2Items is the number of items one timed call of task processes.
func stylegan2Items(task string, batch int) int {
	return stylegan2.DefaultTrainConfig().R1Interval * batch
}

// timeTrainStylegan2 times reps lazy cycles after warmup untimed ones, on
// one synthetic real batch (uniform on [-1, 1]).
func timeTrainStylegan2(cfg stylegan2.Config, batch, warmup, reps int, seed uint64) ([]time.Duration, time.Duration, error) {
	m, err := stylegan2.New(cfg, seed)
	if err != nil {
		return nil, 0, err
	}
	tc := stylegan2.DefaultTrainConfig()
	tc.BatchSize, tc.Seed = batch, seed
	tr, err := stylegan2.NewTrainer(m, tc, nil)
	if err != nil {
		return nil, 0, err
	}
	defer tr.Close()
	rng := rand.New(rand.NewPCG(seed, seed))
	b := uniform(rng, batch*cfg.Size*cfg.Size)
	return timeSteps(warmup, reps, func() error {
		for range tc.R1Interval {
			if _, err := tr.Step(b, batch); err != nil {
				return err
			}
		}
		return nil
	})
}
