package nn

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MaxPool2 takes the maximum of each 2×2 block of x [N,C,H,W]:
// out [N,C,H/2,W/2] (torch.nn.functional.max_pool2d(x, 2), the pooling of
// VGG's trunk). H and W must be even. Its gradient goes to the maximum of
// each block, the first in row-major order on ties (PyTorch's rule).
func MaxPool2(x *gorgonia.Node) (*gorgonia.Node, error) {
	const layer = "MaxPool2"
	if err := checkNode(layer, "x", x, 4); err != nil {
		return nil, err
	}
	xs := x.Shape()
	if xs[2]%2 != 0 || xs[3]%2 != 0 || xs[2] < 2 || xs[3] < 2 {
		return nil, fmt.Errorf("nn: %s: x has shape %v, want even height and width", layer, xs)
	}
	small := tensor.Shape{xs[0], xs[1], xs[2] / 2, xs[3] / 2}
	op := &maxPoolOp{base: newBase(layer, false, small, xs), p: planes{n: xs[0], c: xs[1], hw: small[2] * small[3]}, h: small[2], w: small[3]}
	return gorgonia.ApplyOp(op, x)
}

type maxPoolOp struct {
	base
	p    planes // the small side's planes
	h, w int
}

// argmax2 returns the offset, within a plane of 2h×2w values, of the
// maximum of block (i, j).
func argmax2(x []float32, w2, i, j int) int {
	o := 2*i*w2 + 2*j
	best := o
	for _, k := range [3]int{o + 1, o + w2, o + w2 + 1} {
		if x[k] > x[best] {
			best = k
		}
	}
	return best
}

func (op *maxPoolOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	x := in[0]
	hw, w2 := op.p.hw, 2*op.w
	parallelRange(op.p.n*op.p.c, max(minPerTask/(4*hw), 1), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			xs, ys := x[pl*4*hw:(pl+1)*4*hw], y[pl*hw:(pl+1)*hw]
			for i := 0; i < op.h; i++ {
				for j := 0; j < op.w; j++ {
					ys[i*op.w+j] = xs[argmax2(xs, w2, i, j)]
				}
			}
		}
	})
	return out, nil
}

func (op *maxPoolOp) DiffWRT(int) []bool { return []bool{true} }

func (op *maxPoolOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 1", op.name, len(inputs))
	}
	back := &maxPoolGradOp{base: newBase(op.name+"∂", false, op.in[0], op.in[0], op.shape), p: op.p, h: op.h, w: op.w}
	n, err := gorgonia.ApplyOp(back, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{n}, nil
}

// maxPoolGradOp routes each output gradient g to its block's maximum in x,
// from (x, g).
type maxPoolGradOp struct {
	base
	noDiff
	p    planes
	h, w int
}

func (op *maxPoolGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, r := op.output()
	x, g := in[0], in[1]
	hw, w2 := op.p.hw, 2*op.w
	parallelRange(op.p.n*op.p.c, max(minPerTask/(4*hw), 1), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			xs, gs, rs := x[pl*4*hw:(pl+1)*4*hw], g[pl*hw:(pl+1)*hw], r[pl*4*hw:(pl+1)*4*hw]
			clear(rs)
			for i := 0; i < op.h; i++ {
				for j := 0; j < op.w; j++ {
					rs[argmax2(xs, w2, i, j)] = gs[i*op.w+j]
				}
			}
		}
	})
	return out, nil
}
