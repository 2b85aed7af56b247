package jointenc

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/params"
)

// Slope is the negative slope of every LeakyReLU (the progressive GAN's
// code: 0.2).
const Slope = 0.2

// Group is the group size of the critic's minibatch standard deviation
// (the progressive GAN's code: 4).
const Group = 4

// ZScale is the standard deviation of the prior of z: z = 0.1·N(0, I), as
// the authors' code draws it (G normalises z first, so the scale only
// matters against PixelNorm's ε).
const ZScale = 0.1

// Config fixes the shape of the three networks.
type Config struct {
	// Size is the image side: 28, 32 or 64.
	Size int `json:"size"`
	// Width is the number of channels at the image's resolution; it
	// doubles at every halving, up to 8·Width (the paper setting: 64, so
	// 512, 512, 256, 128, 64 channels from 4x4 to 64x64).
	Width int `json:"width"`
	// Latent is the size of z and of E's output (the authors' code: 512).
	Latent int `json:"latent"`
}

// Validate reports whether c describes networks this package builds.
func (c Config) Validate() error {
	switch c.Size {
	case 28, 32, 64:
	default:
		return fmt.Errorf("jointenc: image size %d not supported (28, 32 or 64)", c.Size)
	}
	if c.Width < 1 || c.Width > 512 {
		return fmt.Errorf("jointenc: width %d out of range [1, 512]", c.Width)
	}
	if c.Latent < 1 || c.Latent > 4096 {
		return fmt.Errorf("jointenc: latent size %d out of range [1, 4096]", c.Latent)
	}
	return nil
}

// String names the configuration, e.g. "jointenc-28-w8-z64".
func (c Config) String() string {
	return fmt.Sprintf("jointenc-%d-w%d-z%d", c.Size, c.Width, c.Latent)
}

// Levels returns the resolutions of the growing, from the first: 4, 8, ...
// up to the image size at 32 and 64 pixels, 7, 14, 28 at 28.
func (c Config) Levels() []int {
	s0 := 4
	if c.Size == 28 {
		s0 = 7
	}
	var r []int
	for s := s0; s <= c.Size; s *= 2 {
		r = append(r, s)
	}
	return r
}

// Channels returns the channels of every level: Width at the top,
// doubling at each level down, at most 8·Width.
func (c Config) Channels() []int {
	lv := c.Levels()
	ch := make([]int, len(lv))
	for k := range lv {
		ch[k] = c.Width * min(1<<(len(lv)-1-k), 8)
	}
	return ch
}

// Top is the last level, the image size.
func (c Config) Top() int { return len(c.Levels()) - 1 }

// Model holds the three networks: the generator G, the critic D and the
// encoder E, which has D's architecture (without the minibatch standard
// deviation) and its own weights, its last layer giving Latent values.
//
// The weights are stored as the optimiser sees them, drawn from N(0, 1);
// the networks run on them times the equalised learning rate's constant
// c = gain/sqrt(fan_in) (Karras et al. 2018, Sec. 4.1). Names:
// "G.in.dense", "G.in.conv", "G.up.<k>.conv1|conv2", "G.to.<k>" (the 1x1
// convolution to grey of level k); "D.from.<k>" (1x1 from grey),
// "D.down.<k>.conv1|conv2", "D.out.conv", "D.out.dense", "D.out.score";
// E the same as D with "E." and no score layer. Each has ".weight" and
// ".bias".
type Model struct {
	Config  Config
	G, D, E params.Set
	// History is the training record.
	History History
	// Norms are the statistics of ‖E(x)‖ over the training images, which
	// the two-sided norm score needs (FitNorms; nil before).
	Norms *NormStats

	run   [3]params.Set // the scaled weights the graphs run on
	scale [3][]float32  // c per parameter (1 for biases)
}

// The networks' indices in Model.run and Model.scale.
const (
	netG = iota
	netD
	netE
)

