package fanogan

import (
	"fmt"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/penalty"
)

// critic is the critic D as a penalty.Critic: its compiled graphs, one pair
// per batch size, run on the weights of the model's D in place.
type critic struct {
	m      *Model
	graphs map[int]*criticGraph
}

var _ penalty.Critic = (*critic)(nil)

func newCritic(m *Model) *critic { return &critic{m: m, graphs: map[int]*criticGraph{}} }

// criticGraph holds, for batches of n samples, the ordinary network
// (forward only: the ReLUs' activation pattern at a batch) and the network
// with its ReLUs replaced by masks, with D, the input gradient and the
// weight gradients of Σ w·D.
type criticGraph struct {
	n   int
	fwd struct {
		vm   gorgonia.VM
		x    *gorgonia.Node
		xT   *tensor.Dense
		acts []*gorgonia.Node
	}
	bwd struct {
		vm     gorgonia.VM
		x, w   *gorgonia.Node
		xT, wT *tensor.Dense
		masks  []*gorgonia.Node
		maskT  []*tensor.Dense
		d      *gorgonia.Node
		grads  gorgonia.Nodes // x, then every parameter of D
	}
	// maskAt is the batch whose activation pattern the masks hold.
	maskAt []float32
}

func (c *critic) graph(n int) (*criticGraph, error) {
	if g, ok := c.graphs[n]; ok {
		return g, nil
	}
	m := c.m
	s := m.Config.Size
	cg := &criticGraph{n: n}
	{
		g := gorgonia.NewGraph()
		f := &cg.fwd
		f.x = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, s, s), gorgonia.WithName("x"))
		var err error
		if _, _, f.acts, err = m.Critic(f.x, m.D.Nodes(g), nil, noGradAll); err != nil {
			return nil, err
		}
		f.vm = gorgonia.NewTapeMachine(g)
		f.xT = tensor.New(tensor.WithShape(n, 1, s, s), tensor.Of(tensor.Float32))
	}
	g := gorgonia.NewGraph()
	b := &cg.bwd
	b.x = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, s, s), gorgonia.WithName("x"))
	b.w = gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(n), gorgonia.WithName("w"))
	for i, a := range cg.fwd.acts {
		sh := a.Shape().Clone()
		b.masks = append(b.masks, gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(sh...), gorgonia.WithName(fmt.Sprintf("mask%d", i))))
		b.maskT = append(b.maskT, tensor.New(tensor.WithShape(sh...), tensor.Of(tensor.Float32)))
	}
	p := m.D.Nodes(g)
	d, _, _, err := m.Critic(b.x, p, b.masks, 0)
	if err != nil {
		return nil, err
	}
	b.d = d
	wd, err := gorgonia.HadamardProd(d, b.w)
	if err != nil {
		return nil, err
	}
	loss, err := gorgonia.Sum(wd)
	if err != nil {
		return nil, err
	}
	if b.grads, err = gorgonia.Grad(loss, append(gorgonia.Nodes{b.x}, p...)...); err != nil {
		return nil, fmt.Errorf("fanogan: critic gradients: %w", err)
	}
	b.vm = gorgonia.NewTapeMachine(g)
	b.xT = tensor.New(tensor.WithShape(n, 1, s, s), tensor.Of(tensor.Float32))
	b.wT = tensor.New(tensor.WithShape(n), tensor.Of(tensor.Float32))
	c.graphs[n] = cg
	return cg, nil
}

func f32s(v gorgonia.Value) []float32 { return v.Data().([]float32) }

// masks sets the masks to the ReLUs' slopes (1 or 0) at the batch at,
// unless they hold them already.
func (cg *criticGraph) masks(at []float32) error {
	if cg.maskAt != nil && slices.Equal(cg.maskAt, at) {
		return nil
	}
	f := &cg.fwd
	copy(f32s(f.xT), at)
	defer f.vm.Reset()
	if err := gorgonia.Let(f.x, f.xT); err != nil {
		return err
	}
	if err := f.vm.RunAll(); err != nil {
		return err
	}
	for i, a := range f.acts {
		m := f32s(cg.bwd.maskT[i])
		for j, v := range f32s(a.Value()) {
			m[j] = 0
			if v > 0 {
				m[j] = 1
			}
		}
	}
	cg.maskAt = append(cg.maskAt[:0], at...)
	return nil
}

// run runs the masked network at x with weights w; the caller resets the
// machine after reading the values.
func (cg *criticGraph) run(x, w []float32) error {
	b := &cg.bwd
	copy(f32s(b.xT), x)
	copy(f32s(b.wT), w)
	if err := gorgonia.Let(b.x, b.xT); err != nil {
		return err
	}
	if err := gorgonia.Let(b.w, b.wT); err != nil {
		return err
	}
	for i, mk := range b.masks {
		if err := gorgonia.Let(mk, b.maskT[i]); err != nil {
			return err
		}
	}
	return b.vm.RunAll()
}

func (c *critic) batch(x []float32, n int) (*criticGraph, error) {
	s := c.m.Config.Size
	if n <= 0 || len(x) != n*s*s {
		return nil, fmt.Errorf("fanogan: critic: %d values for %d images of %dx%d", len(x), n, s, s)
	}
	return c.graph(n)
}

// InputGrad implements penalty.Critic.
func (c *critic) InputGrad(d, gx, x []float32) error {
	cg, err := c.batch(x, len(d))
	if err != nil {
		return err
	}
	if err := cg.masks(x); err != nil {
		return err
	}
	ones := make([]float32, len(d))
	for i := range ones {
		ones[i] = 1
	}
	defer cg.bwd.vm.Reset()
	if err := cg.run(x, ones); err != nil {
		return err
	}
	copy(d, f32s(cg.bwd.d.Value()))
	copy(gx, f32s(cg.bwd.grads[0].Value()))
	return nil
}

// WeightGrad implements penalty.Critic: the ReLUs take their slopes at at
// (at x when at is nil).
func (c *critic) WeightGrad(dst [][]float32, x, w, at []float32) error {
	_, err := c.weightGrad(dst, nil, x, w, at)
	return err
}

// weightGrad is WeightGrad that also returns D(x) into d when d is not nil.
func (c *critic) weightGrad(dst [][]float32, d, x, w, at []float32) ([]float32, error) {
	cg, err := c.batch(x, len(w))
	if err != nil {
		return nil, err
	}
	if at == nil {
		at = x
	}
	if err := cg.masks(at); err != nil {
		return nil, err
	}
	defer cg.bwd.vm.Reset()
	if err := cg.run(x, w); err != nil {
		return nil, err
	}
	if len(dst) != len(cg.bwd.grads)-1 {
		return nil, fmt.Errorf("fanogan: critic: %d gradient slices for %d parameters", len(dst), len(cg.bwd.grads)-1)
	}
	for i, g := range cg.bwd.grads[1:] {
		copy(dst[i], f32s(g.Value()))
	}
	if d != nil {
		d = append(d[:0], f32s(cg.bwd.d.Value())...)
	}
	return d, nil
}
