package stylegan2

import (
	"encoding"
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Augmentation is one draw of augmentations for a batch of images (NCHW).
//
// It is an alias of the interface literal, not a defined type, so that an
// augmenter written in a package that does not import this one (sdk/ada)
// satisfies Augmenter: its Draw returns the same literal, and Go requires
// the result types to be identical.
type Augmentation = interface {
	// Apply sets dst to the augmented batch; len(dst) == len(x).
	Apply(dst, x []float32)
	// Backward sets dst to the gradient with respect to Apply's input, given
	// g, the gradient with respect to its output (Apply is affine in x, so
	// this is the transpose of its linear part and does not depend on x).
	Backward(dst, g []float32)
}

// Augmenter draws augmentations and tunes their probability (ADA).
type Augmenter interface {
	// Draw draws the augmentations of a batch of n images of c×h×w.
	Draw(n, c, h, w int) Augmentation
	// Observe is given D's logits on the real images of every D step; the
	// augmenter adjusts its probability from them.
	Observe(realLogits []float32)
	// P is the current augmentation probability.
	P() float64
	encoding.BinaryMarshaler // its state (p, accumulators, random source) for exact resume
	encoding.BinaryUnmarshaler
}

// augSlot holds the augmentation an augment op applies at its next run:
// the trainer draws a fresh one before every run.
type augSlot struct{ a Augmentation }

var augSeq atomic.Uint64

// augment adds the op y = A(x) to x's graph, A the augmentation in slot
// when the graph runs; its gradient is A's Backward.
func augment(x *gorgonia.Node, slot *augSlot) (*gorgonia.Node, error) {
	s := x.Shape()
	if s.Dims() != 4 || s.TotalSize() == 0 {
		return nil, fmt.Errorf("stylegan2: augment: x of shape %v, want [N C H W]", s)
	}
	return gorgonia.ApplyOp(&augOp{id: augSeq.Add(1), shape: s.Clone(), slot: slot}, x)
}

// augOp is the forward op (Apply) or, with back, its gradient (Backward).
// Both own their output buffers, as sdk/nn's ops do.
type augOp struct {
	id    uint64
	shape tensor.Shape
	slot  *augSlot
	back  bool
	out   *tensor.Dense
}

func (op *augOp) Arity() int { return 1 }

func (op *augOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: op.shape.Dims(), Of: tensor.Float32}
	return hm.NewFnType(t, t)
}

func (op *augOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) { return op.shape.Clone(), nil }
func (op *augOp) ReturnsPtr() bool                                      { return false }
func (op *augOp) CallsExtern() bool                                     { return false }
func (op *augOp) OverwritesInput() int                                  { return -1 }

func (op *augOp) String() string {
	if op.back {
		return "Augment∂"
	}
	return "Augment"
}

func (op *augOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "anogo/stylegan2.%s#%d", op, op.id) }

func (op *augOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (op *augOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vals) != 1 {
		return nil, fmt.Errorf("stylegan2: %s: %d inputs, want 1", op, len(vals))
	}
	x, ok := vals[0].Data().([]float32)
	if !ok || len(x) != op.shape.TotalSize() {
		return nil, fmt.Errorf("stylegan2: %s: input of %T, want %d float32s", op, vals[0].Data(), op.shape.TotalSize())
	}
	if op.slot.a == nil {
		return nil, fmt.Errorf("stylegan2: %s: no augmentation drawn", op)
	}
	if op.out == nil || !op.out.Shape().Eq(op.shape) || op.out.IsView() {
		op.out = tensor.New(tensor.WithShape(op.shape.Clone()...), tensor.Of(tensor.Float32))
	}
	y := op.out.Data().([]float32)
	if op.back {
		op.slot.a.Backward(y, x)
	} else {
		op.slot.a.Apply(y, x)
	}
	return op.out, nil
}

func (op *augOp) DiffWRT(int) []bool { return []bool{!op.back} }

func (op *augOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.back {
		return nil, fmt.Errorf("stylegan2: %s cannot be differentiated again", op)
	}
	g, err := gorgonia.ApplyOp(&augOp{id: augSeq.Add(1), shape: op.shape, slot: op.slot, back: true}, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}
