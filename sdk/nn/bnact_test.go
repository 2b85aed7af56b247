package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
)

// TestBatchNormActMatchesComposition checks that the fused eval-mode
// BatchNormAct gives the values and the input gradient of BatchNorm (eval)
// followed by BiasAct, for every activation.
func TestBatchNormActMatchesComposition(t *testing.T) {
	const tol = 1e-5
	shape := []int{3, 4, 5, 5}
	n := 3 * 4 * 5 * 5
	for _, act := range []Act{Identity, ReLU, LeakyReLU, Tanh, Sigmoid} {
		rng := rand.New(rand.NewPCG(3, 4))
		x, r := randn(rng, n), randn(rng, n)
		gamma, beta := randn(rng, 4), randn(rng, 4)
		st := &BNStats{Mean: []float32{0.3, -0.2, 1, 0}, Var: []float32{0.5, 2, 1.5, 0.1}, Momentum: 0.1, Eps: 1e-5}
		var out, grad [2][]float32
		for k, fused := range []bool{false, true} {
			g := gorgonia.NewGraph()
			xn := newInput(g, "x", x, shape...)
			gn, bn := newInput(g, "gamma", gamma, 4), newInput(g, "beta", beta, 4)
			var y *gorgonia.Node
			var err error
			if fused {
				y, err = BatchNormAct(xn, gn, bn, st, act, 0.2, NoParamGrad)
			} else {
				var h *gorgonia.Node
				if h, err = BatchNorm(xn, gn, bn, st, false, NoParamGrad); err == nil {
					y, err = BiasAct(h, nil, act, 0.2, NoParamGrad)
				}
			}
			if err != nil {
				t.Fatalf("%v fused=%v: %v", act, fused, err)
			}
			loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(y, newInput(g, "R", r, shape...)))))
			gs, err := gorgonia.Grad(loss, xn)
			if err != nil {
				t.Fatalf("%v fused=%v: Grad: %v", act, fused, err)
			}
			m := gorgonia.NewTapeMachine(g)
			if err := m.RunAll(); err != nil {
				t.Fatalf("%v fused=%v: run: %v", act, fused, err)
			}
			out[k], grad[k] = values(t, y), values(t, gs[0])
			m.Close()
		}
		for _, c := range []struct {
			what string
			a, b []float32
		}{{"output", out[0], out[1]}, {"∂x", grad[0], grad[1]}} {
			var worst float64
			for i := range c.a {
				worst = math.Max(worst, math.Abs(float64(c.a[i]-c.b[i])))
			}
			if worst > tol {
				t.Errorf("%v: %s differs from BatchNorm+BiasAct by %.3g > %g", act, c.what, worst, tol)
			}
		}
	}
}

// TestBatchNormActGradient checks the fused layer's input gradient against
// finite differences for the smooth activations.
func TestBatchNormActGradient(t *testing.T) {
	for _, act := range []Act{Identity, Tanh, Sigmoid} {
		checkGrad(t, gradCase{
			name:   fmt.Sprintf("BatchNormAct %v", act),
			shapes: [][]int{{2, 3, 2, 2}, {3}, {3}},
			wrt:    []int{0},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				st := &BNStats{Mean: []float32{0.3, -0.2, 1}, Var: []float32{0.5, 2, 1.5}, Momentum: 0.1, Eps: 1e-5}
				return BatchNormAct(in[0], in[1], in[2], st, act, 0.2, NoParamGrad)
			},
		}, 1e-2, 1e-3)
	}
}

func TestBatchNormActRefusesTraining(t *testing.T) {
	g := gorgonia.NewGraph()
	x := newInput(g, "x", make([]float32, 8), 2, 4)
	c := newInput(g, "gamma", make([]float32, 4), 4)
	b := newInput(g, "beta", make([]float32, 4), 4)
	if _, err := BatchNormAct(x, c, b, NewBNStats(4), ReLU, 0, 0); err == nil {
		t.Error("BatchNormAct with trainable parameters: no error")
	}
	if _, err := BatchNormAct(x, c, b, NewBNStats(3), ReLU, 0, NoParamGrad); err == nil {
		t.Error("BatchNormAct with statistics of 3 channels for 4: no error")
	}
}

