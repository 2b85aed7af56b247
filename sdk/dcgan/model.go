package dcgan

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/params"
)

// Config fixes a DCGAN's shape.
type Config struct {
	// Size is the image side: 28, 32 or 64.
	Size int
	// Width is the base channel width w: the discriminator's convolutions
	// have w, 2w, 4w, ... channels and the generator's the same in reverse
	// (the paper: 64, giving 512-256-128-64 at 64x64).
	Width int
	// Latent is the size of z (the paper: 100).
	Latent int
}

// PaperConfig returns the paper's configuration: 64x64 images, width 64,
// z of size 100.
func PaperConfig() Config { return Config{Size: 64, Width: 64, Latent: 100} }

// LeakySlope is the negative slope of the discriminator's LeakyReLU.
const LeakySlope = 0.2

// Validate reports whether c describes a network this package can build.
func (c Config) Validate() error {
	switch c.Size {
	case 28, 32, 64:
	default:
		return fmt.Errorf("dcgan: image size %d not supported (28, 32 or 64)", c.Size)
	}
	if c.Width < 1 || c.Width > 1024 {
		return fmt.Errorf("dcgan: width %d out of range [1, 1024]", c.Width)
	}
	if c.Latent < 1 || c.Latent > 4096 {
		return fmt.Errorf("dcgan: latent size %d out of range [1, 4096]", c.Latent)
	}
	return nil
}

// Base returns the side s0 of the generator's first feature map and the
// number L of stride-2 layers: 4 and 4 at 64x64, 4 and 3 at 32x32, 7 and 2
// at 28x28.
func (c Config) Base() (s0, layers int) {
	switch c.Size {
	case 28:
		return 7, 2
	case 32:
		return 4, 3
	default:
		return 4, 4
	}
}

// Channels returns the discriminator's channel widths, w·2^i for
// i = 0..L-1; the generator uses them in reverse order.
func (c Config) Channels() []int {
	_, l := c.Base()
	ch := make([]int, l)
	for i := range ch {
		ch[i] = c.Width << i
	}
	return ch
}

// FeatureShape returns the shape of f(x), the output of the
// discriminator's last convolution block, for one image.
func (c Config) FeatureShape() []int {
	s0, _ := c.Base()
	ch := c.Channels()
	return []int{ch[len(ch)-1], s0, s0}
}

// FeatureLen is the number of values in f(x) for one image.
func (c Config) FeatureLen() int {
	s := c.FeatureShape()
	return s[0] * s[1] * s[2]
}

// String names the configuration, e.g. "dcgan-64-w64-z100".
func (c Config) String() string {
	return fmt.Sprintf("dcgan-%d-w%d-z%d", c.Size, c.Width, c.Latent)
}

// Param is one named weight tensor (params.Param).
type Param = params.Param

// Net is the weights and BatchNorm statistics of one network: a params.Set,
// whose weights the networks take by name. Its checkpoint names are those
// DCGAN checkpoints have always had (StatsPrefix "g", "d" or "e").
type Net = params.Set

// Model is a DCGAN: generator G and discriminator D.
type Model struct {
	Config Config
	G, D   Net
}

// New returns a model with DCGAN's initialisation (Radford et al. 2015):
// convolution and linear weights from N(0, 0.02), BatchNorm scales from
// N(1, 0.02), biases and shifts 0. The same seed gives the same weights.
func New(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	m := &Model{Config: cfg}
	s0, l := cfg.Base()
	ch := cfg.Channels()

	// Generator: Linear(z -> c0·s0·s0) -> BN -> ReLU, then L-1 blocks of
	// ConvT(5, 2, 2, 1) -> BN -> ReLU, then ConvT to one channel + bias, tanh.
	g := &m.G
	g.StatsPrefix = "g"
	c0 := ch[l-1]
	g.Add("g.fc.w", normal(rng, 0.02, c0*s0*s0, cfg.Latent))
	addBN(g, "g.bn0", c0, rng)
	for i := 1; i < l; i++ {
		cin, cout := ch[l-i], ch[l-1-i]
		g.Add(fmt.Sprintf("g.convt%d.w", i), normal(rng, 0.02, cin, cout, 5, 5))
		addBN(g, fmt.Sprintf("g.bn%d", i), cout, rng)
	}
	g.Add(fmt.Sprintf("g.convt%d.w", l), normal(rng, 0.02, ch[0], 1, 5, 5))
	g.Add(fmt.Sprintf("g.convt%d.b", l), zeros(1))

	// Discriminator: Conv(5, 2, 2) blocks with LeakyReLU(0.2), a bias on
	// the first and BatchNorm on the others, then Linear(f -> 1) + bias.
	d := &m.D
	d.StatsPrefix = "d"
	convStack(d, cfg, rng, "d")
	d.Add("d.fc.w", normal(rng, 0.02, 1, cfg.FeatureLen()))
	d.Add("d.fc.b", zeros(1))
	return m, nil
}

