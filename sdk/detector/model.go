package detector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/metrics"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/score"
)

// MetaFile is the name of the file in a model directory that says which
// method, with which settings, on which data, fitted the model, and holds
// its thresholds.
const MetaFile = "method.json"

// NormalQuantile is the quantile of the validation split's normal scores
// used as the threshold when the split holds no anomaly: 5% of normal
// images are then called anomalous.
const NormalQuantile = 0.95

// Threshold is the operating threshold of one row: a score at or above
// Value is called anomalous. Rule says how it was chosen: "youden" (Youden's
// index on the validation split, which holds both classes) or
// "normal-q0.95" (the 0.95 quantile of the validation split's normal
// scores).
type Threshold struct {
	Row    string  `json:"row"`
	Column string  `json:"column"`
	Value  float64 `json:"value"`
	Rule   string  `json:"rule"`
	// Normal and Anomalous count the validation samples it was chosen on.
	Normal    int `json:"normal"`
	Anomalous int `json:"anomalous"`
}

// Model is a fitted detector with what travels with it.
type Model struct {
	Method   string
	Settings any
	Detector Detector
	// Size is the side of the images it was fitted on; Digest identifies
	// those images (prep.Data.Digest), Data their preparation.
	Size   int
	Digest uint64
	Data   prep.Config
	// Thresholds holds one entry per row (Calibrate).
	Thresholds []Threshold
}

type meta struct {
	Method     string          `json:"method"`
	Settings   json.RawMessage `json:"settings"`
	Size       int             `json:"size"`
	Digest     uint64          `json:"training_digest"`
	Data       prep.Config     `json:"data"`
	Thresholds []Threshold     `json:"thresholds"`
	// Complete is set once the fit finished; a directory holding only
	// checkpoints of an interrupted fit has it false.
	Complete bool `json:"complete"`
}

// Fit builds the named method's detector with settings (nil: its "small"
// setting), fits it on d and chooses its thresholds on d.Val.
func Fit(ctx context.Context, method string, settings any, d *prep.Data, opt FitOptions) (*Model, error) {
	return fit(ctx, method, settings, d, func(det Detector) error { return det.Fit(ctx, d, opt) })
}

// Resume continues the named method's fit interrupted after a checkpoint in
// opt.CheckpointDir (the detector must be a Resumer) and chooses its
// thresholds, as Fit does.
func Resume(ctx context.Context, method string, settings any, d *prep.Data, opt FitOptions) (*Model, error) {
	return fit(ctx, method, settings, d, func(det Detector) error {
		r, ok := det.(Resumer)
		if !ok {
			return fmt.Errorf("detector: %s cannot resume a fit (no Resume method); fit it again", method)
		}
		if opt.CheckpointDir == "" {
			return fmt.Errorf("detector: %s: resume needs the checkpoint directory", method)
		}
		return r.Resume(ctx, d, opt)
	})
}

// fit builds the detector, trains it with train and calibrates it.
func fit(ctx context.Context, method string, settings any, d *prep.Data, train func(Detector) error) (*Model, error) {
	m, err := Lookup(method)
	if err != nil {
		return nil, err
	}
	if settings == nil {
		if settings, err = m.Settings("small"); err != nil {
			return nil, err
		}
	}
	det, err := m.New(settings)
	if err != nil {
		return nil, fmt.Errorf("detector: %s: %w", method, err)
	}
	if err := train(det); err != nil {
		return nil, err
	}
	mod := &Model{Method: method, Settings: settings, Detector: det, Size: d.Config.Size, Digest: d.Digest, Data: d.Config}
	if err := mod.Calibrate(ctx, d); err != nil {
		return nil, err
	}
	return mod, nil
}

// Calibrate chooses the threshold of every row on d.Val (on the first 64
// training samples when d.Val is empty): Youden's cut-off when the split
// holds both classes, else the NormalQuantile of its normal scores.
func (m *Model) Calibrate(ctx context.Context, d *prep.Data) error {
	val := d.Val
	if len(data.Filter(val, data.Normal)) == 0 {
		val = d.TrainSamples[:min(64, len(d.TrainSamples))]
	}
	res, err := m.Detector.Score(ctx, val)
	if err != nil {
		return fmt.Errorf("detector: %s: scoring the validation split: %w", m.Method, err)
	}
	labels := score.Labels(res)
	m.Thresholds = m.Thresholds[:0]
	for _, row := range m.Detector.Rows() {
		col, err := Column(res, row.Column)
		if err != nil {
			return fmt.Errorf("detector: %s: %w", m.Method, err)
		}
		t := Threshold{Row: row.Name, Column: row.Column}
		var normal []float64
		for i, l := range labels {
			switch l {
			case data.Normal:
				t.Normal++
				normal = append(normal, col[i])
			case data.Anomalous:
				t.Anomalous++
			}
		}
		if t.Normal > 0 && t.Anomalous > 0 {
			t.Rule, t.Value = "youden", metrics.Youden(col, labels).Threshold
		}
		if t.Rule == "" || math.IsNaN(t.Value) || math.IsInf(t.Value, 0) {
			t.Rule, t.Value = fmt.Sprintf("normal-q%.2f", NormalQuantile), Quantile(normal, NormalQuantile)
		}
		m.Thresholds = append(m.Thresholds, t)
	}
	return nil
}

