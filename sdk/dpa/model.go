package dpa

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/params"
)

// Slope is the negative slope of every LeakyReLU of the autoencoder (the
// authors' layers.py: 0.2).
const Slope = 0.2

// Config fixes the shape of the autoencoder.
type Config struct {
	// Size is the image side: 28, 32 or 64.
	Size int `json:"size"`
	// Width is the number of channels at the image's resolution; it
	// doubles at every halving, up to 8·Width.
	Width int `json:"width"`
	// Latent is the size of the code z (the authors' chest X-ray
	// configuration: 16, a 1x1x16 tensor).
	Latent int `json:"latent"`
}

// Validate reports whether c describes an autoencoder this package builds.
func (c Config) Validate() error {
	switch c.Size {
	case 28, 32, 64:
	default:
		return fmt.Errorf("dpa: image size %d not supported (28, 32 or 64)", c.Size)
	}
	if c.Width < 1 || c.Width > 512 {
		return fmt.Errorf("dpa: width %d out of range [1, 512]", c.Width)
	}
	if c.Latent < 1 || c.Latent > 4096 {
		return fmt.Errorf("dpa: latent size %d out of range [1, 4096]", c.Latent)
	}
	return nil
}

// String names the configuration, e.g. "dpa-28-w16-z16".
func (c Config) String() string { return fmt.Sprintf("dpa-%d-w%d-z%d", c.Size, c.Width, c.Latent) }

// Levels returns the resolutions of the autoencoder, from the bottleneck
// up: 4, 8, 16, 32 (and 64) for 32 and 64 pixels, as in the authors'
// networks (the encoder's last 4x4 convolution makes the 1x1 code); 7, 14,
// 28 at 28 pixels, where halving stops at 7.
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

// Start is the level of the first growing stage: 8x8 (level 1) at 32 and
// 64 pixels, 7x7 (level 0) at 28.
func (c Config) Start() int {
	if c.Size == 28 {
		return 0
	}
	return 1
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

// Model is the autoencoder: its encoder's and decoder's weights in one
// set. Names: "E.from.<k>" (the input block of level k: a 3x3 convolution
// from grey and a pre-activation residual block), "E.down.<k>" (level k to
// k-1), "E.out" (the code); "G.in" (from the code), "G.up.<k>" (level k-1
// to k), "G.to.<k>" (LeakyReLU and a 3x3 convolution to grey).
type Model struct {
	Config Config
	AE     params.Set
	// History is the training record.
	History History
}

// New returns an autoencoder with the authors' initialisation
// (pg_encoders.py, pg_decoders.py): every weight normal with standard
// deviation gain/sqrt(fan_out), Kaiming's fan_out mode for LeakyReLU 0.2
// (gain sqrt(2/(1+0.2²))); biases 0 (PyTorch draws them uniformly; 0 keeps
// the fixtures simple). The same seed gives the same weights.
func New(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x6470615f61650001))
	m := &Model{Config: cfg}
	s := &m.AE
	ch, lv := cfg.Channels(), cfg.Levels()
	s0 := lv[0]
	conv := func(name string, cout, cin, k int) {
		s.Add(name+".weight", kaiming(rng, cout*k*k, cout, cin, k, k))
		s.Add(name+".bias", zeros(cout))
	}
	block := func(name string, cin, cout int) {
		conv(name+".conv1", cout, cin, 3)
		conv(name+".conv2", cout, cout, 3)
		if cin != cout {
			conv(name+".shortcut", cout, cin, 1)
		}
	}
	for k := cfg.Start(); k < len(lv); k++ {
		conv(fmt.Sprintf("E.from.%d.conv", k), ch[k], 1, 3)
		block(fmt.Sprintf("E.from.%d.block", k), ch[k], ch[k])
	}
	for k := 1; k < len(lv); k++ {
		block(fmt.Sprintf("E.down.%d", k), ch[k], ch[k-1])
	}
	flat := ch[0] * s0 * s0
	// The authors' 4x4 convolution from 4x4 to 1x1 is this linear layer;
	// its fan_out counts the kernel positions (Latent·s0²).
	s.Add("E.out.weight", kaiming(rng, cfg.Latent*s0*s0, cfg.Latent, flat))
	s.Add("E.out.bias", zeros(cfg.Latent))
	// And the decoder's 4x4 convolution of the 1x1 code with padding 3.
	s.Add("G.in.weight", kaiming(rng, flat, flat, cfg.Latent))
	s.Add("G.in.bias", zeros(flat))
	for k := 1; k < len(lv); k++ {
		block(fmt.Sprintf("G.up.%d", k), ch[k-1], ch[k])
	}
	for k := cfg.Start(); k < len(lv); k++ {
		conv(fmt.Sprintf("G.to.%d", k), 1, ch[k], 3)
	}
	return m, nil
}

func kaiming(rng *rand.Rand, fanOut int, shape ...int) *tensor.Dense {
	gain := math.Sqrt(2 / (1 + Slope*Slope))
	std := gain / math.Sqrt(float64(fanOut))
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(std * rng.NormFloat64())
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
}

