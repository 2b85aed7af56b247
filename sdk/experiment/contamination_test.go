package experiment_test

import (
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/experiment"
	"github.com/anogo/anogo/sdk/prep"
)

const (
	fmnistDir     = "/usr/share/datasets/fashion-mnist"
	pneumoniaPath = "../../../shared/datasets/pneumoniamnist/pneumoniamnist.npz"
)

// sameSamples reports whether a and b hold the same samples (IDs, labels
// and pixels), in order.
func sameSamples(a, b []data.Sample) bool {
	return slices.EqualFunc(a, b, func(x, y data.Sample) bool {
		return x.ID == y.ID && x.Label == y.Label && slices.Equal(x.Image.Pix, y.Image.Pix)
	})
}

// TestContaminationKeepsValTest prepares every kind of source of the study
// clean and at 20 %: the validation and test sets are the same, the normal
// training images are those of the clean run, and anomalies make up the
// fraction γ of the training set (n = round(γN/(1-γ))).
func TestContaminationKeepsValTest(t *testing.T) {
	specs := []string{"phantom:train=40,val=4,test=12"}
	if _, err := os.Stat(filepath.Join(fmnistDir, "train-images-idx3-ubyte.gz")); err == nil {
		specs = append(specs, "idx:"+fmnistDir+":class=3")
	}
	if _, err := os.Stat(pneumoniaPath); err == nil {
		specs = append(specs, "medmnist:"+pneumoniaPath)
	}
	const gamma = 0.2
	for i, spec := range specs {
		src, used, err := experiment.ContaminableSource(spec)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		pc, err := experiment.DataSetting("small", used)
		if err != nil {
			t.Fatal(err)
		}
		pc.MaxTrain, pc.TestPerClass = min(max(pc.MaxTrain, 0), 300), 20
		if pc.PatchSize > 0 {
			pc.MaxTrain = 0
		}
		clean, err := prep.PrepareSource(src, pc)
		if err != nil {
			t.Fatalf("%d: %s clean: %v", i, spec, err)
		}
		pc.Contamination = gamma
		dirty, err := prep.PrepareSource(src, pc)
		if err != nil {
			t.Fatalf("%d: %s at %v: %v", i, spec, gamma, err)
		}
		if !sameSamples(clean.Val, dirty.Val) || !sameSamples(clean.Test, dirty.Test) {
			t.Errorf("%d: %s: validation or test set changed with the contamination", i, spec)
		}
		if slices.ContainsFunc(clean.TrainSamples, func(s data.Sample) bool { return s.Label != data.Normal }) {
			t.Errorf("%d: %s: the clean training set holds anomalies", i, spec)
		}
		var normal []data.Sample
		anom := 0
		for _, s := range dirty.TrainSamples {
			if s.Label == data.Anomalous {
				anom++
			} else {
				normal = append(normal, s)
			}
		}
		if !sameSamples(normal, clean.TrainSamples) {
			t.Errorf("%d: %s: the normal training images changed", i, spec)
		}
		n := len(clean.TrainSamples)
		if want := int(math.Round(gamma * float64(n) / (1 - gamma))); anom != want || anom == 0 {
			t.Errorf("%d: %s: %d anomalies beside %d normal images, want %d", i, spec, anom, n, want)
		}
		t.Logf("%s: %d normal + %d anomalous training samples, %d val, %d test", spec, n, anom, len(dirty.Val), len(dirty.Test))
		if strings.HasPrefix(spec, "idx:") {
			// The anomalies mix the other classes: the first 9 are 9 files' indices of 9 classes.
			ids := map[string]bool{}
			for _, s := range dirty.TrainSamples {
				if s.Label == data.Anomalous {
					ids[s.ID] = true
				}
			}
			if len(ids) != anom {
				t.Errorf("%d: repeated anomalies", i)
			}
		}
	}
}

// TestContaminationStudy runs the oracle on a tiny phantom at three levels
// and two seeds: the table's columns and rows, contamination.csv and the
// figures, and a rerun that reuses every model.
func TestContaminationStudy(t *testing.T) {
	out := t.TempDir()
	cfg := experiment.ContaminationConfig{
		Sources: []string{"phantom:train=40,val=4,test=12"},
		Levels:  []float64{0, 0.1, 0.2},
		Methods: []string{"oracle"},
		Seeds:   []uint64{1, 2},
		Prep:    func(c *prep.Config) { c.PatchesPerImage, c.TestPerClass, c.Scans = 4, 16, -1 },
		Out:     out, Reuse: true, Log: io.Discard,
	}
	fits = 0
	rep, err := experiment.Contamination(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Results.Names(); !slices.Equal(got, experiment.ContaminationColumns) {
		t.Fatalf("columns %v", got)
	}
	if n := rep.Results.Nrow(); n != 6 {
		t.Fatalf("%d rows, want 3 levels x 2 seeds", n)
	}
	if got := rep.Results.Col("contamination").Records(); !slices.Equal(got, []string{"0", "0", "0.1", "0.1", "0.2", "0.2"}) {
		t.Errorf("levels %v", got)
	}
	if got := rep.Results.Col("dataset").Records()[0]; got != "phantom" {
		t.Errorf("dataset %q", got)
	}
	if fits != 6 {
		t.Errorf("%d fits, want 6", fits)
	}
	for _, g := range cfg.Levels {
		dir := filepath.Join(experiment.LevelDir(out, cfg.Sources[0], g), "models", "oracle", "seed1")
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("no model for level %v: %v", g, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "contamination.csv")); err != nil {
		t.Error(err)
	}
	if err := rep.Write(out); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"contamination.png", "contamination.svg", "contamination.pdf", "contamination_phantom.png"} {
		if _, err := os.Stat(filepath.Join(out, "figures", f)); err != nil {
			t.Error(err)
		}
	}
	again, err := experiment.Contamination(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if fits != 6 {
		t.Errorf("the rerun fitted %d models again", fits-6)
	}
	if !slices.Equal(again.Results.Col("auc").Records(), rep.Results.Col("auc").Records()) {
		t.Error("the rerun's AUCs differ")
	}
	cfg.Levels = []float64{1}
	if _, err := experiment.Contamination(context.Background(), cfg); err == nil {
		t.Error("level 1 accepted")
	}
}
