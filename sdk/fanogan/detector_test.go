package fanogan

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/params"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/train"
)

func tinySettings() *Settings {
	s, _ := Setting("small")
	st := s.(*Settings)
	st.Model.Width, st.Model.Latent = 2, 8
	st.Train.BatchSize, st.Encoder.BatchSize = 4, 4
	st.Steps, st.EncoderSteps = 10, 6
	return st
}

func tinyData(t testing.TB) *prep.Data {
	t.Helper()
	d, err := prep.Prepare(prep.Config{Data: "phantom:train=8,val=4,test=6", Size: 28, PatchSize: 32, PatchesPerImage: 4, TestPerClass: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// stopAt returns fit options whose hook cancels the fit after step `at` of
// stage.
func stopAt(dir, stage string, at int, cancel context.CancelFunc) detector.FitOptions {
	return detector.FitOptions{CheckpointDir: dir, Progress: func(s string) []train.Hook {
		if s != stage {
			return nil
		}
		return []train.Hook{func(in train.Info) error {
			if in.Step == at {
				cancel()
			}
			return nil
		}}
	}}
}

func sameNets(t *testing.T, a, b *Model) {
	t.Helper()
	for _, h := range []struct {
		name string
		a, b History
	}{{"WGAN-GP", a.WGANHistory, b.WGANHistory}, {"encoder", a.EncoderHistory, b.EncoderHistory}} {
		if h.a.Steps != h.b.Steps || len(h.a.Losses) != len(h.b.Losses) || h.a.Steps == 0 {
			t.Fatalf("%s history: %d steps and %d losses, want %d and %d", h.name, h.a.Steps, len(h.a.Losses), h.b.Steps, len(h.b.Losses))
		}
		for name, c := range h.b.Losses {
			if !slices.Equal(c.Value, h.a.Losses[name].Value) || !slices.Equal(c.Step, h.a.Losses[name].Step) {
				t.Fatalf("%s history of %s differs", h.name, name)
			}
		}
	}
	for _, p := range []struct {
		name string
		a, b *params.Set
	}{{"G", &a.G, &b.G}, {"D", &a.D, &b.D}, {"E", &a.E, &b.E}} {
		va, vb := p.a.Values(), p.b.Values()
		for i := range va {
			if !slices.Equal(va[i], vb[i]) {
				t.Fatalf("%s parameter %s differs", p.name, p.a.Params[i].Name)
			}
		}
		for i := range p.a.BN {
			if !slices.Equal(p.a.BN[i].Mean, p.b.BN[i].Mean) || !slices.Equal(p.a.BN[i].Var, p.b.BN[i].Var) {
				t.Fatalf("%s BatchNorm %s differs", p.name, p.a.BN[i].Name)
			}
		}
	}
}

// TestResumeExact interrupts a fit in each stage and resumes it: the
// networks equal those of an uninterrupted fit, bit for bit.
func TestResumeExact(t *testing.T) {
	d := tinyData(t)
	whole, err := detector.Fit(context.Background(), Method, tinySettings(), d, detector.FitOptions{CheckpointDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		stage string
		at    int
	}{{"WGAN-GP", 7}, {"encoder", 3}} {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		_, err := detector.Fit(ctx, Method, tinySettings(), d, stopAt(dir, c.stage, c.at, cancel))
		cancel()
		if !errors.Is(err, train.ErrInterrupted) {
			t.Fatalf("%s: the interrupted fit returned %v", c.stage, err)
		}
		resumed, err := detector.Resume(context.Background(), Method, tinySettings(), d, detector.FitOptions{CheckpointDir: dir})
		if err != nil {
			t.Fatalf("%s: %v", c.stage, err)
		}
		sameNets(t, resumed.Detector.(*Detector).Model, whole.Detector.(*Detector).Model)
	}
}

// TestSaveLoad: a saved model scores as the fitted one, and a file of
// another configuration or a truncated one is refused with its name.
func TestSaveLoad(t *testing.T) {
	d := tinyData(t)
	ctx := context.Background()
	m, err := detector.Fit(ctx, Method, tinySettings(), d, detector.FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	l, err := detector.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.Score(ctx, d.Test)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Score(ctx, d.Test)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		for _, col := range []string{ColScore, ColCycle, ColR, ColD} {
			if a[i].Scores[col] != b[i].Scores[col] {
				t.Fatalf("sample %d %s: %v fitted, %v loaded", i, col, a[i].Scores[col], b[i].Scores[col])
			}
		}
	}
	path := filepath.Join(dir, ModelFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "cut.ckpt")
	if err := os.WriteFile(bad, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil {
		t.Fatal("a truncated checkpoint loaded")
	}
	if _, _, err := ResumeTrainer(path, Config{}); err == nil {
		t.Fatal("a model file was resumed as a WGAN-GP checkpoint")
	}
}

// TestHistory: the WGAN-GP record has a value of every loss per critic
// step and loss_g at every fifth; its table and figure are made, and an
// unknown loss is an error.
func TestHistory(t *testing.T) {
	m, err := detector.Fit(context.Background(), Method, tinySettings(), tinyData(t), detector.FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Detector.(*Detector).Model.WGANHistory
	if h.Steps != 10 || len(h.Losses["loss_d"].Value) != 10 || !slices.Equal(h.Losses["loss_g"].Step, []int{5, 10}) {
		t.Fatalf("history: %d steps, loss_d %v, loss_g at %v", h.Steps, h.Losses["loss_d"].Value, h.Losses["loss_g"].Step)
	}
	df := h.Table()
	if df.Nrow() != 10 || df.Ncol() != 5 {
		t.Fatalf("table %dx%d: %v", df.Nrow(), df.Ncol(), df.Names())
	}
	if _, err := h.Figure("WGAN-GP", 3, "loss_d", "wasserstein"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Figure("x", 1, "nope"); err == nil {
		t.Fatal("an unknown loss gave a figure")
	}
}