func zeros(n int) *tensor.Dense {
	return tensor.New(tensor.WithShape(n), tensor.WithBacking(make([]float32, n)))
}

// Fade is the blending of a fade-in stage: the new level's output weighs
// Alpha, the old one (pooled or upsampled) 1 - Alpha. A nil *Fade is a
// stabilisation stage. Alpha and OneMinus are scalar nodes fed at every
// step.
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

// Set feeds alpha.
func (f *Fade) Set(alpha float64) error {
	if err := gorgonia.Let(f.Alpha, float32(alpha)); err != nil {
		return err
	}
	return gorgonia.Let(f.OneMinus, float32(1-alpha))
}

// mix is (1-α)·old + α·new.
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

func lrelu(x *gorgonia.Node, ng nn.NoGrad) (*gorgonia.Node, error) {
	return nn.BiasAct(x, nil, nn.LeakyReLU, Slope, ng)
}

// convB is a convolution with its bias and activation act (Identity or
// LeakyReLU); pad keeps the size for k = 3.
func convB(x *gorgonia.Node, p *params.Lookup, name string, pad int, act nn.Act, ng nn.NoGrad) (*gorgonia.Node, error) {
	w, b := p.Node(name+".weight"), p.Node(name+".bias")
	if err := p.Err(); err != nil {
		return nil, err
	}
	h, err := nn.Conv2d(x, w, 1, pad, ng)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return nn.BiasAct(h, b, act, Slope, ng&^nn.NoInputGrad)
}

// resample is what a block does to the resolution.
type resample int

const (
	keep resample = iota
	down
	up
)

// block is the authors' pre-activation residual block without
// normalisation (layers.py, PreActResnetBlock, ...Down, ...Up):
//
//	out = conv2(lrelu(conv1(r(lrelu(x))))) + shortcut(r(x))
//
// with r the 2x2 mean pooling (down), the nearest 2x upsampling (up) or
// nothing, conv1 and conv2 3x3 with biases, and the shortcut the identity
// or, when the channels change, a 1x1 convolution.
func block(x *gorgonia.Node, p *params.Lookup, name string, rs resample, ng nn.NoGrad) (*gorgonia.Node, error) {
	inner := ng &^ nn.NoInputGrad
	h, err := lrelu(x, ng)
	if err != nil {
		return nil, err
	}
	sc := x
	switch rs {
	case down:
		if h, err = nn.MeanPool2(h); err != nil {
			return nil, err
		}
		if sc, err = nn.MeanPool2(x); err != nil {
			return nil, err
		}
	case up:
		if h, err = nn.Upsample2x(h); err != nil {
			return nil, err
		}
		if sc, err = nn.Upsample2x(x); err != nil {
			return nil, err
		}
	}
	if h, err = convB(h, p, name+".conv1", 1, nn.LeakyReLU, inner); err != nil {
		return nil, err
	}
	if h, err = convB(h, p, name+".conv2", 1, nn.Identity, inner); err != nil {
		return nil, err
	}
	if w1 := p.Node(name + ".conv1.weight"); w1 != nil && w1.Shape()[0] != x.Shape()[1] {
		if sc, err = convB(sc, p, name+".shortcut", 0, nn.Identity, ng); err != nil {
			return nil, err
		}
	}
	return gorgonia.Add(h, sc)
}

// fromGrey is the encoder's input block of level k.
func fromGrey(x *gorgonia.Node, p *params.Lookup, k int, ng nn.NoGrad) (*gorgonia.Node, error) {
	h, err := convB(x, p, fmt.Sprintf("E.from.%d.conv", k), 1, nn.Identity, ng)
	if err != nil {
		return nil, err
	}
	return block(h, p, fmt.Sprintf("E.from.%d.block", k), keep, ng&^nn.NoInputGrad)
}

// Encode adds the encoder of growing level k to the graph of x
// ([N, 1, r, r], r the level's resolution) and returns the code
// [N, Latent]. With fade (k above the start) the input enters through
// both level k's blocks and, pooled, level k-1's, blended by α
// (pg_encoders.py). nodes are m.AE.Nodes of the graph.
func (m *Model) Encode(x *gorgonia.Node, nodes gorgonia.Nodes, k int, fade *Fade, ng nn.NoGrad) (*gorgonia.Node, error) {
	p := m.AE.Lookup(nodes)
	inner := ng &^ nn.NoInputGrad
	if err := m.checkLevel(x, k, fade); err != nil {
		return nil, err
	}
	h, err := fromGrey(x, p, k, ng)
	if err != nil {
		return nil, fmt.Errorf("dpa: encoder: %w", err)
	}
	if fade != nil {
		if h, err = block(h, p, fmt.Sprintf("E.down.%d", k), down, inner); err != nil {
			return nil, fmt.Errorf("dpa: encoder: %w", err)
		}
		xs, err := nn.MeanPool2(x)
		if err != nil {
			return nil, err
		}
		old, err := fromGrey(xs, p, k-1, ng)
		if err != nil {
			return nil, fmt.Errorf("dpa: encoder: %w", err)
		}
		if h, err = fade.mix(old, h); err != nil {
			return nil, err
		}
		k--
	}
	for j := k; j >= 1; j-- {
		if h, err = block(h, p, fmt.Sprintf("E.down.%d", j), down, inner); err != nil {
			return nil, fmt.Errorf("dpa: encoder: %w", err)
		}
	}
	if h, err = lrelu(h, inner); err != nil {
		return nil, err
	}
	if h, err = nn.Flatten(h); err != nil {
		return nil, err
	}
	if h, err = nn.Linear(h, p.Node("E.out.weight"), inner); err != nil {
		return nil, fmt.Errorf("dpa: encoder: %w", err)
	}
	if h, err = nn.BiasAct(h, p.Node("E.out.bias"), nn.Identity, 0, inner); err != nil {
		return nil, fmt.Errorf("dpa: encoder: %w", err)
	}
	return h, p.Err()
}

