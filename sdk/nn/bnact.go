package nn

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BatchNormAct is BatchNorm in evaluation mode followed by
// BiasAct(·, nil, act, alpha), fused into one pass: eval-mode BatchNorm is a
// per-channel affine map, so y = act(a[c]·x + b[c]) with
// a = gamma/sqrt(var + eps) and b = beta - a·mean, var and mean being the
// running statistics in st, read at every run. It is for frozen networks
// (AnoGAN's mapping, Sec. 2.2, and inference): ng must drop the parameter
// gradients (NoParamGrad); the gradient for x, a[c]·act'·g, is one pass
// too. The values are those of the two layers in a row, up to rounding.
func BatchNormAct(x, gamma, beta *gorgonia.Node, st *BNStats, act Act, alpha float32, ng NoGrad) (*gorgonia.Node, error) {
	const layer = "BatchNormAct"
	if ng.param() {
		return nil, fmt.Errorf("nn: %s: parameters must be frozen (NoParamGrad); use BatchNorm and BiasAct to train them", layer)
	}
	if act < Identity || act > Sigmoid {
		return nil, fmt.Errorf("nn: %s: unknown activation %v", layer, act)
	}
	if act == LeakyReLU && !(alpha >= 0) {
		return nil, fmt.Errorf("nn: %s: LeakyReLU slope %v, want ≥ 0", layer, alpha)
	}
	p, err := bnPlanes(layer, x, gamma, beta, st)
	if err != nil {
		return nil, err
	}
	xs := x.Shape()
	ss, cs := tensor.Shape{2, p.c}, tensor.Shape{p.c}
	stats := &bnStatsOp{base: newBase(layer+"stats", false, ss, xs), p: p, st: st}
	s, err := gorgonia.ApplyOp(stats, x)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s(%v)", layer, act)
	if act == LeakyReLU {
		name = fmt.Sprintf("%s(%v,%g)", layer, act, alpha)
	}
	op := &bnActOp{base: newBase(name, false, xs, xs, ss, cs, cs), p: p, act: act, alpha: alpha, ng: ng}
	return gorgonia.ApplyOp(op, x, s, gamma, beta)
}

// bnActOp computes y = act(a[c]·x + b[c]) from x, s = (mean, inv), gamma
// and beta.
type bnActOp struct {
	base
	p     planes
	act   Act
	alpha float32
	ng    NoGrad
}

func (op *bnActOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	x, s, gamma, beta := in[0], in[1], in[2], in[3]
	p := op.p
	parallelRange(p.n*p.c, max(minPerTask/p.hw, 1), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			c := pl % p.c
			a := gamma[c] * s[p.c+c]
			b := beta[c] - a*s[c]
			xs, ys := x[pl*p.hw:(pl+1)*p.hw], y[pl*p.hw:(pl+1)*p.hw]
			for i, v := range xs {
				ys[i] = a * v
			}
			applyAct(op.act, op.alpha, b, ys, ys)
		}
	})
	return out, nil
}

func (op *bnActOp) DiffWRT(int) []bool { return []bool{op.ng.input(), false, false, false} }

// SymDiff: ∂x = a[c]·act'(y)·g, act' read from y as in BiasAct.
func (op *bnActOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 4 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 4", op.name, len(inputs))
	}
	res := make(gorgonia.Nodes, 4)
	if !op.ng.input() {
		return res, nil
	}
	xs, ss, cs := op.in[0], op.in[1], op.in[2]
	g := &bnActGradOp{base: newBase(op.name+"∂x", false, xs, xs, xs, ss, cs), p: op.p, act: op.act, alpha: op.alpha}
	var err error
	res[0], err = gorgonia.ApplyOp(g, output, grad, inputs[1], inputs[2])
	return res, err
}

// bnActGradOp computes ∂x from y, g, s and gamma.
type bnActGradOp struct {
	base
	noDiff
	p     planes
	act   Act
	alpha float32
}

func (op *bnActGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, gx := op.output()
	y, g, s, gamma := in[0], in[1], in[2], in[3]
	p := op.p
	parallelRange(p.n*p.c, max(minPerTask/p.hw, 1), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			c := pl % p.c
			a := gamma[c] * s[p.c+c]
			ys, gs, gxs := y[pl*p.hw:(pl+1)*p.hw], g[pl*p.hw:(pl+1)*p.hw], gx[pl*p.hw:(pl+1)*p.hw]
			switch op.act {
			case ReLU:
				for i, v := range ys {
					if v > 0 {
						gxs[i] = a * gs[i]
					} else {
						gxs[i] = 0
					}
				}
			case LeakyReLU:
				al := a * op.alpha
				for i, v := range ys {
					if v > 0 {
						gxs[i] = a * gs[i]
					} else {
						gxs[i] = al * gs[i]
					}
				}
			case Tanh:
				for i, v := range ys {
					gxs[i] = a * gs[i] * (1 - v*v)
				}
			case Sigmoid:
				for i, v := range ys {
					gxs[i] = a * gs[i] * v * (1 - v)
				}
			default:
				for i, v := range gs {
					gxs[i] = a * v
				}
			}
		}
	})
	return out, nil
}
