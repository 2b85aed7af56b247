package psp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/metrics"
	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/score"
)

// The score columns. HQ-AnoGAN's own score (Sato et al. 2024) is computed
// from the W+ codes, but its formula is not public: these are candidates,
// and the default is the one with the best AUROC on the validation split
// (ChooseDefault).
const (
	// ColR is the reconstruction residual A_R = 1/n ‖x - G(E(x))‖².
	ColR = "A_R"
	// ColMaha is Latent.Mahalanobis of E(x).
	ColMaha = "A_maha"
	// ColKNN is Latent.KNN of E(x).
	ColKNN = "A_knn"
	// ColL2 is Latent.L2 of E(x).
	ColL2 = "A_l2"
	// ColDefault repeats the column chosen on validation data (Model.
	// Default), when there is one.
	ColDefault = "A_psp"
)

// alphas are the weights α of the latent score in the combined scores;
// each is a candidate column, so the validation split chooses it.
var alphas = []float64{0.25, 0.5, 0.75}

// latentCols are the base latent scores and their names in the combined
// columns.
var latentCols = []struct{ col, short string }{{ColMaha, "maha"}, {ColKNN, "knn"}, {ColL2, "l2"}}

// CombinedCol names the combination of A_R with a latent score col (ColMaha,
// ColKNN or ColL2) at weight alpha, e.g. "A_R+maha@0.50".
func CombinedCol(col string, alpha float64) string {
	for _, l := range latentCols {
		if l.col == col {
			return fmt.Sprintf("A_R+%s@%.2f", l.short, alpha)
		}
	}
	panic(fmt.Sprintf("psp: no latent score %q", col))
}

// Combined is the combination of the residual with a latent score, each
// standardised on the training images' scores:
//
//	A = (1 - α)·(A_R - mean_R)/sd_R + α·(A_L - mean_L)/sd_L.
//
// The scorer's columns combine A_R with each latent score at α = 0.25,
// 0.5 and 0.75.
func Combined(r, lat float64, nr, nl Standard, alpha float64) float64 {
	return (1-alpha)*nr.Z(r) + alpha*nl.Z(lat)
}

// Mapping is the one-pass mapping of a batch of images.
type Mapping struct {
	// Codes are the ws E(x) (NumWs·WDim values each), Recon the images
	// G(E(x)), R the residuals A_R.
	Codes [][]float32
	Recon [][]float32
	R     []float64
}

// Scorer maps images with E and G in one pass and scores them. Its
// latent columns need Model.Latent (Fit). It keeps its compiled graph
// between calls and is not safe for concurrent use.
type Scorer struct {
	Model *Model
	Gen   Generator
	// BatchSize is the number of images per pass (0: 64).
	BatchSize int

	inf *inference
}

type inference struct {
	m      *Model
	g      Generator
	n      int
	vm     gorgonia.VM
	x      *gorgonia.Node
	xT     *tensor.Dense
	ws, xr *gorgonia.Node
	r      *gorgonia.Node
}

func (s *Scorer) inference(n int) (*inference, error) {
	m := s.Model
	size := m.Config.Size
	inf := &inference{m: m, g: s.Gen, n: n}
	g := gorgonia.NewGraph()
	inf.x = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, size, size), gorgonia.WithName("x"))
	var err error
	if inf.ws, err = m.Encode(inf.x, m.E.Nodes(g), noGradAll); err != nil {
		return nil, err
	}
	if inf.xr, err = synthesize(s.Gen, inf.ws); err != nil {
		return nil, err
	}
	if inf.r, err = nn.SquaredDiffMean(inf.xr, inf.x, noGradAll); err != nil {
		return nil, err
	}
	inf.vm = gorgonia.NewTapeMachine(g)
	inf.xT = tensor.New(tensor.WithShape(n, 1, size, size), tensor.Of(tensor.Float32))
	return inf, nil
}

// sameGenerator reports whether a and b are the same generator value (a
// generator of a type that cannot be compared never is: the graph is then
// built again).
func sameGenerator(a, b Generator) bool {
	ta := reflect.TypeOf(a)
	if ta != reflect.TypeOf(b) || ta == nil || !ta.Comparable() {
		return false
	}
	return a == b
}

