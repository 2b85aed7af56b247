package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/anogo/anogo/sdk/fanogan"
)

// f-AnoGAN's tasks (bench/fanogan_ref.py has the same models):
// train_fanogan times one WGAN-GP cycle, five critic steps with the
// gradient penalty on fresh real batches and one generator step, and
// counts the real images it consumes; encode_fanogan times the one-pass
// mapping and scoring of a batch (E, G and both critic passes in eval
// mode, the izi_f score without the latent cycle) and counts images.
const (
	taskTrainFanogan  = "train_fanogan"
	taskEncodeFanogan = "encode_fanogan"
)

// fanoganConfigs are the benchmarked f-AnoGAN models: the authors' 64x64
// networks at width 32 (half of theirs, so that a cycle takes about a
// minute) and the 28x28 ones at width 32, both with z of 128 values.
var fanoganConfigs = map[string]fanogan.Config{
	"64": {Size: 64, Width: 32, Latent: 128},
	"32": {Size: 32, Width: 32, Latent: 128},
	"28": {Size: 28, Width: 32, Latent: 128},
}

// fanoganItems is the number of items one timed call of task processes.
func fanoganItems(task string, batch int) int {
	if task == taskTrainFanogan {
		return fanogan.DefaultTrainConfig().Critic * batch
	}
	return batch
}

func timeTrainFanogan(cfg fanogan.Config, batch, warmup, reps int, seed uint64) ([]time.Duration, time.Duration, error) {
	m, err := fanogan.New(cfg, seed)
	if err != nil {
		return nil, 0, err
	}
	tc := fanogan.DefaultTrainConfig()
	tc.BatchSize, tc.Seed = batch, seed
	tr, err := fanogan.NewTrainer(m, tc)
	if err != nil {
		return nil, 0, err
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	batches := make([][]float32, tc.Critic)
	for i := range batches {
		batches[i] = uniform(rng, batch*cfg.Size*cfg.Size)
	}
	return timeSteps(warmup, reps, func() error {
		for _, b := range batches {
			if _, err := tr.Step(b, batch); err != nil {
				return err
			}
		}
		if tr.CriticSteps%tc.Critic != 0 {
			return fmt.Errorf("cycle ended after %d critic steps", tr.CriticSteps)
		}
		return nil
	})
}

func timeEncodeFanogan(cfg fanogan.Config, batch, warmup, reps int, seed uint64) ([]time.Duration, time.Duration, error) {
	m, err := fanogan.New(cfg, seed)
	if err != nil {
		return nil, 0, err
	}
	qs := syntheticQueries(cfg.Size, batch, seed)
	// The izi_f score, as torch's reference computes it: E, G and the
	// critic's features of x and G(E(x)), without the latent cycle.
	sc := &fanogan.Scorer{Model: m, Kappa: 1, BatchSize: batch, NoCycle: true}
	// One Scorer compiles its graph once and keeps it.
	return timeSteps(warmup, reps, func() error {
		_, err := sc.Map(context.Background(), qs)
		return err
	})
}

// taskMapFanogan maps a batch of queries to the end with AnoGAN's iterative
// mapping (Γ = 500 Adam steps on z, Eq. 5) on f-AnoGAN's own networks,
// starting from E(x) (fanogan.Mapper): the one-pass encoder's speed-up
// measured on the same networks and batch. Run only when asked for.
const taskMapFanogan = "mapimg_fanogan"

func timeMapFanogan(cfg fanogan.Config, batch, warmup, reps int, seed uint64) ([]time.Duration, time.Duration, error) {
	m, err := fanogan.New(cfg, seed)
	if err != nil {
		return nil, 0, err
	}
	qs := syntheticQueries(cfg.Size, batch, seed)
	mp := &fanogan.Mapper{Model: m, Steps: mapimgGamma, Batch: batch}
	return timeSteps(0, 1, func() error {
		_, err := mp.Map(context.Background(), qs)
		return err
	})
}
