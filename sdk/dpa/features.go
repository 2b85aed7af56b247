package dpa

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/params"
)

// The feature layers of VGG19's trunk that the loss can use, by their
// names in the authors' feature_extractor.py.
const (
	Relu12 = "relu1_2"
	Relu22 = "relu2_2"
	Relu32 = "relu3_2"
)

// The kinds of feature network.
const (
	// Random is VGG19's trunk up to relu3_2 with seeded random weights,
	// the default: nothing to download.
	Random = "random"
	// VGG19 is the same trunk with weights read from Features.Path
	// (LoadVGG19), e.g. ImageNet's.
	VGG19 = "vgg19"
)

// vggConvs are the trunk's convolutions up to conv3_2: their index in
// torchvision's vgg19().features and their width relative to conv1's.
var vggConvs = []struct {
	index, mult int
	pool        bool // a 2x2 max pooling before this convolution
}{{0, 1, false}, {2, 1, false}, {5, 2, true}, {7, 2, false}, {10, 4, true}, {12, 4, false}}

// layerConvs is the number of convolutions up to each layer.
var layerConvs = map[string]int{Relu12: 2, Relu22: 4, Relu32: 6}

// ImageNet's per-channel mean and standard deviation, with which VGG19
// normalises its RGB input (the authors' rec_losses.py; torchvision).
var (
	imagenetMean = [3]float32{0.485, 0.456, 0.406}
	imagenetStd  = [3]float32{0.229, 0.224, 0.225}
)

// Features says which feature network f the loss uses.
type Features struct {
	// Kind is Random (the default when empty) or VGG19.
	Kind string `json:"kind"`
	// Path is the VGG19 weights file (Kind VGG19): an anogo checkpoint
	// holding torchvision's names "features.<i>.weight" and ".bias" for
	// i = 0, 2, 5, 7, 10, 12 (tools/vgg19_to_anogo.py writes one).
	Path string `json:"path,omitempty"`
	// Width is the channels of conv1 for Random (VGG19's: 64); the trunk
	// has Width, Width, 2·Width, 2·Width, 4·Width, 4·Width channels.
	Width int `json:"width,omitempty"`
	// Seed seeds Random's weights.
	Seed uint64 `json:"seed,omitempty"`
}

// String names the feature network as results show it, e.g.
// "random-w16-s1" or "vgg19:imagenet.ckpt".
func (f Features) String() string {
	if f.Kind == VGG19 {
		return "vgg19:" + f.Path
	}
	return fmt.Sprintf("random-w%d-s%d", f.width(), f.Seed)
}

func (f Features) width() int {
	if f.Kind == VGG19 {
		return 64
	}
	if f.Width <= 0 {
		return 64
	}
	return f.Width
}

// FeatureNet is VGG19's trunk up to relu3_2 (or a narrower one): 3x3
// convolutions with ReLU, 2x2 max pooling after relu1_2 and relu2_2, on
// the grey image repeated to three channels and normalised with
// ImageNet's statistics. Its weights are named as torchvision's.
type FeatureNet struct {
	Features Features
	Set      params.Set
}

// NewFeatureNet builds f: Random's weights are normal with He's standard
// deviation sqrt(2/fan_in) (biases 0), drawn from Seed; VGG19's are read
// from Path.
func NewFeatureNet(f Features) (*FeatureNet, error) {
	switch f.Kind {
	case "", Random:
		if f.Width < 0 || f.Width > 512 {
			return nil, fmt.Errorf("dpa: feature width %d out of range [1, 512]", f.Width)
		}
		fn := &FeatureNet{Features: f}
		fn.Features.Kind, fn.Features.Width = Random, f.width()
		rng := rand.New(rand.NewPCG(f.Seed, 0x766767313972616e))
		for _, s := range fn.shapes() {
			fanIn := s.w[1] * 9
			std := math.Sqrt(2 / float64(fanIn))
			v := make([]float32, s.w[0]*fanIn)
			for i := range v {
				v[i] = float32(std * rng.NormFloat64())
			}
			fn.Set.Add(s.name+".weight", tensor.New(tensor.WithShape(s.w...), tensor.WithBacking(v)))
			fn.Set.Add(s.name+".bias", zeros(s.w[0]))
		}
		return fn, nil
	case VGG19:
		return LoadVGG19(f.Path)
	}
	return nil, fmt.Errorf("dpa: feature network %q (random or vgg19)", f.Kind)
}

type convShape struct {
	name string
	w    []int
}

// shapes returns the trunk's convolutions' names and weight shapes.
func (fn *FeatureNet) shapes() []convShape {
	w := fn.Features.width()
	var out []convShape
	cin := 3
	for _, c := range vggConvs {
		cout := w * c.mult
		out = append(out, convShape{fmt.Sprintf("features.%d", c.index), []int{cout, cin, 3, 3}})
		cin = cout
	}
	return out
}