// Quantile returns the q-quantile of xs by linear interpolation between
// order statistics (R's type 7, numpy's default); NaN for no values.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	h := q * float64(len(s)-1)
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}

// Score scores samples with the detector.
func (m *Model) Score(ctx context.Context, samples []data.Sample) ([]score.Result, error) {
	for _, s := range samples {
		if s.Image == nil || s.Image.H != m.Size || s.Image.W != m.Size {
			h, w := 0, 0
			if s.Image != nil {
				h, w = s.Image.H, s.Image.W
			}
			return nil, fmt.Errorf("detector: %s: sample %s is %dx%d, the model was fitted on %dx%d", m.Method, s.ID, w, h, m.Size, m.Size)
		}
	}
	res, err := m.Detector.Score(ctx, samples)
	if err != nil {
		return nil, err
	}
	for _, r := range res {
		for k, v := range r.Scores {
			if math.IsNaN(v) {
				return nil, fmt.Errorf("detector: %s: score %s of %s is NaN", m.Method, k, r.ID)
			}
		}
	}
	return res, nil
}

// Predict returns, for each row, the predicted label of every result: 1
// when its score is at or above the row's threshold, else 0.
func (m *Model) Predict(res []score.Result) (map[string][]int, error) {
	out := map[string][]int{}
	for _, t := range m.Thresholds {
		col, err := Column(res, t.Column)
		if err != nil {
			return nil, err
		}
		p := make([]int, len(col))
		for i, v := range col {
			if v >= t.Value {
				p[i] = 1
			}
		}
		out[t.Row] = p
	}
	return out, nil
}

// Save writes the model into dir (created if needed): the detector's files
// and MetaFile, written last, so a directory with a complete MetaFile holds
// a complete model.
func (m *Model) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := m.Detector.Save(dir); err != nil {
		return fmt.Errorf("detector: %s: saving into %s: %w", m.Method, dir, err)
	}
	b, err := m.meta(true)
	if err != nil {
		return err
	}
	return data.WriteFile(filepath.Join(dir, MetaFile), func(w io.Writer) error { _, err := w.Write(b); return err })
}

func (m *Model) meta(complete bool) ([]byte, error) {
	s, err := json.Marshal(m.Settings)
	if err != nil {
		return nil, fmt.Errorf("detector: %s: settings: %w", m.Method, err)
	}
	return json.MarshalIndent(meta{Method: m.Method, Settings: s, Size: m.Size, Digest: m.Digest, Data: m.Data,
		Thresholds: m.Thresholds, Complete: complete}, "", "  ")
}

// ErrNoModel is Load's error for a directory without a complete model.
var ErrNoModel = errors.New("detector: no complete model")

// Load reads a model directory written by Save.
func Load(dir string) (*Model, error) {
	b, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w in %s (no %s)", ErrNoModel, dir, MetaFile)
		}
		return nil, err
	}
	var md meta
	if err := json.Unmarshal(b, &md); err != nil {
		return nil, fmt.Errorf("detector: %s: %w", filepath.Join(dir, MetaFile), err)
	}
	if !md.Complete {
		return nil, fmt.Errorf("%w in %s: its fit did not finish", ErrNoModel, dir)
	}
	m, err := Lookup(md.Method)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, MetaFile), err)
	}
	settings, err := m.Settings("small")
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(md.Settings))
	dec.DisallowUnknownFields()
	if err := dec.Decode(settings); err != nil {
		return nil, fmt.Errorf("detector: %s: settings of %s: %w", filepath.Join(dir, MetaFile), md.Method, err)
	}
	det, err := m.Load(dir, settings)
	if err != nil {
		return nil, fmt.Errorf("detector: %s: %w", dir, err)
	}
	if md.Size <= 0 {
		return nil, fmt.Errorf("detector: %s: size %d", filepath.Join(dir, MetaFile), md.Size)
	}
	return &Model{Method: md.Method, Settings: settings, Detector: det, Size: md.Size, Digest: md.Digest,
		Data: md.Data, Thresholds: md.Thresholds}, nil
}

// Same reports whether dir holds a complete model of method fitted with
// these settings on data with this preparation and digest, so that it can
// be reused instead of fitted again.
func Same(dir, method string, settings any, d *prep.Data) bool {
	b, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if err != nil {
		return false
	}
	var md meta
	if json.Unmarshal(b, &md) != nil || !md.Complete || md.Method != method || md.Digest != d.Digest || md.Size != d.Config.Size {
		return false
	}
	want, err := json.Marshal(settings)
	if err != nil {
		return false
	}
	var a, c any
	if json.Unmarshal(want, &a) != nil || json.Unmarshal(md.Settings, &c) != nil {
		return false
	}
	wa, _ := json.Marshal(a)
	ca, _ := json.Marshal(c)
	return bytes.Equal(wa, ca)
}

// Column returns the named score of every result, or an error naming the
// first result that lacks it (a missing score is never read as 0).
func Column(res []score.Result, name string) ([]float64, error) {
	out := make([]float64, len(res))
	for i, r := range res {
		v, ok := r.Scores[name]
		if !ok {
			return nil, fmt.Errorf("detector: %s has no score %q", r.ID, name)
		}
		out[i] = v
	}
	return out, nil
}
