package penalty

import (
	"errors"
	"fmt"
	"math"
)

// Critic is a network D(x; θ) that scores every sample of a batch on its own:
// D(x_i) depends on x_i and the weights θ only. A batch of n samples of d
// values each is one slice of n·d values, sample after sample (NCHW images
// flattened). The parameters θ are a fixed list of slices, in the order the
// critic's optimiser uses.
type Critic interface {
	// InputGrad sets d[i] = D(x_i) and gx to ∇_x Σ_i D(x_i), the input
	// gradients of all samples at once (len(gx) == len(x)). The batch has
	// n = len(d) samples.
	InputGrad(d, gx, x []float32) error

	// WeightGrad sets dst (one slice per parameter) to ∇_θ Σ_i w[i]·D(x_i).
	// The batch has n = len(w) samples.
	//
	// When at is not nil (a batch of x's shape), every piecewise-linear
	// activation of D (ReLU, LeakyReLU, max pooling) takes the slope or the
	// choice it has for the matching sample of at, not the one of x: the
	// gradient is that of the network whose kinks are frozen at at's
	// activation pattern. This is what autograd differentiates when it takes
	// the second derivative (it treats the slopes as constants), and it is
	// what makes the finite differences of this package exact for such
	// activations: see the package documentation. A critic without kinks
	// (smooth activations only) ignores at; a critic with kinks must honour
	// it, or the penalty's gradient is wrong by 100% and more.
	WeightGrad(dst [][]float32, x, w, at []float32) error
}

// BatchCoupler is implemented by critics that can say whether a sample's
// output depends on the other samples of its batch, as it does with
// BatchNorm in train mode (batch statistics): such a critic has no
// per-sample input gradient, and the penalties refuse it with
// ErrBatchCoupled. BatchNorm in eval mode (running statistics) is a
// per-sample affine map and is fine.
type BatchCoupler interface {
	BatchCoupled() bool
}

// ErrBatchCoupled is returned for a critic whose BatchCoupled method reports
// that its samples depend on each other.
var ErrBatchCoupled = errors.New("penalty: critic couples the samples of a batch (BatchNorm in train mode?); " +
	"a gradient penalty needs per-sample outputs (use LayerNorm, or BatchNorm in eval mode)")

// Options are the settings of the finite differences. A nil *Options means
// the zero value, which is the default.
type Options struct {
	// Eps is the relative step ε: sample i is moved by ±ε·max(‖x_i‖, 1)
	// along its direction v_i (and by twice that for Richardson's second
	// pair). 0 means DefaultEps, or DefaultEpsCentral with Central.
	Eps float64
	// Central takes one central difference (two weight-gradient passes)
	// instead of Richardson's extrapolation of two (four passes): half the
	// cost, an error of order ε² instead of ε⁴ for smooth layers such as
	// LayerNorm. Piecewise-linear critics are exact either way.
	Central bool
}

// Default steps, chosen for float32 critics by the measurements in
// docs/penalty.md: with LayerNorm the error is about 8ε² (central) plus
// float32 rounding of about 5e-8/ε (relative to the gradient's norm), so
// ε = 2e-3 gives 5e-5 and Richardson's ε = 1e-2 gives 1e-5.
const (
	DefaultEps        = 1e-2
	DefaultEpsCentral = 2e-3
)

func (o *Options) eps() float64 {
	switch {
	case o != nil && o.Eps > 0:
		return o.Eps
	case o != nil && o.Central:
		return DefaultEpsCentral
	}
	return DefaultEps
}

// Passes returns the number of critic passes one WGANGP or R1 call makes:
// one InputGrad (a forward and a backward pass) and 4 WeightGrad calls, or
// 2 with o.Central.
func (o *Options) Passes() (input, weight int) {
	if o != nil && o.Central {
		return 1, 2
	}
	return 1, 4
}

