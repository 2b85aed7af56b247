package dpa

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/metrics"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/score"
	"github.com/anogo/anogo/sdk/train"
)

func tinySettings() *Settings {
	s, _ := Setting("small")
	st := s.(*Settings)
	st.Model.Width, st.Model.Latent, st.Features.Width = 2, 4, 2
	st.Train.BatchSize = 4
	st.Train.Schedule = Schedule{Stab: 3, Fade: 4, Final: 3}
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

// stopAt returns fit options whose hook cancels the fit after step at.
func stopAt(dir string, at int, cancel context.CancelFunc) detector.FitOptions {
	return detector.FitOptions{CheckpointDir: dir, Hooks: []train.Hook{func(in train.Info) error {
		if in.Step == at {
			cancel()
		}
		return nil
	}}}
}

// TestResumeExact interrupts a fit in the middle of a fade-in and of a
// stabilisation phase and resumes it: the autoencoder and its history
// equal those of an uninterrupted fit, bit for bit.
func TestResumeExact(t *testing.T) {
	d := tinyData(t)
	whole, err := detector.Fit(context.Background(), Method, tinySettings(), d, detector.FitOptions{CheckpointDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	wm := whole.Detector.(*Detector).Model
	// Steps 1-3: stab at 7, 4-7 fade to 14, 8-10 stab at 14, 11-14 fade to
	// 28, 15-17 at 28.
	for _, at := range []int{5, 9, 12} {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		_, err := detector.Fit(ctx, Method, tinySettings(), d, stopAt(dir, at, cancel))
		cancel()
		if !errors.Is(err, train.ErrInterrupted) {
			t.Fatalf("step %d: the interrupted fit returned %v", at, err)
		}
		resumed, err := detector.Resume(context.Background(), Method, tinySettings(), d, detector.FitOptions{CheckpointDir: dir})
		if err != nil {
			t.Fatalf("step %d: %v", at, err)
		}
		rm := resumed.Detector.(*Detector).Model
		if !slices.Equal(rm.History.Loss, wm.History.Loss) || rm.History.Steps() != 17 {
			t.Fatalf("step %d: history %v, want %v", at, rm.History.Loss, wm.History.Loss)
		}
		va, vb := rm.AE.Values(), wm.AE.Values()
		for i := range va {
			if !slices.Equal(va[i], vb[i]) {
				t.Fatalf("step %d: parameter %s differs", at, rm.AE.Params[i].Name)
			}
		}
	}
}

// TestSaveLoad: a saved model scores as the fitted one, its row names the
// feature network, and a truncated file or a model file given as a
// training checkpoint is refused.
func TestSaveLoad(t *testing.T) {
	d := tinyData(t)
	ctx := context.Background()
	m, err := detector.Fit(ctx, Method, tinySettings(), d, detector.FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Detector.Rows(); len(r) != 1 || r[0].Name != "DPA_rand" {
		t.Fatalf("rows %v", r)
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
		if a[i].Scores[ColScore] != b[i].Scores[ColScore] || !slices.Equal(a[i].Residual.Pix, b[i].Residual.Pix) {
			t.Fatalf("sample %d: %v fitted, %v loaded", i, a[i].Scores[ColScore], b[i].Scores[ColScore])
		}
		if a[i].Residual.H != 28 || a[i].Recon.W != 28 {
			t.Fatalf("sample %d: map %dx%d", i, a[i].Residual.H, a[i].Residual.W)
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
	if _, _, err := Load(bad); err == nil {
		t.Fatal("a truncated checkpoint loaded")
	}
	if _, _, err := ResumeTrainer(path, Config{}); err == nil {
		t.Fatal("a model file was resumed as a training checkpoint")
	}
}

// TestSmallPhantom fits the small setting on the phantom and checks its
// patch AUC against a floor. Skipped under -short.
func TestSmallPhantom(t *testing.T) {
	if testing.Short() {
		t.Skip("fits the small setting")
	}
	d, err := prep.Prepare(prep.Config{Data: "phantom", Size: 28, PatchSize: 32, TestPerClass: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := Setting("small")
	m, err := detector.Fit(context.Background(), Method, s, d, detector.FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Score(context.Background(), d.Test)
	if err != nil {
		t.Fatal(err)
	}
	auc := metrics.AUC(score.Column(res, ColScore), score.Labels(res))
	t.Logf("small setting on the phantom: patch AUC %.3f on %d test patches", auc, len(res))
	if auc < 0.6 {
		t.Fatalf("AUC %.3f below 0.6", auc)
	}
}

// TestSearch runs a grid of two points with tiny settings: one trial per
// point, the best by validation AUC, its values in the best settings, and
// the test split never read.
func TestSearch(t *testing.T) {
	d := tinyData(t)
	d.Test = nil // Search must not need it
	res, err := Search(context.Background(), d, tinySettings(), Grid{Layers: []string{Relu22, Relu32}, Latents: []int{4}}, detector.FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Trials) != 2 || res.Table().Nrow() != 2 || res.Choice.Trials != 2 {
		t.Fatalf("trials %+v", res.Trials)
	}
	b := res.Best
	if b.Chosen == nil || b.Train.Layer != res.Choice.Layer || b.Model.Latent != 4 || res.Choice.Normal == 0 || res.Choice.Anomalous == 0 {
		t.Fatalf("best %+v, choice %+v", b, res.Choice)
	}
	for _, tr := range res.Trials {
		if tr.ValAUC > res.Choice.ValAUC {
			t.Fatalf("trial %+v beats the choice %+v", tr, res.Choice)
		}
	}
	d.Val = d.Val[:1]
	if _, err := Search(context.Background(), d, tinySettings(), Grid{}, detector.FitOptions{}); err == nil {
		t.Fatal("a one-class validation split was searched")
	}
}