// New returns networks initialised as the progressive GAN's code does with
// the equalised learning rate: weights N(0, 1), biases 0. The same seed
// gives the same weights.
func New(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x6a6f696e74656e63))
	m := &Model{Config: cfg}
	ch, lv := cfg.Channels(), cfg.Levels()
	s0, c0 := lv[0], ch[0]
	he := math.Sqrt2
	add := func(net int, name string, gain float64, shape ...int) {
		set := m.set(net)
		fanIn := 1
		for _, d := range shape[1:] {
			fanIn *= d
		}
		set.Add(name+".weight", randn(rng, shape...))
		set.Add(name+".bias", tensor.New(tensor.WithShape(shape[0]), tensor.Of(tensor.Float32)))
		m.scale[net] = append(m.scale[net], float32(gain/math.Sqrt(float64(fanIn))), 1)
	}
	// G: the progressive GAN's first dense layer has gain sqrt(2)/4.
	add(netG, "G.in.dense", he/4, c0*s0*s0, cfg.Latent)
	add(netG, "G.in.conv", he, c0, c0, 3, 3)
	for k := 1; k < len(lv); k++ {
		add(netG, fmt.Sprintf("G.up.%d.conv1", k), he, ch[k], ch[k-1], 3, 3)
		add(netG, fmt.Sprintf("G.up.%d.conv2", k), he, ch[k], ch[k], 3, 3)
	}
	for k := range lv {
		add(netG, fmt.Sprintf("G.to.%d", k), 1, 1, ch[k], 1, 1)
	}
	for _, net := range []int{netD, netE} {
		l := "DE"[net-netD : net-netD+1]
		for k := range lv {
			add(net, fmt.Sprintf("%s.from.%d", l, k), he, ch[k], 1, 1, 1)
		}
		for k := 1; k < len(lv); k++ {
			add(net, fmt.Sprintf("%s.down.%d.conv1", l, k), he, ch[k], ch[k], 3, 3)
			add(net, fmt.Sprintf("%s.down.%d.conv2", l, k), he, ch[k-1], ch[k], 3, 3)
		}
		in := c0
		if net == netD {
			in++ // the minibatch standard deviation's channel
		}
		add(net, l+".out.conv", he, c0, in, 3, 3)
		if net == netD {
			add(net, "D.out.dense", he, c0, c0*s0*s0)
			add(net, "D.out.score", 1, 1, c0)
		} else {
			add(net, "E.out.dense", he, cfg.Latent, c0*s0*s0)
		}
	}
	m.Sync()
	return m, nil
}

func (m *Model) set(net int) *params.Set { return [...]*params.Set{&m.G, &m.D, &m.E}[net] }

// Sync sets the weights the networks run on to the stored weights times
// their constants: after every change of G, D or E (an optimiser step, a
// restore).
func (m *Model) Sync() {
	for net := range m.run {
		raw, run := m.set(net), &m.run[net]
		if len(run.Params) != len(raw.Params) {
			*run = params.Set{}
			for _, p := range raw.Params {
				run.Add(p.Name, tensor.New(tensor.WithShape(p.Value.Shape().Clone()...), tensor.Of(tensor.Float32)))
			}
		}
		rv := run.Values()
		for i, v := range raw.Values() {
			c := m.scale[net][i]
			for j, x := range v {
				rv[i][j] = c * x
			}
		}
	}
}

// Scales returns the constants c of network "G", "D" or "E", one per
// parameter in the set's order.
func (m *Model) Scales(net string) []float32 {
	switch net {
	case "G":
		return m.scale[netG]
	case "D":
		return m.scale[netD]
	case "E":
		return m.scale[netE]
	}
	return nil
}

// toStored turns gradients with respect to the scaled weights of net into
// gradients with respect to the stored ones, in place: ∂L/∂w = c·∂L/∂(c·w).
func (m *Model) toStored(net int, grads [][]float32) {
	for i, g := range grads {
		c := m.scale[net][i]
		for j := range g {
			g[j] *= c
		}
	}
}

func randn(rng *rand.Rand, shape ...int) *tensor.Dense {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
}

// Fade is the blending of a fade-in phase: the new level's output weighs
// Alpha, the old one (pooled or upsampled) 1 - Alpha. A nil *Fade is a
// stabilisation phase.
type Fade struct {
	Alpha, OneMinus *gorgonia.Node
}

// NewFade adds the two scalar inputs of a fade-in to g.
func NewFade(g *gorgonia.ExprGraph) *Fade {
	return &Fade{
		Alpha:    gorgonia.NewScalar(g, tensor.Float32, gorgonia.WithName("alpha"), gorgonia.WithValue(float32(0))),
		OneMinus: gorgonia.NewScalar(g, tensor.Float32, gorgonia.WithName("one_minus_alpha"), gorgonia.WithValue(float32(1))),
	}
}

// Set feeds alpha; a nil *Fade ignores it.
func (f *Fade) Set(alpha float64) error {
	if f == nil {
		return nil
	}
	if err := gorgonia.Let(f.Alpha, float32(alpha)); err != nil {
		return err
	}
	return gorgonia.Let(f.OneMinus, float32(1-alpha))
}

func (f *Fade) mix(old, new *gorgonia.Node) (*gorgonia.Node, error) {
	a, err := gorgonia.Mul(f.OneMinus, old)
	if err != nil {
		return nil, err
	}
	b, err := gorgonia.Mul(f.Alpha, new)
	if err != nil {
		return nil, err
	}
	return gorgonia.Add(a, b)
}

