package fanogan

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/dcgan"
	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/params"
)

// Config fixes the shape of the three networks.
type Config struct {
	// Size is the image side: 28, 32 or 64 (the paper: 64).
	Size int `json:"size"`
	// Width is the base channel width W: the critic's blocks have W, 2W,
	// 4W, 8W, 8W channels at 64x64 (the authors' code: W = 64).
	Width int `json:"width"`
	// Latent is the size of z (the authors' code: 128).
	Latent int `json:"latent"`
}

// PaperConfig is the authors' configuration: 64x64 images, W = 64, z of
// 128 values.
func PaperConfig() Config { return Config{Size: 64, Width: 64, Latent: 128} }

// Validate reports whether c describes networks this package can build.
func (c Config) Validate() error {
	switch c.Size {
	case 28, 32, 64:
	default:
		return fmt.Errorf("fanogan: image size %d not supported (28, 32 or 64)", c.Size)
	}
	if c.Width < 1 || c.Width > 512 {
		return fmt.Errorf("fanogan: width %d out of range [1, 512]", c.Width)
	}
	if c.Latent < 1 || c.Latent > 4096 {
		return fmt.Errorf("fanogan: latent size %d out of range [1, 4096]", c.Latent)
	}
	return nil
}

// Base returns the side s0 of the smallest feature maps and the number L of
// residual blocks that halve (critic, encoder) or double (generator) the
// resolution: 4 and 4 at 64x64 (the authors' networks), 4 and 3 at 32x32, 7
// and 2 at 28x28, as the DCGAN of AnoGAN has them.
func (c Config) Base() (s0, blocks int) { return dcgan.Config{Size: c.Size}.Base() }

// criticChannels returns the input and output channels of the critic's
// (and the encoder's) blocks: W·min(2^i, 8) -> W·min(2^(i+1), 8).
func (c Config) criticChannels() (in, out []int) {
	_, l := c.Base()
	for i := 0; i < l; i++ {
		in = append(in, c.Width*min(1<<i, 8))
		out = append(out, c.Width*min(1<<(i+1), 8))
	}
	return in, out
}

// generatorChannels returns the generator's channel sequence: its first
// feature maps' channels, then every block's output (8W, 8W, 4W, 2W, W at
// 64x64; block j maps entry j to entry j+1).
func (c Config) generatorChannels() []int {
	in, out := c.criticChannels()
	ch := []int{out[len(out)-1]}
	for i := len(in) - 1; i >= 0; i-- {
		ch = append(ch, in[i])
	}
	return ch
}

// FeatureShape is the shape of f(x), the critic's last block output for one
// image: [8W, 4, 4] at 64x64 (8192 values at W = 64).
func (c Config) FeatureShape() []int {
	s0, _ := c.Base()
	_, out := c.criticChannels()
	return []int{out[len(out)-1], s0, s0}
}

// FeatureLen is the number of values of f(x).
func (c Config) FeatureLen() int {
	s := c.FeatureShape()
	return s[0] * s[1] * s[2]
}

// String names the configuration, e.g. "fanogan-64-w64-z128".
func (c Config) String() string {
	return fmt.Sprintf("fanogan-%d-w%d-z%d", c.Size, c.Width, c.Latent)
}

// Model holds f-AnoGAN's three networks: the generator G, the critic D
// (whose last block gives the features f) and the encoder E. Parameter
// names are PyTorch's state-dict names of the same modules with the
// network's letter in front ("D.blocks.0.conv1.weight"); BatchNorm scales
// and shifts are ".gamma" and ".beta".
type Model struct {
	Config  Config
	G, D, E params.Set
	// WGANHistory and EncoderHistory are the training records of the two
	// stages.
	WGANHistory, EncoderHistory History
}

// LNEps and BNEps are the epsilons of the critic's LayerNorm and of the
// BatchNorms of G and E (PyTorch's and tflib's default).
const (
	LNEps = 1e-5
	BNEps = 1e-5
)

