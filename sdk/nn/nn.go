package nn

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	// gorgonia checks at start that the Go runtime's garbage collector does
	// not move objects; this module's newer version knows Go 1.26.
	_ "go4.org/unsafe/assume-no-moving-gc"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// NoGrad flags let a layer skip gradients nobody needs (e.g. weights during
// latent mapping, the data input of the first layer). The zero value computes
// every gradient.
type NoGrad uint8

const (
	NoInputGrad NoGrad = 1 << iota // no gradient for the data input x
	NoParamGrad                    // no gradient for weights, bias, gamma, beta
)

func (ng NoGrad) input() bool { return ng&NoInputGrad == 0 }
func (ng NoGrad) param() bool { return ng&NoParamGrad == 0 }

// Act is an element-wise activation function applied by BiasAct.
type Act int

const (
	Identity  Act = iota // y = x
	ReLU                 // y = max(x, 0)
	LeakyReLU            // y = x for x > 0, alpha·x otherwise
	Tanh                 // y = tanh(x)
	Sigmoid              // y = 1 / (1 + exp(-x))
)

var actNames = [...]string{"Identity", "ReLU", "LeakyReLU", "Tanh", "Sigmoid"}

func (a Act) String() string {
	if a < 0 || int(a) >= len(actNames) {
		return fmt.Sprintf("Act(%d)", int(a))
	}
	return actNames[a]
}

// opSeq numbers every op this package creates. gorgonia merges nodes whose
// ops hash alike and whose children are the same ("hash consing"); since each
// of our op instances owns buffers (and a BatchNorm its statistics), two
// instances must never be merged, so the number goes into every hash.
var opSeq atomic.Uint64

// base is what every op of this package shares: identity, types and shapes
// fixed when the node is built, and the output buffer that the op owns and
// returns again at every run.
type base struct {
	id     uint64
	name   string         // printed form, e.g. "Conv2d(s2,p2)"
	in     []tensor.Shape // expected input shapes
	shape  tensor.Shape   // output shape
	extern bool           // calls OpenBLAS
	out    *tensor.Dense
	data   []float32 // out's backing array
}

func newBase(name string, extern bool, shape tensor.Shape, in ...tensor.Shape) base {
	ins := make([]tensor.Shape, len(in))
	for i, s := range in {
		ins[i] = s.Clone()
	}
	return base{id: opSeq.Add(1), name: name, in: ins, shape: shape.Clone(), extern: extern}
}

func (b *base) Arity() int { return len(b.in) }

func (b *base) Type() hm.Type {
	ts := make([]hm.Type, 0, len(b.in)+1)
	for _, s := range b.in {
		ts = append(ts, tensorType(s))
	}
	ts = append(ts, tensorType(b.shape))
	return hm.NewFnType(ts...)
}

func tensorType(s tensor.Shape) hm.Type {
	return gorgonia.TensorType{Dims: s.Dims(), Of: tensor.Float32}
}

func (b *base) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != len(b.in) {
		return nil, fmt.Errorf("nn: %s: %d input shapes, want %d", b.name, len(in), len(b.in))
	}
	for i, d := range in {
		s, ok := d.(tensor.Shape)
		if !ok {
			continue // gorgonia passes shapes; anything else is not checked here
		}
		if !s.Eq(b.in[i]) {
			return nil, fmt.Errorf("nn: %s: input %d has shape %v, want %v", b.name, i, s, b.in[i])
		}
	}
	return b.shape.Clone(), nil
}

// ReturnsPtr is false: the output is a buffer owned by the op, distinct from
// every input, so gorgonia gives it a register of its own.
func (b *base) ReturnsPtr() bool      { return false }
func (b *base) CallsExtern() bool     { return b.extern }
func (b *base) OverwritesInput() int  { return -1 }
func (b *base) String() string        { return b.name }
func (b *base) WriteHash(h hash.Hash) { fmt.Fprintf(h, "anogo/nn.%s#%d", b.name, b.id) }

func (b *base) Hashcode() uint32 {
	h := fnv.New32a()
	b.WriteHash(h)
	return h.Sum32()
}