func (m *Model) checkLevel(k int, fade *Fade) error {
	if k < 0 || k > m.Config.Top() || (fade != nil && k == 0) {
		return fmt.Errorf("jointenc: level %d (fade %v) outside [0, %d]", k, fade != nil, m.Config.Top())
	}
	return nil
}

// Nodes binds the scaled weights of "G", "D" or "E" to graph g.
func (m *Model) Nodes(g *gorgonia.ExprGraph, net string) gorgonia.Nodes {
	switch net {
	case "G":
		return m.run[netG].Nodes(g)
	case "D":
		return m.run[netD].Nodes(g)
	case "E":
		return m.run[netE].Nodes(g)
	}
	return nil
}

func (m *Model) lookup(net int, nodes gorgonia.Nodes) *params.Lookup { return m.run[net].Lookup(nodes) }

// conv is a convolution (k = 3 padded, or 1x1) with its bias and
// activation act.
func conv(x *gorgonia.Node, p *params.Lookup, name string, act nn.Act, ng nn.NoGrad) (*gorgonia.Node, error) {
	w, b := p.Node(name+".weight"), p.Node(name+".bias")
	if err := p.Err(); err != nil {
		return nil, err
	}
	pad := w.Shape()[2] / 2
	h, err := nn.Conv2d(x, w, 1, pad, ng)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return nn.BiasAct(h, b, act, Slope, ng&^nn.NoInputGrad)
}

// Generator adds G of growing level k to the graph of z ([N, Latent]) and
// returns G(z) ([N, 1, r, r], r the level's resolution; no output
// activation):
//
//	PixelNorm(z) -> dense -> lrelu -> PixelNorm -> [C0, s0, s0] -> conv -> lrelu -> PixelNorm
//	-> per level: upsample, (conv -> lrelu -> PixelNorm) x 2 -> 1x1 conv to grey
//
// With fade, level k-1's grey output upsampled and level k's are blended
// by α. nodes are m.Nodes(g, "G").
func (m *Model) Generator(z *gorgonia.Node, nodes gorgonia.Nodes, k int, fade *Fade, ng nn.NoGrad) (*gorgonia.Node, error) {
	if err := m.checkLevel(k, fade); err != nil {
		return nil, err
	}
	p := m.lookup(netG, nodes)
	inner := ng &^ nn.NoInputGrad
	ch, lv := m.Config.Channels(), m.Config.Levels()
	h, err := nn.PixelNorm(z, nn.PixelNormEps)
	if err != nil {
		return nil, fmt.Errorf("jointenc: generator: %w", err)
	}
	if h, err = nn.Linear(h, p.Node("G.in.dense.weight"), ng); err != nil {
		return nil, fmt.Errorf("jointenc: generator: %w", err)
	}
	if h, err = nn.BiasAct(h, p.Node("G.in.dense.bias"), nn.LeakyReLU, Slope, inner); err != nil {
		return nil, fmt.Errorf("jointenc: generator: %w", err)
	}
	if h, err = gorgonia.Reshape(h, tensor.Shape{z.Shape()[0], ch[0], lv[0], lv[0]}); err != nil {
		return nil, err
	}
	pn := func(h *gorgonia.Node, err error) (*gorgonia.Node, error) {
		if err != nil {
			return nil, err
		}
		return nn.PixelNorm(h, nn.PixelNormEps)
	}
	if h, err = pn(h, nil); err != nil {
		return nil, err
	}
	if h, err = pn(conv(h, p, "G.in.conv", nn.LeakyReLU, inner)); err != nil {
		return nil, fmt.Errorf("jointenc: generator: %w", err)
	}
	top := k
	if fade != nil {
		top = k - 1
	}
	block := func(h *gorgonia.Node, j int) (*gorgonia.Node, error) {
		h, err := nn.Upsample2x(h)
		if err != nil {
			return nil, err
		}
		if h, err = pn(conv(h, p, fmt.Sprintf("G.up.%d.conv1", j), nn.LeakyReLU, inner)); err != nil {
			return nil, err
		}
		return pn(conv(h, p, fmt.Sprintf("G.up.%d.conv2", j), nn.LeakyReLU, inner))
	}
	for j := 1; j <= top; j++ {
		if h, err = block(h, j); err != nil {
			return nil, fmt.Errorf("jointenc: generator: %w", err)
		}
	}
	toGrey := func(h *gorgonia.Node, j int) (*gorgonia.Node, error) {
		return conv(h, p, fmt.Sprintf("G.to.%d", j), nn.Identity, inner)
	}
	if fade == nil {
		out, err := toGrey(h, k)
		if err != nil {
			return nil, fmt.Errorf("jointenc: generator: %w", err)
		}
		return out, p.Err()
	}
	old, err := toGrey(h, k-1)
	if err != nil {
		return nil, fmt.Errorf("jointenc: generator: %w", err)
	}
	if old, err = nn.Upsample2x(old); err != nil {
		return nil, err
	}
	if h, err = block(h, k); err != nil {
		return nil, fmt.Errorf("jointenc: generator: %w", err)
	}
	nw, err := toGrey(h, k)
	if err != nil {
		return nil, fmt.Errorf("jointenc: generator: %w", err)
	}
	out, err := fade.mix(old, nw)
	if err != nil {
		return nil, err
	}
	return out, p.Err()
}

