package stylegan2

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/params"
	"github.com/anogo/anogo/sdk/train"
)

// History is the training record kept with the model and its checkpoints
// (train.History: every loss of every step, by name).
type History = train.History

// Model holds StyleGAN2's generator G (mapping and synthesis networks),
// the exponential moving average of its weights G_ema, the discriminator
// D and the moving average of w, w_avg.
//
// The weights are stored as the optimisers see them and the networks run
// on them times a constant per parameter (Model.Scales), the equalised
// learning rate of the reference code (stylegan2-ada-pytorch,
// training/networks.py): a layer of fan-in k has weights N(0, 1) used as
// w/√k (the mapping network's as N(0, 1)/0.01 used as 0.01·w/√k, its
// learning-rate multiplier, which also scales its biases), and the gain of
// every LeakyReLU (√2) or of the residual sums (√½) is folded into the
// constants of the layer before it (lrelu(a·t) = a·lrelu(t) for a > 0).
// The modulated convolutions' weights are used as they are (demodulation
// normalises them) and toRGB's 1/√C goes into its affine layer.
//
// Names, each with ".weight" and ".bias" unless said: G's
// "G.mapping.fc<i>"; "G.synthesis.b<r>.const" (no suffix),
// "G.synthesis.b<r>.conv0" (the upsampling convolution, r > r0) and
// ".conv1", each with ".affine.weight", ".affine.bias", ".weight",
// ".noise_strength" and ".bias"; "G.synthesis.b<r>.torgb" with
// ".affine.*", ".weight" and ".bias". G_ema's are G's with "G_ema."
// instead of "G.". D's: "D.b<Size>.fromrgb", "D.b<r>.conv0", ".conv1",
// ".skip" (weight only) for r from Size down to 2·r0, and "D.b<r0>.conv",
// ".fc", ".out".
type Model struct {
	Config Config
	// G, GEMA and D are the stored weights.
	G, GEMA, D params.Set
	// History is the training record.
	History History

	wAvg  []float32
	scale [2][]float32   // c per parameter of G (and G_ema), of D
	run   [3]params.Set  // the scaled weights the graphs run on
	cache map[string]any // inference graphs (api.go)
}

// The networks' indices in Model.run.
const (
	netG = iota
	netEMA
	netD
)

// synthLayer is one modulated convolution or toRGB layer of the synthesis
// network.
type synthLayer struct {
	name      string // "G.synthesis.b8.conv0"
	res       int    // output resolution
	cin, cout int
	up, rgb   bool
	w         int // index of its w in ws
	noise     int // index among the noise inputs (-1: toRGB)
}

// synthLayers lists the synthesis network's layers in order: at the
// first resolution conv1 and toRGB, at every other conv0 (upsampling),
// conv1 and toRGB. Block k's convolutions take w[2k-1] and w[2k] (conv1
// of the first block w[0]), its toRGB w[2k+1], as the reference's
// SynthesisNetwork hands out its ws.
func (c Config) synthLayers() []synthLayer {
	var ls []synthLayer
	rs := c.Resolutions()
	noise := 0
	for k, r := range rs {
		pre := fmt.Sprintf("G.synthesis.b%d.", r)
		ch := c.Channels(r)
		if k > 0 {
			ls = append(ls, synthLayer{name: pre + "conv0", res: r, cin: c.Channels(rs[k-1]), cout: ch, up: true, w: 2*k - 1, noise: noise})
			noise++
		}
		w := 2 * k
		if k == 0 {
			w = 0
		}
		ls = append(ls, synthLayer{name: pre + "conv1", res: r, cin: ch, cout: ch, w: w, noise: noise})
		noise++
		ls = append(ls, synthLayer{name: pre + "torgb", res: r, cin: ch, cout: 1, rgb: true, w: 2*k + 1, noise: -1})
	}
	return ls
}

// NoiseResolutions returns the resolution of every noise input of the
// synthesis network, in order (one per modulated 3x3 convolution).
func (c Config) NoiseResolutions() []int {
	var rs []int
	for _, l := range c.synthLayers() {
		if !l.rgb {
			rs = append(rs, l.res)
		}
	}
	return rs
}

