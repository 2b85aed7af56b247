package anogan

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anogo/anogo/datasets/patch"
	"github.com/anogo/anogo/datasets/phantom"
	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dcgan"
	"github.com/anogo/anogo/sdk/mapper"
	"github.com/anogo/anogo/sdk/train"
)

func tinyConfig() Config {
	cfg := Small()
	cfg.Model = dcgan.Config{Size: 28, Width: 4, Latent: 8}
	cfg.Train.BatchSize = 16
	cfg.Steps = 6
	cfg.ACAESteps = 4
	cfg.PatchesPerImage = 2
	cfg.MaxTrain = 64
	cfg.TestPerClass = 8
	cfg.TrainScored = 4
	cfg.Mapping = mapper.Iterative{Steps: 5, LR: 0.05, Batch: 8, Seed: 1}
	return cfg
}

// TestEndToEnd trains a few steps with a checkpoint, resumes, maps, scores
// and builds Table 1 on the phantom.
func TestEndToEnd(t *testing.T) {
	cfg := tinyConfig()
	src, err := phantom.Open("train=20,val=2,test=10")
	if err != nil {
		t.Fatal(err)
	}
	d, err := PrepareSource(src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Train) != 40 || len(d.Test) != 16 {
		t.Fatalf("%d training patches and %d test patches, want 40 and 16", len(d.Train), len(d.Test))
	}
	for _, s := range d.Test {
		if s.Image.H != 28 || s.Image.W != 28 {
			t.Fatalf("test patch %s is %dx%d", s.ID, s.Image.H, s.Image.W)
		}
	}
	ctx := context.Background()
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "model.ckpt")

	// Three steps, a checkpoint, then three more from the checkpoint.
	m, _ := dcgan.New(cfg.Model, cfg.Train.Seed)
	tr, err := dcgan.NewTrainer(m, cfg.Train)
	if err != nil {
		t.Fatal(err)
	}
	opt := train.Options{Steps: 3, BatchSize: cfg.Train.BatchSize, Seed: 1, CheckpointPath: ckpt}
	if _, err := train.Run(ctx, tr, d.Train, opt, train.State{}); err != nil {
		t.Fatal(err)
	}
	tr2, st, err := dcgan.Resume(ckpt, cfg.Model)
	if err != nil {
		t.Fatal(err)
	}
	opt.Steps = cfg.Steps
	if st, err = train.Run(ctx, tr2, d.Train, opt, st); err != nil || st.Step != cfg.Steps {
		t.Fatalf("resumed run ended at %+v: %v", st, err)
	}
	ae, err := TrainACAE(ctx, cfg, d, "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Score(ctx, cfg, tr2.Model, ae, d.Test)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(d.Test) {
		t.Fatalf("%d results for %d samples", len(res), len(d.Test))
	}
	for _, r := range res {
		for _, c := range Columns {
			if v, ok := r.Scores[c]; !ok || math.IsNaN(v) || v < 0 {
				t.Fatalf("%s: score %s = %v", r.ID, c, v)
			}
		}
	}
	t1 := Table1(res)
	if t1.Err != nil {
		t.Fatal(t1.Err)
	}
	if rows, cols := t1.Dims(); rows != 4 || cols != 6 {
		t.Fatalf("Table 1 is %dx%d, want 4x6", rows, cols)
	}
	for i, name := range []string{"AnoGAN", "GAN_R", "P_D", "aCAE"} {
		if got := t1.Elem(i, 0).String(); got != name {
			t.Errorf("row %d is %s, want %s", i, got, name)
		}
		auc := t1.Col("auc").Elem(i).Float()
		if auc < 0 || auc > 1 {
			t.Errorf("%s: AUC %v", name, auc)
		}
	}
}

