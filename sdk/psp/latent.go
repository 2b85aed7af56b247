package psp

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// DefaultK is the number of neighbours of the kNN score.
const DefaultK = 5

// Latent holds what the W+ scores need of the codes of the normal
// training images: per layer their mean and the Cholesky factor of their
// Ledoit–Wolf covariance, and the codes themselves (kNN). Every value is
// stored as float32 and the scores are computed in float64 from those, so
// a saved and loaded fit scores exactly as the fitted one.
type Latent struct {
	NumWs, WDim int
	// K is the number of neighbours of the kNN score.
	K int
	// Mean is μ_l for every layer l ([NumWs·WDim]).
	Mean []float32
	// Chol holds, per layer, the lower Cholesky factor L_l of the shrunk
	// covariance Σ̂_l = L_l L_lᵀ, row-major ([NumWs·WDim·WDim]).
	Chol []float32
	// Shrinkage is Ledoit–Wolf's δ_l per layer (in [0, 1]).
	Shrinkage []float64
	// Codes are the N training codes, one after the other
	// ([N·NumWs·WDim]).
	Codes []float32
	// Norm holds the training images' mean and standard deviation of every
	// base score, which the combined scores standardise with.
	Norm map[string]Standard
}

// Standard is the mean and standard deviation (N - 1 in the denominator)
// of a score on the training images.
type Standard struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// Z returns the z-score (s - Mean)/Std.
func (s Standard) Z(v float64) float64 { return (v - s.Mean) / s.Std }

// N returns the number of training codes.
func (l *Latent) N() int { return len(l.Codes) / (l.NumWs * l.WDim) }