// addBN adds the BatchNorm layer name of c channels to n with its scale
// drawn from N(1, 0.02).
func addBN(n *Net, name string, c int, rng *rand.Rand) {
	n.AddBN(name, c)
	gamma := n.Get(name + ".gamma").Data().([]float32)
	for i := range gamma {
		gamma[i] = float32(1 + 0.02*rng.NormFloat64())
	}
}

func normal(rng *rand.Rand, std float64, shape ...int) *tensor.Dense {
	n := 1
	for _, s := range shape {
		n *= s
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

// Mode says how a network is added to a graph.
type Mode struct {
	// Train selects BatchNorm's batch statistics (and updates the running
	// statistics); false is eval mode, which uses the running statistics.
	Train bool
	// NoGrad drops the gradients of every layer's weights (NoParamGrad) or
	// of the network's input (NoInputGrad).
	NoGrad nn.NoGrad
}

// Generator adds G to the graph of z ([N, Latent]) and returns G(z)
// ([N, 1, Size, Size], values in (-1, 1)). params are the nodes returned by
// m.G.Nodes for that graph.
func (m *Model) Generator(z *gorgonia.Node, params gorgonia.Nodes, mode Mode) (*gorgonia.Node, error) {
	s0, l := m.Config.Base()
	ch := m.Config.Channels()
	pg := mode.NoGrad & nn.NoParamGrad
	p := m.G.Lookup(params)
	w0 := p.Node("g.fc.w")
	if err := p.Err(); err != nil {
		return nil, fmt.Errorf("dcgan: generator: %w", err)
	}
	h, err := nn.Linear(z, w0, mode.NoGrad)
	if err != nil {
		return nil, fmt.Errorf("dcgan: generator: %w", err)
	}
	if h, err = gorgonia.Reshape(h, tensor.Shape{z.Shape()[0], ch[l-1], s0, s0}); err != nil {
		return nil, fmt.Errorf("dcgan: generator: %w", err)
	}
	for i := 0; i < l; i++ {
		var w *gorgonia.Node
		if i > 0 {
			w = p.Node(fmt.Sprintf("g.convt%d.w", i))
		}
		bn := fmt.Sprintf("g.bn%d", i)
		gamma, beta, st := p.Node(bn+".gamma"), p.Node(bn+".beta"), p.BatchNorm(bn)
		if err := p.Err(); err != nil {
			return nil, fmt.Errorf("dcgan: generator layer %d: %w", i, err)
		}
		if i > 0 {
			if h, err = nn.ConvTranspose2d(h, w, 2, 2, 1, pg); err != nil {
				return nil, fmt.Errorf("dcgan: generator layer %d: %w", i, err)
			}
		}
		if h, err = batchNormAct(h, gamma, beta, st, mode, nn.ReLU, 0); err != nil {
			return nil, fmt.Errorf("dcgan: generator layer %d: %w", i, err)
		}
	}
	w, b := p.Node(fmt.Sprintf("g.convt%d.w", l)), p.Node(fmt.Sprintf("g.convt%d.b", l))
	if err := p.Err(); err != nil {
		return nil, fmt.Errorf("dcgan: generator output: %w", err)
	}
	if h, err = nn.ConvTranspose2d(h, w, 2, 2, 1, pg); err != nil {
		return nil, fmt.Errorf("dcgan: generator output: %w", err)
	}
	if h, err = nn.BiasAct(h, b, nn.Tanh, 0, pg); err != nil {
		return nil, fmt.Errorf("dcgan: generator output: %w", err)
	}
	return h, nil
}

// Discriminator adds D to the graph of x ([N, 1, Size, Size]) and returns
// the logit ([N, 1]; D(x) = sigmoid(logit)) and f(x), the output of the
// last convolution block ([N, FeatureShape...]), which the feature-matching
// discrimination loss compares (Sec. 2.2.3, Eq. 4).
func (m *Model) Discriminator(x *gorgonia.Node, params gorgonia.Nodes, mode Mode) (logit, feat *gorgonia.Node, err error) {
	return m.Config.convNet(&m.D, x, params, mode, nn.Identity)
}

// NewEncoder returns the weights of an encoder with the discriminator's
// convolution stack and a linear output of Latent values squashed by tanh
// into the prior's range, initialised as New does. The adversarial
// convolutional autoencoder (package acae) uses it.
func NewEncoder(cfg Config, seed uint64) (*Net, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x517cc1b727220a95))
	n := &Net{StatsPrefix: "e"}
	convStack(n, cfg, rng, "e")
	n.Add("e.fc.w", normal(rng, 0.02, cfg.Latent, cfg.FeatureLen()))
	n.Add("e.fc.b", zeros(cfg.Latent))
	return n, nil
}

