package penalty_test

import (
	"fmt"
	"math"

	"github.com/anogo/anogo/sdk/penalty"
)

// linear is the critic D(x) = θ·x: ∇_x D = θ for every x, so the WGAN-GP
// penalty is λ(‖θ‖ − 1)² and its gradient 2λ(‖θ‖ − 1)·θ/‖θ‖.
type linear struct{ theta []float32 }

func (l linear) InputGrad(d, gx, x []float32) error {
	m := len(l.theta)
	for i := range d {
		d[i] = 0
		for j, th := range l.theta {
			d[i] += th * x[i*m+j]
			gx[i*m+j] = th
		}
	}
	return nil
}

// WeightGrad: ∇_θ Σ_i w_i θ·x_i = Σ_i w_i x_i; no kinks, so at is ignored.
func (l linear) WeightGrad(dst [][]float32, x, w, at []float32) error {
	m := len(l.theta)
	for j := range dst[0] {
		dst[0][j] = 0
		for i, wi := range w {
			dst[0][j] += wi * x[i*m+j]
		}
	}
	return nil
}

func ExampleWGANGP() {
	c := linear{theta: []float32{3, 4}} // ‖θ‖ = 5
	real := []float32{1, 0, 0.5, 0.5}   // two samples of two values
	fake := []float32{-1, 0, 0, 1}
	alpha := []float32{0.3, 0.8}
	grad := [][]float32{make([]float32, 2)} // the critic loss's gradient would be here
	p, err := penalty.WGANGP(c, grad, real, fake, alpha, 10, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("penalty %.4f, exactly %.4f\n", p, 10*math.Pow(5-1, 2))
	fmt.Printf("gradient [%.3f %.3f], exactly [%.3f %.3f]\n", grad[0][0], grad[0][1], 2*10*4*3/5.0, 2*10*4*4/5.0)
	// Output:
	// penalty 160.0000, exactly 160.0000
	// gradient [48.000 64.000], exactly [48.000 64.000]
}
