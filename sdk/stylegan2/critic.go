package stylegan2

import (
	"fmt"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/penalty"
)

// critic is D on batches of n images as a penalty.Critic, for the R1
// penalty. Its gradients are with respect to the scaled weights the
// networks run on (Model.toStored turns them into the stored weights').
//
// With an augmentation set (setAug), the critic is D'(x) = D(A(x)), the
// function whose input gradient R1 penalises in the reference code, which
// takes it with respect to the images before augmentation: InputGrad
// returns Aᵀ∇D(A(x)), WeightGrad the weight gradient at A(x) with the kinks
// frozen at A(at). A is affine, so D' is piecewise linear where D is.
//
// The minibatch standard deviation couples the samples, so D(x_i) is not a
// function of x_i alone and R1 is not defined per sample. As in package
// jointenc, the critic holds the statistic constant in the penalty's
// passes: InputGrad computes it from its batch and does not differentiate
// through it, and WeightGrad uses the statistic and the LeakyReLUs' slopes
// of its anchor batch. With both frozen D is piecewise linear in x and the
// penalty's finite differences are exact up to rounding. The reference
// differentiates through the statistic (docs/stylegan2.md says how much
// that changes).
type critic struct {
	m *Model
	n int

	fused, masked *criticNet
	aug           Augmentation

	x, w, s *tensor.Dense
	masks   []*tensor.Dense
	maskAt  []float32 // the batch (before augmentation) of the masks
	ax      []float32 // A(x)
}

var _ penalty.Critic = (*critic)(nil)

// criticNet is one compiled network:
//
//   - fused: the statistic computed and frozen, the ordinary LeakyReLUs,
//     the input gradient of Σ w·D (InputGrad; it also records the
//     activation pattern and the statistic at its batch);
//   - masked: the statistic given, every LeakyReLU a mask, the weight
//     gradients of Σ w·D (WeightGrad).
type criticNet struct {
	vm    gorgonia.VM
	x, w  *gorgonia.Node
	s     *gorgonia.Node
	masks []*gorgonia.Node
	d     *gorgonia.Node
	feat  *gorgonia.Node
	acts  []*gorgonia.Node
	dV    *gorgonia.Value
	featV *gorgonia.Value
	grads gorgonia.Nodes
}

func newCritic(m *Model, n int) *critic {
	s := m.Config.Size
	return &critic{m: m, n: n,
		x: tensor.New(tensor.WithShape(n, 1, s, s), tensor.Of(tensor.Float32)),
		w: tensor.New(tensor.WithShape(n), tensor.Of(tensor.Float32)),
		s: tensor.New(tensor.WithShape(n), tensor.Of(tensor.Float32)),
	}
}

// setAug sets the augmentation of the next penalty (nil: none) and
// forgets the anchor's pattern.
func (c *critic) setAug(a Augmentation) {
	c.aug = a
	c.maskAt = nil
}

func (c *critic) net(masked bool) (*criticNet, error) {
	slot := &c.fused
	if masked {
		slot = &c.masked
		if c.fused == nil {
			if _, err := c.net(false); err != nil {
				return nil, err
			}
		}
	}
	if *slot != nil {
		return *slot, nil
	}
	m, n, sz := c.m, c.n, c.m.Config.Size
	g := gorgonia.NewGraph()
	cn := &criticNet{}
	cn.x = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, sz, sz), gorgonia.WithName("x"))
	cn.w = gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(n), gorgonia.WithName("w"))
	nodes := m.nodes(g, netD)
	p := m.lookup(netD, nodes)
	var err error
	if !masked {
		cn.d, cn.feat, cn.acts, err = m.discriminatorNet(cn.x, p, Frozen, nil, nil, nn.NoParamGrad)
	} else {
		cn.s = gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(n), gorgonia.WithName("s"))
		for i, a := range c.fused.acts {
			cn.masks = append(cn.masks, gorgonia.NewTensor(g, tensor.Float32, a.Shape().Dims(), gorgonia.WithShape(a.Shape().Clone()...), gorgonia.WithName(fmt.Sprintf("mask%d", i))))
		}
		cn.d, cn.feat, cn.acts, err = m.discriminatorNet(cn.x, p, Given, cn.s, cn.masks, nn.NoInputGrad)
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
	sum, err := gorgonia.Sum(obj)
	if err != nil {
		return nil, err
	}
	wrt := gorgonia.Nodes{cn.x}
	if masked {
		wrt = nodes
	}
	if cn.grads, err = gorgonia.Grad(sum, wrt...); err != nil {
		return nil, fmt.Errorf("stylegan2: critic gradients: %w", err)
	}
	cn.vm = gorgonia.NewTapeMachine(g)
	*slot = cn
	return cn, nil
}

// run runs cn on x with weights w; the caller resets the machine after
// reading the values.
func (c *critic) run(cn *criticNet, x, w []float32) error {
	copy(f32s(c.x), x)
	copy(f32s(c.w), w)
	if err := gorgonia.Let(cn.x, c.x); err != nil {
		return err
	}
	if err := gorgonia.Let(cn.w, c.w); err != nil {
		return err
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
	return cn.vm.RunAll()
}

// augmented returns A(x) (x itself without augmentation).
func (c *critic) augmented(x []float32) []float32 {
	if c.aug == nil {
		return x
	}
	if len(c.ax) != len(x) {
		c.ax = make([]float32, len(x))
	}
	c.aug.Apply(c.ax, x)
	return c.ax
}

// keep records the activation pattern (slopes 1 or Slope) and the
// minibatch statistic of the fused network's last run, at batch x (before
// augmentation).
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
	s := c.m.Config.Size
	if n != c.n || len(x) != n*s*s {
		return fmt.Errorf("stylegan2: critic: %d values for %d images of %dx%d (built for %d)", len(x), n, s, s, c.n)
	}
	return nil
}

// InputGrad implements penalty.Critic: D'(x) and ∇x Σ D'(x) with the
// statistic of A(x) held constant; it records the pattern and the
// statistic at A(x).
func (c *critic) InputGrad(d, gx, x []float32) error {
	if err := c.check(x, len(d)); err != nil {
		return err
	}
	cn, err := c.net(false)
	if err != nil {
		return err
	}
	ones := make([]float32, len(d))
	for i := range ones {
		ones[i] = 1
	}
	defer cn.vm.Reset()
	if err := c.run(cn, c.augmented(x), ones); err != nil {
		return err
	}
	copy(d, f32s(*cn.dV))
	g := f32s(cn.grads[0].Value())
	if c.aug == nil {
		copy(gx, g)
	} else {
		c.aug.Backward(gx, g)
	}
	c.keep(cn, x)
	return nil
}

// WeightGrad implements penalty.Critic: the weight gradient of Σ w·D(A(x))
// with the LeakyReLUs' slopes and the minibatch statistic of A(at) (of
// A(x) when at is nil).
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
	cn, err := c.net(true)
	if err != nil {
		return err
	}
	defer cn.vm.Reset()
	if err := c.run(cn, c.augmented(x), w); err != nil {
		return err
	}
	if len(dst) != len(cn.grads) {
		return fmt.Errorf("stylegan2: critic: %d gradient slices for %d parameters", len(dst), len(cn.grads))
	}
	for i, g := range cn.grads {
		copy(dst[i], f32s(g.Value()))
	}
	return nil
}

func (c *critic) close() {
	for _, cn := range []*criticNet{c.fused, c.masked} {
		if cn != nil {
			cn.vm.Close()
		}
	}
}