// Stat says how the critic's minibatch standard deviation is taken.
type Stat int

const (
	// Coupled: computed from the batch, differentiated through (the
	// authors' code, for the Wasserstein loss and G's loss).
	Coupled Stat = iota
	// Frozen: computed from the batch, held constant in the gradient.
	Frozen
	// Given: the input s of Trunk, held constant (the statistic of an
	// anchor batch, for the gradient penalty's weight gradients).
	Given
)

// Trunk is the convolutional part shared by D and E at level k on x
// ([N, 1, r, r]):
//
//	per level from k down: 1x1 conv from grey -> lrelu -> (3x3 conv -> lrelu) x 2 -> 2x2 mean pool
//	-> [D only: minibatch standard deviation] -> 3x3 conv -> lrelu
//
// With fade the input also enters, pooled, through level k-1's 1x1
// convolution, blended by α with the new level's block. It returns the
// features [N, C0, s0, s0] before the minibatch statistic (feat), the
// trunk's output and the outputs of its LeakyReLUs in order (their signs
// are the activation pattern). With masks (one per LeakyReLU, shaped like
// its output) every LeakyReLU multiplies by its mask instead: the network
// with its kinks frozen. net is "D" or "E"; stat and s apply to D.
func (m *Model) Trunk(x *gorgonia.Node, nodes gorgonia.Nodes, net string, k int, fade *Fade, stat Stat, s *gorgonia.Node, masks []*gorgonia.Node, ng nn.NoGrad) (feat, out *gorgonia.Node, acts []*gorgonia.Node, err error) {
	if err := m.checkLevel(k, fade); err != nil {
		return nil, nil, nil, err
	}
	id := netD
	if net == "E" {
		id = netE
	} else if net != "D" {
		return nil, nil, nil, fmt.Errorf("jointenc: trunk of %q", net)
	}
	p := m.lookup(id, nodes)
	inner := ng &^ nn.NoInputGrad
	act := func(x *gorgonia.Node, name string, ng nn.NoGrad) (*gorgonia.Node, error) {
		if masks == nil {
			h, err := conv(x, p, name, nn.LeakyReLU, ng)
			if err == nil {
				acts = append(acts, h)
			}
			return h, err
		}
		h, err := conv(x, p, name, nn.Identity, ng)
		if err != nil {
			return nil, err
		}
		if len(acts) >= len(masks) {
			return nil, fmt.Errorf("%d masks for more LeakyReLUs", len(masks))
		}
		if h, err = nn.Mask(h, masks[len(acts)]); err != nil {
			return nil, err
		}
		acts = append(acts, h)
		return h, nil
	}
	block := func(h *gorgonia.Node, j int) (*gorgonia.Node, error) {
		h, err := act(h, fmt.Sprintf("%s.down.%d.conv1", net, j), inner)
		if err != nil {
			return nil, err
		}
		if h, err = act(h, fmt.Sprintf("%s.down.%d.conv2", net, j), inner); err != nil {
			return nil, err
		}
		return nn.MeanPool2(h)
	}
	h, err := act(x, fmt.Sprintf("%s.from.%d", net, k), ng)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("jointenc: %s: %w", net, err)
	}
	if k > 0 {
		if h, err = block(h, k); err != nil {
			return nil, nil, nil, fmt.Errorf("jointenc: %s: %w", net, err)
		}
	}
	if fade != nil {
		xs, err := nn.MeanPool2(x)
		if err != nil {
			return nil, nil, nil, err
		}
		old, err := act(xs, fmt.Sprintf("%s.from.%d", net, k-1), ng)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("jointenc: %s: %w", net, err)
		}
		if h, err = fade.mix(old, h); err != nil {
			return nil, nil, nil, err
		}
	}
	for j := k - 1; j >= 1; j-- {
		if h, err = block(h, j); err != nil {
			return nil, nil, nil, fmt.Errorf("jointenc: %s: %w", net, err)
		}
	}
	feat = h
	if net == "D" {
		switch stat {
		case Coupled, Frozen:
			h, err = nn.MinibatchStd(h, Group, stat == Frozen)
		case Given:
			if s == nil {
				return nil, nil, nil, fmt.Errorf("jointenc: D: no statistic given")
			}
			h, err = nn.AppendChannel(h, s)
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("jointenc: D: %w", err)
		}
	}
	if out, err = act(h, net+".out.conv", inner); err != nil {
		return nil, nil, nil, fmt.Errorf("jointenc: %s: %w", net, err)
	}
	return feat, out, acts, p.Err()
}