// WGANGP computes the gradient penalty of Gulrajani et al. (2017),
// "Improved Training of Wasserstein GANs", Eq. (3) and Algorithm 1:
//
//	P(θ) = λ/N · Σ_i (‖∇_x D(x̂_i)‖ − 1)²,  x̂_i = α_i·real_i + (1−α_i)·fake_i,
//
// returns P and adds ∂P/∂θ to grad (the gradient of the critic's loss, one
// slice per parameter, as WeightGrad writes them). real and fake are batches
// of N = len(alpha) samples; the caller draws α_i from U[0, 1] (the paper's
// λ is 10). A sample with ∇_x D(x̂_i) = 0 contributes (0−1)² to P and
// nothing to ∂P/∂θ (its direction is undefined; PyTorch's norm does the
// same).
//
// ∂P/∂θ = Σ_i c_i·∂/∂θ[∇_x D(x̂_i)·v_i] with v_i = ∇_x D(x̂_i) held fixed and
// c_i = 2λ(‖v_i‖−1)/(N‖v_i‖), which MixedGrad computes. Cost: one InputGrad
// and four WeightGrad calls (two with o.Central).
//
// WGANGP panics if the lengths of real, fake and alpha do not agree. It
// returns ErrBatchCoupled for a BatchCoupler that couples its samples, and
// an error if the critic fails or its gradients are not finite.
func WGANGP(c Critic, grad [][]float32, real, fake, alpha []float32, lambda float64, o *Options) (float64, error) {
	n := len(alpha)
	if n == 0 || len(real) != len(fake) || len(real)%n != 0 || len(real) == 0 {
		panic(fmt.Sprintf("penalty: WGANGP: %d real and %d fake values for %d samples", len(real), len(fake), n))
	}
	if err := checkCoupled(c); err != nil {
		return 0, err
	}
	d := len(real) / n
	xh := make([]float32, len(real))
	for i := 0; i < n; i++ {
		a := alpha[i]
		for j := i * d; j < (i+1)*d; j++ {
			xh[j] = a*real[j] + (1-a)*fake[j]
		}
	}
	g, norms, err := inputGrad(c, xh, n)
	if err != nil {
		return 0, fmt.Errorf("penalty: WGANGP: %w", err)
	}
	var p float64
	coef := make([]float64, n)
	for i, gn := range norms {
		p += (gn - 1) * (gn - 1)
		if gn > 0 {
			coef[i] = 2 * lambda * (gn - 1) / (float64(n) * gn)
		}
	}
	if err := MixedGrad(c, grad, xh, g, coef, o); err != nil {
		return 0, fmt.Errorf("penalty: WGANGP: %w", err)
	}
	return lambda * p / float64(n), nil
}

// R1 computes the R1 regulariser of Mescheder et al. (2018), "Which
// Training Methods for GANs do actually Converge?", Eq. (9), over a batch of
// N = n real samples:
//
//	R1(θ) = γ/(2N) · Σ_i ‖∇_x D(x_i)‖²,
//
// returns it and adds ∂R1/∂θ to grad. ∂R1/∂θ = Σ_i (γ/N)·∂/∂θ[∇_x D(x_i)·v_i]
// with v_i = ∇_x D(x_i) held fixed, which MixedGrad computes. Cost: one
// InputGrad and four WeightGrad calls (two with o.Central).
//
// R1 panics if n < 1 or len(real) is not a multiple of n. Errors are as for
// WGANGP.
func R1(c Critic, grad [][]float32, real []float32, n int, gamma float64, o *Options) (float64, error) {
	if n < 1 || len(real) == 0 || len(real)%n != 0 {
		panic(fmt.Sprintf("penalty: R1: %d values for %d samples", len(real), n))
	}
	if err := checkCoupled(c); err != nil {
		return 0, err
	}
	g, norms, err := inputGrad(c, real, n)
	if err != nil {
		return 0, fmt.Errorf("penalty: R1: %w", err)
	}
	var p float64
	coef := make([]float64, n)
	for i, gn := range norms {
		p += gn * gn
		coef[i] = gamma / float64(n)
	}
	if err := MixedGrad(c, grad, real, g, coef, o); err != nil {
		return 0, fmt.Errorf("penalty: R1: %w", err)
	}
	return gamma * p / (2 * float64(n)), nil
}

func checkCoupled(c Critic) error {
	if bc, ok := c.(BatchCoupler); ok && bc.BatchCoupled() {
		return ErrBatchCoupled
	}
	return nil
}

// inputGrad returns ∇_x D at the n samples of x and each sample's norm.
func inputGrad(c Critic, x []float32, n int) ([]float32, []float64, error) {
	d := make([]float32, n)
	g := make([]float32, len(x))
	if err := c.InputGrad(d, g, x); err != nil {
		return nil, nil, fmt.Errorf("input gradient: %w", err)
	}
	norms := norms(g, n)
	for i, v := range norms {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("input gradient of sample %d is not finite (norm %v)", i, v)
		}
	}
	return g, norms, nil
}

func norms(x []float32, n int) []float64 {
	d := len(x) / n
	out := make([]float64, n)
	for i := range out {
		var s float64
		for _, v := range x[i*d : (i+1)*d] {
			s += float64(v) * float64(v)
		}
		out[i] = math.Sqrt(s)
	}
	return out
}

