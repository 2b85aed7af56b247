package jointenc

import (
	"fmt"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/penalty"
)

// critic is D of one growing phase as a penalty.Critic, on batches of n
// images at the phase's resolution. Its gradients are with respect to the
// scaled weights the networks run on (Model.toStored turns them into the
// stored weights' gradients).
//
// The minibatch standard deviation couples the samples, so D(x_i) is not a
// function of x_i alone and the gradient penalty is not defined per sample
// as Gulrajani et al.'s is. The critic holds the statistic constant during
// the penalty's passes: InputGrad computes it from its batch (the
// interpolates x̂) and does not differentiate through it, and WeightGrad
// uses the statistic and the LeakyReLUs' slopes of its anchor batch. With
// both frozen, D is piecewise linear in x and the penalty's finite
// differences are exact up to rounding. docs/jointenc.md has what this
// changes against differentiating through the statistic.
type critic struct {
	m     *Model
	k, n  int
	fade  bool
	alpha float64

	fused, masked, loss *criticNet

	x, w, a, s *tensor.Dense
	masks      []*tensor.Dense
	maskAt     []float32
}

var _ penalty.Critic = (*critic)(nil)

// criticNet is one compiled network:
//
//   - fused: the statistic computed and frozen, the ordinary LeakyReLUs,
//     the input gradient of Σ w·D (InputGrad; it also records the
//     activation pattern and the statistic at its batch);
//   - masked: the statistic given, every LeakyReLU a mask, the weight
//     gradients of Σ w·D (WeightGrad);
//   - loss: the coupled statistic, the weight gradients of
//     Σ w·D + Σ a·D² (the Wasserstein loss and the drift term).
type criticNet struct {
	vm      gorgonia.VM
	fade    *Fade
	x, w, a *gorgonia.Node
	s       *gorgonia.Node
	masks   []*gorgonia.Node
	d, feat *gorgonia.Node
	acts    []*gorgonia.Node
	dV      *gorgonia.Value
	featV   *gorgonia.Value
	used    []int
	grads   gorgonia.Nodes
}

func newCritic(m *Model, p Phase, n int) *critic {
	r := m.Config.Levels()[p.Level]
	return &critic{m: m, k: p.Level, n: n, fade: p.Fade, alpha: 1,
		x: tensor.New(tensor.WithShape(n, 1, r, r), tensor.Of(tensor.Float32)),
		w: tensor.New(tensor.WithShape(n), tensor.Of(tensor.Float32)),
		a: tensor.New(tensor.WithShape(n), tensor.Of(tensor.Float32)),
		s: tensor.New(tensor.WithShape(n), tensor.Of(tensor.Float32)),
	}
}

const (
	kindFused = iota
	kindMasked
	kindLoss
)

func (c *critic) net(kind int) (*criticNet, error) {
	slot := [...]**criticNet{&c.fused, &c.masked, &c.loss}[kind]
	if *slot != nil {
		return *slot, nil
	}
	if kind == kindMasked && c.fused == nil {
		if _, err := c.net(kindFused); err != nil {
			return nil, err
		}
	}
	m, n := c.m, c.n
	r := m.Config.Levels()[c.k]
	g := gorgonia.NewGraph()
	cn := &criticNet{}
	if c.fade {
		cn.fade = NewFade(g)
	}
	cn.x = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, r, r), gorgonia.WithName("x"))
	cn.w = gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(n), gorgonia.WithName("w"))
	nodes := m.Nodes(g, "D")
	var err error
	switch kind {
	case kindFused:
		cn.d, cn.feat, cn.acts, err = m.Critic(cn.x, nodes, c.k, cn.fade, Frozen, nil, nil, nn.NoParamGrad)
	case kindMasked:
		cn.s = gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(n), gorgonia.WithName("s"))
		for i, a := range c.fused.acts {
			cn.masks = append(cn.masks, gorgonia.NewTensor(g, tensor.Float32, a.Shape().Dims(), gorgonia.WithShape(a.Shape().Clone()...), gorgonia.WithName(fmt.Sprintf("mask%d", i))))
		}
		cn.d, cn.feat, cn.acts, err = m.Critic(cn.x, nodes, c.k, cn.fade, Given, cn.s, cn.masks, nn.NoInputGrad)
	case kindLoss:
		cn.d, cn.feat, cn.acts, err = m.Critic(cn.x, nodes, c.k, cn.fade, Coupled, nil, nil, nn.NoInputGrad)
	}
	if err != nil {
		return nil, err
	}
	cn.dV = nn.ReadValue(cn.d)
	cn.featV = nn.ReadValue(cn.feat)
	obj, err := gorgonia.HadamardProd(cn.d, cn.w)
	if err != nil {
		return nil, err
	}
	if kind == kindLoss {
		cn.a = gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(n), gorgonia.WithName("a"))
		sq, err := gorgonia.HadamardProd(cn.d, cn.d)
		if err != nil {
			return nil, err
		}
		if sq, err = gorgonia.HadamardProd(sq, cn.a); err != nil {
			return nil, err
		}
		if obj, err = gorgonia.Add(obj, sq); err != nil {
			return nil, err
		}
	}
	sum, err := gorgonia.Sum(obj)
	if err != nil {
		return nil, err
	}
	wrt := gorgonia.Nodes{cn.x}
	if kind != kindFused {
		cn.used = usedParams(g, nodes)
		wrt = make(gorgonia.Nodes, len(cn.used))
		for i, j := range cn.used {
			wrt[i] = nodes[j]
		}
	}
	if cn.grads, err = gorgonia.Grad(sum, wrt...); err != nil {
		return nil, fmt.Errorf("jointenc: critic gradients: %w", err)
	}
	cn.vm = gorgonia.NewTapeMachine(g)
	*slot = cn
	return cn, nil
}

