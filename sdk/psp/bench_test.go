package psp

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dpa"
)

// The benchmarks' setting: 32-pixel images from the tests' generator with
// 8 ws of 64 values (StyleGAN2's 2·log2(32) - 2 ws), an encoder of width 8
// with one block per stage, batches of 8, DefaultTrainConfig's perceptual
// network (random VGG19 trunk of width 16).
const (
	benchSize, benchWs, benchWDim = 32, 8, 64
	benchWidth, benchBlocks       = 8, 1
	benchBatch                    = 8
)

func benchmarkStep(b *testing.B, mod func(*TrainConfig)) {
	g := newTestGen(benchSize, benchWs, benchWDim, 4, 1)
	m, err := New(ConfigFor(g, benchWidth, benchBlocks), g, 1)
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultTrainConfig()
	cfg.BatchSize = benchBatch
	mod(&cfg)
	tr, err := NewTrainer(m, g, cfg)
	if err != nil {
		b.Fatal(err)
	}
	_, ims := codesSet(b, g, benchBatch, 0.5, 1)
	batch := make([]float32, 0, benchBatch*benchSize*benchSize)
	for _, im := range ims {
		batch = append(batch, im.Pix...)
	}
	if _, err := tr.Step(batch, benchBatch); err != nil { // buffers allocated
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := tr.Step(batch, benchBatch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchBatch*b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkStep is one encoder training step: the default loss (L2 and
// the perceptual term on relu1_2, relu2_2 and relu3_2), the perceptual
// term on relu3_2 alone (one pass of the trunk: what the three layers
// would cost if dpa returned them from one pass), and L2 alone (encoder
// and generator only).
func BenchmarkStep(b *testing.B) {
	b.Run("default", func(b *testing.B) { benchmarkStep(b, func(*TrainConfig) {}) })
	b.Run("relu3_2", func(b *testing.B) {
		benchmarkStep(b, func(c *TrainConfig) { c.Layers = []string{dpa.Relu32} })
	})
	b.Run("l2", func(b *testing.B) { benchmarkStep(b, func(c *TrainConfig) { c.LPIPS = 0 }) })
}

// BenchmarkScore scores 64 images (one pass of E and G, batches of 64)
// against a latent fit of 512 training codes.
func BenchmarkScore(b *testing.B) {
	g := newTestGen(benchSize, benchWs, benchWDim, 4, 1)
	m, err := New(ConfigFor(g, benchWidth, benchBlocks), g, 1)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	codes := make([][]float32, 512)
	for i := range codes {
		codes[i] = randn(rng, benchWs*benchWDim, 1)
	}
	if m.Latent, err = FitLatent(codes, benchWs, benchWDim, DefaultK); err != nil {
		b.Fatal(err)
	}
	m.Latent.Norm = map[string]Standard{}
	for _, c := range []string{ColR, ColMaha, ColKNN, ColL2} {
		m.Latent.Norm[c] = Standard{Mean: 0, Std: 1}
	}
	_, ims := codesSet(b, g, 64, 0.5, 2)
	smp := make([]data.Sample, len(ims))
	for i, im := range ims {
		smp[i] = data.Sample{ID: fmt.Sprint(i), Image: im}
	}
	s := &Scorer{Model: m, Gen: g}
	ctx := context.Background()
	if _, err := s.Score(ctx, smp); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := s.Score(ctx, smp); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(smp)*b.N)/b.Elapsed().Seconds(), "images/s")
}