// Map maps the images of samples batch by batch: the codes E(x), the
// reconstructions G(E(x)) and A_R. Every image must be Size×Size with
// finite values.
func (s *Scorer) Map(ctx context.Context, samples []data.Sample) (*Mapping, error) {
	m := s.Model
	if m == nil {
		return nil, errors.New("psp: scorer without a model")
	}
	if err := m.checkGenerator(s.Gen); err != nil {
		return nil, err
	}
	size := m.Config.Size
	px, d := size*size, m.Config.NumWs*m.Config.WDim
	for _, smp := range samples {
		if smp.Image == nil || smp.Image.H != size || smp.Image.W != size {
			return nil, fmt.Errorf("psp: sample %q is not a %dx%d image", smp.ID, size, size)
		}
		if err := smp.Image.Check(smp.ID); err != nil {
			return nil, fmt.Errorf("psp: %w", err)
		}
	}
	bs := s.BatchSize
	if bs <= 0 {
		bs = 64
	}
	bs = min(bs, max(len(samples), 1))
	if s.inf == nil || s.inf.n != bs || s.inf.m != m || !sameGenerator(s.inf.g, s.Gen) {
		inf, err := s.inference(bs)
		if err != nil {
			return nil, err
		}
		s.inf = inf
	}
	inf := s.inf
	buf := inf.xT.Data().([]float32)
	out := &Mapping{}
	for lo := 0; lo < len(samples); lo += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+bs, len(samples))
		clear(buf)
		for i, smp := range samples[lo:hi] {
			copy(buf[i*px:], smp.Image.Pix)
		}
		if err := gorgonia.Let(inf.x, inf.xT); err != nil {
			return nil, err
		}
		if err := inf.vm.RunAll(); err != nil {
			inf.vm.Reset()
			return nil, fmt.Errorf("psp: %w", err)
		}
		wv, xv, rv := inf.ws.Value().Data().([]float32), inf.xr.Value().Data().([]float32), inf.r.Value().Data().([]float32)
		for i := range hi - lo {
			out.Codes = append(out.Codes, slices.Clone(wv[i*d:(i+1)*d]))
			out.Recon = append(out.Recon, slices.Clone(xv[i*px:(i+1)*px]))
			out.R = append(out.R, float64(rv[i]))
		}
		inf.vm.Reset()
	}
	return out, nil
}

// Fit maps the normal training images train and fits the W+ statistics of
// their codes into s.Model.Latent (FitLatent, k neighbours, k <= 0:
// DefaultK), then the training images' mean and standard deviation of
// every base score (A_R, and the latent scores, the kNN one leaving each
// image's own code out), with which the combined scores standardise. A
// score with no spread on the training images is an error.
func (s *Scorer) Fit(ctx context.Context, train []data.Sample, k int) error {
	mp, err := s.Map(ctx, train)
	if err != nil {
		return err
	}
	cfg := s.Model.Config
	lat, err := FitLatent(mp.Codes, cfg.NumWs, cfg.WDim, k)
	if err != nil {
		return err
	}
	self := make([]int, len(mp.Codes))
	for i := range self {
		self[i] = i
	}
	base := map[string][]float64{ColR: mp.R, ColKNN: lat.KNN(mp.Codes, self)}
	for _, c := range mp.Codes {
		base[ColMaha] = append(base[ColMaha], lat.Mahalanobis(c))
		base[ColL2] = append(base[ColL2], lat.L2(c))
	}
	lat.Norm = map[string]Standard{}
	for name, v := range base {
		st := standard(v)
		if !(st.Std > 0) || math.IsInf(st.Std, 0) || math.IsNaN(st.Mean) {
			return fmt.Errorf("psp: %s on the %d training images has mean %v and standard deviation %v: cannot standardise it", name, len(v), st.Mean, st.Std)
		}
		lat.Norm[name] = st
	}
	s.Model.Latent = lat
	return nil
}

func standard(v []float64) Standard {
	var m float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	var q float64
	for _, x := range v {
		q += (x - m) * (x - m)
	}
	return Standard{Mean: m, Std: math.Sqrt(q / float64(len(v)-1))}
}

// Columns implements score.Scorer: A_R; with a latent fit the latent
// scores and their combinations with A_R (every latent score at every α
// of 0.25, 0.5 and 0.75); with a default, ColDefault.
func (s *Scorer) Columns() []string {
	if s.Model == nil {
		return []string{ColR}
	}
	cols := candidates(s.Model.Latent != nil)
	if s.Model.Default != nil {
		cols = append(cols, ColDefault)
	}
	return cols
}

// candidates returns the candidate columns: A_R, and with a latent fit
// the latent scores and their combinations.
func candidates(fitted bool) []string {
	cols := []string{ColR}
	if !fitted {
		return cols
	}
	cols = append(cols, ColMaha, ColKNN, ColL2)
	for _, l := range latentCols {
		for _, a := range alphas {
			cols = append(cols, CombinedCol(l.col, a))
		}
	}
	return cols
}

