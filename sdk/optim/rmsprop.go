package optim

import (
	"fmt"
	"math"
)

// RMSProp is the RMSProp optimiser (Tieleman and Hinton 2012, lecture 6.5)
// as TensorFlow 1's tf.train.RMSPropOptimizer computes it, the optimiser of
// f-AnoGAN's encoder training (Schlegl et al. 2019). The zero value is not
// usable; use NewRMSProp. For a parameter θ with gradient g:
//
//	s ← ρ·s + (1-ρ)·g²
//	θ ← θ - η · g / sqrt(s + ε)
//
// with s starting at Init: TensorFlow 1 starts it at 1, so the first steps
// are about η·g; PyTorch's torch.optim.RMSprop starts at 0 and adds ε
// outside the square root, which makes its first step η/sqrt(1-ρ) per unit
// sign of g.
type RMSProp struct {
	LR, Decay, Eps, Init float64
	// T is the number of steps taken.
	T int
	// S holds the running mean of g², one slice per parameter in the order
	// the parameters are passed to Update, allocated at the first step.
	S [][]float32
}

// NewRMSProp returns RMSProp with learning rate lr and TensorFlow 1's
// defaults: ρ = 0.9, ε = 1e-10, s starting at 1.
func NewRMSProp(lr float64) *RMSProp {
	return &RMSProp{LR: lr, Decay: 0.9, Eps: 1e-10, Init: 1}
}

// Update applies one step to params given their gradients; params[i] is
// changed in place. Parameters must be passed in the same order at every
// step.
func (r *RMSProp) Update(params, grads [][]float32) error {
	if len(params) != len(grads) {
		return fmt.Errorf("optim: %d parameters but %d gradients", len(params), len(grads))
	}
	if r.S == nil {
		r.S = make([][]float32, len(params))
		for i, p := range params {
			s := make([]float32, len(p))
			for j := range s {
				s[j] = float32(r.Init)
			}
			r.S[i] = s
		}
	}
	if len(r.S) != len(params) {
		return fmt.Errorf("optim: state for %d parameters, called with %d", len(r.S), len(params))
	}
	for i := range params {
		if len(grads[i]) != len(params[i]) || len(r.S[i]) != len(params[i]) {
			return fmt.Errorf("optim: parameter %d has %d values, its gradient %d, its state %d",
				i, len(params[i]), len(grads[i]), len(r.S[i]))
		}
	}
	r.T++
	rho, lr, eps := float32(r.Decay), float32(r.LR), float32(r.Eps)
	for i, p := range params {
		s := r.S[i]
		for j, g := range grads[i] {
			sj := rho*s[j] + (1-rho)*g*g
			s[j] = sj
			p[j] -= lr * g / float32(math.Sqrt(float64(sj+eps)))
		}
	}
	return nil
}