// New returns the networks initialised as the reference code does: every
// weight N(0, 1) (the mapping network's N(0, 1)/0.01), biases 0 but the
// affine layers' (1), the noise strengths 0, the constant input N(0, 1);
// G_ema equal to G; w_avg 0. The same seed gives the same weights.
func New(cfg Config, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x7374796c65676132))
	m := &Model{Config: cfg, wAvg: make([]float32, cfg.WDim)}
	addG := func(name string, scale float32, t *tensor.Dense) {
		m.G.Add(name, t)
		m.scale[0] = append(m.scale[0], scale)
	}
	addD := func(name string, scale float32, t *tensor.Dense) {
		m.D.Add(name, t)
		m.scale[1] = append(m.scale[1], scale)
	}
	in := cfg.ZDim
	for i := range cfg.MappingLayers {
		name := fmt.Sprintf("G.mapping.fc%d", i)
		w := randn(rng, cfg.WDim, in)
		for j, v := range f32s(w) {
			f32s(w)[j] = v / LRMultiplier
		}
		addG(name+".weight", float32(sqrt2*LRMultiplier/math.Sqrt(float64(in))), w)
		addG(name+".bias", float32(sqrt2*LRMultiplier), full(0, cfg.WDim))
		in = cfg.WDim
	}
	rs := cfg.Resolutions()
	c0 := cfg.Channels(rs[0])
	addG(fmt.Sprintf("G.synthesis.b%d.const", rs[0]), 1, randn(rng, c0, rs[0], rs[0]))
	affine := float32(1 / math.Sqrt(float64(cfg.WDim)))
	for _, l := range cfg.synthLayers() {
		if l.rgb {
			g := float32(1 / math.Sqrt(float64(l.cin)))
			addG(l.name+".affine.weight", affine*g, randn(rng, l.cin, cfg.WDim))
			addG(l.name+".affine.bias", g, full(1, l.cin))
			addG(l.name+".weight", 1, randn(rng, 1, l.cin, 1, 1))
			addG(l.name+".bias", 1, full(0, 1))
			continue
		}
		addG(l.name+".affine.weight", affine, randn(rng, l.cin, cfg.WDim))
		addG(l.name+".affine.bias", 1, full(1, l.cin))
		addG(l.name+".weight", 1, randn(rng, l.cout, l.cin, 3, 3))
		addG(l.name+".noise_strength", float32(sqrt2), full(0, 1))
		addG(l.name+".bias", float32(sqrt2), full(0, l.cout))
	}
	eq := func(fanIn int, gain float64) float32 { return float32(gain / math.Sqrt(float64(fanIn))) }
	top := cfg.Size
	ct := cfg.Channels(top)
	addD(fmt.Sprintf("D.b%d.fromrgb.weight", top), eq(1, sqrt2), randn(rng, ct, 1, 1, 1))
	addD(fmt.Sprintf("D.b%d.fromrgb.bias", top), float32(sqrt2), full(0, ct))
	for k := len(rs) - 1; k >= 1; k-- {
		r := rs[k]
		pre := fmt.Sprintf("D.b%d.", r)
		c, co := cfg.Channels(r), cfg.Channels(rs[k-1])
		addD(pre+"conv0.weight", eq(9*c, sqrt2), randn(rng, c, c, 3, 3))
		addD(pre+"conv0.bias", float32(sqrt2), full(0, c))
		addD(pre+"conv1.weight", eq(9*c, 1), randn(rng, co, c, 3, 3)) // gain √2·√½
		addD(pre+"conv1.bias", 1, full(0, co))
		addD(pre+"skip.weight", eq(c, sqrtHalf), randn(rng, co, c, 1, 1))
	}
	pre := fmt.Sprintf("D.b%d.", rs[0])
	addD(pre+"conv.weight", eq(9*(c0+1), sqrt2), randn(rng, c0, c0+1, 3, 3))
	addD(pre+"conv.bias", float32(sqrt2), full(0, c0))
	addD(pre+"fc.weight", eq(c0*rs[0]*rs[0], sqrt2), randn(rng, c0, c0*rs[0]*rs[0]))
	addD(pre+"fc.bias", float32(sqrt2), full(0, c0))
	addD(pre+"out.weight", eq(c0, 1), randn(rng, 1, c0))
	addD(pre+"out.bias", 1, full(0, 1))
	for _, p := range m.G.Params {
		m.GEMA.Add(emaName(p.Name), tensor.New(tensor.WithShape(p.Value.Shape().Clone()...), tensor.WithBacking(append([]float32(nil), f32s(p.Value)...))))
	}
	m.Sync()
	return m, nil
}

