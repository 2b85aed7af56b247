package nn

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BiasAct: y = act(x + b[c]) fused; x [N,C,H,W] or [N,C]; b [C] or nil (no
// bias); alpha is LeakyReLU's negative slope (ignored otherwise, and ≥ 0).
// ng drops the gradient for x (NoInputGrad) or for b (NoParamGrad).
//
// The backward pass reads only y: act'(x+b) is 1 (Identity), [y > 0] (ReLU),
// 1 or alpha by the sign of y (LeakyReLU), 1 - y² (Tanh) and y·(1 - y)
// (Sigmoid).
func BiasAct(x, b *gorgonia.Node, act Act, alpha float32, ng NoGrad) (*gorgonia.Node, error) {
	const layer = "BiasAct"
	if err := checkNode(layer, "x", x, 2, 4); err != nil {
		return nil, err
	}
	if act < Identity || act > Sigmoid {
		return nil, fmt.Errorf("nn: %s: unknown activation %v", layer, act)
	}
	if act == LeakyReLU && !(alpha >= 0) {
		return nil, fmt.Errorf("nn: %s: LeakyReLU slope %v, want ≥ 0", layer, alpha)
	}
	xs := x.Shape()
	p := planes{n: xs[0], c: xs[1], hw: 1}
	if len(xs) == 4 {
		p.hw = xs[2] * xs[3]
	}
	name := fmt.Sprintf("BiasAct(%v)", act)
	if act == LeakyReLU {
		name = fmt.Sprintf("BiasAct(%v,%g)", act, alpha)
	}
	op := &biasActOp{p: p, act: act, alpha: alpha, ng: ng}
	if b == nil {
		op.base = newBase(name, false, xs, xs)
		return gorgonia.ApplyOp(op, x)
	}
	if err := checkNode(layer, "b", b, 1); err != nil {
		return nil, err
	}
	if b.Shape()[0] != p.c {
		return nil, fmt.Errorf("nn: %s: b has shape %v, want [%d]", layer, b.Shape(), p.c)
	}
	op.bias = true
	op.base = newBase(name, false, xs, xs, b.Shape())
	return gorgonia.ApplyOp(op, x, b)
}

// planes describes an [n, c, ...] tensor as n·c planes of hw elements.
type planes struct{ n, c, hw int }

type biasActOp struct {
	base
	p     planes
	act   Act
	alpha float32
	bias  bool
	ng    NoGrad
}

func (op *biasActOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	x := in[0]
	var b []float32
	if op.bias {
		b = in[1]
	}
	hw, c := op.p.hw, op.p.c
	parallelRange(op.p.n*c, max(minPerTask/hw, 1), func(lo, hi int) {
		if op.act <= LeakyReLU {
			affineAct(op.p, lo, hi, x, y, nil, b, op.act, op.alpha)
			return
		}
		for pl := lo; pl < hi; pl++ {
			var bc float32
			if b != nil {
				bc = b[pl%c]
			}
			applyAct(op.act, op.alpha, bc, x[pl*hw:(pl+1)*hw], y[pl*hw:(pl+1)*hw])
		}
	})
	return out, nil
}

// applyAct sets y = act(x + b).
func applyAct(act Act, alpha, b float32, x, y []float32) {
	y = y[:len(x)]
	switch act {
	case Identity:
		for i, v := range x {
			y[i] = v + b
		}
	case ReLU:
		for i, v := range x {
			y[i] = max(v+b, 0)
		}
	case LeakyReLU:
		for i, v := range x {
			v += b
			if v <= 0 {
				v *= alpha
			}
			y[i] = v
		}
	case Tanh:
		for i, v := range x {
			y[i] = float32(math.Tanh(float64(v + b)))
		}
	case Sigmoid:
		for i, v := range x {
			y[i] = float32(1 / (1 + math.Exp(-float64(v+b))))
		}
	}
}

func (op *biasActOp) DiffWRT(n int) []bool {
	if n == 1 {
		return []bool{op.ng.input()}
	}
	return []bool{op.ng.input(), op.ng.param()}
}

func (op *biasActOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	res := make(gorgonia.Nodes, len(inputs))
	wantB := op.bias && op.ng.param()
	if !op.ng.input() && !wantB {
		return res, nil
	}
	// gpre is the gradient at the pre-activation x + b.
	gpre := grad
	if op.act != Identity {
		g := &actGradOp{base: newBase(op.name+"∂", false, op.shape, op.shape, op.shape), p: op.p, act: op.act, alpha: op.alpha}
		var err error
		if gpre, err = gorgonia.ApplyOp(g, output, grad); err != nil {
			return nil, err
		}
	}
	if op.ng.input() {
		res[0] = gpre
	}
	if wantB {
		s := &channelSumOp{base: newBase(op.name+"∂b", false, tensor.Shape{op.p.c}, op.shape), p: op.p}
		var err error
		if res[1], err = gorgonia.ApplyOp(s, gpre); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// actGradOp computes gpre = gy · act'(x+b) from y and gy.
type actGradOp struct {
	base
	noDiff
	p     planes
	act   Act
	alpha float32
}

func (op *actGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, gx := op.output()
	y, gy := in[0], in[1]
	p := op.p
	parallelRange(p.n*p.c, max(minPerTask/p.hw, 1), func(lo, hi int) {
		actGrad(p, lo, hi, y, gy, gx, nil, op.act, op.alpha)
	})
	return out, nil
}

// channelSumOp sums an [n, c, ...] tensor over every axis but c.
type channelSumOp struct {
	base
	noDiff
	p planes
}

func (op *channelSumOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, s := op.output()
	x := in[0]
	p := op.p
	parallelRange(p.c, max(minPerTask/(p.n*p.hw), 1), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			var acc float64
			for n := range p.n {
				acc += sum64(x[(n*p.c+c)*p.hw : (n*p.c+c+1)*p.hw])
			}
			s[c] = float32(acc)
		}
	})
	return out, nil
}

// sum64 sums a slice in float64 (four partial sums for speed).
func sum64(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float64(x[i])
		s1 += float64(x[i+1])
		s2 += float64(x[i+2])
		s3 += float64(x[i+3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}
