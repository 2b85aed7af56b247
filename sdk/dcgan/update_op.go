package dcgan

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/optim"
)

// The training step is one graph (see Trainer): G(z) is computed once, D is
// updated in the middle of the graph, and the G step then runs D's updated
// weights on the same fake batch, as PyTorch's DCGAN recipe does. Two ops
// make that possible: updateOp applies Adam to D once all of D's gradients
// are computed, and afterOp hands a weight on to the G step's D only once
// updateOp has run. Neither is differentiable, so gorgonia.Grad of the G
// loss does not follow the update back into the D step.

// updateOp applies opt to net's parameters with the gradients it is given
// (one input per parameter, in order) and outputs a token of one value
// that afterOp waits for.
type updateOp struct {
	opt    *optim.Adam
	net    *Net
	shapes []tensor.Shape
	token  *tensor.Dense
	grads  [][]float32
}

func newUpdateOp(opt *optim.Adam, net *Net, grads gorgonia.Nodes) *updateOp {
	op := &updateOp{opt: opt, net: net, grads: make([][]float32, len(grads))}
	for _, g := range grads {
		op.shapes = append(op.shapes, g.Shape().Clone())
	}
	op.token = tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{0}))
	return op
}

func (op *updateOp) Arity() int { return len(op.shapes) }

func (op *updateOp) Type() hm.Type {
	ts := make([]hm.Type, 0, len(op.shapes)+1)
	for _, s := range op.shapes {
		ts = append(ts, gorgonia.TensorType{Dims: s.Dims(), Of: tensor.Float32})
	}
	ts = append(ts, gorgonia.TensorType{Dims: 1, Of: tensor.Float32})
	return hm.NewFnType(ts...)
}

func (op *updateOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{1}, nil
}

func (op *updateOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != len(op.grads) {
		return nil, fmt.Errorf("dcgan: update: %d gradients, want %d", len(vals), len(op.grads))
	}
	for i, v := range vals {
		d, ok := v.Data().([]float32)
		if !ok {
			return nil, fmt.Errorf("dcgan: update: gradient %d holds %T, want []float32", i, v.Data())
		}
		op.grads[i] = d
	}
	if err := op.opt.Update(op.net.Values(), op.grads); err != nil {
		return nil, err
	}
	return op.token, nil
}

func (op *updateOp) ReturnsPtr() bool     { return false }
func (op *updateOp) CallsExtern() bool    { return false }
func (op *updateOp) OverwritesInput() int { return -1 }
func (op *updateOp) String() string       { return "AdamUpdate" }

func (op *updateOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "anogo/dcgan.AdamUpdate%p", op) }

func (op *updateOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (op *updateOp) DiffWRT(n int) []bool { return make([]bool, n) }

func (op *updateOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, fmt.Errorf("dcgan: the Adam update is not differentiable")
}

// afterOp outputs its first input (a weight, as a tensor sharing its
// backing array) once its second input (updateOp's token) is computed.
type afterOp struct {
	shape tensor.Shape
	out   *tensor.Dense
}

func (op *afterOp) Arity() int { return 2 }

func (op *afterOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: op.shape.Dims(), Of: tensor.Float32}
	return hm.NewFnType(t, gorgonia.TensorType{Dims: 1, Of: tensor.Float32}, t)
}

func (op *afterOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}

func (op *afterOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	d, ok := vals[0].Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("dcgan: after: weight holds %T, want []float32", vals[0].Data())
	}
	if op.out == nil || !op.out.Shape().Eq(op.shape) || &op.out.Data().([]float32)[0] != &d[0] {
		op.out = tensor.New(tensor.WithShape(op.shape.Clone()...), tensor.WithBacking(d))
	}
	return op.out, nil
}

func (op *afterOp) ReturnsPtr() bool      { return false }
func (op *afterOp) CallsExtern() bool     { return false }
func (op *afterOp) OverwritesInput() int  { return -1 }
func (op *afterOp) String() string        { return "After" }
func (op *afterOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "anogo/dcgan.After%p", op) }

func (op *afterOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (op *afterOp) DiffWRT(n int) []bool { return make([]bool, n) }

func (op *afterOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, fmt.Errorf("dcgan: After is not differentiable")
}

// updatedAfter returns, for each of params, a node with the same value that
// is computed only after Adam has updated net with grads.
func updatedAfter(opt *optim.Adam, net *Net, params, grads gorgonia.Nodes) (gorgonia.Nodes, error) {
	token, err := gorgonia.ApplyOp(newUpdateOp(opt, net, grads), grads...)
	if err != nil {
		return nil, fmt.Errorf("dcgan: discriminator update: %w", err)
	}
	out := make(gorgonia.Nodes, len(params))
	for i, p := range params {
		if out[i], err = gorgonia.ApplyOp(&afterOp{shape: p.Shape().Clone()}, p, token); err != nil {
			return nil, fmt.Errorf("dcgan: discriminator update: %w", err)
		}
	}
	return out, nil
}
