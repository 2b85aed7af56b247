package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
)

// awayFromZero moves values of a pre-activation (or a difference) at least
// margin away from the kink at 0, where finite differences are meaningless.
func awayFromZero(x []float32, margin float32) {
	for i, v := range x {
		switch {
		case v >= 0 && v < margin:
			x[i] = v + margin
		case v < 0 && v > -margin:
			x[i] = v - margin
		}
	}
}

func TestGradients(t *testing.T) {
	// The loss is summed in float64 from the float32 output, so central
	// differences of step eps carry a rounding error of about
	// 1e-7·|out|/eps ≈ 1e-5 and a truncation error of eps²·|f'''|/6 for the
	// curved ops (tanh, sigmoid, BatchNorm). The largest relative error seen
	// is 3e-5; tol leaves a factor 30 and still catches any wrong term of the
	// backward pass (those are O(1)).
	const (
		eps = 1e-2
		tol = 1e-3
	)
	bnInit := func(rng *rand.Rand, i int, d [][]float32) {
		if i == 0 { // x with an offset per element, so the mean matters
			for k := range d[0] {
				d[0][k] = d[0][k]*2 + 0.5
			}
		}
	}
	cases := []gradCase{
		{name: "Conv2d k5 s2 p2", shapes: [][]int{{2, 3, 6, 6}, {4, 3, 5, 5}}, wrt: []int{0, 1},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return Conv2d(in[0], in[1], 2, 2, 0) }},
		{name: "Conv2d k3 s1 p1", shapes: [][]int{{2, 2, 5, 4}, {3, 2, 3, 3}}, wrt: []int{0, 1},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return Conv2d(in[0], in[1], 1, 1, 0) }},
		{name: "ConvTranspose2d k5 s2 p2 op1", shapes: [][]int{{2, 3, 3, 3}, {3, 2, 5, 5}}, wrt: []int{0, 1},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return ConvTranspose2d(in[0], in[1], 2, 2, 1, 0) }},
		{name: "ConvTranspose2d k4 s2 p1", shapes: [][]int{{2, 2, 3, 2}, {2, 3, 4, 4}}, wrt: []int{0, 1},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return ConvTranspose2d(in[0], in[1], 2, 1, 0, 0) }},
		{name: "Linear", shapes: [][]int{{3, 5}, {4, 5}}, wrt: []int{0, 1},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return Linear(in[0], in[1], 0) }},
		{name: "BatchNorm train 4-d", shapes: [][]int{{3, 2, 2, 3}, {2}, {2}}, wrt: []int{0, 1, 2}, init: bnInit,
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				return BatchNorm(in[0], in[1], in[2], NewBNStats(2), true, 0)
			}},
		{name: "BatchNorm train 2-d", shapes: [][]int{{5, 3}, {3}, {3}}, wrt: []int{0, 1, 2}, init: bnInit,
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				return BatchNorm(in[0], in[1], in[2], NewBNStats(3), true, 0)
			}},
		{name: "BatchNorm eval", shapes: [][]int{{2, 3, 2, 2}, {3}, {3}}, wrt: []int{0, 1, 2}, init: bnInit,
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				st := &BNStats{Mean: []float32{0.3, -0.2, 1}, Var: []float32{0.5, 2, 1.5}, Momentum: 0.1, Eps: 1e-5}
				return BatchNorm(in[0], in[1], in[2], st, false, 0)
			}},
		{name: "AbsDiffSum", shapes: [][]int{{3, 2, 2, 2}, {3, 2, 2, 2}}, wrt: []int{0, 1},
			init: func(rng *rand.Rand, i int, d [][]float32) {
				if i == 1 {
					for k := range d[1] {
						diff := d[0][k] - d[1][k]
						if diff > -0.05 && diff < 0.05 {
							d[1][k] -= 0.1
						}
					}
				}
			},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return AbsDiffSum(in[0], in[1], 0) }},
		{name: "BCEWithLogits [N 1]", shapes: [][]int{{5, 1}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return BCEWithLogits(in[0], 0.7) }},
		{name: "BCEWithLogits [N]", shapes: [][]int{{4}}, wrt: []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return BCEWithLogits(in[0], 1) }},
		{name: "Flatten Unflatten", shapes: [][]int{{2, 3, 2, 2}, {4, 12}}, wrt: []int{0, 1},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				f, err := Flatten(in[0])
				if err != nil {
					return nil, err
				}
				l, err := Linear(f, in[1], 0)
				if err != nil {
					return nil, err
				}
				return Unflatten(l, 2, 1, 2, 2)
			}},
	}
	for _, act := range []Act{Identity, ReLU, LeakyReLU, Tanh, Sigmoid} {
		for _, shape := range [][]int{{2, 3, 2, 2}, {4, 3}} {
			cases = append(cases, gradCase{
				name:   fmt.Sprintf("BiasAct %v %v", act, shape),
				shapes: [][]int{shape, {3}},
				wrt:    []int{0, 1},
				init: func(rng *rand.Rand, i int, d [][]float32) {
					if i != 1 {
						return
					}
					x, b := d[0], d[1]
					for k := range x {
						pre := []float32{x[k] + b[k/hwOf(shape)%3]}
						awayFromZero(pre, 0.05)
						x[k] = pre[0] - b[k/hwOf(shape)%3]
					}
				},
				build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return BiasAct(in[0], in[1], act, 0.2, 0) },
			})
		}
	}
	for _, tc := range cases {
		checkGrad(t, tc, eps, tol)
	}
}

func hwOf(shape []int) int {
	hw := 1
	for _, d := range shape[2:] {
		hw *= d
	}
	return hw
}
