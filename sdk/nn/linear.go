package nn

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Linear: x [N,In], w [Out,In] (PyTorch layout) -> [N,Out], no bias (use
// BiasAct for it): out = x·wᵀ. ng drops the gradient for x (NoInputGrad) or
// for w (NoParamGrad).
func Linear(x, w *gorgonia.Node, ng NoGrad) (*gorgonia.Node, error) {
	const layer = "Linear"
	if err := checkNode(layer, "x", x, 2); err != nil {
		return nil, err
	}
	if err := checkNode(layer, "w", w, 2); err != nil {
		return nil, err
	}
	xs, ws := x.Shape(), w.Shape()
	if ws[1] != xs[1] {
		return nil, fmt.Errorf("nn: %s: w has shape %v, want [Out %d] for x %v", layer, ws, xs[1], xs)
	}
	d := linDims{n: xs[0], in: xs[1], out: ws[0]}
	name := fmt.Sprintf("Linear(%d→%d)", d.in, d.out)
	op := &linearOp{linKernel: newLinKernel(name, d, kFwd), ng: ng}
	return gorgonia.ApplyOp(op, x, w)
}

type linDims struct{ n, in, out int }

// linKernel runs one of the three products of a linear layer, with the
// kinds of the convolution kernels: kFwd (x, w) → y = x·wᵀ,
// kData (gy, w) → gx = gy·w, kFilter (x, gy) → gw = gyᵀ·x.
type linKernel struct {
	base
	d    linDims
	kind int
}

func newLinKernel(name string, d linDims, kind int) linKernel {
	X := tensor.Shape{d.n, d.in}
	W := tensor.Shape{d.out, d.in}
	Y := tensor.Shape{d.n, d.out}
	var b base
	switch kind {
	case kFwd:
		b = newBase(name, true, Y, X, W)
	case kData:
		b = newBase(name, true, X, Y, W)
	default:
		b = newBase(name, true, W, X, Y)
	}
	return linKernel{base: b, d: d, kind: kind}
}

func (op *linKernel) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, c := op.output()
	d := op.d
	switch op.kind {
	case kFwd:
		pgemm(false, true, d.n, d.out, d.in, in[0], d.in, in[1], d.in, c, d.out)
	case kData:
		pgemm(false, false, d.n, d.in, d.out, in[0], d.out, in[1], d.in, c, d.in)
	default:
		pgemm(true, false, d.out, d.in, d.n, in[1], d.out, in[0], d.in, c, d.in)
	}
	return out, nil
}

type linearOp struct {
	linKernel
	ng NoGrad
}

func (op *linearOp) DiffWRT(int) []bool { return []bool{op.ng.input(), op.ng.param()} }

func (op *linearOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 2", op.name, len(inputs))
	}
	res := make(gorgonia.Nodes, 2)
	var err error
	if op.ng.input() {
		if res[0], err = gorgonia.ApplyOp(&linGradOp{linKernel: newLinKernel(op.name+"∂x", op.d, kData)}, grad, inputs[1]); err != nil {
			return nil, err
		}
	}
	if op.ng.param() {
		if res[1], err = gorgonia.ApplyOp(&linGradOp{linKernel: newLinKernel(op.name+"∂w", op.d, kFilter)}, inputs[0], grad); err != nil {
			return nil, err
		}
	}
	return res, nil
}

type linGradOp struct {
	linKernel
	noDiff
}