// TestRunReuse runs the whole experiment into a directory twice: the second
// run must load the models rather than train them, and give the same scores.
func TestRunReuse(t *testing.T) {
	cfg := tinyConfig()
	cfg.Data = "phantom:train=20,val=2,test=10"
	cfg.Out = t.TempDir()
	cfg.Reuse = true
	cfg.Ideal = true
	steps := 0
	count := func(train.Info) error { steps++; return nil }
	r1, err := Run(context.Background(), cfg, count)
	if err != nil {
		t.Fatal(err)
	}
	first := steps
	for _, f := range []string{"scores.csv", "train_scores.csv", "table1.csv", "auc_by_size.csv", "ideal_scores.csv", "results.csv", "scans.csv",
		"models/anogan/seed1/model.ckpt", "models/anogan/seed1/method.json", "models/acae/seed1/acae.ckpt", "models/acae/seed1/method.json"} {
		if _, err := os.Stat(filepath.Join(cfg.Out, f)); err != nil {
			t.Errorf("missing output: %v", err)
		}
	}
	r2, err := Run(context.Background(), cfg, count)
	if err != nil {
		t.Fatal(err)
	}
	if steps != first {
		t.Fatalf("second run trained %d steps; it should reuse the models", steps-first)
	}
	for i := range r1.Test {
		if r1.Test[i].Scores["A"] != r2.Test[i].Scores["A"] {
			t.Fatalf("%s: A %v then %v", r1.Test[i].ID, r1.Test[i].Scores["A"], r2.Test[i].Scores["A"])
		}
	}
	// Pixel level: AnoGAN's and the aCAE's stitched maps of whole scans.
	px, ok := r2.PixelLevel()
	if !ok {
		t.Fatalf("no pixel-level results: %v", r2.Experiment.Results)
	}
	if got := px.Col("method").Records(); !slices.Equal(got, []string{"AnoGAN", "aCAE"}) {
		t.Errorf("pixel-level rows %v, want AnoGAN and aCAE", got)
	}
	if err := Figures(r2, filepath.Join(cfg.Out, "figures")); err != nil {
		t.Fatal(err)
	}
	// The AUC by anomaly size counts every anomalous test patch once.
	sized, ok, err := BySize(r1.Test)
	if err != nil || !ok {
		t.Fatalf("BySize: ok %v, %v", ok, err)
	}
	if got, want := sized.Names(), []string{"pixels", "anomalous", "AnoGAN", "GAN_R", "P_D", "aCAE"}; !slices.Equal(got, want) {
		t.Errorf("BySize columns %v, want %v", got, want)
	}
	withIdeal, ok, err := r1.BySize()
	if err != nil || !ok {
		t.Fatalf("Report.BySize: ok %v, %v", ok, err)
	}
	if got, want := withIdeal.Names(), []string{"pixels", "anomalous", "AnoGAN", "GAN_R", "P_D", "aCAE", "ideal_R", "ideal_A"}; !slices.Equal(got, want) {
		t.Errorf("Report.BySize columns %v, want %v", got, want)
	}
	n := 0
	for _, c := range sized.Col("anomalous").Float() {
		n += int(c)
	}
	if want := cfg.TestPerClass; n != want {
		t.Errorf("BySize counts %d anomalous patches, want %d", n, want)
	}
}

// TestSmallSettingDetects runs the Small setting for real on the phantom
// (200 training steps; about a minute on two cores) and checks that the
// methods find the anomalies: AnoGAN and the aCAE well above chance, P_D
// above it. The bounds sit below the measured values (docs/results.md) so
// that a change of arithmetic does not trip them, but a broken mapping,
// score or training does.
func TestSmallSettingDetects(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the Small setting (about a minute); skipped with -short")
	}
	r, err := Run(context.Background(), Small())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"AnoGAN": 0.75, "GAN_R": 0.75, "P_D": 0.55, "aCAE": 0.75}
	methods := r.Table1.Col("method").Records()
	aucs := r.Table1.Col("auc").Float()
	for i, m := range methods {
		t.Logf("%s: AUC %.3f", m, aucs[i])
		if aucs[i] < want[m] {
			t.Errorf("%s: AUC %.3f on the phantom, want at least %.2f", m, aucs[i], want[m])
		}
	}
}

// TestIdeal scores test patches against the phantom's ideal reconstruction:
// the residual of a normal patch is speckle only, an anomalous patch keeps
// its lesion in the residual, so R ranks them far better than an untrained
// model could; Eq. (6) holds; sources without an ideal image say so.
func TestIdeal(t *testing.T) {
	cfg := tinyConfig()
	cfg.Data = "phantom:train=4,val=2,test=20"
	cfg.TestPerClass = 20
	d, err := Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := dcgan.New(cfg.Model, 1)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Ideal(cfg, d, m)
	if err != nil {
		t.Fatal(err)
	}
	var normalR, n float64
	for i, r := range res {
		if r.ID != d.Test[i].ID || r.Label != d.Test[i].Label {
			t.Fatalf("result %d is %s (label %d), sample %s (label %d)", i, r.ID, r.Label, d.Test[i].ID, d.Test[i].Label)
		}
		if a := 0.9*r.Scores["R"] + 0.1*r.Scores["D"]; math.Abs(a-r.Scores["A"]) > 1e-9*a {
			t.Fatalf("%s: A %v, want (1-λ)R + λD = %v", r.ID, r.Scores["A"], a)
		}
		if r.Label == 0 {
			normalR += r.Scores["R"]
			n++
		}
	}
	px := float64(cfg.Model.Size * cfg.Model.Size)
	rep := &Report{Test: res, Ideal: res}
	aucR, _, _ := rep.IdealAUC()
	t.Logf("ideal reconstruction: mean |x - ideal| %.3f per pixel on normal patches, R AUC %.3f", normalR/n/px, aucR)
	if normalR/n/px > 0.12 {
		t.Errorf("normal patches: mean |x - ideal| %.3f per pixel, want speckle only (< 0.12)", normalR/n/px)
	}
	if aucR < 0.85 {
		t.Errorf("ideal R: AUC %.3f, want >= 0.85", aucR)
	}
	flat := cfg
	flat.Flatten = true
	fd, err := Prepare(flat)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Ideal(flat, fd, m); !errors.Is(err, ErrNoIdeal) {
		t.Errorf("flattened scans: %v, want ErrNoIdeal", err)
	}
	if _, err := Ideal(cfg, &Data{Test: d.Test}, m); !errors.Is(err, ErrNoIdeal) {
		t.Errorf("data not made by Prepare: %v, want ErrNoIdeal", err)
	}
}