// emaName is G_ema's name of G's parameter name.
func emaName(g string) string { return "G_ema." + g[len("G."):] }

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

func full(v float32, n int) *tensor.Dense {
	d := make([]float32, n)
	for i := range d {
		d[i] = v
	}
	return tensor.New(tensor.WithShape(n), tensor.WithBacking(d))
}

func (m *Model) set(net int) *params.Set { return [...]*params.Set{&m.G, &m.GEMA, &m.D}[net] }

func (m *Model) scales(net int) []float32 {
	if net == netD {
		return m.scale[1]
	}
	return m.scale[0]
}

// Sync sets the weights the networks run on to the stored weights times
// their constants: after every change of G, G_ema or D (an optimiser step,
// the moving average, a restore).
func (m *Model) Sync() {
	for net := range m.run {
		m.syncNet(net)
	}
}

func (m *Model) syncNet(net int) {
	raw, run := m.set(net), &m.run[net]
	if len(run.Params) != len(raw.Params) {
		*run = params.Set{}
		for _, p := range raw.Params {
			run.Add(p.Name, tensor.New(tensor.WithShape(p.Value.Shape().Clone()...), tensor.Of(tensor.Float32)))
		}
	}
	sc := m.scales(net)
	rv := run.Values()
	for i, v := range raw.Values() {
		c := sc[i]
		for j, x := range v {
			rv[i][j] = c * x
		}
	}
}

// Scales returns the constants of network "G" (also G_ema's) or "D", one
// per parameter in the set's order.
func (m *Model) Scales(net string) []float32 {
	switch net {
	case "G", "G_ema":
		return m.scale[0]
	case "D":
		return m.scale[1]
	}
	return nil
}

// toStored turns gradients with respect to the scaled weights of net into
// gradients with respect to the stored ones, in place: ∂L/∂w = c·∂L/∂(c·w).
func (m *Model) toStored(net int, grads [][]float32) {
	sc := m.scales(net)
	for i, g := range grads {
		c := sc[i]
		for j := range g {
			g[j] *= c
		}
	}
}

// nodes binds the scaled weights of net to graph g.
func (m *Model) nodes(g *gorgonia.ExprGraph, net int) gorgonia.Nodes { return m.run[net].Nodes(g) }

// lookup finds G's, G_ema's or D's nodes by their names in G or D.
func (m *Model) lookup(net int, nodes gorgonia.Nodes) *params.Lookup {
	if net == netD {
		return m.D.Lookup(nodes)
	}
	return m.G.Lookup(nodes)
}

// Mapping network: z normalised by its second moment (PixelNorm's
// formula, ε = 1e-8), then MappingLayers dense layers with LeakyReLU.
func (m *Model) mappingNet(z *gorgonia.Node, p *params.Lookup, ng nn.NoGrad) (*gorgonia.Node, error) {
	h, err := nn.PixelNorm(z, 1e-8)
	if err != nil {
		return nil, fmt.Errorf("stylegan2: mapping: %w", err)
	}
	inner, _ := innerFlags(ng)
	for i := range m.Config.MappingLayers {
		name := fmt.Sprintf("G.mapping.fc%d", i)
		lg := inner
		if i == 0 {
			lg = ng | nn.NoInputGrad
		}
		w, b := p.Node(name+".weight"), p.Node(name+".bias")
		if err := p.Err(); err != nil {
			return nil, err
		}
		if h, err = nn.Linear(h, w, lg); err != nil {
			return nil, fmt.Errorf("stylegan2: %s: %w", name, err)
		}
		if h, err = nn.BiasAct(h, b, nn.LeakyReLU, Slope, inner); err != nil {
			return nil, fmt.Errorf("stylegan2: %s: %w", name, err)
		}
	}
	return h, nil
}