// New returns networks with the initialisation of the authors' code
// (tflib, which WGAN-GP's and f-AnoGAN's code share): weights uniform with
// standard deviation sqrt(2/(fan_in+fan_out)), times sqrt(2) (He) for the
// convolutions inside the residual blocks and G's output convolution,
// where fan_out counts the kernel positions a stride-s output reaches
// (k²·C_out/s²); biases 0; normalisation scales 1 and shifts 0. The same
// seed gives the same weights.
func New(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x5a17a3f0c0ffee11))
	m := &Model{Config: cfg}
	s0, _ := cfg.Base()
	z := cfg.Latent

	g := &m.G
	gch := cfg.generatorChannels()
	g.Add("G.input.weight", uniformInit(rng, false, 1, gch[0]*s0*s0, z))
	g.Add("G.input.bias", zeros(gch[0]*s0*s0))
	for j := 0; j+1 < len(gch); j++ {
		cin, cout := gch[j], gch[j+1]
		p := fmt.Sprintf("G.blocks.%d.", j)
		g.AddBN(p+"bn1", cin)
		// conv1 runs after the upsampling: tflib's UpsampleConv counts it
		// as a stride-1/2 convolution (fan_out·4).
		g.Add(p+"conv1.weight", uniformInit(rng, true, 0.5, cout, cin, 3, 3))
		g.AddBN(p+"bn2", cout)
		g.Add(p+"conv2.weight", uniformInit(rng, true, 1, cout, cout, 3, 3))
		g.Add(p+"conv2.bias", zeros(cout))
		g.Add(p+"shortcut.weight", uniformInit(rng, false, 0.5, cout, cin, 1, 1))
		g.Add(p+"shortcut.bias", zeros(cout))
	}
	w := gch[len(gch)-1]
	g.AddBN("G.out_bn", w)
	g.Add("G.out_conv.weight", uniformInit(rng, true, 1, 1, w, 3, 3))
	g.Add("G.out_conv.bias", zeros(1))

	addTrunk(&m.D, "D", cfg, rng, false)
	m.D.Add("D.output.weight", uniformInit(rng, false, 1, 1, cfg.FeatureLen()))
	m.D.Add("D.output.bias", zeros(1))

	addTrunk(&m.E, "E", cfg, rng, true)
	m.E.Add("E.output.weight", uniformInit(rng, false, 1, z, cfg.FeatureLen()))
	m.E.Add("E.output.bias", zeros(z))
	return m, nil
}

// addTrunk adds the critic's convolutional trunk to s under the network's
// letter: LayerNorm (critic) or BatchNorm (encoder, bn) in the blocks.
func addTrunk(s *params.Set, letter string, cfg Config, rng *rand.Rand, bn bool) {
	in, out := cfg.criticChannels()
	s.Add(letter+".input.weight", uniformInit(rng, false, 1, in[0], 1, 3, 3))
	s.Add(letter+".input.bias", zeros(in[0]))
	norm := func(name string, c int) {
		if bn {
			s.AddBN(name, c)
			return
		}
		s.Add(name+".weight", ones(c))
		s.Add(name+".bias", zeros(c))
	}
	n1, n2 := "ln1", "ln2"
	if bn {
		n1, n2 = "bn1", "bn2"
	}
	for i := range in {
		p := fmt.Sprintf("%s.blocks.%d.", letter, i)
		norm(p+n1, in[i])
		s.Add(p+"conv1.weight", uniformInit(rng, true, 1, in[i], in[i], 3, 3))
		norm(p+n2, in[i])
		// conv2 is followed by the mean pooling: tflib's ConvMeanPool
		// counts it as stride 2.
		s.Add(p+"conv2.weight", uniformInit(rng, true, 2, out[i], in[i], 3, 3))
		s.Add(p+"conv2.bias", zeros(out[i]))
		s.Add(p+"shortcut.weight", uniformInit(rng, false, 2, out[i], in[i], 1, 1))
		s.Add(p+"shortcut.bias", zeros(out[i]))
	}
}

