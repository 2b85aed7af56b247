package fanogan

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/anogo/anogo/sdk/data"
)

func tinyModel(t testing.TB, size int) *Model {
	t.Helper()
	m, err := New(Config{Size: size, Width: 2, Latent: 8}, 3)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func randomBatch(n, size int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := make([]float32, n*size*size)
	for i := range x {
		x[i] = float32(2*rng.Float64() - 1)
	}
	return x
}

// TestStepsRun takes WGAN-GP, encoder and scoring steps at every size and
// checks that losses are finite, G steps come every fifth critic step and
// the weights move.
func TestStepsRun(t *testing.T) {
	for _, size := range []int{28, 32, 64} {
		m := tinyModel(t, size)
		cfg := DefaultTrainConfig()
		cfg.BatchSize = 3
		tr, err := NewTrainer(m, cfg)
		if err != nil {
			t.Fatal(err)
		}
		g0 := slices.Clone(m.G.Values()[0])
		for i := 0; i < 5; i++ {
			l, err := tr.Step(randomBatch(3, size, uint64(i)), 3)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range l {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%d: %s = %v", size, k, v)
				}
			}
			if l["wasserstein"] == 0 || l["loss_d"] == l["gp"] {
				t.Fatalf("step %d: the critic's values were not read: %v", i, l)
			}
			if _, ok := l["loss_g"]; ok != (i == 4) {
				t.Fatalf("step %d: loss_g present %v", i, ok)
			}
		}
		if slices.Equal(g0, m.G.Values()[0]) {
			t.Fatal("G did not move")
		}
		for _, loss := range []string{IZIf, IZI, ZIZ} {
			ec := DefaultEncoderConfig()
			ec.Loss, ec.BatchSize = loss, 3
			et, err := NewEncoderTrainer(m, ec)
			if err != nil {
				t.Fatal(err)
			}
			l, err := et.Step(randomBatch(3, size, 9), 3)
			if err != nil || math.IsNaN(l["loss_e"]) {
				t.Fatalf("%s: %v %v", loss, l, err)
			}
		}
		var samples []data.Sample
		x := randomBatch(5, size, 11)
		for i := 0; i < 5; i++ {
			im := data.NewImage(size, size)
			copy(im.Pix, x[i*size*size:])
			samples = append(samples, data.Sample{ID: "s", Image: im})
		}
		res, err := (&Scorer{Model: m, Kappa: 1, BatchSize: 2}).Score(context.Background(), samples)
		if err != nil || len(res) != 5 {
			t.Fatal(len(res), err)
		}
		if res[0].Scores[ColScore] <= 0 || res[0].Residual == nil || len(res[0].Z) != 8 {
			t.Fatalf("%v", res[0].Scores)
		}
	}
}

// TestPenaltyChangesUpdate: critic steps with λ = 10 and with λ = 0 from
// the same state and batches: the gradient given to Adam differs in every
// parameter that ∇x D depends on, and so do the weights after three steps
// (Adam's first step with β1 = 0 is lr·sign(g), which a penalty changes
// only where it flips a sign). A dropped penalty gives identical gradients
// and weights. ∇x D does not depend on the last block's second LayerNorm
// shift and biases or on the output bias (with the ReLUs' slopes fixed
// they add constants to D; PyTorch's penalty gradients for them are 0 in
// the fixture), and the Wasserstein loss gives those biases no gradient
// either (a constant cancels in mean D(fake) - mean D(real)).
func TestPenaltyChangesUpdate(t *testing.T) {
	steps := func(lambda float64) (*Model, *Trainer, map[string]float64, [][]float32) {
		m := tinyModel(t, 28)
		cfg := DefaultTrainConfig()
		cfg.BatchSize, cfg.Lambda = 3, lambda
		tr, err := NewTrainer(m, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var first map[string]float64
		var grads [][]float32
		for i := 0; i < 3; i++ {
			l, err := tr.Step(randomBatch(3, 28, uint64(5+i)), 3)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = l
				for _, g := range tr.dgrads {
					grads = append(grads, slices.Clone(g))
				}
			}
		}
		return m, tr, first, grads
	}
	with, _, lw, gw := steps(10)
	without, _, lo, go0 := steps(0)
	if lw["gp"] <= 0 || lo["gp"] != 0 {
		t.Fatalf("penalty %v with λ = 10, %v with λ = 0", lw["gp"], lo["gp"])
	}
	if lw["wasserstein"] != lo["wasserstein"] {
		t.Fatalf("the same batch gave Wasserstein estimates %v and %v", lw["wasserstein"], lo["wasserstein"])
	}
	last := "D.blocks.1." // the last block at 28x28
	constants := map[string]bool{last + "conv2.bias": true, last + "shortcut.bias": true, "D.output.bias": true}
	for i, p := range with.D.Params {
		if same := slices.Equal(gw[i], go0[i]); same != (constants[p.Name] || p.Name == last+"ln2.bias") {
			t.Errorf("%s: gradient with the penalty equal to the one without: %v", p.Name, same)
		}
		if same := slices.Equal(p.Value.Data().([]float32), without.D.Params[i].Value.Data().([]float32)); same != constants[p.Name] {
			t.Errorf("%s: the same weights after three steps with and without the penalty: %v", p.Name, same)
		}
	}
}

// TestScorerNoCycle: without the latent cycle the other scores are the same
// and A_z is absent.
func TestScorerNoCycle(t *testing.T) {
	m := tinyModel(t, 28)
	qs := tinySamples(3, 28)
	a, err := (&Scorer{Model: m, Kappa: 1}).Score(context.Background(), qs)
	if err != nil {
		t.Fatal(err)
	}
	sc := &Scorer{Model: m, Kappa: 1, NoCycle: true}
	b, err := sc.Score(context.Background(), qs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if _, ok := b[i].Scores[ColCycle]; ok || a[i].Scores[ColScore] != b[i].Scores[ColScore] {
			t.Fatalf("%d: %v with the cycle, %v without", i, a[i].Scores, b[i].Scores)
		}
	}
	if len(sc.Columns()) != 3 {
		t.Fatalf("columns %v", sc.Columns())
	}
}
