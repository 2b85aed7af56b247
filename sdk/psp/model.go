package psp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/params"
	"github.com/anogo/anogo/sdk/train"
)

// The negative slopes of the LeakyReLUs: the backbone's (pSp's IR blocks
// use PReLU, learnt, initialised at 0.25; we fix 0.2 as StyleGAN and dpa
// do) and the map2style heads' (pSp's nn.LeakyReLU(): 0.01).
const (
	BackboneSlope = 0.2
	HeadSlope     = 0.01
)

// History is the training record kept with the model and its checkpoints.
type History = train.History

// Model is the pSp encoder E (Richardson et al., "Encoding in style",
// CVPR 2021), its training record and, once fitted, the statistics of the
// codes of the normal training images and the chosen default score.
//
// Parameter names follow pSp's modules under "E.": E.input (the first
// 3x3 convolution), E.body.<stage>.<block>.conv1, .conv2 and .shortcut
// (stage 0 fine, 1 medium, 2 coarse), E.latlayer1 (1x1, medium to the
// pyramid), E.latlayer2 (1x1, fine to the pyramid), E.styles.<i>.convs.<j>
// and E.styles.<i>.linear (the map2style head of w i).
type Model struct {
	Config Config
	E      params.Set
	// WAvg is the generator's mean w, to which E adds its output; it is
	// saved with the model, and a generator with another WAvg is refused.
	WAvg []float32
	// History is the record of the encoder's training.
	History History
	// Latent is the fit of the training codes (Scorer.Fit), nil before.
	Latent *Latent
	// Default is the score chosen on the validation split (SetDefault),
	// nil before.
	Default *Choice
}

// New returns an encoder for g with configuration cfg (see ConfigFor) and
// the initialisation below, drawn from seed: convolutions normal with He's
// standard deviation gain/sqrt(fan_in) for the LeakyReLU that follows
// (gain sqrt(2/(1+slope²)); 1 for the 1x1 lateral and shortcut
// convolutions and for the residual branch's last convolution, which no
// activation follows); the heads' linear layers normal with standard
// deviation 1/sqrt(in), the effective weights of pSp's EqualLinear at
// initialisation; biases 0. The same seed gives the same weights.
func New(cfg Config, g Generator, seed uint64) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Check(g); err != nil {
		return nil, err
	}
	wavg := g.WAvg()
	if len(wavg) != cfg.WDim {
		return nil, fmt.Errorf("psp: the generator's w_avg has %d values, its w %d", len(wavg), cfg.WDim)
	}
	m := newModel(cfg, seed)
	m.WAvg = slices.Clone(wavg)
	if err := checkFinite("the generator's w_avg", m.WAvg); err != nil {
		return nil, err
	}
	return m, nil
}

func checkFinite(what string, v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("psp: %s holds %v at %d", what, x, i)
		}
	}
	return nil
}

// paramSpec is one parameter: its name, shape and initial standard
// deviation (0: zeros).
type paramSpec struct {
	name  string
	shape []int
	std   float64
}

// params lists the encoder's parameters in the order they are created,
// with their initialisation (New).
func (c Config) params() []paramSpec {
	var out []paramSpec
	lrelu := math.Sqrt(2 / (1 + BackboneSlope*BackboneSlope))
	head := math.Sqrt(2 / (1 + HeadSlope*HeadSlope))
	conv := func(name string, gain float64, bias bool, cout, cin, k int) {
		out = append(out, paramSpec{name + ".weight", []int{cout, cin, k, k}, gain / math.Sqrt(float64(cin*k*k))})
		if bias {
			out = append(out, paramSpec{name + ".bias", []int{cout}, 0})
		}
	}
	w, ch, p := c.Width, c.stageChannels(), c.pyramidChannels()
	conv("E.input", lrelu, true, w, 1, 3)
	cin := w
	for st := range 3 {
		for b := 0; b < c.Blocks; b++ {
			name := fmt.Sprintf("E.body.%d.%d.", st, b)
			conv(name+"conv1", lrelu, true, ch[st], cin, 3)
			conv(name+"conv2", 1, true, ch[st], ch[st], 3)
			if b == 0 {
				conv(name+"shortcut", 1, false, ch[st], cin, 1)
			}
			cin = ch[st]
		}
	}
	conv("E.latlayer1", 1, true, p, ch[1], 1)
	conv("E.latlayer2", 1, true, p, ch[0], 1)
	sides := c.sides()
	for i := 0; i < c.NumWs; i++ {
		for j := range headConvs(sides[c.level(i)]) {
			conv(fmt.Sprintf("E.styles.%d.convs.%d", i, j), head, true, p, p, 3)
		}
		name := fmt.Sprintf("E.styles.%d.linear", i)
		out = append(out, paramSpec{name + ".weight", []int{c.WDim, p}, 1 / math.Sqrt(float64(p))},
			paramSpec{name + ".bias", []int{c.WDim}, 0})
	}
	return out
}