// LoadVGG19 reads VGG19's weights up to conv3_2 from path: an anogo
// checkpoint (package checkpoint, any kind) with torchvision's names
// features.0, .2, .5, .7, .10 and .12 (".weight" [out, in, 3, 3], ".bias"
// [out]) and VGG19's widths 64, 64, 128, 128, 256, 256. Other tensors are
// ignored. A missing or mis-shaped tensor is an error naming the file and
// the tensor.
func LoadVGG19(path string) (*FeatureNet, error) {
	if path == "" {
		return nil, fmt.Errorf("dpa: feature network vgg19 needs a weights file (features.path)")
	}
	c, err := checkpoint.Load(path)
	if err != nil {
		return nil, fmt.Errorf("dpa: VGG19 weights: %w", err)
	}
	fn := &FeatureNet{Features: Features{Kind: VGG19, Path: path}}
	for _, s := range fn.shapes() {
		for _, part := range []struct {
			suffix string
			shape  []int
		}{{".weight", s.w}, {".bias", s.w[:1]}} {
			name := s.name + part.suffix
			t, ok := c.Get(name)
			if !ok {
				return nil, fmt.Errorf("dpa: VGG19 weights %q: no tensor %q", path, name)
			}
			if !slices.Equal(t.Shape, part.shape) {
				return nil, fmt.Errorf("dpa: VGG19 weights %q: tensor %q has shape %v, want %v", path, name, t.Shape, part.shape)
			}
			for _, v := range t.Data {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return nil, fmt.Errorf("dpa: VGG19 weights %q: tensor %q holds %v", path, name, v)
				}
			}
			fn.Set.Add(name, tensor.New(tensor.WithShape(part.shape...), tensor.WithBacking(slices.Clone(t.Data))))
		}
	}
	return fn, nil
}

// Extract adds f's layer (Relu12, Relu22 or Relu32) to the graph of x
// ([N, 1, H, W], values in [-1, 1], H and W divisible by 4 for Relu32)
// and returns the features [N, C, H', W']: x is mapped to [0, 1],
// repeated to three channels and normalised with ImageNet's mean and
// standard deviation (the authors' rec_losses.py). f's weights take no
// gradient; x's unless ng says so. nodes are fn.Set.Nodes of the graph.
func (fn *FeatureNet) Extract(x *gorgonia.Node, nodes gorgonia.Nodes, layer string, ng nn.NoGrad) (*gorgonia.Node, error) {
	out, err := fn.ExtractLayers(x, nodes, []string{layer}, ng)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// ExtractLayers is Extract of several layers in one pass through the
// trunk: out[i] is the features of layers[i].
func (fn *FeatureNet) ExtractLayers(x *gorgonia.Node, nodes gorgonia.Nodes, layers []string, ng nn.NoGrad) ([]*gorgonia.Node, error) {
	if len(layers) == 0 {
		return nil, fmt.Errorf("dpa: no feature layer asked for")
	}
	deepest := 0
	for _, l := range layers {
		n, ok := layerConvs[l]
		if !ok {
			return nil, fmt.Errorf("dpa: feature layer %q (relu1_2, relu2_2 or relu3_2)", l)
		}
		deepest = max(deepest, n)
	}
	p := fn.Set.Lookup(nodes)
	chans := make(gorgonia.Nodes, 3)
	for c := range chans {
		// (x/2 + 1/2 - mean)/std
		a := gorgonia.NewConstant(0.5 / imagenetStd[c])
		b := gorgonia.NewConstant((0.5 - imagenetMean[c]) / imagenetStd[c])
		h, err := gorgonia.Mul(x, a)
		if err != nil {
			return nil, err
		}
		if chans[c], err = gorgonia.Add(h, b); err != nil {
			return nil, err
		}
	}
	h, err := gorgonia.Concat(1, chans...)
	if err != nil {
		return nil, fmt.Errorf("dpa: features: %w", err)
	}
	ng |= nn.NoParamGrad
	after := make([]*gorgonia.Node, deepest+1) // after[k]: the output of the k-th convolution
	for i, c := range vggConvs[:deepest] {
		name := fmt.Sprintf("features.%d", c.index)
		if c.pool {
			if h, err = nn.MaxPool2(h); err != nil {
				return nil, fmt.Errorf("dpa: features: %s: %w", name, err)
			}
		}
		cng := ng
		if i > 0 {
			cng &^= nn.NoInputGrad
		}
		w, b := p.Node(name+".weight"), p.Node(name+".bias")
		if err := p.Err(); err != nil {
			return nil, err
		}
		if h, err = nn.Conv2d(h, w, 1, 1, cng); err != nil {
			return nil, fmt.Errorf("dpa: features: %s: %w", name, err)
		}
		if h, err = nn.BiasAct(h, b, nn.ReLU, 0, cng&^nn.NoInputGrad); err != nil {
			return nil, fmt.Errorf("dpa: features: %s: %w", name, err)
		}
		after[i+1] = h
	}
	out := make([]*gorgonia.Node, len(layers))
	for i, l := range layers {
		out[i] = after[layerConvs[l]]
	}
	return out, nil
}
