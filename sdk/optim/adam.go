package optim

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Adam is the Adam optimiser. The zero value is not usable; use NewAdam.
//
// The update of Kingma & Ba (2015), Algorithm 1, for a parameter θ with
// gradient g at step t:
//
//	m ← β1·m + (1-β1)·g
//	v ← β2·v + (1-β2)·g²
//	θ ← θ - η · (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + ε)
//
// which is also what PyTorch's torch.optim.Adam computes.
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	// T is the number of steps taken.
	T int
	// M and V are the first and second moment estimates, one slice per
	// parameter in the order the parameters are passed to Step. They are
	// allocated at the first step.
	M, V [][]float32
}

// NewAdam returns Adam with learning rate lr, β1 = beta1, β2 = 0.999 and
// ε = 1e-8.
func NewAdam(lr, beta1 float64) *Adam { return NewAdamBetas(lr, beta1, 0.999) }

// NewAdamBetas returns Adam with learning rate lr, β1 = beta1, β2 = beta2
// (both as given: WGAN-GP, Gulrajani et al. 2017, Algorithm 1, uses 0 and
// 0.9) and ε = 1e-8.
func NewAdamBetas(lr, beta1, beta2 float64) *Adam {
	return &Adam{LR: lr, Beta1: beta1, Beta2: beta2, Eps: 1e-8}
}

// Update applies one Adam step to params given their gradients; params[i]
// is changed in place. Parameters must be passed in the same order at every
// step.
func (a *Adam) Update(params, grads [][]float32) error {
	if len(params) != len(grads) {
		return fmt.Errorf("optim: %d parameters but %d gradients", len(params), len(grads))
	}
	if err := a.ensure(params); err != nil {
		return err
	}
	a.T++
	for i := range params {
		if len(grads[i]) != len(params[i]) {
			return fmt.Errorf("optim: parameter %d has %d values but its gradient %d", i, len(params[i]), len(grads[i]))
		}
		a.apply(params[i], grads[i], a.M[i], a.V[i], a.T)
	}
	return nil
}

// UpdateRows applies one Adam step to some rows of a single parameter of
// len(steps) rows of rowLen values each: row r takes its steps[r]-th step
// (bias corrections of step steps[r]) when steps[r] > 0 and is left alone,
// value and moments, when steps[r] is 0. Rows are thus independent
// optimisations that may start at different times (the mapper's queries);
// ResetRow clears a row's moments before it starts over. T counts calls.
func (a *Adam) UpdateRows(param, grad []float32, rowLen int, steps []int) error {
	if len(param) != len(grad) || len(param) != rowLen*len(steps) {
		return fmt.Errorf("optim: parameter of %d values, gradient of %d, %d rows of %d", len(param), len(grad), len(steps), rowLen)
	}
	if err := a.ensure([][]float32{param}); err != nil {
		return err
	}
	a.T++
	for r, t := range steps {
		if t <= 0 {
			continue
		}
		lo, hi := r*rowLen, (r+1)*rowLen
		a.apply(param[lo:hi], grad[lo:hi], a.M[0][lo:hi], a.V[0][lo:hi], t)
	}
	return nil
}

// ResetRow clears the moments of row r of the single parameter that
// UpdateRows updates, so that the row's next step is a first step.
func (a *Adam) ResetRow(r, rowLen int) {
	if a.M == nil {
		return
	}
	clear(a.M[0][r*rowLen : (r+1)*rowLen])
	clear(a.V[0][r*rowLen : (r+1)*rowLen])
}

func (a *Adam) ensure(params [][]float32) error {
	if a.M == nil {
		a.M = make([][]float32, len(params))
		a.V = make([][]float32, len(params))
		for i, p := range params {
			a.M[i] = make([]float32, len(p))
			a.V[i] = make([]float32, len(p))
		}
		return nil
	}
	if len(a.M) != len(params) || len(a.V) != len(params) {
		return fmt.Errorf("optim: state for %d parameters, called with %d", len(a.M), len(params))
	}
	for i, p := range params {
		if len(a.M[i]) != len(p) || len(a.V[i]) != len(p) {
			return fmt.Errorf("optim: state of parameter %d has %d values, parameter %d", i, len(a.M[i]), len(p))
		}
	}
	return nil
}

func (a *Adam) apply(p, g, m, v []float32, t int) {
	b1, b2 := float32(a.Beta1), float32(a.Beta2)
	c1 := 1 - math.Pow(a.Beta1, float64(t))
	c2 := 1 - math.Pow(a.Beta2, float64(t))
	step := float32(a.LR / c1)
	invC2 := float32(1 / c2)
	eps := float32(a.Eps)
	for j, gj := range g {
		mj := b1*m[j] + (1-b1)*gj
		vj := b2*v[j] + (1-b2)*gj*gj
		m[j], v[j] = mj, vj
		p[j] -= step * mj / (float32(math.Sqrt(float64(vj*invC2))) + eps)
	}
}

// Step implements gorgonia.Solver: each ValueGrad must hold a float32
// *tensor.Dense value and gradient. Unlike gorgonia's solvers it leaves the
// gradients untouched.
func (a *Adam) Step(model []gorgonia.ValueGrad) error {
	params := make([][]float32, len(model))
	grads := make([][]float32, len(model))
	for i, vg := range model {
		g, err := vg.Grad()
		if err != nil {
			return fmt.Errorf("optim: gradient of parameter %d: %w", i, err)
		}
		var ok bool
		if params[i], ok = float32s(vg.Value()); !ok {
			return fmt.Errorf("optim: parameter %d is not a float32 tensor", i)
		}
		if grads[i], ok = float32s(g); !ok {
			return fmt.Errorf("optim: gradient of parameter %d is not a float32 tensor", i)
		}
	}
	return a.Update(params, grads)
}

func float32s(v gorgonia.Value) ([]float32, bool) {
	d, ok := v.(*tensor.Dense)
	if !ok {
		return nil, false
	}
	f, ok := d.Data().([]float32)
	return f, ok
}
