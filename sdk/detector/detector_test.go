package detector_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/score"
)

// meanSettings are the settings of the test method "meandiff".
type meanSettings struct {
	Scale float64 `json:"scale"`
	Inner struct {
		Offset float64 `json:"offset"`
	} `json:"inner"`
}

// meanDiff scores an image by its mean absolute difference from the mean
// training image, times Scale, plus Offset; its map is that difference.
type meanDiff struct {
	s    meanSettings
	mean []float32
}

func (m *meanDiff) Fit(_ context.Context, d *prep.Data, _ detector.FitOptions) error {
	m.mean = make([]float32, len(d.Train[0].Pix))
	for _, im := range d.Train {
		for i, v := range im.Pix {
			m.mean[i] += v / float32(len(d.Train))
		}
	}
	return nil
}

func (m *meanDiff) Score(_ context.Context, ss []data.Sample) ([]score.Result, error) {
	out := make([]score.Result, len(ss))
	for i, s := range ss {
		mp := data.NewImage(s.Image.H, s.Image.W)
		sum := 0.0
		for j, v := range s.Image.Pix {
			mp.Pix[j] = float32(math.Abs(float64(v - m.mean[j])))
			sum += float64(mp.Pix[j])
		}
		out[i] = score.Result{ID: s.ID, Label: s.Label, Residual: mp, Query: s.Image, Mask: s.Mask,
			Scores: map[string]float64{"S": m.s.Scale*sum/float64(len(mp.Pix)) + m.s.Inner.Offset}}
	}
	return out, nil
}

func (m *meanDiff) Save(dir string) error {
	b, _ := json.Marshal(m.mean)
	return os.WriteFile(filepath.Join(dir, "mean.json"), b, 0o644)
}

func (m *meanDiff) Rows() []detector.Row {
	return []detector.Row{{Name: "MeanDiff", Column: "S", Map: true}}
}

func init() {
	detector.Register(detector.Method{
		Name: "meandiff", Summary: "test method",
		Settings: func(name string) (any, error) {
			if name != "small" && name != "" {
				return nil, fmt.Errorf("no setting %q", name)
			}
			return &meanSettings{Scale: 1}, nil
		},
		New: func(s any) (detector.Detector, error) { return &meanDiff{s: *s.(*meanSettings)}, nil },
		Load: func(dir string, s any) (detector.Detector, error) {
			b, err := os.ReadFile(filepath.Join(dir, "mean.json"))
			if err != nil {
				return nil, err
			}
			m := &meanDiff{s: *s.(*meanSettings)}
			return m, json.Unmarshal(b, &m.mean)
		},
	})
}

func tinyData(t *testing.T) *prep.Data {
	t.Helper()
	d, err := prep.Prepare(prep.Config{Data: "phantom:train=6,val=4,test=4", Size: 28, PatchSize: 32, PatchesPerImage: 4, TestPerClass: 8, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRoundTrip fits a registered method, saves it, loads it by its
// directory alone and checks that scores, settings and thresholds survive.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	d := tinyData(t)
	s, err := detector.Settings("meandiff", "small")
	if err != nil {
		t.Fatal(err)
	}
	if err := detector.Override(s, "scale=2", "inner.offset=0.5"); err != nil {
		t.Fatal(err)
	}
	m, err := detector.Fit(ctx, "meandiff", s, d, detector.FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Thresholds) != 1 || m.Thresholds[0].Rule != "youden" {
		t.Fatalf("thresholds %+v, want one chosen by Youden's index on the validation split", m.Thresholds)
	}
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	if !detector.Same(dir, "meandiff", s, d) {
		t.Error("Same: the saved model is not recognised as fitted with these settings")
	}
	other := &meanSettings{Scale: 3}
	if detector.Same(dir, "meandiff", other, d) {
		t.Error("Same: a model of other settings is taken as the same")
	}
	got, err := detector.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != "meandiff" || got.Settings.(*meanSettings).Scale != 2 || got.Settings.(*meanSettings).Inner.Offset != 0.5 {
		t.Errorf("loaded %s with settings %+v", got.Method, got.Settings)
	}
	if got.Thresholds[0] != m.Thresholds[0] {
		t.Errorf("threshold %+v after loading, %+v before", got.Thresholds[0], m.Thresholds[0])
	}
	a, err := m.Score(ctx, d.Test)
	if err != nil {
		t.Fatal(err)
	}
	b, err := got.Score(ctx, d.Test)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i].Scores["S"] != b[i].Scores["S"] {
			t.Fatalf("%s: score %v before saving, %v after loading", a[i].ID, a[i].Scores["S"], b[i].Scores["S"])
		}
	}
	pred, err := got.Predict(b)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range b {
		if want := r.Scores["S"] >= got.Thresholds[0].Value; (pred["MeanDiff"][i] == 1) != want {
			t.Fatalf("%s: predicted %d at score %v, threshold %v", r.ID, pred["MeanDiff"][i], r.Scores["S"], got.Thresholds[0].Value)
		}
	}
	// A directory whose fit did not finish is not a model.
	if err := os.Remove(filepath.Join(dir, detector.MetaFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := detector.Load(dir); !errors.Is(err, detector.ErrNoModel) {
		t.Errorf("Load without %s: %v, want ErrNoModel", detector.MetaFile, err)
	}
}

func TestRegistry(t *testing.T) {
	if _, err := detector.Lookup("nosuch"); err == nil || !strings.Contains(err.Error(), "meandiff") {
		t.Errorf("Lookup of an unknown name: %v; want an error listing the registered methods", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a name twice did not panic")
		}
	}()
	m, _ := detector.Lookup("meandiff")
	detector.Register(m)
}

func TestOverrideErrors(t *testing.T) {
	for i, kv := range []string{"nosuch=1", "inner=3", "scale", "scale=\"x\"", "inner.offset.deep=1"} {
		s := &meanSettings{}
		if err := detector.Override(s, kv); err == nil {
			t.Errorf("%d: Override(%q) gave no error", i, kv)
		}
	}
}

// TestColumnMissing: a missing score column is an error, never zeros.
func TestColumnMissing(t *testing.T) {
	res := []score.Result{{ID: "a", Scores: map[string]float64{"A": 1}}, {ID: "b", Scores: map[string]float64{"R": 1}}}
	if _, err := detector.Column(res, "A"); err == nil || !strings.Contains(err.Error(), "b") {
		t.Errorf("Column with a missing score: %v; want an error naming sample b", err)
	}
}

func TestQuantile(t *testing.T) {
	const tol = 1e-12
	for i, c := range []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{[]float64{3, 1, 2}, 0.5, 2},
		{[]float64{1, 2, 3, 4}, 0.95, 3.85}, // numpy.quantile([1,2,3,4], 0.95)
		{[]float64{5}, 0.95, 5},
	} {
		if got := detector.Quantile(c.xs, c.q); math.Abs(got-c.want) > tol {
			t.Errorf("%d: Quantile %v, want %v", i, got, c.want)
		}
	}
}
