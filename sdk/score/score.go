package score

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dcgan"
	"github.com/anogo/anogo/sdk/mapper"
)

// Names of the scores, as they appear in tables and CSV files.
const (
	R    = "R"     // residual score, Eq. (3) at z_Γ
	D    = "D"     // discrimination score with feature matching, Eq. (4)
	A    = "A"     // anomaly score, Eq. (6)
	RRef = "R_ref" // residual score of the GAN_R mapping
	DRef = "Dhat"  // reference discrimination score, Sec. 2.2.2
	ARef = "Ahat"  // reference anomaly score of GAN_R
	PD   = "PD"    // 1 - D(x), the discriminator on the query
)

// Result is what a scorer says of one sample.
type Result struct {
	ID    string
	Label int
	// Scores by name (R, D, A, ...).
	Scores map[string]float64
	// Recon is the model's reconstruction G(z_Γ) and Residual the residual
	// image |x - G(z_Γ)|, the anomaly map; nil when the scorer makes none.
	Recon, Residual *data.Image
	// Query and Mask are the sample's image and pixel annotation.
	Query, Mask *data.Image
	// Z is the latent code found, if any.
	Z []float32
}

// Scorer scores samples. Columns lists the names of the scores it
// produces, in table order.
type Scorer interface {
	Score(ctx context.Context, samples []data.Sample) ([]Result, error)
	Columns() []string
}

// AnoGAN scores with a trained DCGAN: it maps every query with the
// feature-matching loss (R, D, A and the residual image), optionally maps
// it again with the reference loss (R_ref, Dhat, Ahat: the GAN_R baseline),
// and runs D on the query (PD).
type AnoGAN struct {
	Model *dcgan.Model
	// Mapping holds the mapping settings (steps, λ, learning rate, batch,
	// early stop, seed); its Model and Loss are set by the scorer.
	Mapping mapper.Iterative
	// Reference also runs the GAN_R mapping.
	Reference bool
}

// Columns implements Scorer.
func (s *AnoGAN) Columns() []string {
	if s.Reference {
		return []string{R, D, A, RRef, DRef, ARef, PD}
	}
	return []string{R, D, A, PD}
}

// Score implements Scorer.
func (s *AnoGAN) Score(ctx context.Context, samples []data.Sample) ([]Result, error) {
	if s.Model == nil {
		return nil, fmt.Errorf("score: no model")
	}
	fm := s.Mapping
	fm.Model, fm.Loss = s.Model, mapper.FeatureMatching
	lat, err := fm.Map(ctx, samples)
	if err != nil {
		return nil, err
	}
	var ref []mapper.Latent
	if s.Reference {
		rm := s.Mapping
		rm.Model, rm.Loss = s.Model, mapper.Reference
		if ref, err = rm.Map(ctx, samples); err != nil {
			return nil, err
		}
	}
	pd, err := DiscriminatorScores(s.Model, samples)
	if err != nil {
		return nil, err
	}
	lam := fm.EffectiveLambda()
	out := make([]Result, len(samples))
	for i, smp := range samples {
		l := lat[i]
		sc := map[string]float64{
			R:  l.Residual,
			D:  l.Discrimination,
			A:  Anomaly(l.Residual, l.Discrimination, lam),
			PD: pd[i],
		}
		if ref != nil {
			sc[RRef] = ref[i].Residual
			sc[DRef] = ref[i].Discrimination
			sc[ARef] = Anomaly(ref[i].Residual, ref[i].Discrimination, lam)
		}
		out[i] = Result{
			ID: smp.ID, Label: smp.Label, Scores: sc,
			Recon: l.Recon, Residual: ResidualImage(smp.Image, l.Recon),
			Query: smp.Image, Mask: smp.Mask, Z: l.Z,
		}
	}
	return out, nil
}

// Anomaly is Eq. (6): A = (1 - λ)·R + λ·D.
func Anomaly(r, d, lambda float64) float64 { return (1-lambda)*r + lambda*d }

// ResidualImage returns x_R = |x - recon| (Sec. 2.3).
func ResidualImage(x, recon *data.Image) *data.Image {
	out := data.NewImage(x.H, x.W)
	for i := range out.Pix {
		out.Pix[i] = float32(math.Abs(float64(x.Pix[i] - recon.Pix[i])))
	}
	return out
}

