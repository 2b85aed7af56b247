package nn

import (
	"fmt"

	"gorgonia.org/gorgonia"
)

// Mask multiplies x by m element by element: y = x ⊙ m, for x and m of
// one shape, with the gradient g ⊙ m to x and none to m (m is data: a
// ReLU's slopes frozen at another batch's activation pattern, as package
// penalty needs; see fanogan's critic). The gradient is Mask again, so the
// op may be differentiated any number of times in x. It is gorgonia's
// HadamardProd without the copy of x that op makes on every call.
func Mask(x, m *gorgonia.Node) (*gorgonia.Node, error) {
	const layer = "Mask"
	if err := checkNode(layer, "x", x); err != nil {
		return nil, err
	}
	if err := checkNode(layer, "m", m); err != nil {
		return nil, err
	}
	if !x.Shape().Eq(m.Shape()) || x.Shape().TotalSize() == 0 {
		return nil, fmt.Errorf("nn: %s: x has shape %v and m %v, want one non-empty shape", layer, x.Shape(), m.Shape())
	}
	return gorgonia.ApplyOp(&maskOp{base: newBase(layer, false, x.Shape(), x.Shape(), m.Shape())}, x, m)
}

type maskOp struct{ base }

func (op *maskOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	x, m := in[0], in[1]
	parallelRange(len(y), minPerTask, func(lo, hi int) {
		xs, ms, ys := x[lo:hi], m[lo:hi], y[lo:hi]
		for i := range ys {
			ys[i] = xs[i] * ms[i]
		}
	})
	return out, nil
}

func (op *maskOp) DiffWRT(int) []bool { return []bool{true, false} }

func (op *maskOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 2", op.name, len(inputs))
	}
	g, err := Mask(grad, inputs[1])
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g, nil}, nil
}
