package acae

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dcgan"
	"github.com/anogo/anogo/sdk/mapper"
	"github.com/anogo/anogo/sdk/optim"
	"github.com/anogo/anogo/sdk/score"
	"github.com/anogo/anogo/sdk/train"
)

func images(n int, seed uint64) []*data.Image {
	rng := rand.New(rand.NewPCG(seed, seed))
	out := make([]*data.Image, n)
	for i := range out {
		im := data.NewImage(28, 28)
		for j := range im.Pix {
			im.Pix[j] = float32(0.5*float64(j%28)/28 + 0.2*rng.Float64() - 0.35)
		}
		out[i] = im
	}
	return out
}

// TestTrainSaveScore trains a few steps, checks that the reconstruction
// error falls, saves and loads the model, and scores with Eq. (6).
func TestTrainSaveScore(t *testing.T) {
	cfg := dcgan.Config{Size: 28, Width: 4, Latent: 8}
	m, err := New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, TrainConfig{TrainConfig: dcgan.TrainConfig{LR: 2e-3, Beta1: 0.5, BatchSize: 8, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	var first, last float64
	hook := func(in train.Info) error {
		if in.Step == 1 {
			first = in.Losses["loss_rec"]
		}
		last = in.Losses["loss_rec"]
		return nil
	}
	opt := train.Options{Steps: 40, BatchSize: 8, Seed: 1, Hooks: []train.Hook{hook}}
	if _, err := train.Run(context.Background(), tr, images(32, 1), opt, train.State{}); err != nil {
		t.Fatal(err)
	}
	if !(last < first) {
		t.Errorf("reconstruction loss went from %.4f to %.4f; it should fall", first, last)
	}
	path := filepath.Join(t.TempDir(), "acae.ckpt")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dcgan.Load(path); err == nil {
		t.Error("dcgan.Load accepted an aCAE checkpoint")
	}
	var samples []data.Sample
	for i, im := range images(5, 2) {
		samples = append(samples, data.Sample{ID: fmt.Sprint(i), Image: im, Label: i % 2})
	}
	a, err := (&Scorer{Model: m}).Score(context.Background(), samples)
	if err != nil {
		t.Fatal(err)
	}
	b, err := (&Scorer{Model: got}).Score(context.Background(), samples)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		r, d := a[i].Scores[score.R], a[i].Scores[score.D]
		if want := 0.9*r + 0.1*d; math.Abs(a[i].Scores[score.A]-want) > 1e-9*want {
			t.Errorf("sample %d: A = %v, (1-λ)R + λD = %v", i, a[i].Scores[score.A], want)
		}
		if a[i].Scores[score.A] != b[i].Scores[score.A] {
			t.Errorf("sample %d: A %v before saving, %v after loading", i, a[i].Scores[score.A], b[i].Scores[score.A])
		}
		sum := 0.0
		for j, v := range samples[i].Image.Pix {
			sum += math.Abs(float64(v - a[i].Recon.Pix[j]))
		}
		if math.Abs(sum-r) > 1e-3*r {
			t.Errorf("sample %d: R = %v, Σ|x - x̂| = %v", i, r, sum)
		}
	}
}

// TestScorerNoLambda: with NoLambda the aCAE's A is its residual score R
// (λ = 0), as it is for the mapper; Lambda 0 alone means the default λ.
func TestScorerNoLambda(t *testing.T) {
	m, err := New(dcgan.Config{Size: 28, Width: 4, Latent: 8}, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := []data.Sample{{ID: "a", Image: data.NewImage(28, 28)}}
	s[0].Image.Pix[3] = 0.7
	res, err := (&Scorer{Model: m, NoLambda: true}).Score(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if sc := res[0].Scores; sc[score.A] != sc[score.R] {
		t.Errorf("NoLambda: A %v, R %v; want A = R", sc[score.A], sc[score.R])
	}
	res, err = (&Scorer{Model: m}).Score(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if sc := res[0].Scores; math.Abs(sc[score.A]-score.Anomaly(sc[score.R], sc[score.D], mapper.DefaultLambda)) > 1e-9 {
		t.Errorf("default λ: A %v, R %v, D %v", sc[score.A], sc[score.R], sc[score.D])
	}
}

// TestTrainerBetas: the aCAE's optimisers take β1 and β2 from its settings
// (β1 = 0 and β2 = 0.9 as given; β2 0 means 0.999).
func TestTrainerBetas(t *testing.T) {
	m, err := New(dcgan.Config{Size: 28, Width: 4, Latent: 8}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct{ beta1, beta2, want2 float64 }{{0, 0.9, 0.9}, {0.5, 0, 0.999}} {
		tr, err := NewTrainer(m, TrainConfig{TrainConfig: dcgan.TrainConfig{LR: 1e-3, Beta1: c.beta1, Beta2: c.beta2, BatchSize: 2}})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []*optim.Adam{tr.OptAE, tr.OptD} {
			if a.Beta1 != c.beta1 || a.Beta2 != c.want2 {
				t.Errorf("%d: β1 %v, β2 %v; want %v, %v", i, a.Beta1, a.Beta2, c.beta1, c.want2)
			}
		}
	}
}