// Score implements score.Scorer: per image the columns of Columns, the
// reconstruction G(E(x)), the anomaly map |x - G(E(x))| and the code E(x)
// as Result.Z.
func (s *Scorer) Score(ctx context.Context, samples []data.Sample) ([]score.Result, error) {
	mp, err := s.Map(ctx, samples)
	if err != nil {
		return nil, err
	}
	m := s.Model
	lat := m.Latent
	var knn []float64
	if lat != nil {
		if err := lat.check(); err != nil {
			return nil, err
		}
		if lat.NumWs != m.Config.NumWs || lat.WDim != m.Config.WDim {
			return nil, fmt.Errorf("psp: latent fit of %d ws of %d for an encoder of %d of %d", lat.NumWs, lat.WDim, m.Config.NumWs, m.Config.WDim)
		}
		for _, c := range []string{ColR, ColMaha, ColKNN, ColL2} {
			if st := lat.Norm[c]; !(st.Std > 0) || math.IsInf(st.Std, 0) || math.IsNaN(st.Mean) {
				return nil, fmt.Errorf("psp: the latent fit has no training statistics of %s (fit it with Scorer.Fit)", c)
			}
		}
		knn = lat.KNN(mp.Codes, nil)
	}
	size := m.Config.Size
	out := make([]score.Result, len(samples))
	for i, smp := range samples {
		sc := map[string]float64{ColR: mp.R[i]}
		if lat != nil {
			sc[ColMaha] = lat.Mahalanobis(mp.Codes[i])
			sc[ColKNN] = knn[i]
			sc[ColL2] = lat.L2(mp.Codes[i])
			for _, l := range latentCols {
				for _, a := range alphas {
					sc[CombinedCol(l.col, a)] = Combined(mp.R[i], sc[l.col], lat.Norm[ColR], lat.Norm[l.col], a)
				}
			}
			if m.Default != nil {
				v, ok := sc[m.Default.Column]
				if !ok {
					return nil, fmt.Errorf("psp: the default score %q is not a column of this scorer", m.Default.Column)
				}
				sc[ColDefault] = v
			}
		}
		recon := data.NewImage(size, size)
		copy(recon.Pix, mp.Recon[i])
		out[i] = score.Result{
			ID: smp.ID, Label: smp.Label, Scores: sc,
			Recon: recon, Residual: score.ResidualImage(smp.Image, recon),
			Query: smp.Image, Mask: smp.Mask, Z: mp.Codes[i],
		}
	}
	return out, nil
}

// Candidate is one score column with its AUROC on the validation split.
type Candidate struct {
	Column string  `json:"column"`
	AUROC  float64 `json:"auroc"`
}

// Choice is the default score chosen on the validation split, with every
// candidate's validation AUROC in the order they were given.
type Choice struct {
	Column     string      `json:"column"`
	AUROC      float64     `json:"auroc"`
	Candidates []Candidate `json:"candidates"`
}

// ChooseDefault returns the column of columns (nil: every column of the
// results but ColDefault, in name order) with the highest AUROC
// (metrics.AUC) on the validation results val, and the table of every
// candidate's AUROC. A tie goes to the column listed first. val must hold
// normal and anomalous samples (labels Unknown are ignored), and every
// result every column with a score that is not NaN: it is the validation
// split, never the test split.
func ChooseDefault(val []score.Result, columns []string) (Choice, error) {
	if len(val) == 0 {
		return Choice{}, errors.New("psp: no validation results to choose a score with")
	}
	if columns == nil {
		for c := range val[0].Scores {
			if c != ColDefault {
				columns = append(columns, c)
			}
		}
		slices.Sort(columns)
	}
	labels := make([]int, 0, len(val))
	for _, r := range val {
		labels = append(labels, r.Label)
	}
	for i, l := range labels {
		if l != data.Normal && l != data.Anomalous && l != data.Unknown {
			return Choice{}, fmt.Errorf("psp: validation result %d (%s) has label %d", i, val[i].ID, l)
		}
	}
	var ch Choice
	best := math.Inf(-1)
	for _, c := range columns {
		v := make([]float64, len(val))
		for i, r := range val {
			s, ok := r.Scores[c]
			if !ok {
				return Choice{}, fmt.Errorf("psp: validation result %d (%s) has no score %q", i, r.ID, c)
			}
			v[i] = s
		}
		if err := metrics.Check(v, labels); err != nil {
			return Choice{}, fmt.Errorf("psp: choosing the default score: %s: %w", c, err)
		}
		auc := metrics.AUC(v, labels)
		ch.Candidates = append(ch.Candidates, Candidate{Column: c, AUROC: auc})
		if auc > best {
			best, ch.Column, ch.AUROC = auc, c, auc
		}
	}
	if ch.Column == "" {
		return ch, errors.New("psp: no score column to choose from")
	}
	return ch, nil
}

// SetDefault records the choice in the model (saved with it), after
// checking that it names a candidate column.
func (m *Model) SetDefault(c Choice) error {
	if !slices.Contains(candidates(true), c.Column) {
		return fmt.Errorf("psp: default score %q is none of the candidates %v", c.Column, candidates(true))
	}
	if m.Latent == nil && c.Column != ColR {
		return fmt.Errorf("psp: default score %q needs the latent fit (Scorer.Fit) first", c.Column)
	}
	m.Default = &c
	return nil
}