// Critic adds D of level k to the graph of x and returns D(x) ([N]), the
// features before the minibatch statistic ([N, C0, s0, s0]) and the
// outputs of its LeakyReLUs (see Trunk; the dense layer's comes last):
//
//	Trunk -> dense -> lrelu -> dense to 1 (gain 1, no activation)
//
// nodes are m.Nodes(g, "D").
func (m *Model) Critic(x *gorgonia.Node, nodes gorgonia.Nodes, k int, fade *Fade, stat Stat, s *gorgonia.Node, masks []*gorgonia.Node, ng nn.NoGrad) (d, feat *gorgonia.Node, acts []*gorgonia.Node, err error) {
	feat, h, acts, err := m.Trunk(x, nodes, "D", k, fade, stat, s, masks, ng)
	if err != nil {
		return nil, nil, nil, err
	}
	p := m.lookup(netD, nodes)
	inner := ng &^ nn.NoInputGrad
	if h, err = nn.Flatten(h); err != nil {
		return nil, nil, nil, err
	}
	if h, err = nn.Linear(h, p.Node("D.out.dense.weight"), inner); err != nil {
		return nil, nil, nil, fmt.Errorf("jointenc: D: %w", err)
	}
	if masks == nil {
		h, err = nn.BiasAct(h, p.Node("D.out.dense.bias"), nn.LeakyReLU, Slope, inner)
	} else if h, err = nn.BiasAct(h, p.Node("D.out.dense.bias"), nn.Identity, 0, inner); err == nil {
		if len(acts) >= len(masks) {
			return nil, nil, nil, fmt.Errorf("jointenc: D: %d masks for more LeakyReLUs", len(masks))
		}
		h, err = nn.Mask(h, masks[len(acts)])
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("jointenc: D: %w", err)
	}
	acts = append(acts, h)
	if h, err = nn.Linear(h, p.Node("D.out.score.weight"), inner); err != nil {
		return nil, nil, nil, fmt.Errorf("jointenc: D: %w", err)
	}
	if h, err = nn.BiasAct(h, p.Node("D.out.score.bias"), nn.Identity, 0, inner); err != nil {
		return nil, nil, nil, fmt.Errorf("jointenc: D: %w", err)
	}
	if d, err = gorgonia.Reshape(h, tensor.Shape{x.Shape()[0]}); err != nil {
		return nil, nil, nil, err
	}
	return d, feat, acts, p.Err()
}

// Encoder adds E of level k to the graph of x and returns E(x)
// ([N, Latent]): the trunk with E's weights and no minibatch statistic,
// then a dense layer to Latent values and a LeakyReLU (the authors' E: D
// with its last dense layer removed). nodes are m.Nodes(g, "E").
func (m *Model) Encoder(x *gorgonia.Node, nodes gorgonia.Nodes, k int, fade *Fade, ng nn.NoGrad) (*gorgonia.Node, error) {
	_, h, _, err := m.Trunk(x, nodes, "E", k, fade, Coupled, nil, nil, ng)
	if err != nil {
		return nil, err
	}
	p := m.lookup(netE, nodes)
	inner := ng &^ nn.NoInputGrad
	if h, err = nn.Flatten(h); err != nil {
		return nil, err
	}
	if h, err = nn.Linear(h, p.Node("E.out.dense.weight"), inner); err != nil {
		return nil, fmt.Errorf("jointenc: E: %w", err)
	}
	if h, err = nn.BiasAct(h, p.Node("E.out.dense.bias"), nn.LeakyReLU, Slope, inner); err != nil {
		return nil, fmt.Errorf("jointenc: E: %w", err)
	}
	return h, p.Err()
}

// SampleZ fills z with draws from the prior, ZScale·N(0, 1).
func SampleZ(rng *rand.Rand, z []float32) {
	for i := range z {
		z[i] = float32(ZScale * rng.NormFloat64())
	}
}
