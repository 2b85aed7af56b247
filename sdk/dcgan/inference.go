package dcgan

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/nn"
)

// Inference runs G and D forward in eval mode (running BatchNorm
// statistics, as scoring must: see docs/references.md on GANomaly) on batches of
// up to Batch images. It computes no gradients.
type Inference struct {
	Model *Model
	Batch int

	gen, disc   gorgonia.VM
	zIn, xIn    *gorgonia.Node
	out         *gorgonia.Node
	logit, feat *gorgonia.Node
	zT, xT      *tensor.Dense
}

// NewInference compiles the forward graphs of m for batches of n.
func (m *Model) NewInference(n int) (*Inference, error) {
	if n <= 0 {
		return nil, fmt.Errorf("dcgan: inference batch %d", n)
	}
	in := &Inference{Model: m, Batch: n}
	s := m.Config.Size
	frozen := Mode{NoGrad: nn.NoInputGrad | nn.NoParamGrad}
	g := gorgonia.NewGraph()
	in.zIn = gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(n, m.Config.Latent), gorgonia.WithName("z"))
	var err error
	if in.out, err = m.Generator(in.zIn, m.G.Nodes(g), frozen); err != nil {
		return nil, err
	}
	in.gen = gorgonia.NewTapeMachine(g)
	h := gorgonia.NewGraph()
	in.xIn = gorgonia.NewTensor(h, tensor.Float32, 4, gorgonia.WithShape(n, 1, s, s), gorgonia.WithName("x"))
	if in.logit, in.feat, err = m.Discriminator(in.xIn, m.D.Nodes(h), frozen); err != nil {
		return nil, err
	}
	in.disc = gorgonia.NewTapeMachine(h)
	in.zT = tensor.New(tensor.WithShape(n, m.Config.Latent), tensor.Of(tensor.Float32))
	in.xT = tensor.New(tensor.WithShape(n, 1, s, s), tensor.Of(tensor.Float32))
	return in, nil
}

// Generate returns G(z) for k = len(z)/Latent codes (k <= Batch), as k
// images of Size×Size values one after the other.
func (in *Inference) Generate(z []float32) ([]float32, error) {
	nz, px := in.Model.Config.Latent, in.Model.Config.Size*in.Model.Config.Size
	k := len(z) / nz
	if len(z)%nz != 0 || k > in.Batch || k == 0 {
		return nil, fmt.Errorf("dcgan: %d latent values are not 1 to %d codes of %d", len(z), in.Batch, nz)
	}
	buf := in.zT.Data().([]float32)
	clear(buf)
	copy(buf, z)
	defer in.gen.Reset()
	if err := gorgonia.Let(in.zIn, in.zT); err != nil {
		return nil, err
	}
	if err := in.gen.RunAll(); err != nil {
		return nil, fmt.Errorf("dcgan: generator: %w", err)
	}
	out := make([]float32, k*px)
	copy(out, in.out.Value().Data().([]float32))
	return out, nil
}

// Discriminate returns D's logits (k values) and features f(x) (k ×
// FeatureLen values) for k = len(x)/(Size·Size) images (k <= Batch).
func (in *Inference) Discriminate(x []float32) (logits, feats []float32, err error) {
	px, fl := in.Model.Config.Size*in.Model.Config.Size, in.Model.Config.FeatureLen()
	k := len(x) / px
	if len(x)%px != 0 || k > in.Batch || k == 0 {
		return nil, nil, fmt.Errorf("dcgan: %d pixel values are not 1 to %d images of %d", len(x), in.Batch, px)
	}
	buf := in.xT.Data().([]float32)
	clear(buf)
	copy(buf, x)
	defer in.disc.Reset()
	if err := gorgonia.Let(in.xIn, in.xT); err != nil {
		return nil, nil, err
	}
	if err := in.disc.RunAll(); err != nil {
		return nil, nil, fmt.Errorf("dcgan: discriminator: %w", err)
	}
	logits = make([]float32, k)
	copy(logits, in.logit.Value().Data().([]float32))
	feats = make([]float32, k*fl)
	copy(feats, in.feat.Value().Data().([]float32))
	return logits, feats, nil
}

// DiscriminateImages runs D in eval mode over any number of Size×Size
// images, in batches of 64, and returns each image's logit and features
// f(x) (FeatureLen values per image).
func (m *Model) DiscriminateImages(ims []*data.Image) (logits []float32, feats [][]float32, err error) {
	const bs = 64
	if len(ims) == 0 {
		return nil, nil, nil
	}
	inf, err := m.NewInference(min(bs, len(ims)))
	if err != nil {
		return nil, nil, err
	}
	px, fl := m.Config.Size*m.Config.Size, m.Config.FeatureLen()
	buf := make([]float32, 0, inf.Batch*px)
	for lo := 0; lo < len(ims); lo += inf.Batch {
		hi := min(lo+inf.Batch, len(ims))
		buf = buf[:0]
		for i, im := range ims[lo:hi] {
			if im.H != m.Config.Size || im.W != m.Config.Size {
				return nil, nil, fmt.Errorf("dcgan: image %d is %dx%d, the model takes %dx%d", lo+i, im.H, im.W, m.Config.Size, m.Config.Size)
			}
			buf = append(buf, im.Pix...)
		}
		l, f, err := inf.Discriminate(buf)
		if err != nil {
			return nil, nil, err
		}
		logits = append(logits, l...)
		for i := 0; i < hi-lo; i++ {
			feats = append(feats, f[i*fl:(i+1)*fl:(i+1)*fl])
		}
	}
	return logits, feats, nil
}
