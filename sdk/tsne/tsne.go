package tsne

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// Options are the settings of Embed. A zero field means its default.
type Options struct {
	// Perplexity is the effective number of neighbours each point's
	// Gaussian kernel covers (van der Maaten and Hinton 2008, Sec. 2);
	// default 30. It must be less than the number of points.
	Perplexity float64
	// Iterations is the number of gradient steps; default 1000. The first
	// quarter of them, at most 250, use early exaggeration.
	Iterations int
	// LearningRate is the gradient step size; default max(n/48, 50) for n
	// points, scikit-learn's "auto" rule after Belkina et al. (2019), which
	// keeps the exaggerated early steps stable (the classic 200 makes small
	// data sets oscillate).
	LearningRate float64
	// Seed seeds the random initial embedding.
	Seed uint64
}

// Defaults and schedule of the optimisation, as in van der Maaten and
// Hinton (2008, Sec. 3.4) and their reference implementation.
const (
	defaultPerplexity   = 30
	defaultIterations   = 1000
	exaggeration        = 12   // P is multiplied by this during early exaggeration
	maxExaggerationIter = 250  // early exaggeration lasts at most this many steps
	initialMomentum     = 0.5  // momentum while exaggerating
	finalMomentum       = 0.8  // momentum afterwards
	initialSD           = 1e-4 // standard deviation of the random initial embedding
	minGain             = 0.01 // lower bound of the adaptive per-coordinate gains
	minP                = 1e-12
	entropyTol          = 1e-5 // tolerance of the perplexity search, in nats
	maxSearchSteps      = 100
)

// Embed returns a two-dimensional embedding of the rows of x, one point per
// row, found by minimising the Kullback-Leibler divergence between the
// Gaussian neighbour probabilities P of the rows (each row's bandwidth set by
// binary search to match opt.Perplexity) and the Student-t neighbour
// probabilities Q of the embedding, by gradient descent with early
// exaggeration, momentum and adaptive gains.
//
// Embed returns an error if x has fewer than two rows, rows of different or
// zero length, a NaN or infinite value, or if an option is negative or the
// perplexity is not less than the number of rows. x is not modified.
func Embed(x [][]float64, opt Options) ([][2]float64, error) {
	opt, err := check(x, opt)
	if err != nil {
		return nil, err
	}
	n := len(x)
	p := affinities(sqDistances(x), n, opt.Perplexity)
	return optimise(p, n, opt), nil
}

// check validates x and fills in the default options.
func check(x [][]float64, opt Options) (Options, error) {
	switch {
	case opt.Perplexity < 0 || math.IsNaN(opt.Perplexity):
		return opt, fmt.Errorf("tsne: perplexity %v is negative", opt.Perplexity)
	case opt.Iterations < 0:
		return opt, fmt.Errorf("tsne: iterations %d is negative", opt.Iterations)
	case opt.LearningRate < 0 || math.IsNaN(opt.LearningRate):
		return opt, fmt.Errorf("tsne: learning rate %v is negative", opt.LearningRate)
	}
	if opt.Perplexity == 0 {
		opt.Perplexity = defaultPerplexity
	}
	if opt.Iterations == 0 {
		opt.Iterations = defaultIterations
	}
	if opt.LearningRate == 0 {
		opt.LearningRate = max(float64(len(x))/(4*exaggeration), 50)
	}
	if len(x) < 2 {
		return opt, fmt.Errorf("tsne: %d points, need at least 2", len(x))
	}
	if opt.Perplexity >= float64(len(x)) {
		return opt, fmt.Errorf("tsne: perplexity %v must be less than the number of points (%d)", opt.Perplexity, len(x))
	}
	d := len(x[0])
	if d == 0 {
		return opt, fmt.Errorf("tsne: row 0 has no values")
	}
	for i, row := range x {
		if len(row) != d {
			return opt, fmt.Errorf("tsne: row %d has %d values, row 0 has %d", i, len(row), d)
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return opt, fmt.Errorf("tsne: row %d, column %d is %v", i, j, v)
			}
		}
	}
	return opt, nil
}

// sqDistances returns the n×n squared Euclidean distances between the rows
// of x, row by row, from the Gram matrix: |a-b|² = |a|² + |b|² - 2a·b.
func sqDistances(x [][]float64) []float64 {
	n, d := len(x), len(x[0])
	xm := mat.NewDense(n, d, nil)
	for i, row := range x {
		xm.SetRow(i, row)
	}
	var g mat.SymDense
	g.SymOuterK(1, xm)
	dist := make([]float64, n*n)
	for i := range n {
		for j := i + 1; j < n; j++ {
			v := max(g.At(i, i)+g.At(j, j)-2*g.At(i, j), 0)
			dist[i*n+j], dist[j*n+i] = v, v
		}
	}
	return dist
}

