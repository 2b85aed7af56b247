package nn

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Flatten reshapes x [N, ...] to [N, rest] (a copy into a buffer the op
// owns).
func Flatten(x *gorgonia.Node) (*gorgonia.Node, error) {
	if err := checkNode("Flatten", "x", x); err != nil {
		return nil, err
	}
	xs := x.Shape()
	if xs.Dims() < 1 {
		return nil, fmt.Errorf("nn: Flatten: x is a scalar")
	}
	return reshape("Flatten", x, tensor.Shape{xs[0], xs.TotalSize() / max(xs[0], 1)})
}

// Unflatten reshapes x to shape, the full new shape, whose first entry must
// be x's first (the batch size N): Unflatten(x [64, 8192], 64, 512, 4, 4).
// Like Flatten it copies into a buffer the op owns.
func Unflatten(x *gorgonia.Node, shape ...int) (*gorgonia.Node, error) {
	if err := checkNode("Unflatten", "x", x); err != nil {
		return nil, err
	}
	xs, s := x.Shape(), tensor.Shape(shape)
	if xs.Dims() < 1 || len(s) < 1 || s[0] != xs[0] || s.TotalSize() != xs.TotalSize() {
		return nil, fmt.Errorf("nn: Unflatten: cannot reshape %v to %v (same size and batch size first wanted)", xs, s)
	}
	for _, d := range s {
		if d < 1 {
			return nil, fmt.Errorf("nn: Unflatten: shape %v has a dimension < 1", s)
		}
	}
	return reshape("Unflatten", x, s)
}

func reshape(name string, x *gorgonia.Node, to tensor.Shape) (*gorgonia.Node, error) {
	op := &reshapeOp{base: newBase(fmt.Sprintf("%s%v", name, to), false, to, x.Shape())}
	return gorgonia.ApplyOp(op, x)
}

// reshapeOp copies its input into a tensor of another shape. A copy (cheap
// next to any layer) rather than a view keeps every op's output a buffer of
// its own, which gorgonia's in-place operations rely on.
type reshapeOp struct{ base }

func (op *reshapeOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, r := op.output()
	copy(r, in[0])
	return out, nil
}

func (op *reshapeOp) DiffWRT(int) []bool { return []bool{true} }

func (op *reshapeOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	back := &reshapeOp{base: newBase(fmt.Sprintf("Reshape%v", op.in[0]), false, op.in[0], op.shape)}
	n, err := gorgonia.ApplyOp(back, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{n}, nil
}