// usedParams returns the indices of the parameters that the graph's
// output depends on (a phase leaves the other levels' layers out).
func usedParams(g *gorgonia.ExprGraph, nodes gorgonia.Nodes) []int {
	var used []int
	for i, n := range nodes {
		if g.To(n.ID()).Len() > 0 {
			used = append(used, i)
		}
	}
	return used
}

// run runs cn on x with weights w (a: the drift weights of the loss
// network); the caller resets the machine after reading the values.
func (c *critic) run(cn *criticNet, x, w, a []float32) error {
	copy(f32s(c.x), x)
	copy(f32s(c.w), w)
	if err := gorgonia.Let(cn.x, c.x); err != nil {
		return err
	}
	if err := gorgonia.Let(cn.w, c.w); err != nil {
		return err
	}
	if cn.a != nil {
		copy(f32s(c.a), a)
		if err := gorgonia.Let(cn.a, c.a); err != nil {
			return err
		}
	}
	if cn.s != nil {
		if err := gorgonia.Let(cn.s, c.s); err != nil {
			return err
		}
		for i, mk := range cn.masks {
			if err := gorgonia.Let(mk, c.masks[i]); err != nil {
				return err
			}
		}
	}
	if err := cn.fade.Set(c.alpha); err != nil {
		return err
	}
	return cn.vm.RunAll()
}

// keep records the activation pattern (slopes 1 or Slope) and the
// minibatch statistic of the fused network's last run, at batch x.
func (c *critic) keep(cn *criticNet, x []float32) {
	if c.masks == nil {
		for _, a := range cn.acts {
			c.masks = append(c.masks, tensor.New(tensor.WithShape(a.Shape().Clone()...), tensor.Of(tensor.Float32)))
		}
	}
	for i, a := range cn.acts {
		mk := f32s(c.masks[i])
		for j, v := range f32s(a.Value()) {
			mk[j] = Slope
			if v > 0 {
				mk[j] = 1
			}
		}
	}
	fs := cn.feat.Shape()
	copy(f32s(c.s), nn.MinibatchStdStat(f32s(*cn.featV), fs[0], fs[1], fs[2]*fs[3], Group))
	c.maskAt = append(c.maskAt[:0], x...)
}

func (c *critic) check(x []float32, n int) error {
	r := c.m.Config.Levels()[c.k]
	if n != c.n || len(x) != n*r*r {
		return fmt.Errorf("jointenc: critic: %d values for %d images of %dx%d (built for %d)", len(x), n, r, r, c.n)
	}
	return nil
}

// InputGrad implements penalty.Critic: D and ∇x Σ D with the statistic of
// x held constant; it records the pattern and the statistic at x.
func (c *critic) InputGrad(d, gx, x []float32) error {
	if err := c.check(x, len(d)); err != nil {
		return err
	}
	cn, err := c.net(kindFused)
	if err != nil {
		return err
	}
	ones := make([]float32, len(d))
	for i := range ones {
		ones[i] = 1
	}
	defer cn.vm.Reset()
	if err := c.run(cn, x, ones, nil); err != nil {
		return err
	}
	copy(d, f32s(*cn.dV))
	copy(gx, f32s(cn.grads[0].Value()))
	c.keep(cn, x)
	return nil
}

// WeightGrad implements penalty.Critic: the LeakyReLUs' slopes and the
// minibatch statistic are those of at (of x when at is nil).
func (c *critic) WeightGrad(dst [][]float32, x, w, at []float32) error {
	if err := c.check(x, len(w)); err != nil {
		return err
	}
	if at == nil {
		at = x
	}
	if c.maskAt == nil || !slices.Equal(c.maskAt, at) {
		if err := c.InputGrad(make([]float32, c.n), make([]float32, len(at)), at); err != nil {
			return err
		}
	}
	cn, err := c.net(kindMasked)
	if err != nil {
		return err
	}
	defer cn.vm.Reset()
	if err := c.run(cn, x, w, nil); err != nil {
		return err
	}
	return c.copyGrads(cn, dst)
}

func (c *critic) copyGrads(cn *criticNet, dst [][]float32) error {
	if len(dst) != c.m.D.Len() {
		return fmt.Errorf("jointenc: critic: %d gradient slices for %d parameters", len(dst), c.m.D.Len())
	}
	for _, g := range dst {
		clear(g)
	}
	for k, j := range cn.used {
		copy(dst[j], f32s(cn.grads[k].Value()))
	}
	return nil
}

// lossGrad sets dst to the weight gradient of Σ w·D(x) + Σ a·D(x)² with
// the coupled statistic of the batch x and returns D(x).
func (c *critic) lossGrad(dst [][]float32, x, w, a []float32) ([]float32, error) {
	if err := c.check(x, len(w)); err != nil {
		return nil, err
	}
	cn, err := c.net(kindLoss)
	if err != nil {
		return nil, err
	}
	defer cn.vm.Reset()
	if err := c.run(cn, x, w, a); err != nil {
		return nil, err
	}
	if err := c.copyGrads(cn, dst); err != nil {
		return nil, err
	}
	return append([]float32(nil), f32s(*cn.dV)...), nil
}

func (c *critic) close() {
	for _, cn := range []*criticNet{c.fused, c.masked, c.loss} {
		if cn != nil {
			cn.vm.Close()
		}
	}
}

func f32s(v gorgonia.Value) []float32 { return v.Data().([]float32) }