// synthesisNet builds the synthesis network on ws [N, NumWs, WDim] and
// returns the image [N, 1, Size, Size]. noise holds one node [N, 1, r, r]
// per modulated convolution (NoiseResolutions), or is nil for none (zero
// noise). ng's NoInputGrad drops the gradient to ws, NoParamGrad those to
// the weights.
//
//	const -> per resolution: [conv0: modulated 3x3 after 2x upsampling], conv1: modulated 3x3,
//	each: x·s -> conv -> ·d -> + strength·noise -> + b -> lrelu·√2;
//	toRGB: modulated 1x1 (no demodulation) + b; image = upsample2d(image) + toRGB.
//
// The upsampling is the reference's: the convolution that upsamples is a
// transposed convolution of stride 2 (its weight [Cout, Cin, 3, 3] read as
// [Cin, Cout, 3, 3], nn.SwapIO, not flipped, as the reference's code does)
// followed by the [1, 3, 3, 1] filter with padding 1 and gain 4
// (nn.UpFIRDn2d), the image's upsampling that filter after inserting
// zeros.
func (m *Model) synthesisNet(ws *gorgonia.Node, p *params.Lookup, noise []*gorgonia.Node, ng nn.NoGrad) (*gorgonia.Node, error) {
	cfg := m.Config
	if s := ws.Shape(); s.Dims() != 3 || s[1] != cfg.NumWs() || s[2] != cfg.WDim {
		return nil, fmt.Errorf("stylegan2: synthesis: ws of shape %v, want [N %d %d]", s, cfg.NumWs(), cfg.WDim)
	}
	n := ws.Shape()[0]
	if noise != nil && len(noise) != len(cfg.NoiseResolutions()) {
		return nil, fmt.Errorf("stylegan2: synthesis: %d noise inputs, want %d", len(noise), len(cfg.NoiseResolutions()))
	}
	// prm goes to layers with weights, act to the modulations (whose
	// inputs are both activations).
	prm, act := innerFlags(ng)
	rs := cfg.Resolutions()
	cst := p.Node(fmt.Sprintf("G.synthesis.b%d.const", rs[0]))
	if err := p.Err(); err != nil {
		return nil, err
	}
	x, err := nn.Repeat(cst, n)
	if err != nil {
		return nil, err
	}
	var img *gorgonia.Node
	up := nn.FIR1331(4)
	for _, l := range cfg.synthLayers() {
		aw, ab, w, b := p.Node(l.name+".affine.weight"), p.Node(l.name+".affine.bias"), p.Node(l.name+".weight"), p.Node(l.name+".bias")
		var st *gorgonia.Node
		if !l.rgb {
			st = p.Node(l.name + ".noise_strength")
		}
		if err := p.Err(); err != nil {
			return nil, err
		}
		wl, err := nn.Pick(ws, l.w)
		if err != nil {
			return nil, err
		}
		s, err := nn.Linear(wl, aw, ng)
		if err != nil {
			return nil, fmt.Errorf("stylegan2: %s: %w", l.name, err)
		}
		if s, err = nn.BiasAct(s, ab, nn.Identity, 0, prm); err != nil {
			return nil, fmt.Errorf("stylegan2: %s: %w", l.name, err)
		}
		h, err := nn.Modulate(x, s, act)
		if err != nil {
			return nil, fmt.Errorf("stylegan2: %s: %w", l.name, err)
		}
		if l.rgb {
			if h, err = nn.Conv2d(h, w, 1, 0, prm); err != nil {
				return nil, fmt.Errorf("stylegan2: %s: %w", l.name, err)
			}
			if h, err = nn.BiasAct(h, b, nn.Identity, 0, prm); err != nil {
				return nil, fmt.Errorf("stylegan2: %s: %w", l.name, err)
			}
			if img == nil {
				img = h
				continue
			}
			prev, err := nn.UpFIRDn2d(img, up, 2, 1, 2, 1)
			if err != nil {
				return nil, err
			}
			if img, err = gorgonia.Add(prev, h); err != nil {
				return nil, err
			}
			continue
		}
		if l.up {
			wt, err := nn.SwapIO(w)
			if err != nil {
				return nil, err
			}
			if h, err = nn.ConvTranspose2d(h, wt, 2, 0, 0, prm); err != nil {
				return nil, fmt.Errorf("stylegan2: %s: %w", l.name, err)
			}
			if h, err = nn.UpFIRDn2d(h, up, 1, 1, 1, 1); err != nil {
				return nil, fmt.Errorf("stylegan2: %s: %w", l.name, err)
			}
		} else if h, err = nn.Conv2d(h, w, 1, 1, prm); err != nil {
			return nil, fmt.Errorf("stylegan2: %s: %w", l.name, err)
		}
		d, err := nn.Demodulate(s, w, float32(sqrt2), nn.DemodEps, prm)
		if err != nil {
			return nil, fmt.Errorf("stylegan2: %s: %w", l.name, err)
		}
		if h, err = nn.Modulate(h, d, act); err != nil {
			return nil, fmt.Errorf("stylegan2: %s: %w", l.name, err)
		}
		if noise != nil {
			if h, err = nn.AddNoise(h, noise[l.noise], st, prm); err != nil {
				return nil, fmt.Errorf("stylegan2: %s: %w", l.name, err)
			}
		}
		if x, err = nn.BiasAct(h, b, nn.LeakyReLU, Slope, prm); err != nil {
			return nil, fmt.Errorf("stylegan2: %s: %w", l.name, err)
		}
	}
	return img, nil
}

