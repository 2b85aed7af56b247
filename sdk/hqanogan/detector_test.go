package hqanogan

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/metrics"
	"github.com/anogo/anogo/sdk/params"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/psp"
	"github.com/anogo/anogo/sdk/score"
	"github.com/anogo/anogo/sdk/train"
)

func tinySettings() *Settings {
	s, _ := Setting("small")
	st := s.(*Settings)
	st.GAN.Width, st.GAN.MaxChannels, st.GAN.ZDim, st.GAN.WDim = 2, 8, 8, 8
	st.GANTrain.BatchSize, st.GANTrain.Steps = 4, 18
	st.ADA.P = 0.5 // exercise the augmentation and its saved state
	st.EncoderWidth, st.EncoderSteps = 2, 6
	st.EncoderTrain.BatchSize = 4
	st.EncoderTrain.Features.Width = 2
	st.K = 2
	return st
}

func tinyData(t testing.TB) *prep.Data {
	t.Helper()
	d, err := prep.Prepare(prep.Config{Data: "phantom:train=8,val=8,test=6", Size: 28, PatchSize: 32, PatchesPerImage: 4,
		TestPerClass: 4, ValNormal: 6, ValAnomalous: 6, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// stopAfter returns fit options whose hook cancels the fit after its
// at-th training step, counted over both stages (GAN, then encoder).
func stopAfter(dir string, at int, cancel context.CancelFunc) detector.FitOptions {
	n := 0
	return detector.FitOptions{CheckpointDir: dir, Hooks: []train.Hook{func(train.Info) error {
		if n++; n == at {
			cancel()
		}
		return nil
	}}}
}

func sameSets(t *testing.T, what string, a, b *params.Set) {
	t.Helper()
	av, bv := a.Values(), b.Values()
	if len(av) != len(bv) {
		t.Fatalf("%s: %d and %d parameters", what, len(av), len(bv))
	}
	for i := range av {
		if !slices.Equal(av[i], bv[i]) {
			t.Fatalf("%s: parameter %d differs", what, i)
		}
	}
}

// TestResumeExact interrupts a fit in the GAN's training (after its first
// lazy R1 cycle, with ADA's state) and in the encoder's, and resumes it:
// G, G_ema, D, the encoder, the histories and the chosen score equal those
// of an uninterrupted fit, bit for bit.
func TestResumeExact(t *testing.T) {
	d := tinyData(t)
	whole, err := detector.Fit(context.Background(), Method, tinySettings(), d, detector.FitOptions{CheckpointDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	w := whole.Detector.(*Detector)
	for _, at := range []int{17, 21} {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		_, err := detector.Fit(ctx, Method, tinySettings(), d, stopAfter(dir, at, cancel))
		cancel()
		if !errors.Is(err, train.ErrInterrupted) {
			t.Fatalf("step %d: the interrupted fit returned %v", at, err)
		}
		resumed, err := detector.Resume(context.Background(), Method, tinySettings(), d, detector.FitOptions{CheckpointDir: dir})
		if err != nil {
			t.Fatalf("step %d: %v", at, err)
		}
		r := resumed.Detector.(*Detector)
		sameSets(t, "G", &r.GAN.G, &w.GAN.G)
		sameSets(t, "G_ema", &r.GAN.GEMA, &w.GAN.GEMA)
		sameSets(t, "D", &r.GAN.D, &w.GAN.D)
		sameSets(t, "E", &r.Encoder.E, &w.Encoder.E)
		if !slices.Equal(r.GAN.History.Losses["p"].Value, w.GAN.History.Losses["p"].Value) ||
			!slices.Equal(r.Encoder.History.Losses["loss"].Value, w.Encoder.History.Losses["loss"].Value) {
			t.Fatalf("step %d: histories differ", at)
		}
		if r.Choice().Column != w.Choice().Column {
			t.Fatalf("step %d: chose %s, the whole fit %s", at, r.Choice().Column, w.Choice().Column)
		}
	}
	if ps := w.GAN.History.Losses["p"].Value; ps[0] != 0.5 {
		t.Fatalf("ADA's p starts at %v, want the set 0.5", ps[0])
	}
}

// TestSaveLoad: a saved model scores as the fitted one, the default score
// is the candidate of best validation AUROC, and the maps are 28x28.
func TestSaveLoad(t *testing.T) {
	d := tinyData(t)
	ctx := context.Background()
	m, err := detector.Fit(ctx, Method, tinySettings(), d, detector.FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	det := m.Detector.(*Detector)
	ch := det.Choice()
	if ch == nil || len(ch.Candidates) < 4 {
		t.Fatalf("choice %+v, want a table of the candidates", ch)
	}
	// The choice is the best validation AUROC, recomputed here.
	val, err := det.Score(ctx, d.Val)
	if err != nil {
		t.Fatal(err)
	}
	best := math.Inf(-1)
	for _, c := range ch.Candidates {
		auc := metrics.AUC(score.Column(val, c.Column), score.Labels(val))
		if math.Abs(auc-c.AUROC) > 1e-12 {
			t.Fatalf("%s: validation AUROC %v recorded, %v recomputed", c.Column, c.AUROC, auc)
		}
		best = math.Max(best, auc)
	}
	if ch.AUROC != best {
		t.Fatalf("chose %s with AUROC %v, the best is %v", ch.Column, ch.AUROC, best)
	}
	tab, err := det.ChoiceTable()
	if err != nil || tab.Nrow() != len(ch.Candidates) || tab.Ncol() != 3 {
		t.Fatalf("choice table %v (%v)", tab, err)
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
		for _, row := range det.Rows() {
			v := a[i].Scores[row.Column]
			if v != b[i].Scores[row.Column] || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("sample %d %s: %v fitted, %v loaded", i, row.Column, v, b[i].Scores[row.Column])
			}
		}
		if a[i].Scores[psp.ColDefault] != a[i].Scores[ch.Column] {
			t.Fatalf("sample %d: %s is not the chosen %s", i, psp.ColDefault, ch.Column)
		}
		if a[i].Residual.H != 28 || !slices.Equal(a[i].Residual.Pix, b[i].Residual.Pix) {
			t.Fatalf("sample %d: maps differ", i)
		}
	}
}

// TestSmallPhantom fits the small setting on the phantom and logs the
// patch AUC of every row. Skipped under -short.
func TestSmallPhantom(t *testing.T) {
	if testing.Short() {
		t.Skip("fits the small setting")
	}
	d, err := prep.Prepare(prep.Config{Data: "phantom", Size: 28, PatchSize: 32, TestPerClass: 100, ValNormal: 64, ValAnomalous: 16, Seed: 1})
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
	t.Logf("chosen on validation: %+v", m.Detector.(*Detector).Choice())
	for _, row := range m.Detector.Rows() {
		t.Logf("small setting on the phantom: %s (%s) patch AUC %.3f", row.Name, row.Column, metrics.AUC(score.Column(res, row.Column), score.Labels(res)))
	}
	if auc := metrics.AUC(score.Column(res, psp.ColR), score.Labels(res)); auc < 0.55 {
		t.Fatalf("A_R AUC %.3f below 0.55", auc)
	}
}
