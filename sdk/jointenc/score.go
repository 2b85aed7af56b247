package jointenc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/score"
)

// The score columns.
const (
	// ColNorm is ‖E(x)‖, the paper's cue.
	ColNorm = "E_norm"
	// ColResidual is R = mean |x - G(E(x))|.
	ColResidual = "R"
	// ColFeature is F = mean |f(x) - f(G(E(x)))|, f the critic's features
	// before its minibatch statistic.
	ColFeature = "F"
	// ColAnoGAN is A = (1-λ)·R + λ·F (AnoGAN's Eq. 5 form, λ = Lambda).
	ColAnoGAN = "A"
	// ColNormDev is the two-sided norm cue |‖E(x)‖ - m| / s, m and s the
	// median and the scaled median absolute deviation of ‖E(x)‖ over the
	// training images (NormStats): our choice, because the paper does not
	// say on which side of the normal images' norms anomalies fall, and
	// make repro measured both sides (docs/jointenc.md).
	ColNormDev = "E_norm_dev"
)

// Lambda is the weight of F in A (the authors' code: 0.1).
const Lambda = 0.1

// Scorer scores images with a trained model at the image size, in
// passes of BatchSize images (0: 64). A query's scores do not depend on
// its batch: E has no minibatch statistic and f is taken before it.
type Scorer struct {
	Model     *Model
	BatchSize int

	inf *inference
}

// Columns implements score.Scorer.
func (s *Scorer) Columns() []string {
	return []string{ColNorm, ColNormDev, ColResidual, ColFeature, ColAnoGAN}
}

type inference struct {
	n                  int
	m                  *Model
	vm                 gorgonia.VM
	x                  *gorgonia.Node
	xT                 *tensor.Dense
	eV, recV, fxV, frV *gorgonia.Value // nn.ReadValue
}

func (s *Scorer) inference(n int) (*inference, error) {
	m := s.Model
	size, top := m.Config.Size, m.Config.Top()
	g := gorgonia.NewGraph()
	inf := &inference{n: n, m: m}
	inf.x = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, size, size), gorgonia.WithName("x"))
	inf.xT = tensor.New(tensor.WithShape(n, 1, size, size), tensor.Of(tensor.Float32))
	e, err := m.Encoder(inf.x, m.Nodes(g, "E"), top, nil, noGradAll)
	if err != nil {
		return nil, err
	}
	rec, err := m.Generator(e, m.Nodes(g, "G"), top, nil, noGradAll)
	if err != nil {
		return nil, err
	}
	dn := m.Nodes(g, "D")
	fx, _, _, err := m.Trunk(inf.x, dn, "D", top, nil, Frozen, nil, nil, noGradAll)
	if err != nil {
		return nil, err
	}
	fr, _, _, err := m.Trunk(rec, dn, "D", top, nil, Frozen, nil, nil, noGradAll)
	if err != nil {
		return nil, err
	}
	inf.eV = nn.ReadValue(e)
	inf.recV = nn.ReadValue(rec)
	inf.fxV = nn.ReadValue(fx)
	inf.frV = nn.ReadValue(fr)
	inf.vm = gorgonia.NewTapeMachine(g)
	return inf, nil
}

var _ score.Scorer = (*Scorer)(nil)

// ErrNoNorms is returned when scoring with a model that has no statistics
// of its training images' norms (Model.Norms): fitted before they were
// added; Fit and FitNorms compute them.
var ErrNoNorms = errors.New("jointenc: the model has no statistics of its training images' ‖E(x)‖ (fitted by an older anogo): fit it again")

// NormStats are the median and scale of ‖E(x)‖ over N training images.
// Scale is the median absolute deviation times 1.4826 (the standard
// deviation for normal values), or the standard deviation, or 1, when the
// deviations are all zero.
type NormStats struct {
	Median float64 `json:"median"`
	Scale  float64 `json:"scale"`
	N      int     `json:"n"`
}

// Dev is the two-sided norm cue of a norm: |norm - Median| / Scale.
func (s *NormStats) Dev(norm float64) float64 { return math.Abs(norm-s.Median) / s.Scale }

func (s *NormStats) validate() error {
	if s.N < 1 || !(s.Scale > 0) || math.IsInf(s.Scale, 0) || math.IsNaN(s.Median) || math.IsInf(s.Median, 0) {
		return fmt.Errorf("bad norm statistics %+v", *s)
	}
	return nil
}

// MaxNormImages is the most training images FitNorms encodes (evenly
// spaced over the training set).
const MaxNormImages = 1024