// Encoder adds the encoder enc (from NewEncoder) to the graph of x and
// returns its code ([N, Latent], in (-1, 1)) and its last convolution block.
func (m *Model) Encoder(enc *Net, x *gorgonia.Node, params gorgonia.Nodes, mode Mode) (code, feat *gorgonia.Node, err error) {
	return m.Config.convNet(enc, x, params, mode, nn.Tanh)
}

// convStack adds the weights of L strided convolution blocks named
// prefix.conv<i> to n.
func convStack(n *Net, cfg Config, rng *rand.Rand, prefix string) {
	ch := cfg.Channels()
	cin := 1
	for i, c := range ch {
		n.Add(fmt.Sprintf("%s.conv%d.w", prefix, i), normal(rng, 0.02, c, cin, 5, 5))
		if i == 0 {
			n.Add(prefix+".conv0.b", zeros(c))
		} else {
			addBN(n, fmt.Sprintf("%s.bn%d", prefix, i), c, rng)
		}
		cin = c
	}
}

// convNet adds a network made by convStack plus a linear output to the
// graph: L blocks of Conv(5, stride 2, pad 2) -> [BN] -> LeakyReLU(0.2),
// then Linear + bias and the output activation act.
func (c Config) convNet(net *Net, x *gorgonia.Node, params gorgonia.Nodes, mode Mode, act nn.Act) (out, feat *gorgonia.Node, err error) {
	_, l := c.Base()
	pg := mode.NoGrad & nn.NoParamGrad
	if len(net.Params) == 0 {
		return nil, nil, fmt.Errorf("dcgan: network without parameters")
	}
	prefix, _, _ := strings.Cut(net.Params[0].Name, ".") // "d" or "e"
	p := net.Lookup(params)
	h := x
	for i := 0; i < l; i++ {
		ng := pg
		if i == 0 {
			ng = mode.NoGrad // the input gradient is the caller's choice
		}
		w := p.Node(fmt.Sprintf("%s.conv%d.w", prefix, i))
		var b, gamma, beta *gorgonia.Node
		var st *nn.BNStats
		bn := fmt.Sprintf("%s.bn%d", prefix, i)
		if i == 0 {
			b = p.Node(prefix + ".conv0.b")
		} else {
			gamma, beta, st = p.Node(bn+".gamma"), p.Node(bn+".beta"), p.BatchNorm(bn)
		}
		if err := p.Err(); err != nil {
			return nil, nil, fmt.Errorf("dcgan: convolution block %d: %w", i, err)
		}
		if h, err = nn.Conv2d(h, w, 2, 2, ng); err != nil {
			return nil, nil, fmt.Errorf("dcgan: convolution block %d: %w", i, err)
		}
		if i == 0 {
			h, err = nn.BiasAct(h, b, nn.LeakyReLU, LeakySlope, pg)
		} else {
			h, err = batchNormAct(h, gamma, beta, st, mode, nn.LeakyReLU, LeakySlope)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("dcgan: convolution block %d: %w", i, err)
		}
	}
	feat = h
	flat, err := gorgonia.Reshape(h, tensor.Shape{x.Shape()[0], c.FeatureLen()})
	if err != nil {
		return nil, nil, fmt.Errorf("dcgan: flatten: %w", err)
	}
	fw, fb := p.Node(prefix+".fc.w"), p.Node(prefix+".fc.b")
	if err := p.Err(); err != nil {
		return nil, nil, fmt.Errorf("dcgan: linear output: %w", err)
	}
	if out, err = nn.Linear(flat, fw, pg); err != nil {
		return nil, nil, fmt.Errorf("dcgan: linear output: %w", err)
	}
	if out, err = nn.BiasAct(out, fb, act, 0, pg); err != nil {
		return nil, nil, fmt.Errorf("dcgan: linear output: %w", err)
	}
	return out, feat, nil
}

// batchNormAct adds BatchNorm followed by the activation act to the graph,
// as one fused layer: nn.BatchNormTrainAct in train mode; in eval mode with
// frozen weights (mapping, inference), where BatchNorm is a per-channel
// affine map, nn.BatchNormAct; otherwise nn.BatchNorm and nn.BiasAct.
func batchNormAct(h, gamma, beta *gorgonia.Node, st *nn.BNStats, mode Mode, act nn.Act, alpha float32) (*gorgonia.Node, error) {
	pg := mode.NoGrad & nn.NoParamGrad
	if mode.Train {
		return nn.BatchNormTrainAct(h, gamma, beta, st, act, alpha, pg)
	}
	if pg != 0 {
		return nn.BatchNormAct(h, gamma, beta, st, act, alpha, pg)
	}
	h, err := nn.BatchNorm(h, gamma, beta, st, mode.Train, pg)
	if err != nil {
		return nil, err
	}
	return nn.BiasAct(h, nil, act, alpha, pg)
}

// SampleZ fills z (n·Latent values) from the prior U[-1, 1] (Sec. 2.1).
func SampleZ(rng *rand.Rand, z []float32) {
	for i := range z {
		z[i] = float32(2*rng.Float64() - 1)
	}
}