// DiscriminatorScores returns P_D for each sample: 1 - D(x) =
// 1 - sigmoid(logit), with D in eval mode and no mapping.
func DiscriminatorScores(m *dcgan.Model, samples []data.Sample) ([]float64, error) {
	ims := make([]*data.Image, len(samples))
	for i, s := range samples {
		ims[i] = s.Image
	}
	logits, _, err := m.DiscriminateImages(ims)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	out := make([]float64, len(logits))
	for i, l := range logits {
		out[i] = 1 / (1 + math.Exp(float64(l)))
	}
	return out, nil
}

// Table returns one row per result with columns id, label and the given
// score columns (all scores of the first result, sorted, when cols is
// empty).
func Table(results []Result, cols ...string) dataframe.DataFrame {
	if len(cols) == 0 && len(results) > 0 {
		for k := range results[0].Scores {
			cols = append(cols, k)
		}
		slices.Sort(cols)
	}
	ids := make([]string, len(results))
	labels := make([]int, len(results))
	for i, r := range results {
		ids[i], labels[i] = r.ID, r.Label
	}
	ss := []series.Series{series.New(ids, series.String, "id"), series.New(labels, series.Int, "label")}
	for _, c := range cols {
		v := make([]float64, len(results))
		for i, r := range results {
			x, ok := r.Scores[c]
			if !ok {
				x = math.NaN()
			}
			v[i] = x
		}
		ss = append(ss, series.New(v, series.Float, c))
	}
	return dataframe.New(ss...)
}

// Column returns the named score of every result, NaN where a result lacks
// it (never 0: a missing score must not pass for a value). Use Lookup where
// a missing score is an error to report.
func Column(results []Result, name string) []float64 {
	out := make([]float64, len(results))
	for i, r := range results {
		v, ok := r.Scores[name]
		if !ok {
			v = math.NaN()
		}
		out[i] = v
	}
	return out
}

// Lookup returns the named score of every result, or an error naming the
// first result (by ID and position, counted from 1) that lacks it.
func Lookup(results []Result, name string) ([]float64, error) {
	out := make([]float64, len(results))
	for i, r := range results {
		v, ok := r.Scores[name]
		if !ok {
			return nil, fmt.Errorf("score: result %d (%s) has no score column %q", i+1, r.ID, name)
		}
		out[i] = v
	}
	return out, nil
}

// Finite returns an error naming the first result (by ID and position,
// counted from 1) and column whose score is NaN or infinite, so that such a
// score (from an extreme λ or a model whose weights overflow) is never
// written as a result. Columns are checked in name order.
func Finite(results []Result) error {
	for i, r := range results {
		names := make([]string, 0, len(r.Scores))
		for k := range r.Scores {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			if v := r.Scores[k]; math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("score: sample %d (%s): score %s is %v (a diverged model or an extreme setting?)", i+1, r.ID, k, v)
			}
		}
	}
	return nil
}

// Labels returns the label of every result.
func Labels(results []Result) []int {
	out := make([]int, len(results))
	for i, r := range results {
		out[i] = r.Label
	}
	return out
}

// ReadTable reads a scores CSV (as written by metrics.WriteCSV of a Table)
// back into results, without images.
func ReadTable(df dataframe.DataFrame) ([]Result, error) {
	if df.Err != nil {
		return nil, df.Err
	}
	names := df.Names()
	idCol, labelCol := -1, -1
	for i, n := range names {
		switch n {
		case "id":
			idCol = i
		case "label":
			labelCol = i
		}
	}
	if idCol < 0 || labelCol < 0 {
		return nil, fmt.Errorf("score: table has no id and label columns (columns %v)", names)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return nil, fmt.Errorf("score: table has two columns named %q (columns %v)", n, names)
		}
		seen[n] = true
	}
	rows, _ := df.Dims()
	out := make([]Result, rows)
	for r := 0; r < rows; r++ {
		res := Result{ID: df.Elem(r, idCol).String(), Scores: map[string]float64{}}
		l, err := strconv.Atoi(df.Elem(r, labelCol).String())
		if err != nil {
			return nil, fmt.Errorf("score: row %d: label %q is not an integer", r+1, df.Elem(r, labelCol).String())
		}
		if l != data.Normal && l != data.Anomalous && l != data.Unknown {
			return nil, fmt.Errorf("score: row %d: label %d is not 0 (normal), 1 (anomalous) or -1 (unknown)", r+1, l)
		}
		res.Label = l
		for c, n := range names {
			if c == idCol || c == labelCol {
				continue
			}
			v, err := strconv.ParseFloat(df.Elem(r, c).String(), 64)
			if err != nil {
				return nil, fmt.Errorf("score: row %d, column %s: %q is not a number", r+1, n, df.Elem(r, c).String())
			}
			res.Scores[n] = v
		}
		out[r] = res
	}
	return out, nil
}
