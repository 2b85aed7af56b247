package jointenc

import (
	"context"
	"errors"
	"math"
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
	st.Model.Width, st.Model.Latent = 2, 8
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

// TestResumeExact interrupts a fit in a fade-in and in a stabilisation
// phase and resumes it: the three networks and the history equal those of
// an uninterrupted fit, bit for bit.
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
		if rm.History.Steps != 17 || !slices.Equal(rm.History.Losses["loss_e"].Value, wm.History.Losses["loss_e"].Value) {
			t.Fatalf("step %d: history of %d steps differs", at, rm.History.Steps)
		}
		for net, sets := range map[string][2][][]float32{
			"G": {rm.G.Values(), wm.G.Values()}, "D": {rm.D.Values(), wm.D.Values()}, "E": {rm.E.Values(), wm.E.Values()},
		} {
			for i := range sets[0] {
				if !slices.Equal(sets[0][i], sets[1][i]) {
					t.Fatalf("step %d: %s parameter %d differs", at, net, i)
				}
			}
		}
	}
}

// TestSaveLoad: a saved model scores as the fitted one, with finite
// scores, 28x28 maps and a query's scores independent of its batch.
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
	one, err := l.Score(ctx, d.Test[1:2])
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		for _, col := range []string{ColNorm, ColNormDev, ColResidual, ColFeature, ColAnoGAN} {
			v := a[i].Scores[col]
			if v != b[i].Scores[col] || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("sample %d %s: %v fitted, %v loaded", i, col, v, b[i].Scores[col])
			}
		}
		if a[i].Residual.H != 28 || a[i].Recon.W != 28 || !slices.Equal(a[i].Residual.Pix, b[i].Residual.Pix) {
			t.Fatalf("sample %d: maps differ", i)
		}
	}
	for _, col := range []string{ColNorm, ColResidual, ColFeature} {
		if got, want := one[0].Scores[col], a[1].Scores[col]; math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Fatalf("%s of a query alone %v, in its batch %v", col, got, want)
		}
	}
	if _, _, err := ResumeTrainer(filepath.Join(dir, ModelFile), Config{}); err == nil {
		t.Fatal("a model file was resumed as a training checkpoint")
	}
	// The two-sided cue is |‖E(x)‖ - median| / scale of the training norms.
	st := l.Detector.(*Detector).Model.Norms
	if st == nil || st.N != len(d.TrainSamples) || !(st.Scale > 0) {
		t.Fatalf("norm statistics %+v after loading, want N = %d and a positive scale", st, len(d.TrainSamples))
	}
	for i := range a {
		want := math.Abs(a[i].Scores[ColNorm]-st.Median) / st.Scale
		if got := a[i].Scores[ColNormDev]; math.Abs(got-want) > 1e-12*math.Max(1, want) {
			t.Fatalf("sample %d: %s %v, want %v", i, ColNormDev, got, want)
		}
	}
}

// TestNormStats checks FitNorms' median and scale and that a model without
// them is refused, not scored with a made-up cue.
func TestNormStats(t *testing.T) {
	d := tinyData(t)
	m, err := New(Config{Size: 28, Width: 4, Latent: 8}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Scorer{Model: m}).Score(context.Background(), d.Test); !errors.Is(err, ErrNoNorms) {
		t.Fatalf("scoring without norm statistics: %v, want ErrNoNorms", err)
	}
	if err := FitNorms(context.Background(), m, d.TrainSamples); err != nil {
		t.Fatal(err)
	}
	m.Norms = &NormStats{Median: 2, Scale: 0.5, N: 3}
	if got := m.Norms.Dev(1.5); got != 1 {
		t.Fatalf("Dev(1.5) = %v, want 1", got)
	}
	if got := m.Norms.Dev(3); got != 2 {
		t.Fatalf("Dev(3) = %v, want 2", got)
	}
	if got := median([]float64{5, 1, 3, 2}); got != 2.5 {
		t.Fatalf("median %v, want 2.5", got)
	}
	for _, bad := range []NormStats{{Scale: 0, N: 1}, {Scale: 1, N: 0}, {Median: math.NaN(), Scale: 1, N: 1}, {Scale: math.Inf(1), N: 1}} {
		if bad.validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestSmallPhantom fits the small setting on the phantom and logs the
// patch AUC of every column. Skipped under -short.
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
	for _, col := range []string{ColNorm, ColResidual, ColFeature, ColAnoGAN} {
		t.Logf("small setting on the phantom: %s patch AUC %.3f on %d test patches", col, metrics.AUC(score.Column(res, col), score.Labels(res)), len(res))
	}
	if auc := metrics.AUC(score.Column(res, ColNorm), score.Labels(res)); auc < 0.55 {
		t.Fatalf("‖E(x)‖ AUC %.3f below 0.55", auc)
	}
}