// uniformInit draws a weight of shape [cout, cin, k, k] (a convolution) or
// [out, in] (a linear layer) uniformly with standard deviation
// sqrt(2/(fan_in+fan_out)), times sqrt(2) with he; fan_out is
// k²·cout/stride².
func uniformInit(rng *rand.Rand, he bool, stride float64, shape ...int) *tensor.Dense {
	cout, cin, kk := shape[0], shape[1], 1
	if len(shape) == 4 {
		kk = shape[2] * shape[3]
	}
	fanIn := float64(cin * kk)
	fanOut := float64(cout*kk) / (stride * stride)
	std := math.Sqrt(2 / (fanIn + fanOut))
	if he {
		std *= math.Sqrt2
	}
	lim := std * math.Sqrt(3)
	v := make([]float32, cout*cin*kk)
	for i := range v {
		v[i] = float32(lim * (2*rng.Float64() - 1))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))
}

func zeros(n int) *tensor.Dense {
	return tensor.New(tensor.WithShape(n), tensor.WithBacking(make([]float32, n)))
}

func ones(n int) *tensor.Dense {
	v := make([]float32, n)
	for i := range v {
		v[i] = 1
	}
	return tensor.New(tensor.WithShape(n), tensor.WithBacking(v))
}

// Generator adds G to the graph of z ([N, Latent]) and returns G(z)
// ([N, 1, Size, Size], values in (-1, 1)):
//
//	Linear -> [8W, s0, s0] -> L up blocks -> BN -> ReLU -> 3x3 conv -> tanh
//
// (the authors' 64x64 generator; blocks in nn.ResBlockUp). train selects
// BatchNorm's batch statistics (updating the running ones) or the running
// statistics. ng applies to z and every weight. nodes are m.G.Nodes of the
// graph.
func (m *Model) Generator(z *gorgonia.Node, nodes gorgonia.Nodes, train bool, ng nn.NoGrad) (*gorgonia.Node, error) {
	s0, _ := m.Config.Base()
	gch := m.Config.generatorChannels()
	p := m.G.Lookup(nodes)
	h, err := nn.Linear(z, p.Node("G.input.weight"), ng)
	if err != nil {
		return nil, fmt.Errorf("fanogan: generator: %w", err)
	}
	inner := ng &^ nn.NoInputGrad
	if h, err = nn.BiasAct(h, p.Node("G.input.bias"), nn.Identity, 0, inner); err != nil {
		return nil, fmt.Errorf("fanogan: generator: %w", err)
	}
	if h, err = gorgonia.Reshape(h, tensor.Shape{z.Shape()[0], gch[0], s0, s0}); err != nil {
		return nil, fmt.Errorf("fanogan: generator: %w", err)
	}
	for j := 0; j+1 < len(gch); j++ {
		b := fmt.Sprintf("G.blocks.%d.", j)
		rp := nn.ResUpParams{
			BN1Gamma: p.Node(b + "bn1.gamma"), BN1Beta: p.Node(b + "bn1.beta"), BN1: p.BatchNorm(b + "bn1"),
			W1:       p.Node(b + "conv1.weight"),
			BN2Gamma: p.Node(b + "bn2.gamma"), BN2Beta: p.Node(b + "bn2.beta"), BN2: p.BatchNorm(b + "bn2"),
			W2: p.Node(b + "conv2.weight"), B2: p.Node(b + "conv2.bias"),
			WS: p.Node(b + "shortcut.weight"), BS: p.Node(b + "shortcut.bias"),
		}
		if err := p.Err(); err != nil {
			return nil, fmt.Errorf("fanogan: generator: %w", err)
		}
		if h, err = nn.ResBlockUp(h, rp, train, inner); err != nil {
			return nil, fmt.Errorf("fanogan: generator block %d: %w", j, err)
		}
	}
	if h, err = bnReLU(h, p.Node("G.out_bn.gamma"), p.Node("G.out_bn.beta"), p.BatchNorm("G.out_bn"), train, inner); err != nil {
		return nil, fmt.Errorf("fanogan: generator: %w", err)
	}
	if h, err = nn.Conv2d(h, p.Node("G.out_conv.weight"), 1, 1, inner); err != nil {
		return nil, fmt.Errorf("fanogan: generator: %w", err)
	}
	if h, err = nn.BiasAct(h, p.Node("G.out_conv.bias"), nn.Tanh, 0, inner); err != nil {
		return nil, fmt.Errorf("fanogan: generator: %w", err)
	}
	return h, p.Err()
}