// TestPatchesHoldNoVitreous cuts 32x32 and 64x64 training patches from
// phantom scans with a foveal pit and a curved retina: the top row of every
// patch must lie inside the retina in all of its columns, so that no patch
// holds vitreous (the paper cuts from the extracted retina).
func TestPatchesHoldNoVitreous(t *testing.T) {
	src, err := phantom.Open("train=12,val=0,test=0")
	if err != nil {
		t.Fatal(err)
	}
	roiOf := src.(interface {
		ROI(data.Sample) (*data.Image, error)
	})
	scans := map[string]*data.Image{}
	for s, err := range src.Samples(data.Train) {
		if err != nil {
			t.Fatal(err)
		}
		if scans[s.ID], err = roiOf.ROI(s); err != nil {
			t.Fatal(err)
		}
	}
	for _, size := range []int{32, 64} {
		cfg := tinyConfig()
		cfg.PatchSize, cfg.Model.Size, cfg.PatchesPerImage, cfg.MaxTrain = size, 28, 64, 0
		cfg.TestPerClass = 0
		cfg.MaxTest = 1
		d, err := PrepareSource(src, cfg)
		if err != nil {
			t.Fatal(err)
		}
		bad := 0
		for _, s := range d.TrainSamples {
			parent, y, x, err := patch.ParseID(s.ID)
			if err != nil {
				t.Fatal(err)
			}
			roi := scans[parent]
			for c := x; c < x+size; c++ {
				if roi.At(y, c) == 0 {
					bad++
					t.Logf("%dx%d patch %s: top row outside the retina at column %d", size, size, s.ID, c)
					break
				}
			}
		}
		if bad > 0 {
			t.Errorf("%d of %d %dx%d patches start outside the retina", bad, len(d.TrainSamples), size, size)
		}
	}
}

// TestSeeds runs a tiny setting with two seeds: one row per seed that
// matches a run with that seed alone, and a summary of their mean, sd, min
// and max.
func TestSeeds(t *testing.T) {
	cfg := tinyConfig()
	cfg.Data = "phantom:train=10,val=2,test=10"
	cfg.Ideal = true
	cfg.Out = t.TempDir()
	per, sum, err := Seeds(context.Background(), cfg, []uint64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"seed", "AnoGAN", "GAN_R", "P_D", "aCAE", "ideal_R", "ideal_A"}
	if got := per.Names(); !slices.Equal(got, want) {
		t.Fatalf("columns %v, want %v", got, want)
	}
	if rows, _ := per.Dims(); rows != 2 {
		t.Fatalf("%d rows, want 2", rows)
	}
	alone := cfg.WithSeed(2)
	alone.Out = ""
	r, err := Run(context.Background(), alone)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := per.Col("AnoGAN").Float()[1], r.Table1.Col("auc").Float()[0]; got != want {
		t.Errorf("seed 2: AnoGAN %v in Seeds, %v alone", got, want)
	}
	if _, err := os.Stat(filepath.Join(cfg.Out, "seed2", "table1.csv")); err != nil {
		t.Errorf("seed 2's outputs: %v", err)
	}
	if rows, _ := sum.Dims(); rows != len(want)-1 || sum.Col("method").Records()[0] != "AnoGAN" {
		t.Fatalf("summary:\n%v", sum)
	}
	for i, m := range sum.Col("method").Records() {
		v := per.Col(m).Float()
		mean := (v[0] + v[1]) / 2
		sd := math.Abs(v[0]-v[1]) / math.Sqrt2
		row := sum.Subset(i)
		if math.Abs(row.Col("mean").Float()[0]-mean) > 1e-12 || math.Abs(row.Col("sd").Float()[0]-sd) > 1e-12 ||
			row.Col("min").Float()[0] != min(v[0], v[1]) || row.Col("max").Float()[0] != max(v[0], v[1]) {
			t.Errorf("%s: summary %v, values %v", m, row, v)
		}
	}
	if _, _, err := Seeds(context.Background(), cfg, nil); err == nil {
		t.Error("no seeds: no error")
	}
}

// TestScoreRefusesNaN: a model whose weights are extreme scores NaN; Score
// returns an error naming the sample instead of NaN scores (which anogo
// score wrote with exit 0).
func TestScoreRefusesNaN(t *testing.T) {
	cfg := tinyConfig()
	m, err := dcgan.New(cfg.Model, 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.ckpt")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	c, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range c.Tensors {
		for i := range tn.Data {
			tn.Data[i] = 1e30
		}
	}
	if err := checkpoint.Save(path, c); err != nil {
		t.Fatal(err)
	}
	if m, err = dcgan.Load(path); err != nil {
		t.Fatal(err)
	}
	img := data.NewImage(28, 28)
	_, err = Score(context.Background(), cfg, m, nil, []data.Sample{{ID: "scan7", Image: img, Label: data.Normal}})
	if err == nil || !strings.Contains(err.Error(), "scan7") {
		t.Errorf("scores of a model with weights 1e30: %v, want an error naming the sample", err)
	}
}