// Decode adds the decoder of growing level k to the graph of the code z
// ([N, Latent]) and returns the image [N, 1, r, r] (no output activation,
// as the authors' decoder). With fade, level k-1's output upsampled and
// level k's are blended by α (pg_decoders.py).
func (m *Model) Decode(z *gorgonia.Node, nodes gorgonia.Nodes, k int, fade *Fade, ng nn.NoGrad) (*gorgonia.Node, error) {
	p := m.AE.Lookup(nodes)
	inner := ng &^ nn.NoInputGrad
	ch, lv := m.Config.Channels(), m.Config.Levels()
	if k < m.Config.Start() || k >= len(lv) || (fade != nil && k == m.Config.Start()) {
		return nil, fmt.Errorf("dpa: decoder: level %d (fade %v) outside [%d, %d)", k, fade != nil, m.Config.Start(), len(lv))
	}
	h, err := lrelu(z, ng)
	if err != nil {
		return nil, err
	}
	if h, err = nn.Linear(h, p.Node("G.in.weight"), inner); err != nil {
		return nil, fmt.Errorf("dpa: decoder: %w", err)
	}
	if h, err = nn.BiasAct(h, p.Node("G.in.bias"), nn.Identity, 0, inner); err != nil {
		return nil, fmt.Errorf("dpa: decoder: %w", err)
	}
	if h, err = gorgonia.Reshape(h, tensor.Shape{z.Shape()[0], ch[0], lv[0], lv[0]}); err != nil {
		return nil, err
	}
	top := k
	if fade != nil {
		top = k - 1
	}
	for j := 1; j <= top; j++ {
		if h, err = block(h, p, fmt.Sprintf("G.up.%d", j), up, inner); err != nil {
			return nil, fmt.Errorf("dpa: decoder: %w", err)
		}
	}
	toGrey := func(h *gorgonia.Node, j int) (*gorgonia.Node, error) {
		a, err := lrelu(h, inner)
		if err != nil {
			return nil, err
		}
		return convB(a, p, fmt.Sprintf("G.to.%d", j), 1, nn.Identity, inner)
	}
	if fade == nil {
		out, err := toGrey(h, k)
		if err != nil {
			return nil, fmt.Errorf("dpa: decoder: %w", err)
		}
		return out, p.Err()
	}
	old, err := toGrey(h, k-1)
	if err != nil {
		return nil, fmt.Errorf("dpa: decoder: %w", err)
	}
	if old, err = nn.Upsample2x(old); err != nil {
		return nil, err
	}
	if h, err = block(h, p, fmt.Sprintf("G.up.%d", k), up, inner); err != nil {
		return nil, fmt.Errorf("dpa: decoder: %w", err)
	}
	nw, err := toGrey(h, k)
	if err != nil {
		return nil, fmt.Errorf("dpa: decoder: %w", err)
	}
	out, err := fade.mix(old, nw)
	if err != nil {
		return nil, err
	}
	return out, p.Err()
}

func (m *Model) checkLevel(x *gorgonia.Node, k int, fade *Fade) error {
	lv := m.Config.Levels()
	if k < m.Config.Start() || k >= len(lv) || (fade != nil && k == m.Config.Start()) {
		return fmt.Errorf("dpa: level %d (fade %v) outside [%d, %d)", k, fade != nil, m.Config.Start(), len(lv))
	}
	if xs := x.Shape(); xs.Dims() != 4 || xs[1] != 1 || xs[2] != lv[k] || xs[3] != lv[k] {
		return fmt.Errorf("dpa: input of shape %v at level %d, want [N 1 %d %d]", xs, k, lv[k], lv[k])
	}
	return nil
}

// Reconstruct adds encoder and decoder of level k to the graph of x.
func (m *Model) Reconstruct(x *gorgonia.Node, nodes gorgonia.Nodes, k int, fade *Fade, ng nn.NoGrad) (*gorgonia.Node, error) {
	z, err := m.Encode(x, nodes, k, fade, ng)
	if err != nil {
		return nil, err
	}
	return m.Decode(z, nodes, k, fade, ng&^nn.NoInputGrad)
}
