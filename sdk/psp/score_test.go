package psp

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/metrics"
	"github.com/anogo/anogo/sdk/score"
)

// results builds validation results with the given columns' scores.
func results(labels []int, cols map[string][]float64) []score.Result {
	out := make([]score.Result, len(labels))
	for i, l := range labels {
		sc := map[string]float64{}
		for c, v := range cols {
			sc[c] = v[i]
		}
		out[i] = score.Result{ID: fmt.Sprint("v", i), Label: l, Scores: sc}
	}
	return out
}

// TestChooseDefault: on constructed scores the best column is chosen,
// every candidate's AUROC is the one metrics.AUC gives, ties go to the
// column listed first, and missing classes or columns are errors.
func TestChooseDefault(t *testing.T) {
	labels := []int{0, 0, 0, 0, 1, 1, 1, 1, data.Unknown}
	cols := map[string][]float64{
		ColR:    {1, 2, 3, 4, 1.5, 2.5, 3.5, 4.5, 100}, // AUC 10/16
		ColMaha: {1, 2, 3, 4, 3.5, 5, 6, 7, -100},      // AUC 15/16
		ColKNN:  {1, 2, 3, 4, 5, 6, 7, 8, -100},        // AUC 1
		ColL2:   {8, 7, 6, 5, 4, 3, 2, 1, 0},           // AUC 0
	}
	val := results(labels, cols)
	ch, err := ChooseDefault(val, []string{ColR, ColMaha, ColKNN, ColL2})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Column != ColKNN || ch.AUROC != 1 {
		t.Errorf("chose %s (AUROC %v), want %s (1)", ch.Column, ch.AUROC, ColKNN)
	}
	want := map[string]float64{ColR: 10.0 / 16, ColMaha: 15.0 / 16, ColKNN: 1, ColL2: 0}
	if len(ch.Candidates) != 4 {
		t.Fatalf("%d candidates, want 4", len(ch.Candidates))
	}
	for i, c := range ch.Candidates {
		if c.Column != []string{ColR, ColMaha, ColKNN, ColL2}[i] {
			t.Errorf("candidate %d is %s", i, c.Column)
		}
		if math.Abs(c.AUROC-want[c.Column]) > 1e-12 || c.AUROC != metrics.AUC(cols[c.Column], labels) {
			t.Errorf("%s: AUROC %v, want %v", c.Column, c.AUROC, want[c.Column])
		}
	}
	// A tie goes to the first listed.
	cols["A_R+knn@0.50"] = cols[ColKNN]
	val = results(labels, cols)
	if ch, _ := ChooseDefault(val, []string{"A_R+knn@0.50", ColKNN}); ch.Column != "A_R+knn@0.50" {
		t.Errorf("tie: chose %s", ch.Column)
	}
	// nil columns: every column, in name order ("A_R+knn@0.50" before
	// "A_knn", which it ties).
	if ch, err := ChooseDefault(val, nil); err != nil || ch.Column != "A_R+knn@0.50" || len(ch.Candidates) != 5 {
		t.Errorf("all columns: chose %s of %d (%v)", ch.Column, len(ch.Candidates), err)
	}
	cols["A_nan"] = []float64{math.NaN(), 0, 0, 0, 0, 0, 0, 0, 0}
	for _, c := range []struct {
		name   string
		labels []int
		cols   []string
		want   string
	}{
		{"no anomalies", []int{0, 0, 0, 0, 0, 0, 0, 0, 0}, []string{ColR}, "no anomalous"},
		{"no normals", []int{1, 1, 1, 1, 1, 1, 1, 1, -1}, []string{ColR}, "no normal"},
		{"missing column", labels, []string{ColR, "A_nope"}, `no score "A_nope"`},
		{"NaN score", labels, []string{ColR, "A_nan"}, "A_nan: metrics: score 0 is NaN"},
	} {
		_, err := ChooseDefault(results(c.labels, cols), c.cols)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
	if _, err := ChooseDefault(nil, nil); err == nil {
		t.Error("no results: no error")
	}
	m := &Model{}
	if err := m.SetDefault(Choice{Column: ColMaha}); err == nil {
		t.Error("SetDefault of a latent score without a fit: no error")
	}
	if err := m.SetDefault(Choice{Column: "A_other"}); err == nil {
		t.Error("SetDefault of an unknown column: no error")
	}
	if err := m.SetDefault(Choice{Column: ColR}); err != nil {
		t.Error(err)
	}
}

// TestLedoitWolfLimits: isotropic data shrinks almost fully towards m·I
// when samples are few, and data of strong correlation with many samples
// barely.
func TestLedoitWolfLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	draw := func(n, p int, corr bool) [][]float64 {
		x := make([][]float64, n)
		for i := range x {
			x[i] = make([]float64, p)
			z := rng.NormFloat64()
			for j := range x[i] {
				x[i][j] = rng.NormFloat64()
				if corr {
					x[i][j] = 3*z + 0.1*x[i][j]
				}
			}
		}
		return x
	}
	if _, d := LedoitWolf(draw(10, 20, false)); !(d > 0.8 && d <= 1) {
		t.Errorf("isotropic, 10 samples of 20: shrinkage %v", d)
	}
	if _, d := LedoitWolf(draw(2000, 5, true)); !(d >= 0 && d < 0.05) {
		t.Errorf("correlated, 2000 samples of 5: shrinkage %v", d)
	}
}