// newModel builds the encoder's parameters; cfg must be valid.
func newModel(cfg Config, seed uint64) *Model {
	rng := rand.New(rand.NewPCG(seed, 0x7073705f656e6301))
	m := &Model{Config: cfg, WAvg: make([]float32, cfg.WDim)}
	for _, p := range cfg.params() {
		if p.std == 0 {
			m.E.Add(p.name, zeros(p.shape...))
		} else {
			m.E.Add(p.name, normal(rng, p.std, p.shape...))
		}
	}
	return m
}

func normal(rng *rand.Rand, std float64, shape ...int) *tensor.Dense {
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

func zeros(shape ...int) *tensor.Dense {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]float32, n)))
}

// Encode adds E to the graph of x ([N, 1, Size, Size], values in [-1, 1])
// and returns the codes ws = w_avg + E(x) ([N, NumWs, WDim]), as pSp's
// GradualStyleEncoder with start_from_latent_avg:
//
//	backbone: 3x3 conv → LeakyReLU → three stages of Blocks residual
//	  blocks (fine S/2 with 2W channels, medium S/4 with 4W, coarse S/8
//	  with 8W); a block is x + conv2_s(LeakyReLU(conv1(x))), its shortcut
//	  a strided 1x1 convolution where the block halves the resolution
//	pyramid: p_coarse = coarse; p_medium = Resize(p_coarse) +
//	  latlayer1(medium); p_fine = Resize(p_medium) + latlayer2(fine)
//	heads: w i from its map (Config.Groups) by stride-2 3x3 convolutions
//	  with LeakyReLU down to 1x1, then a linear layer to WDim
//
// The only gradients taken are those to E's weights (and to x unless ng
// has NoInputGrad; NoParamGrad drops the weights'). nodes are m.E.Nodes of
// the graph.
func (m *Model) Encode(x *gorgonia.Node, nodes gorgonia.Nodes, ng nn.NoGrad) (*gorgonia.Node, error) {
	cfg := m.Config
	if x == nil || x.Shape().Dims() != 4 {
		return nil, fmt.Errorf("psp: encoder %v: input %v, want a [N, 1, %d, %d] node", cfg, x, cfg.Size, cfg.Size)
	}
	if xs := x.Shape(); xs[1] != 1 || xs[2] != cfg.Size || xs[3] != cfg.Size {
		return nil, fmt.Errorf("psp: encoder %v: input of shape %v, want [N, 1, %d, %d]", cfg, xs, cfg.Size, cfg.Size)
	}
	p := m.E.Lookup(nodes)
	inner := ng &^ nn.NoInputGrad
	fail := func(where string, err error) error { return fmt.Errorf("psp: encoder: %s: %w", where, err) }
	// convAct is a convolution, its bias and an activation.
	convAct := func(h *gorgonia.Node, name string, stride, pad int, act nn.Act, slope float32, ng nn.NoGrad) (*gorgonia.Node, error) {
		w, b := p.Node(name+".weight"), p.Node(name+".bias")
		if err := p.Err(); err != nil {
			return nil, err
		}
		h, err := nn.Conv2d(h, w, stride, pad, ng)
		if err != nil {
			return nil, fail(name, err)
		}
		if h, err = nn.BiasAct(h, b, act, slope, ng&^nn.NoInputGrad); err != nil {
			return nil, fail(name, err)
		}
		return h, nil
	}
	h, err := convAct(x, "E.input", 1, 1, nn.LeakyReLU, BackboneSlope, ng)
	if err != nil {
		return nil, err
	}
	var feats [3]*gorgonia.Node
	for st := range 3 {
		for b := 0; b < cfg.Blocks; b++ {
			name := fmt.Sprintf("E.body.%d.%d.", st, b)
			stride := 1
			if b == 0 {
				stride = 2
			}
			r, err := convAct(h, name+"conv1", 1, 1, nn.LeakyReLU, BackboneSlope, inner)
			if err != nil {
				return nil, err
			}
			if r, err = convAct(r, name+"conv2", stride, 1, nn.Identity, 0, inner); err != nil {
				return nil, err
			}
			sc := h
			if b == 0 {
				ws := p.Node(name + "shortcut.weight")
				if err := p.Err(); err != nil {
					return nil, err
				}
				if sc, err = nn.Conv2d(h, ws, 2, 0, inner); err != nil {
					return nil, fail(name+"shortcut", err)
				}
			}
			if h, err = gorgonia.Add(sc, r); err != nil {
				return nil, fail(name+"add", err)
			}
		}
		feats[st] = h
	}
	// The top-down pyramid.
	var maps [3]*gorgonia.Node
	maps[2] = feats[2]
	for _, l := range []struct {
		level int
		name  string
	}{{1, "E.latlayer1"}, {0, "E.latlayer2"}} {
		lat, err := convAct(feats[l.level], l.name, 1, 0, nn.Identity, 0, inner)
		if err != nil {
			return nil, err
		}
		ls := lat.Shape()
		up, err := nn.Resize(maps[l.level+1], ls[2], ls[3])
		if err != nil {
			return nil, fail(l.name, err)
		}
		if maps[l.level], err = gorgonia.Add(up, lat); err != nil {
			return nil, fail(l.name, err)
		}
	}
	// map2style.
	styles := make(gorgonia.Nodes, cfg.NumWs)
	sides := cfg.sides()
	for i := range styles {
		h := maps[cfg.level(i)]
		for j := range headConvs(sides[cfg.level(i)]) {
			if h, err = convAct(h, fmt.Sprintf("E.styles.%d.convs.%d", i, j), 2, 1, nn.LeakyReLU, HeadSlope, inner); err != nil {
				return nil, err
			}
		}
		if h, err = nn.Flatten(h); err != nil {
			return nil, fail(fmt.Sprintf("E.styles.%d", i), err)
		}
		name := fmt.Sprintf("E.styles.%d.linear", i)
		w, b := p.Node(name+".weight"), p.Node(name+".bias")
		if err := p.Err(); err != nil {
			return nil, err
		}
		if h, err = nn.Linear(h, w, inner); err != nil {
			return nil, fail(name, err)
		}
		if styles[i], err = nn.BiasAct(h, b, nn.Identity, 0, inner); err != nil {
			return nil, fail(name, err)
		}
	}
	d := styles[0]
	if len(styles) > 1 {
		if d, err = gorgonia.Concat(1, styles...); err != nil {
			return nil, fail("stack", err)
		}
	}
	// ws = w_avg + Δ, w_avg repeated for every w.
	avg := make([]float32, 0, cfg.NumWs*cfg.WDim)
	for range cfg.NumWs {
		avg = append(avg, m.WAvg...)
	}
	an := gorgonia.NodeFromAny(x.Graph(), tensor.New(tensor.WithShape(len(avg)), tensor.WithBacking(avg)), gorgonia.WithName(fmt.Sprintf("w_avg#%d", avgSeq.Add(1))))
	if d, err = nn.BiasAct(d, an, nn.Identity, 0, nn.NoParamGrad); err != nil {
		return nil, fail("w_avg", err)
	}
	out, err := gorgonia.Reshape(d, tensor.Shape{x.Shape()[0], cfg.NumWs, cfg.WDim})
	if err != nil {
		return nil, fail("reshape", err)
	}
	return out, nil
}

// avgSeq numbers the w_avg constants, so that two encoders in one graph
// never share a node name.
var avgSeq atomic.Uint64