// MixedGrad adds Σ_i coef[i]·∂/∂θ[∇_x D(x_i)·v_i] to grad, the v_i held
// fixed: the weight gradient of any penalty on the input gradient, once the
// penalty's derivative with respect to ∇_x D(x_i) is written as coef[i]·v_i.
// x and v are batches of n = len(coef) samples.
//
// The mixed derivative is a directional derivative of the ordinary weight
// gradient (the mixed partials of D commute):
//
//	∂/∂θ[∇_x D(x_i)·v_i] = d/dt ∇_θ D(x_i + t·v_i) at t = 0,
//
// taken by central differences of WeightGrad at x_i ± h_i·v_i, the
// activation pattern frozen at x (WeightGrad's at), with one step per
// sample, h_i = ε·max(‖x_i‖, 1)/‖v_i‖, and the weights w_i = coef[i]/h_i,
// so that each pair of passes gives the whole sum. Richardson's
// extrapolation of the steps h and 2h, (8·Δ(h) − Δ(2h))/12 with
// Δ(s) = F(x+s·v) − F(x−s·v), cancels the ε² term; the differences are
// summed in float64. Samples with coef[i] = 0 or v_i = 0 are skipped.
//
// MixedGrad panics if the lengths disagree or coef is empty.
func MixedGrad(c Critic, grad [][]float32, x, v []float32, coef []float64, o *Options) error {
	n := len(coef)
	if n == 0 || len(x) != len(v) || len(x)%n != 0 || len(x) == 0 {
		panic(fmt.Sprintf("penalty: MixedGrad: %d values of x and %d of v for %d samples", len(x), len(v), n))
	}
	d := len(x) / n
	eps := o.eps()
	vn, xn := norms(v, n), norms(x, n)
	h := make([]float64, n) // step of each sample along v_i
	w := make([]float32, n)
	active := false
	for i := range h {
		if coef[i] == 0 || vn[i] == 0 {
			continue
		}
		if math.IsNaN(coef[i]) || math.IsInf(coef[i], 0) {
			return fmt.Errorf("coefficient %d is %v", i, coef[i])
		}
		h[i] = eps * math.Max(xn[i], 1) / vn[i]
		w[i] = float32(coef[i] / h[i])
		active = true
	}
	if !active {
		return nil
	}
	acc := make([][]float64, len(grad))
	tmp := make([][]float32, len(grad))
	for k, g := range grad {
		acc[k] = make([]float64, len(g))
		tmp[k] = make([]float32, len(g))
	}
	// Each pass is scaled by its factor in the final combination.
	type pass struct{ step, factor float64 }
	passes := []pass{{1, 8.0 / 12}, {-1, -8.0 / 12}, {2, -1.0 / 12}, {-2, 1.0 / 12}}
	if o != nil && o.Central {
		passes = []pass{{1, 0.5}, {-1, -0.5}}
	}
	xp := make([]float32, len(x))
	for _, p := range passes {
		for i := 0; i < n; i++ {
			s := p.step * h[i]
			for j := i * d; j < (i+1)*d; j++ {
				xp[j] = float32(float64(x[j]) + s*float64(v[j]))
			}
		}
		if err := c.WeightGrad(tmp, xp, w, x); err != nil {
			return fmt.Errorf("weight gradient at step %g: %w", p.step, err)
		}
		for k, t := range tmp {
			if len(t) != len(grad[k]) {
				return fmt.Errorf("weight gradient %d has %d values, grad %d", k, len(t), len(grad[k]))
			}
			a := acc[k]
			for j, val := range t {
				a[j] += p.factor * float64(val)
			}
		}
	}
	for k, a := range acc {
		g := grad[k]
		for j, val := range a {
			if math.IsNaN(val) || math.IsInf(val, 0) {
				return fmt.Errorf("weight gradient %d is not finite at %d", k, j)
			}
			g[j] += float32(val)
		}
	}
	return nil
}

// CheckPerSample reports whether c scores the n samples of x independently:
// it perturbs the first sample and checks that the outputs of the others do
// not move by more than tol relative to their largest magnitude. A critic
// with BatchNorm in train mode fails it. Use it in a critic's tests; it
// costs two InputGrad calls. CheckPerSample panics if n < 2 or len(x) is
// not a multiple of n.
func CheckPerSample(c Critic, x []float32, n int, tol float64) error {
	if n < 2 || len(x) == 0 || len(x)%n != 0 {
		panic(fmt.Sprintf("penalty: CheckPerSample: %d values for %d samples (two or more needed)", len(x), n))
	}
	d := len(x) / n
	d0, d1 := make([]float32, n), make([]float32, n)
	g := make([]float32, len(x))
	if err := c.InputGrad(d0, g, x); err != nil {
		return fmt.Errorf("penalty: CheckPerSample: %w", err)
	}
	y := append([]float32(nil), x...)
	for j := 0; j < d; j++ {
		y[j] = -2*y[j] + 0.5
	}
	if err := c.InputGrad(d1, g, y); err != nil {
		return fmt.Errorf("penalty: CheckPerSample: %w", err)
	}
	var scale float64
	for _, v := range d0[1:] {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := 1; i < n; i++ {
		if diff := math.Abs(float64(d1[i] - d0[i])); diff > tol*math.Max(scale, 1e-30) {
			return fmt.Errorf("penalty: CheckPerSample: changing sample 0 moved D(x_%d) from %g to %g: the critic couples its samples", i, d0[i], d1[i])
		}
	}
	return nil
}