// bnReLU is BatchNorm then ReLU, fused where sdk/nn has the fused op.
func bnReLU(x, gamma, beta *gorgonia.Node, st *nn.BNStats, train bool, ng nn.NoGrad) (*gorgonia.Node, error) {
	if gamma == nil || beta == nil || st == nil {
		return nil, fmt.Errorf("BatchNorm parameters missing")
	}
	if train {
		return nn.BatchNormTrainAct(x, gamma, beta, st, nn.ReLU, 0, ng)
	}
	if ng&nn.NoParamGrad != 0 {
		return nn.BatchNormAct(x, gamma, beta, st, nn.ReLU, 0, ng)
	}
	h, err := nn.BatchNorm(x, gamma, beta, st, false, ng)
	if err != nil {
		return nil, err
	}
	return nn.BiasAct(h, nil, nn.ReLU, 0, 0)
}

// trunk is the critic's or the encoder's convolutional trunk on x
// [N, 1, S, S]: a 3x3 convolution to W channels, then L down blocks
//
//	out = pool(conv2(act(norm2(conv1(act(norm1(x))))))) + shortcut(pool(x))
//
// (the authors' critic; nn.ResBlockDown without masks). It returns the last
// block's output [N, C, s0, s0] and, in blocks order, the outputs of every
// norm-and-ReLU, whose signs are the ReLUs' activation pattern.
//
// normAct applies block i's norm k (1 or 2) and the ReLU; for the critic
// with frozen kinks it multiplies by a mask instead.
func (m *Model) trunk(x *gorgonia.Node, p *params.Lookup, letter string, ng nn.NoGrad,
	normAct func(h *gorgonia.Node, i, k int, ng nn.NoGrad) (*gorgonia.Node, error)) (*gorgonia.Node, []*gorgonia.Node, error) {
	in, _ := m.Config.criticChannels()
	inner := ng &^ nn.NoInputGrad
	h, err := nn.Conv2d(x, p.Node(letter+".input.weight"), 1, 1, ng)
	if err != nil {
		return nil, nil, err
	}
	if h, err = nn.BiasAct(h, p.Node(letter+".input.bias"), nn.Identity, 0, inner); err != nil {
		return nil, nil, err
	}
	var acts []*gorgonia.Node
	for i := range in {
		b := fmt.Sprintf("%s.blocks.%d.", letter, i)
		w1, w2, b2 := p.Node(b+"conv1.weight"), p.Node(b+"conv2.weight"), p.Node(b+"conv2.bias")
		ws, bs := p.Node(b+"shortcut.weight"), p.Node(b+"shortcut.bias")
		if err := p.Err(); err != nil {
			return nil, nil, err
		}
		a, err := normAct(h, i, 1, inner)
		if err != nil {
			return nil, nil, fmt.Errorf("block %d: norm1: %w", i, err)
		}
		acts = append(acts, a)
		r, err := nn.Conv2d(a, w1, 1, 1, inner)
		if err != nil {
			return nil, nil, fmt.Errorf("block %d: conv1: %w", i, err)
		}
		if a, err = normAct(r, i, 2, inner); err != nil {
			return nil, nil, fmt.Errorf("block %d: norm2: %w", i, err)
		}
		acts = append(acts, a)
		if r, err = nn.Conv2d(a, w2, 1, 1, inner); err != nil {
			return nil, nil, fmt.Errorf("block %d: conv2: %w", i, err)
		}
		if r, err = nn.MeanPool2(r); err != nil {
			return nil, nil, fmt.Errorf("block %d: pool: %w", i, err)
		}
		s, err := nn.MeanPool2(h)
		if err != nil {
			return nil, nil, fmt.Errorf("block %d: shortcut pool: %w", i, err)
		}
		if s, err = nn.Conv2d(s, ws, 1, 0, inner); err != nil {
			return nil, nil, fmt.Errorf("block %d: shortcut: %w", i, err)
		}
		if s, err = nn.BiasAct(s, bs, nn.Identity, 0, inner); err != nil {
			return nil, nil, err
		}
		if s, err = nn.BiasAct(s, b2, nn.Identity, 0, inner); err != nil {
			return nil, nil, err
		}
		if h, err = gorgonia.Add(r, s); err != nil {
			return nil, nil, err
		}
	}
	return h, acts, nil
}