// scoredModel trains a small encoder for a few steps and fits its latent
// statistics on the training images.
func scoredModel(t *testing.T) (*testGen, *Model, []data.Sample, []data.Sample) {
	t.Helper()
	g := newTestGen(28, 6, 4, 2, 3)
	_, ims := codesSet(t, g, 24, 0.5, 1)
	m, err := New(ConfigFor(g, 2, 1), g, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := tinyTrainConfig()
	cfg.BatchSize = 4
	tr, err := NewTrainer(m, g, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		batch := make([]float32, 0, 4*28*28)
		for _, im := range ims[4*i : 4*i+4] {
			batch = append(batch, im.Pix...)
		}
		if _, err := tr.Step(batch, 4); err != nil {
			t.Fatal(err)
		}
	}
	var train []data.Sample
	for i, im := range ims {
		train = append(train, data.Sample{ID: fmt.Sprint("train", i), Image: im})
	}
	// Validation: normal images of other codes, anomalous ones of codes
	// three times as spread.
	_, nv := codesSet(t, g, 6, 0.5, 2)
	_, av := codesSet(t, g, 6, 1.5, 3)
	var val []data.Sample
	for i, im := range append(nv, av...) {
		val = append(val, data.Sample{ID: fmt.Sprint("val", i), Image: im, Label: i / 6})
	}
	if err := (&Scorer{Model: m, Gen: g}).Fit(context.Background(), train, 3); err != nil {
		t.Fatal(err)
	}
	return g, m, train, val
}

// TestScores: every column is finite, the combined scores are the
// standardised formula, the default repeats the chosen column, and
// mis-shaped or damaged input is refused naming the sample.
func TestScores(t *testing.T) {
	g, m, train, val := scoredModel(t)
	ctx := context.Background()
	s := &Scorer{Model: m, Gen: g, BatchSize: 5}
	res, err := s.Score(ctx, val)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := ChooseDefault(res, s.Columns())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ch.Candidates {
		t.Logf("validation AUROC of %s: %.3f", c.Column, c.AUROC)
	}
	if err := m.SetDefault(ch); err != nil {
		t.Fatal(err)
	}
	cols := s.Columns()
	if len(cols) != 4+3*len(alphas)+1 || cols[len(cols)-1] != ColDefault {
		t.Fatalf("columns %v", cols)
	}
	if res, err = s.Score(ctx, val); err != nil {
		t.Fatal(err)
	}
	lat := m.Latent
	for _, r := range res {
		for _, c := range cols {
			v, ok := r.Scores[c]
			if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s: %s = %v (present %v)", r.ID, c, v, ok)
			}
		}
		if r.Scores[ColDefault] != r.Scores[ch.Column] {
			t.Errorf("%s: %s %v, the chosen %s %v", r.ID, ColDefault, r.Scores[ColDefault], ch.Column, r.Scores[ch.Column])
		}
		want := (1-0.25)*(r.Scores[ColR]-lat.Norm[ColR].Mean)/lat.Norm[ColR].Std + 0.25*(r.Scores[ColKNN]-lat.Norm[ColKNN].Mean)/lat.Norm[ColKNN].Std
		if got := r.Scores[CombinedCol(ColKNN, 0.25)]; math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("%s: combined %v, want %v", r.ID, got, want)
		}
		if r.Residual == nil || r.Recon == nil || len(r.Z) != 6*4 {
			t.Fatalf("%s: no map, reconstruction or code", r.ID)
		}
		for i, v := range r.Residual.Pix {
			if d := math.Abs(float64(r.Query.Pix[i] - r.Recon.Pix[i])); float64(v) != d {
				t.Fatalf("%s: map %v at %d, |x - G(E(x))| %v", r.ID, v, i, d)
			}
		}
	}
	// The training statistics: the kNN leaves each image's own code out.
	if st := lat.Norm[ColKNN]; !(st.Mean > 0) {
		t.Errorf("kNN on the training images has mean %v", st.Mean)
	}
	for name, smp := range map[string]data.Sample{
		"wrong size": {ID: "small", Image: data.NewImage(14, 14)},
		"no image":   {ID: "none"},
		"NaN pixel":  {ID: "nan", Image: &data.Image{H: 28, W: 28, Pix: append([]float32{float32(math.NaN())}, make([]float32, 28*28-1)...)}},
	} {
		_, err := s.Score(ctx, []data.Sample{train[0], smp})
		if err == nil || !strings.Contains(err.Error(), smp.ID) {
			t.Errorf("%s: error %v, want one naming %q", name, err, smp.ID)
		}
	}
	other := newTestGen(28, 6, 4, 2, 4)
	if _, err := (&Scorer{Model: m, Gen: other}).Score(ctx, val); err == nil || !strings.Contains(err.Error(), "w_avg") {
		t.Errorf("another generator: error %v", err)
	}
	if _, err := (&Scorer{Model: m, Gen: newTestGen(32, 6, 4, 2, 3)}).Score(ctx, val); err == nil {
		t.Error("a generator of another size: no error")
	}
	// A fit without the training statistics (FitLatent alone) is refused.
	full := m.Latent
	bare := *full
	bare.Norm = nil
	m.Latent = &bare
	if _, err := s.Score(ctx, val); err == nil || !strings.Contains(err.Error(), "Scorer.Fit") {
		t.Errorf("a fit without statistics: %v", err)
	}
	m.Latent = full
	// Training on changes the codes: the fit and the default are dropped.
	cfg := tinyTrainConfig()
	cfg.BatchSize = 1
	tr, err := NewTrainer(m, g, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Step(train[0].Image.Pix, 1); err != nil {
		t.Fatal(err)
	}
	if m.Latent != nil || m.Default != nil || len(s.Columns()) != 1 {
		t.Errorf("after a training step: latent fit %v, default %v, columns %v", m.Latent != nil, m.Default, s.Columns())
	}
}