// Stat says how D's minibatch standard deviation is taken.
type Stat int

const (
	// Coupled: computed from the batch and differentiated through (the
	// reference, for the losses).
	Coupled Stat = iota
	// Frozen: computed from the batch, held constant in the gradient.
	Frozen
	// Given: the input s of discriminatorNet, held constant (an anchor
	// batch's statistic, for R1's weight gradients).
	Given
)

// discriminatorNet builds D on x [N, 1, Size, Size] and returns D(x) [N],
// the features before the minibatch statistic and the outputs of its
// LeakyReLUs in order (their signs are the activation pattern). With masks
// (one per LeakyReLU, shaped like its output) every LeakyReLU multiplies
// by its mask instead: D with its kinks frozen.
//
//	fromRGB (1x1) -> lrelu; per resolution r from Size down to 2·r0:
//	  (conv3x3 -> lrelu -> blur -> conv3x3 stride 2 -> lrelu) + 1x1 stride 2 skip of the filtered input, times √½;
//	minibatch std (group 4, 1 feature) -> conv3x3 -> lrelu -> dense -> lrelu -> dense to 1.
//
// The downsampling is the reference's: the [1, 3, 3, 1] filter before the
// stride-2 convolutions (nn.UpFIRDn2d).
func (m *Model) discriminatorNet(x *gorgonia.Node, p *params.Lookup, stat Stat, s *gorgonia.Node, masks []*gorgonia.Node, ng nn.NoGrad) (d, feat *gorgonia.Node, acts []*gorgonia.Node, err error) {
	cfg := m.Config
	inner, _ := innerFlags(ng)
	act := func(h, b *gorgonia.Node, name string) (*gorgonia.Node, error) {
		if masks == nil {
			h, err := nn.BiasAct(h, b, nn.LeakyReLU, Slope, inner)
			if err == nil {
				acts = append(acts, h)
			}
			return h, err
		}
		h, err := nn.BiasAct(h, b, nn.Identity, 0, inner)
		if err != nil {
			return nil, err
		}
		if len(acts) >= len(masks) {
			return nil, fmt.Errorf("%s: %d masks for more LeakyReLUs", name, len(masks))
		}
		if h, err = nn.Mask(h, masks[len(acts)]); err != nil {
			return nil, err
		}
		acts = append(acts, h)
		return h, nil
	}
	conv := func(h *gorgonia.Node, name string, stride, pad int, ng nn.NoGrad) (*gorgonia.Node, error) {
		w, b := p.Node(name+".weight"), p.Node(name+".bias")
		if err := p.Err(); err != nil {
			return nil, err
		}
		h, err := nn.Conv2d(h, w, stride, pad, ng)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return act(h, b, name)
	}
	wrap := func(err error) error { return fmt.Errorf("stylegan2: D: %w", err) }
	rs := cfg.Resolutions()
	h, err := conv(x, fmt.Sprintf("D.b%d.fromrgb", cfg.Size), 1, 0, ng)
	if err != nil {
		return nil, nil, nil, wrap(err)
	}
	f := nn.FIR1331(1)
	for k := len(rs) - 1; k >= 1; k-- {
		pre := fmt.Sprintf("D.b%d.", rs[k])
		ws := p.Node(pre + "skip.weight")
		if err := p.Err(); err != nil {
			return nil, nil, nil, wrap(err)
		}
		sk, err := nn.UpFIRDn2d(h, f, 1, 2, 1, 1)
		if err != nil {
			return nil, nil, nil, wrap(err)
		}
		if sk, err = nn.Conv2d(sk, ws, 1, 0, inner); err != nil {
			return nil, nil, nil, wrap(err)
		}
		if h, err = conv(h, pre+"conv0", 1, 1, inner); err != nil {
			return nil, nil, nil, wrap(err)
		}
		if h, err = nn.UpFIRDn2d(h, f, 1, 1, 2, 2); err != nil {
			return nil, nil, nil, wrap(err)
		}
		if h, err = conv(h, pre+"conv1", 2, 0, inner); err != nil {
			return nil, nil, nil, wrap(err)
		}
		if h, err = gorgonia.Add(sk, h); err != nil {
			return nil, nil, nil, wrap(err)
		}
	}
	feat = h
	switch stat {
	case Coupled, Frozen:
		h, err = nn.MinibatchStd(h, Group, stat == Frozen)
	case Given:
		if s == nil {
			return nil, nil, nil, wrap(fmt.Errorf("no statistic given"))
		}
		h, err = nn.AppendChannel(h, s)
	}
	if err != nil {
		return nil, nil, nil, wrap(err)
	}
	pre := fmt.Sprintf("D.b%d.", rs[0])
	if h, err = conv(h, pre+"conv", 1, 1, inner); err != nil {
		return nil, nil, nil, wrap(err)
	}
	if h, err = nn.Flatten(h); err != nil {
		return nil, nil, nil, wrap(err)
	}
	dense := func(h *gorgonia.Node, name string, withAct bool) (*gorgonia.Node, error) {
		w, b := p.Node(name+".weight"), p.Node(name+".bias")
		if err := p.Err(); err != nil {
			return nil, err
		}
		h, err := nn.Linear(h, w, inner)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if !withAct {
			return nn.BiasAct(h, b, nn.Identity, 0, inner)
		}
		return act(h, b, name)
	}
	if h, err = dense(h, pre+"fc", true); err != nil {
		return nil, nil, nil, wrap(err)
	}
	if h, err = dense(h, pre+"out", false); err != nil {
		return nil, nil, nil, wrap(err)
	}
	if d, err = gorgonia.Reshape(h, tensor.Shape{x.Shape()[0]}); err != nil {
		return nil, nil, nil, wrap(err)
	}
	return d, feat, acts, p.Err()
}

// innerFlags returns the flags of the layers inside a network built with
// ng: prm for layers with weights (their input's gradient is needed
// whenever anything is differentiated), act for layers without any (none
// dropped). A network with nothing to differentiate drops everything.
func innerFlags(ng nn.NoGrad) (prm, act nn.NoGrad) {
	const all = nn.NoInputGrad | nn.NoParamGrad
	if ng&all == all {
		return all, all
	}
	return ng &^ nn.NoInputGrad, 0
}

func f32s(v gorgonia.Value) []float32 { return v.Data().([]float32) }