// output returns the op's output tensor and its backing array, allocating
// them at the first run only. Later ops of gorgonia may reshape the tensor in
// place (gorgonia.Reshape does so when its input is dead); its shape is set
// back here, so the same *tensor.Dense serves every run.
func (b *base) output() (*tensor.Dense, []float32) {
	if b.out == nil {
		b.data = make([]float32, b.shape.TotalSize())
		b.out = tensor.New(tensor.WithShape(b.shape.Clone()...), tensor.WithBacking(b.data))
		return b.out, b.data
	}
	if b.out.Shape().Eq(b.shape) && !b.out.IsView() && sameBacking(b.out, b.data) {
		return b.out, b.data
	}
	if b.out.IsView() || !sameBacking(b.out, b.data) || b.out.Reshape(b.shape.Clone()...) != nil {
		b.out = tensor.New(tensor.WithShape(b.shape.Clone()...), tensor.WithBacking(b.data))
	}
	return b.out, b.data
}

func sameBacking(t *tensor.Dense, data []float32) bool {
	d, ok := t.Data().([]float32)
	return ok && len(d) == len(data) && (len(d) == 0 || &d[0] == &data[0])
}

// inputs checks the run-time values against the shapes fixed at build time
// and returns their float32 data.
func (b *base) inputs(vals []gorgonia.Value) ([][]float32, error) {
	if len(vals) != len(b.in) {
		return nil, fmt.Errorf("nn: %s: %d inputs, want %d", b.name, len(vals), len(b.in))
	}
	out := make([][]float32, len(vals))
	for i, v := range vals {
		d, err := float32s(v)
		if err != nil {
			return nil, fmt.Errorf("nn: %s: input %d: %w", b.name, i, err)
		}
		if !v.Shape().Eq(b.in[i]) {
			return nil, fmt.Errorf("nn: %s: input %d has shape %v, want %v", b.name, i, v.Shape(), b.in[i])
		}
		out[i] = d
	}
	return out, nil
}

// float32s returns the contiguous float32 data of a value.
func float32s(v gorgonia.Value) ([]float32, error) {
	t, ok := v.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("value of type %T, want *tensor.Dense", v)
	}
	if t.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("dtype %v, want float32", t.Dtype())
	}
	if t.RequiresIterator() {
		t = t.Materialize().(*tensor.Dense)
	}
	d, ok := t.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("data of type %T, want []float32", t.Data())
	}
	if len(d) != t.Shape().TotalSize() {
		return nil, fmt.Errorf("%d elements for shape %v", len(d), t.Shape())
	}
	return d, nil
}

// noDiff is embedded by every backward op: backward ops are not themselves
// differentiated (no second derivatives), which they tell gorgonia by
// marking every input as non-differentiable.
type noDiff struct{}

func (noDiff) DiffWRT(n int) []bool { return make([]bool, n) }

func (noDiff) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, errors.New("nn: backward ops cannot be differentiated again")
}

// checkNode returns an error, naming the layer and the argument, unless n
// is a float32 node with one of the given numbers of dimensions (any number
// when none is given).
func checkNode(layer, what string, n *gorgonia.Node, dims ...int) error {
	if n == nil {
		return fmt.Errorf("nn: %s: %s is nil", layer, what)
	}
	if dt, err := dtypeOf(n); err != nil || dt != tensor.Float32 {
		return fmt.Errorf("nn: %s: %s has type %v, want float32 tensor", layer, what, n.Type())
	}
	if len(dims) == 0 {
		return nil
	}
	for _, d := range dims {
		if n.Shape().Dims() == d {
			return nil
		}
	}
	return fmt.Errorf("nn: %s: %s has shape %v, want %v dimensions", layer, what, n.Shape(), dims)
}

func dtypeOf(n *gorgonia.Node) (tensor.Dtype, error) {
	switch t := n.Type().(type) {
	case gorgonia.TensorType:
		if dt, ok := t.Of.(tensor.Dtype); ok {
			return dt, nil
		}
	case tensor.Dtype:
		return t, nil
	}
	return tensor.Dtype{}, fmt.Errorf("no dtype in %v", n.Type())
}