// TestBatchNormTrainActMatchesComposition checks that the fused train-mode
// BatchNormTrainAct gives the values, the running statistics and the
// gradients (x, gamma, beta) of BatchNorm (train) followed by BiasAct, for
// every activation, with and without the parameter gradients.
func TestBatchNormTrainActMatchesComposition(t *testing.T) {
	const tol = 1e-5
	for _, shape := range [][]int{{3, 4, 5, 5}, {6, 4}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		for _, act := range []Act{Identity, ReLU, LeakyReLU, Tanh, Sigmoid} {
			for _, ng := range []NoGrad{0, NoParamGrad} {
				rng := rand.New(rand.NewPCG(5, uint64(act)))
				x, r := randn(rng, n), randn(rng, n)
				gamma, beta := randn(rng, 4), randn(rng, 4)
				var res [2][][]float32
				var stats [2]*BNStats
				for k, fused := range []bool{false, true} {
					g := gorgonia.NewGraph()
					xn := newInput(g, "x", x, shape...)
					gn, bn := newInput(g, "gamma", append([]float32(nil), gamma...), 4), newInput(g, "beta", append([]float32(nil), beta...), 4)
					st := &BNStats{Mean: []float32{0.3, -0.2, 1, 0}, Var: []float32{0.5, 2, 1.5, 0.1}, Momentum: 0.1, Eps: 1e-5}
					stats[k] = st
					var y *gorgonia.Node
					var err error
					if fused {
						y, err = BatchNormTrainAct(xn, gn, bn, st, act, 0.2, ng)
					} else {
						var h *gorgonia.Node
						if h, err = BatchNorm(xn, gn, bn, st, true, ng); err == nil {
							y, err = BiasAct(h, nil, act, 0.2, ng)
						}
					}
					if err != nil {
						t.Fatalf("%v fused=%v: %v", act, fused, err)
					}
					loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(y, newInput(g, "R", r, shape...)))))
					wrt := gorgonia.Nodes{xn}
					if ng == 0 {
						wrt = append(wrt, gn, bn)
					}
					gs, err := gorgonia.Grad(loss, wrt...)
					if err != nil {
						t.Fatalf("%v fused=%v: Grad: %v", act, fused, err)
					}
					m := gorgonia.NewTapeMachine(g)
					if err := m.RunAll(); err != nil {
						t.Fatalf("%v fused=%v: run: %v", act, fused, err)
					}
					res[k] = append(res[k], values(t, y))
					for _, gr := range gs {
						res[k] = append(res[k], values(t, gr))
					}
					m.Close()
				}
				res[0] = append(res[0], stats[0].Mean, stats[0].Var)
				res[1] = append(res[1], stats[1].Mean, stats[1].Var)
				for i := range res[0] {
					var worst float64
					for j := range res[0][i] {
						worst = math.Max(worst, math.Abs(float64(res[0][i][j]-res[1][i][j])))
					}
					if worst > tol {
						t.Errorf("%v %v ng=%d: result %d differs from BatchNorm+BiasAct by %.3g > %g", shape, act, ng, i, worst, tol)
					}
				}
			}
		}
	}
}

// TestBatchNormTrainActGradient checks the fused train-mode layer's
// gradients against finite differences for the smooth activations.
func TestBatchNormTrainActGradient(t *testing.T) {
	for _, act := range []Act{Identity, Tanh, Sigmoid} {
		checkGrad(t, gradCase{
			name:   fmt.Sprintf("BatchNormTrainAct %v", act),
			shapes: [][]int{{3, 2, 2, 3}, {2}, {2}},
			wrt:    []int{0, 1, 2},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				return BatchNormTrainAct(in[0], in[1], in[2], NewBNStats(2), act, 0.2, 0)
			},
		}, 1e-2, 1e-3)
	}
}
