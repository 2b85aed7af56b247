package psp

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dpa"
	"github.com/anogo/anogo/sdk/train"
)

// codesSet draws n codes w = w_avg + σ·N(0, I) for g and returns them
// with their images G(w).
func codesSet(t testing.TB, g *testGen, n int, sigma float64, seed uint64) ([]float32, []*data.Image) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	d := g.numWs * g.wdim
	ws := make([]float32, n*d)
	for i := range ws {
		ws[i] = g.wavg[i%g.wdim] + float32(sigma*rng.NormFloat64())
	}
	x, err := g.images(ws, n)
	if err != nil {
		t.Fatal(err)
	}
	s := g.size
	ims := make([]*data.Image, n)
	for i := range ims {
		ims[i] = data.NewImage(s, s)
		copy(ims[i].Pix, x[i*s*s:(i+1)*s*s])
	}
	return ws, ims
}

func tinyTrainConfig() TrainConfig {
	cfg := DefaultTrainConfig()
	cfg.Features = dpa.Features{Kind: dpa.Random, Width: 4, Seed: 1}
	cfg.BatchSize = 8
	return cfg
}

// codeError returns mean ‖E(x) - w‖² over the images and the same for
// w_avg in place of E(x).
func codeError(t *testing.T, m *Model, g *testGen, ws []float32, ims []*data.Image) (enc, avg float64) {
	t.Helper()
	smp := make([]data.Sample, len(ims))
	for i, im := range ims {
		smp[i] = data.Sample{Image: im}
	}
	mp, err := (&Scorer{Model: m, Gen: g}).Map(context.Background(), smp)
	if err != nil {
		t.Fatal(err)
	}
	d := g.numWs * g.wdim
	for i, c := range mp.Codes {
		for j, v := range c {
			w := float64(ws[i*d+j])
			enc += (float64(v) - w) * (float64(v) - w)
			a := float64(g.wavg[j%g.wdim])
			avg += (a - w) * (a - w)
		}
	}
	return enc / float64(len(ims)), avg / float64(len(ims))
}

// TestTrainRecoversCodes trains on images G(w) of known codes: the loss
// falls and E(x) comes close to w, on the training images and, less so, on
// others of the same distribution.
func TestTrainRecoversCodes(t *testing.T) {
	g := newTestGen(32, 8, 4, 4, 1)
	ws, ims := codesSet(t, g, 128, 0.5, 1)
	wsVal, imsVal := codesSet(t, g, 64, 0.5, 2)
	m, err := New(ConfigFor(g, 4, 1), g, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, g, tinyTrainConfig())
	if err != nil {
		t.Fatal(err)
	}
	enc0, avg := codeError(t, m, g, ws, ims)
	const steps = 400
	if _, err := train.Run(context.Background(), tr, ims, train.Options{Steps: steps, BatchSize: 8, Seed: 1}, train.State{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"loss", "l2", "lpips"} {
		h := m.History.Losses[name].Value
		if len(h) != steps {
			t.Fatalf("history of %s: %d steps, want %d", name, len(h), steps)
		}
		first, last := mean32(h[:20]), mean32(h[len(h)-20:])
		t.Logf("%s: %.4g -> %.4g (means of the first and last 20 steps)", name, first, last)
		if !(last < 0.5*first) {
			t.Errorf("%s fell from %.4g to %.4g only", name, first, last)
		}
	}
	enc, _ := codeError(t, m, g, ws, ims)
	encVal, avgVal := codeError(t, m, g, wsVal, imsVal)
	t.Logf("mean ‖E(x) - w‖²: %.3g at the start, %.3g after %d steps, %.3g on other images; ‖w_avg - w‖²: %.3g and %.3g",
		enc0, enc, steps, encVal, avg, avgVal)
	if !(enc < 0.15*avg) || !(encVal < 0.6*avgVal) {
		t.Errorf("codes not recovered: ‖E(x) - w‖² %.3g (training) and %.3g (other images), w_avg's %.3g and %.3g", enc, encVal, avg, avgVal)
	}
}

// TestLearningRates compares Adam's learning rates on the tests'
// generator (the run behind DefaultTrainConfig's choice); it takes about
// a minute and runs only with ANOGO_PSP_LR=1.
func TestLearningRates(t *testing.T) {
	if os.Getenv("ANOGO_PSP_LR") != "1" {
		t.Skip("set ANOGO_PSP_LR=1 to run")
	}
	g := newTestGen(32, 8, 8, 4, 1)
	ws, ims := codesSet(t, g, 256, 0.5, 1)
	for _, lr := range []float64{1e-4, 3e-4, 1e-3, 3e-3} {
		m, err := New(ConfigFor(g, 4, 1), g, 1)
		if err != nil {
			t.Fatal(err)
		}
		cfg := tinyTrainConfig()
		cfg.LR = lr
		tr, err := NewTrainer(m, g, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := train.Run(context.Background(), tr, ims, train.Options{Steps: 400, BatchSize: 8, Seed: 1}, train.State{}); err != nil {
			t.Fatal(err)
		}
		h := m.History.Losses["loss"].Value
		enc, avg := codeError(t, m, g, ws, ims)
		t.Logf("lr %g: loss %.4g (mean of the last 20 of 400 steps), ‖E(x) - w‖² %.3g (w_avg's %.3g)", lr, mean32(h[len(h)-20:]), enc, avg)
	}
}

func mean32(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x)
	}
	return s / float64(len(v))
}