// LedoitWolf returns the Ledoit–Wolf shrinkage estimate of the covariance
// of the rows of x (n samples of p values; Ledoit & Wolf, "A well-
// conditioned estimator for large-dimensional covariance matrices", J.
// Multivariate Anal. 88, 2004, Lemma 3.2 and Theorem 3.1 with their sample
// estimates; the form of scikit-learn's ledoit_wolf):
//
//	S = XcᵀXc/n (Xc the centred rows), m = tr(S)/p,
//	d² = ‖S - m·I‖²_F / p, b² = min(d², 1/(n²p) Σ_k ‖xc_k‖⁴ - ‖S‖²_F/(np)),
//	δ = b²/d² (0 when b² = 0), Σ̂ = (1 - δ)·S + δ·m·I.
//
// It returns Σ̂ and δ. It panics if x has fewer than two rows or rows of
// different lengths.
func LedoitWolf(x [][]float64) (*mat.SymDense, float64) {
	n := len(x)
	if n < 2 {
		panic(fmt.Sprintf("psp: LedoitWolf of %d samples", n))
	}
	p := len(x[0])
	mean := make([]float64, p)
	for _, r := range x {
		if len(r) != p {
			panic("psp: LedoitWolf: rows of different lengths")
		}
		for j, v := range r {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	xc := mat.NewDense(n, p, nil)
	var sum4 float64
	for i, r := range x {
		var sq float64
		for j, v := range r {
			d := v - mean[j]
			xc.Set(i, j, d)
			sq += d * d
		}
		sum4 += sq * sq
	}
	s := mat.NewSymDense(p, nil)
	s.SymOuterK(1/float64(n), xc.T())
	var tr, fro float64
	for i := 0; i < p; i++ {
		tr += s.At(i, i)
		for j := 0; j < p; j++ {
			fro += s.At(i, j) * s.At(i, j)
		}
	}
	m := tr / float64(p)
	d2 := (fro - 2*m*tr + float64(p)*m*m) / float64(p)
	b2 := (sum4/float64(n) - fro) / (float64(n) * float64(p))
	b2 = min(b2, d2)
	delta := 0.0
	if b2 > 0 && d2 > 0 {
		delta = b2 / d2
	}
	out := mat.NewSymDense(p, nil)
	for i := 0; i < p; i++ {
		for j := i; j < p; j++ {
			v := (1 - delta) * s.At(i, j)
			if i == j {
				v += delta * m
			}
			out.SetSym(i, j, v)
		}
	}
	return out, delta
}

// FitLatent fits the W+ statistics of codes (each NumWs·WDim values, the
// codes of normal training images) for the kNN with k neighbours
// (k <= 0: DefaultK). It needs more codes than k and two at least; a
// covariance that is not positive definite (all codes equal in a layer)
// is an error. Norm is left empty (Scorer.Fit fills it).
func FitLatent(codes [][]float32, numWs, wdim, k int) (*Latent, error) {
	if k <= 0 {
		k = DefaultK
	}
	d := numWs * wdim
	n := len(codes)
	if n < 2 || n <= k {
		return nil, fmt.Errorf("psp: %d training codes for a kNN of %d (more than k, and two at least, needed)", n, k)
	}
	l := &Latent{NumWs: numWs, WDim: wdim, K: k, Mean: make([]float32, d), Chol: make([]float32, numWs*wdim*wdim), Shrinkage: make([]float64, numWs)}
	l.Codes = make([]float32, 0, n*d)
	for i, c := range codes {
		if len(c) != d {
			return nil, fmt.Errorf("psp: training code %d has %d values, want %d", i, len(c), d)
		}
		if err := checkFinite(fmt.Sprintf("training code %d", i), c); err != nil {
			return nil, err
		}
		l.Codes = append(l.Codes, c...)
	}
	x := make([][]float64, n)
	for i := range x {
		x[i] = make([]float64, wdim)
	}
	for ly := 0; ly < numWs; ly++ {
		for i, c := range codes {
			for j := range wdim {
				x[i][j] = float64(c[ly*wdim+j])
			}
		}
		for j := range wdim {
			var s float64
			for i := range x {
				s += x[i][j]
			}
			l.Mean[ly*wdim+j] = float32(s / float64(n))
		}
		cov, delta := LedoitWolf(x)
		var ch mat.Cholesky
		if !ch.Factorize(cov) {
			return nil, fmt.Errorf("psp: the shrunk covariance of layer %d is not positive definite (all training codes alike there?)", ly)
		}
		var lt mat.TriDense
		ch.LTo(&lt)
		for i := range wdim {
			for j := 0; j <= i; j++ {
				v := float32(lt.At(i, j))
				if j == i && !(v > 0) {
					return nil, fmt.Errorf("psp: the covariance of layer %d is singular in float32", ly)
				}
				l.Chol[ly*wdim*wdim+i*wdim+j] = v
			}
		}
		l.Shrinkage[ly] = delta
	}
	return l, nil
}

// check reports whether l's slices fit its sizes.
func (l *Latent) check() error {
	d := l.NumWs * l.WDim
	switch {
	case l.NumWs < 1 || l.WDim < 1:
		return fmt.Errorf("psp: latent fit of %d ws of %d", l.NumWs, l.WDim)
	case len(l.Mean) != d || len(l.Chol) != l.NumWs*l.WDim*l.WDim || len(l.Shrinkage) != l.NumWs:
		return fmt.Errorf("psp: latent fit with %d means, %d factor values and %d shrinkages for %d ws of %d", len(l.Mean), len(l.Chol), len(l.Shrinkage), l.NumWs, l.WDim)
	case len(l.Codes)%d != 0 || l.N() <= l.K || l.K < 1:
		return fmt.Errorf("psp: latent fit with %d code values (%d per code) for a kNN of %d", len(l.Codes), d, l.K)
	}
	return nil
}

// Mahalanobis is the Mahalanobis score of a code w (NumWs·WDim values):
// the squared Mahalanobis distances of its layers to the training codes'
// Gaussian, summed,
//
//	A_maha(w) = Σ_l (w_l - μ_l)ᵀ Σ̂_l⁻¹ (w_l - μ_l) = Σ_l ‖L_l⁻¹(w_l - μ_l)‖²,
//
// with Σ̂_l Ledoit–Wolf's covariance of layer l: -2 log-likelihood of a
// Gaussian with a block-diagonal covariance, up to a constant.
func (l *Latent) Mahalanobis(w []float32) float64 {
	wd := l.WDim
	y := make([]float64, wd)
	var s float64
	for ly := 0; ly < l.NumWs; ly++ {
		c := l.Chol[ly*wd*wd : (ly+1)*wd*wd]
		// Forward substitution L y = w_l - μ_l.
		for i := range wd {
			v := float64(w[ly*wd+i]) - float64(l.Mean[ly*wd+i])
			row := c[i*wd : i*wd+i]
			for j, lij := range row {
				v -= float64(lij) * y[j]
			}
			y[i] = v / float64(c[i*wd+i])
			s += y[i] * y[i]
		}
	}
	return s
}

// L2 is the per-layer Euclidean distance of a code w to the training
// mean, summed over the layers: A_l2(w) = Σ_l ‖w_l - μ_l‖.
func (l *Latent) L2(w []float32) float64 {
	wd := l.WDim
	var s float64
	for ly := 0; ly < l.NumWs; ly++ {
		var q float64
		for i := range wd {
			d := float64(w[ly*wd+i]) - float64(l.Mean[ly*wd+i])
			q += d * d
		}
		s += math.Sqrt(q)
	}
	return s
}

// KNN returns the kNN score of each code in ws (each NumWs·WDim values):
// the mean Euclidean distance in W+ (the NumWs·WDim values flattened) to
// its K nearest training codes,
//
//	A_knn(w) = 1/K Σ_{j ∈ NN_K(w)} ‖w - w_j‖.
//
// With self[i] ≥ 0, training code self[i] is left out for ws[i] (a
// training image scored against the others); self may be nil.
func (l *Latent) KNN(ws [][]float32, self []int) []float64 {
	d, n, k := l.NumWs*l.WDim, l.N(), l.K
	out := make([]float64, len(ws))
	if len(ws) == 0 {
		return out
	}
	// ‖a - b‖² = ‖a‖² + ‖b‖² - 2a·b, the products by blocks of queries.
	train := blas64.General{Rows: n, Cols: d, Stride: d, Data: make([]float64, n*d)}
	tn := make([]float64, n)
	for i, v := range l.Codes {
		train.Data[i] = float64(v)
		tn[i/d] += float64(v) * float64(v)
	}
	const block = 256
	q := blas64.General{Cols: d, Stride: d, Data: make([]float64, block*d)}
	dots := blas64.General{Cols: n, Stride: n, Data: make([]float64, block*n)}
	near := make([]float64, 0, k+1)
	for lo := 0; lo < len(ws); lo += block {
		hi := min(lo+block, len(ws))
		q.Rows, dots.Rows = hi-lo, hi-lo
		qn := make([]float64, hi-lo)
		for i, w := range ws[lo:hi] {
			for j, v := range w {
				q.Data[i*d+j] = float64(v)
				qn[i] += float64(v) * float64(v)
			}
		}
		blas64.Gemm(blas.NoTrans, blas.Trans, 1, q, train, 0, dots)
		for i := range hi - lo {
			skip := -1
			if self != nil {
				skip = self[lo+i]
			}
			near = near[:0]
			row := dots.Data[i*n : (i+1)*n]
			for j, dot := range row {
				if j == skip {
					continue
				}
				d2 := max(qn[i]+tn[j]-2*dot, 0)
				if len(near) < k || d2 < near[len(near)-1] {
					at, _ := slices.BinarySearch(near, d2)
					near = slices.Insert(near, at, d2)
					if len(near) > k {
						near = near[:k]
					}
				}
			}
			var s float64
			for _, v := range near {
				s += math.Sqrt(v)
			}
			out[lo+i] = s / float64(len(near))
		}
	}
	return out
}