// FitNorms sets m.Norms from ‖E(x)‖ of up to MaxNormImages of the
// training samples, evenly spaced.
func FitNorms(ctx context.Context, m *Model, train []data.Sample) error {
	if len(train) == 0 {
		return errors.New("jointenc: no training images for the norm statistics")
	}
	n := min(len(train), MaxNormImages)
	pick := make([]data.Sample, n)
	for i := range pick {
		pick[i] = train[i*len(train)/n]
	}
	res, err := (&Scorer{Model: m}).score(ctx, pick, nil)
	if err != nil {
		return err
	}
	v := make([]float64, n)
	for i, r := range res {
		v[i] = r.Scores[ColNorm]
	}
	st := &NormStats{Median: median(v), N: n}
	dev := make([]float64, n)
	var mean, ss float64
	for i, x := range v {
		dev[i] = math.Abs(x - st.Median)
		mean += x
	}
	mean /= float64(n)
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	st.Scale = 1.4826 * median(dev)
	if !(st.Scale > 0) {
		st.Scale = math.Sqrt(ss / float64(n))
	}
	if !(st.Scale > 0) {
		st.Scale = 1
	}
	if err := st.validate(); err != nil {
		return fmt.Errorf("jointenc: %w", err)
	}
	m.Norms = st
	return nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	k := len(s) / 2
	if len(s)%2 == 1 {
		return s[k]
	}
	return (s[k-1] + s[k]) / 2
}

// Score implements score.Scorer: the four columns, Z = E(x), the
// reconstruction G(E(x)) and the map |x - G(E(x))|.
func (s *Scorer) Score(ctx context.Context, samples []data.Sample) ([]score.Result, error) {
	if s.Model == nil {
		return nil, ErrNotFitted
	}
	if s.Model.Norms == nil {
		return nil, ErrNoNorms
	}
	return s.score(ctx, samples, s.Model.Norms)
}

// score is Score with the norm statistics st; without them (nil, while
// FitNorms computes them) the results have no ColNormDev.
func (s *Scorer) score(ctx context.Context, samples []data.Sample, st *NormStats) ([]score.Result, error) {
	m := s.Model
	size := m.Config.Size
	px := size * size
	bs := s.BatchSize
	if bs <= 0 {
		bs = 64
	}
	// Trunk's minibatch statistic is not used (features are taken before
	// it), but the op is built: keep a whole number of groups.
	bs = min(bs, max(len(samples), 1))
	if bs > Group {
		bs -= bs % Group
	}
	if s.inf == nil || s.inf.n != bs || s.inf.m != m {
		inf, err := s.inference(bs)
		if err != nil {
			return nil, err
		}
		s.inf = inf
	}
	inf := s.inf
	buf := f32s(inf.xT)
	lat := m.Config.Latent
	out := make([]score.Result, 0, len(samples))
	for lo := 0; lo < len(samples); lo += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+bs, len(samples))
		clear(buf)
		for i, smp := range samples[lo:hi] {
			if smp.Image == nil || smp.Image.H != size || smp.Image.W != size {
				return nil, fmt.Errorf("jointenc: %s is not a %dx%d image", smp.ID, size, size)
			}
			copy(buf[i*px:], smp.Image.Pix)
		}
		if err := gorgonia.Let(inf.x, inf.xT); err != nil {
			return nil, err
		}
		if err := inf.vm.RunAll(); err != nil {
			inf.vm.Reset()
			return nil, fmt.Errorf("jointenc: %w", err)
		}
		ev, rv, fxv, frv := f32s(*inf.eV), f32s(*inf.recV), f32s(*inf.fxV), f32s(*inf.frV)
		fl := len(fxv) / bs
		for i, smp := range samples[lo:hi] {
			var norm, r, f float64
			z := append([]float32(nil), ev[i*lat:(i+1)*lat]...)
			for _, v := range z {
				norm += float64(v) * float64(v)
			}
			recon, res := data.NewImage(size, size), data.NewImage(size, size)
			for j := 0; j < px; j++ {
				recon.Pix[j] = rv[i*px+j]
				d := smp.Image.Pix[j] - rv[i*px+j]
				if d < 0 {
					d = -d
				}
				res.Pix[j] = d
				r += float64(d)
			}
			for j := i * fl; j < (i+1)*fl; j++ {
				f += math.Abs(float64(fxv[j] - frv[j]))
			}
			r /= float64(px)
			f /= float64(fl)
			out = append(out, score.Result{
				ID: smp.ID, Label: smp.Label,
				Scores: map[string]float64{ColNorm: math.Sqrt(norm), ColResidual: r, ColFeature: f, ColAnoGAN: (1-Lambda)*r + Lambda*f},
				Recon:  recon, Residual: res, Query: smp.Image, Mask: smp.Mask, Z: z,
			})
			if st != nil {
				out[len(out)-1].Scores[ColNormDev] = st.Dev(math.Sqrt(norm))
			}
		}
		inf.vm.Reset()
	}
	return out, nil
}
