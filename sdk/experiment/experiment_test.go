package experiment_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/experiment"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/score"
)

// oracle is a test method whose anomaly map is the annotation itself (row
// Oracle) and whose second row has a flat map (Flat): the runner must
// report pixel AUROC and Dice near 1 for the first and 0.5 / the Dice of
// calling everything anomalous for the second.
type oracle struct{ fits *int }

type oracleSettings struct {
	Seed uint64 `json:"seed"`
}

func (s *oracleSettings) SetSeed(seed uint64) { s.Seed = seed }

func (o *oracle) Fit(context.Context, *prep.Data, detector.FitOptions) error { *o.fits++; return nil }
func (o *oracle) Save(dir string) error {
	return os.WriteFile(filepath.Join(dir, "oracle"), nil, 0o644)
}
func (o *oracle) Rows() []detector.Row {
	return []detector.Row{{Name: "Oracle", Column: "O", Map: true}}
}
func (o *oracle) Score(_ context.Context, ss []data.Sample) ([]score.Result, error) {
	out := make([]score.Result, len(ss))
	for i, s := range ss {
		mp := data.NewImage(s.Image.H, s.Image.W)
		v := 0.0
		if s.Mask != nil {
			copy(mp.Pix, s.Mask.Pix)
			for _, m := range s.Mask.Pix {
				v += float64(m)
			}
		}
		out[i] = score.Result{ID: s.ID, Label: s.Label, Residual: mp, Query: s.Image, Mask: s.Mask, Scores: map[string]float64{"O": v}}
	}
	return out, nil
}

var fits int

func init() {
	detector.Register(detector.Method{
		Name: "oracle", Summary: "test method: the annotation as the map",
		Settings: func(string) (any, error) { return &oracleSettings{Seed: 1}, nil },
		New:      func(any) (detector.Detector, error) { return &oracle{fits: &fits}, nil },
		Load:     func(string, any) (detector.Detector, error) { return &oracle{fits: &fits}, nil },
	})
}

func TestRunPixelLevelAndReuse(t *testing.T) {
	ctx := context.Background()
	cfg := experiment.Config{
		Data:    prep.Config{Data: "phantom:train=6,val=4,test=10", Size: 28, PatchSize: 32, PatchesPerImage: 4, TestPerClass: 16, Scans: 2},
		Methods: []string{"oracle"}, Seeds: []uint64{1, 2}, Out: t.TempDir(), Reuse: true,
	}
	fits = 0
	rep, err := experiment.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Results.Names(); !slices.Equal(got, experiment.ResultColumns) {
		t.Fatalf("columns %v, want %v", got, experiment.ResultColumns)
	}
	if n := rep.Results.Nrow(); n != 2 {
		t.Fatalf("%d rows, want one per seed", n)
	}
	for i := range 2 {
		row := rep.Results.Subset(i)
		get := func(c string) float64 {
			v, err := strconv.ParseFloat(row.Col(c).Records()[0], 64)
			if err != nil {
				t.Fatalf("%s: %v", c, err)
			}
			return v
		}
		if auc := get("auc"); auc != 1 {
			t.Errorf("seed %d: image AUC %v of the oracle, want 1", i+1, auc)
		}
		// Masks shrunk to 28 and stitched back at 32 blur the edges a little.
		if px, dice := get("pixel_auc"), get("dice"); px < 0.97 || dice < 0.8 {
			t.Errorf("seed %d: pixel AUROC %v, Dice %v of the oracle's maps", i+1, px, dice)
		}
		if got := row.Col("dataset").Records()[0]; got != "phantom" {
			t.Errorf("dataset %q", got)
		}
	}
	if fits != 2 {
		t.Errorf("%d fits, want 2", fits)
	}
	if len(rep.Runs[0].Scans) != 4 {
		t.Errorf("%d scans, want 2 per class", len(rep.Runs[0].Scans))
	}
	for _, f := range []string{"models/oracle/seed1/method.json", "models/oracle/seed2/oracle"} {
		if _, err := os.Stat(filepath.Join(cfg.Out, f)); err != nil {
			t.Error(err)
		}
	}
	// The second run loads both models.
	rep2, err := experiment.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if fits != 2 || !rep2.Runs[0].Reused || !rep2.Runs[1].Reused {
		t.Errorf("second run fitted again (%d fits)", fits)
	}
	if err := rep2.Write(cfg.Out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Out, "scans.csv")); err != nil {
		t.Error(err)
	}
	if _, err := experiment.AUCFigure(rep2.Results, "auc", "test"); err != nil {
		t.Error(err)
	}
	if _, err := rep2.Runs[0].MapFigure(2); err != nil {
		t.Error(err)
	}
	if _, err := experiment.ResidualsBeside([]*experiment.MethodRun{rep2.Runs[0], rep2.Runs[0]}, 3); err != nil {
		t.Error(err)
	}
	// The seeds draw different test patches.
	if _, err := experiment.ResidualsBeside(rep2.Runs, 3); err == nil {
		t.Error("runs of different test samples were shown side by side")
	}
}

func TestNames(t *testing.T) {
	for i, c := range []struct{ src, dataset, class string }{
		{"phantom", "phantom", ""},
		{"idx:/usr/share/datasets/fashion-mnist:class=3", "fashion-mnist", "3"},
		{"medmnist:../shared/datasets/pneumoniamnist/pneumoniamnist.npz", "pneumoniamnist", ""},
		{"medmnist:x/pneumoniamnist.npz:normal=0", "pneumoniamnist", "0"},
	} {
		if d, cl := experiment.Names(c.src); d != c.dataset || cl != c.class {
			t.Errorf("%d: Names(%q) = %q, %q; want %q, %q", i, c.src, d, cl, c.dataset, c.class)
		}
	}
}