// Critic adds D to the graph of x ([N, 1, S, S]) and returns D(x) ([N]),
// the features f(x) ([N, F], the last block's output flattened) and the
// outputs of its LayerNorm-ReLUs. With masks (one per ReLU, shaped like its
// input; nil for the ordinary network) every ReLU multiplies by its mask
// instead: the network with its kinks frozen, which the gradient penalty
// differentiates (package penalty). nodes are m.D.Nodes of the graph.
func (m *Model) Critic(x *gorgonia.Node, nodes gorgonia.Nodes, masks []*gorgonia.Node, ng nn.NoGrad) (d, f *gorgonia.Node, acts []*gorgonia.Node, err error) {
	p := m.D.Lookup(nodes)
	normAct := func(h *gorgonia.Node, i, k int, ng nn.NoGrad) (*gorgonia.Node, error) {
		name := fmt.Sprintf("D.blocks.%d.ln%d.", i, k)
		gamma, beta := p.Node(name+"weight"), p.Node(name+"bias")
		if err := p.Err(); err != nil {
			return nil, err
		}
		if masks == nil {
			return nn.LayerNormAct(h, gamma, beta, LNEps, nn.ReLU, 0, ng)
		}
		y, err := nn.LayerNorm(h, gamma, beta, LNEps, ng)
		if err != nil {
			return nil, err
		}
		j := 2*i + k - 1
		if j >= len(masks) {
			return nil, fmt.Errorf("%d masks for more ReLUs", len(masks))
		}
		return nn.Mask(y, masks[j])
	}
	h, acts, err := m.trunk(x, p, "D", ng, normAct)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("fanogan: critic: %w", err)
	}
	if f, err = nn.Flatten(h); err != nil {
		return nil, nil, nil, fmt.Errorf("fanogan: critic: %w", err)
	}
	inner := ng &^ nn.NoInputGrad
	out, err := nn.Linear(f, p.Node("D.output.weight"), inner)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("fanogan: critic: %w", err)
	}
	if out, err = nn.BiasAct(out, p.Node("D.output.bias"), nn.Identity, 0, inner); err != nil {
		return nil, nil, nil, fmt.Errorf("fanogan: critic: %w", err)
	}
	if d, err = gorgonia.Reshape(out, tensor.Shape{x.Shape()[0]}); err != nil {
		return nil, nil, nil, fmt.Errorf("fanogan: critic: %w", err)
	}
	return d, f, acts, p.Err()
}

// Encoder adds E to the graph of x and returns E(x) ([N, Latent], in
// (-1, 1)): the critic's trunk with BatchNorm, a linear layer, tanh (the
// authors' "paper version" of the encoder). train selects BatchNorm's
// batch statistics.
func (m *Model) Encoder(x *gorgonia.Node, nodes gorgonia.Nodes, train bool, ng nn.NoGrad) (*gorgonia.Node, error) {
	p := m.E.Lookup(nodes)
	normAct := func(h *gorgonia.Node, i, k int, ng nn.NoGrad) (*gorgonia.Node, error) {
		name := fmt.Sprintf("E.blocks.%d.bn%d", i, k)
		return bnReLU(h, p.Node(name+".gamma"), p.Node(name+".beta"), p.BatchNorm(name), train, ng)
	}
	h, _, err := m.trunk(x, p, "E", ng, normAct)
	if err != nil {
		return nil, fmt.Errorf("fanogan: encoder: %w", err)
	}
	if h, err = nn.Flatten(h); err != nil {
		return nil, fmt.Errorf("fanogan: encoder: %w", err)
	}
	inner := ng &^ nn.NoInputGrad
	if h, err = nn.Linear(h, p.Node("E.output.weight"), inner); err != nil {
		return nil, fmt.Errorf("fanogan: encoder: %w", err)
	}
	if h, err = nn.BiasAct(h, p.Node("E.output.bias"), nn.Tanh, 0, inner); err != nil {
		return nil, fmt.Errorf("fanogan: encoder: %w", err)
	}
	return h, p.Err()
}

// SampleZ fills z with draws from N(0, 1), the prior of f-AnoGAN's z.
func SampleZ(rng *rand.Rand, z []float32) {
	for i := range z {
		z[i] = float32(rng.NormFloat64())
	}
}