// affinities returns the symmetric joint probabilities
// p_ij = (p_j|i + p_i|j) / 2n (van der Maaten and Hinton 2008, Eq. 1 and
// Sec. 3.1), where p_j|i ∝ exp(-β_i |x_i - x_j|²) and β_i is found by
// bisection so that the perplexity 2^H(P_i) equals perplexity.
func affinities(dist []float64, n int, perplexity float64) []float64 {
	p := make([]float64, n*n)
	parallel(n, func(i int) { conditional(dist[i*n:(i+1)*n], p[i*n:(i+1)*n], i, perplexity) })
	for i := range n {
		for j := i + 1; j < n; j++ {
			v := max((p[i*n+j]+p[j*n+i])/float64(2*n), minP)
			p[i*n+j], p[j*n+i] = v, v
		}
		p[i*n+i] = 0
	}
	return p
}

// conditional writes p_j|i into row for the distances d of point i.
// Distances are shifted by their minimum, which leaves p_j|i unchanged and
// keeps the largest term at exp(0) = 1, so the sum never underflows.
func conditional(d, row []float64, i int, perplexity float64) {
	dmin, dsum := math.Inf(1), 0.0
	for j, v := range d {
		if j != i {
			dmin = min(dmin, v)
			dsum += v
		}
	}
	logU := math.Log(perplexity)
	beta := 1.0
	if mean := dsum/float64(len(d)-1) - dmin; mean > 0 {
		beta = 1 / mean
	}
	lo, hi := 0.0, math.Inf(1)
	for range maxSearchSteps {
		// H = log Σ exp(-β d') + β Σ d' p, with d' = d - dmin.
		var sum, wsum float64
		for j, v := range d {
			if j == i {
				row[j] = 0
				continue
			}
			e := math.Exp(-beta * (v - dmin))
			row[j] = e
			sum += e
			wsum += (v - dmin) * e
		}
		h := math.Log(sum) + beta*wsum/sum
		if math.Abs(h-logU) < entropyTol {
			break
		}
		if h > logU { // too flat: sharpen
			lo = beta
			if math.IsInf(hi, 1) {
				beta *= 2
			} else {
				beta = (beta + hi) / 2
			}
		} else {
			hi = beta
			beta = (beta + lo) / 2
		}
	}
	var sum float64
	for _, v := range row {
		sum += v
	}
	for j := range row {
		row[j] /= sum
	}
}

// optimise minimises KL(P||Q) over the embedding (van der Maaten and Hinton
// 2008, Eq. 5 for the gradient, Sec. 3.4 for the schedule).
func optimise(p []float64, n int, opt Options) [][2]float64 {
	rnd := rand.New(rand.NewPCG(opt.Seed, opt.Seed))
	y := make([]float64, 2*n)
	for k := range y {
		y[k] = initialSD * rnd.NormFloat64()
	}
	update := make([]float64, 2*n)
	gains := make([]float64, 2*n)
	for k := range gains {
		gains[k] = 1
	}
	grad := make([]float64, 2*n)
	attract := make([]float64, 2*n) // Σ_j p_ij q̃_ij (y_i - y_j)
	repulse := make([]float64, 2*n) // Σ_j q̃_ij² (y_i - y_j)
	rowZ := make([]float64, n)      // Σ_j q̃_ij, q̃_ij = 1 / (1 + |y_i - y_j|²)
	stopExaggeration := min(maxExaggerationIter, opt.Iterations/4)

	for it := range opt.Iterations {
		exag, momentum := 1.0, finalMomentum
		if it < stopExaggeration {
			exag, momentum = exaggeration, initialMomentum
		}
		parallel(n, func(i int) {
			yi0, yi1 := y[2*i], y[2*i+1]
			prow := p[i*n : (i+1)*n]
			var z, a0, a1, r0, r1 float64
			for j := range n {
				if j == i {
					continue
				}
				d0, d1 := yi0-y[2*j], yi1-y[2*j+1]
				q := 1 / (1 + d0*d0 + d1*d1)
				z += q
				pq := prow[j] * q
				a0 += pq * d0
				a1 += pq * d1
				qq := q * q
				r0 += qq * d0
				r1 += qq * d1
			}
			rowZ[i] = z
			attract[2*i], attract[2*i+1] = a0, a1
			repulse[2*i], repulse[2*i+1] = r0, r1
		})
		var z float64
		for _, v := range rowZ {
			z += v
		}
		// Eq. 5: ∂C/∂y_i = 4 Σ_j (p_ij - q_ij) q̃_ij (y_i - y_j), q_ij = q̃_ij / Z.
		for k := range grad {
			grad[k] = 4 * (exag*attract[k] - repulse[k]/z)
		}
		var mean [2]float64
		for k := range y {
			if (grad[k] > 0) != (update[k] > 0) {
				gains[k] += 0.2
			} else {
				gains[k] *= 0.8
			}
			gains[k] = max(gains[k], minGain)
			update[k] = momentum*update[k] - opt.LearningRate*gains[k]*grad[k]
			y[k] += update[k]
			mean[k%2] += y[k]
		}
		for k := range y {
			y[k] -= mean[k%2] / float64(n)
		}
	}
	out := make([][2]float64, n)
	for i := range out {
		out[i] = [2]float64{y[2*i], y[2*i+1]}
	}
	return out
}

// parallel calls f(i) for i in [0, n) on GOMAXPROCS goroutines. f must
// write only to locations owned by i, so the result is independent of the
// schedule.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 || n < 64 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for w := range workers {
		lo, hi := w*chunk, min((w+1)*chunk, n)
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				f(i)
			}
		})
	}
	wg.Wait()
}