// TestErrors: bad configurations, generators, batches and fits are
// refused with errors that say what is wrong.
func TestErrors(t *testing.T) {
	g := newTestGen(28, 6, 4, 2, 3)
	good := ConfigFor(g, 2, 1)
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Size: 30, NumWs: 6, WDim: 4, Width: 2, Blocks: 1}, "image size 30"},
		{Config{Size: 28, NumWs: 2, WDim: 4, Width: 2, Blocks: 1}, "2 ws"},
		{Config{Size: 28, NumWs: 6, WDim: 0, Width: 2, Blocks: 1}, "w size 0"},
		{Config{Size: 28, NumWs: 6, WDim: 4, Width: 0, Blocks: 1}, "width 0"},
		{Config{Size: 28, NumWs: 6, WDim: 4, Width: 2, Blocks: 9}, "9 blocks"},
	} {
		if err := c.cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.cfg, err, c.want)
		}
	}
	wrong := good
	wrong.NumWs = 8
	if _, err := New(wrong, g, 1); err == nil || !strings.Contains(err.Error(), "the generator makes") {
		t.Errorf("mismatched generator: %v", err)
	}
	m, err := New(good, g, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := tinyTrainConfig()
	cfg.BatchSize = 2
	bad := cfg
	bad.LR = -1
	if _, err := NewTrainer(m, g, bad); err == nil {
		t.Error("negative learning rate: no error")
	}
	bad = cfg
	bad.L2, bad.LPIPS = 0, 0
	if _, err := NewTrainer(m, g, bad); err == nil {
		t.Error("no loss term: no error")
	}
	bad = cfg
	bad.Layers = []string{"relu9_9"}
	if _, err := NewTrainer(m, g, bad); err == nil || !strings.Contains(err.Error(), "relu9_9") {
		t.Errorf("unknown feature layer: %v", err)
	}
	tr, err := NewTrainer(m, g, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Step(make([]float32, 3*28*28), 3); err == nil {
		t.Error("batch of 3 for a trainer of 2: no error")
	}
	if _, err := tr.Step(make([]float32, 28*28), 2); err == nil {
		t.Error("too few values: no error")
	}
	if _, err := FitLatent([][]float32{make([]float32, 24), make([]float32, 24)}, 6, 4, 5); err == nil {
		t.Error("a kNN of 5 on 2 codes: no error")
	}
	same := [][]float32{make([]float32, 24), make([]float32, 24), make([]float32, 24)}
	if _, err := FitLatent(same, 6, 4, 1); err == nil {
		t.Error("identical codes: no error")
	}
	if _, err := FitLatent([][]float32{make([]float32, 24), make([]float32, 23)}, 6, 4, 1); err == nil {
		t.Error("a code of the wrong size: no error")
	}
}

// TestGroups: pSp's split of 18 ws (3 coarse, 4 medium, 11 fine) and its
// scaling to other numbers of ws, each group one w at least.
func TestGroups(t *testing.T) {
	for _, c := range []struct{ n, coarse, medium int }{{18, 3, 7}, {8, 1, 3}, {10, 2, 4}, {14, 2, 5}, {3, 1, 2}, {6, 1, 2}} {
		co, me := Config{NumWs: c.n}.Groups()
		if co != c.coarse || me != c.medium {
			t.Errorf("%d ws: groups end at %d and %d, want %d and %d", c.n, co, me, c.coarse, c.medium)
		}
	}
	for n := 3; n <= 64; n++ {
		co, me := Config{NumWs: n}.Groups()
		if !(co >= 1 && me > co && n > me) {
			t.Errorf("%d ws: groups end at %d and %d", n, co, me)
		}
	}
	if s := (Config{Size: 28}).sides(); s != [3]int{14, 7, 4} {
		t.Errorf("sides at 28: %v", s)
	}
}
