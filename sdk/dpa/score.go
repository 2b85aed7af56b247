package dpa

import (
	"context"
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/score"
)

// ColScore is the score column: the relative perceptual L1 loss of the
// image (the paper's anomaly score, Sec. III).
const ColScore = "L_rel"

// Scorer scores images with a trained autoencoder at the image size.
type Scorer struct {
	Model    *Model
	Features *FeatureNet
	// Layer is the feature layer at the image size.
	Layer string
	// BatchSize is the number of images per pass (0: 64).
	BatchSize int

	inf *inference
}

// Columns implements score.Scorer.
func (s *Scorer) Columns() []string { return []string{ColScore} }

type inference struct {
	n         int
	vm        gorgonia.VM
	x         *gorgonia.Node
	xT        *tensor.Dense
	xr, l     *gorgonia.Node
	fx, fr    *gorgonia.Node
	m         *Model
	layer     string
	featShape tensor.Shape
	// The values read as the graph computes them (later ops may reuse
	// the nodes' buffers).
	xrV, lV, fxV, frV *gorgonia.Value // nn.ReadValue
}

func (s *Scorer) inference(n int) (*inference, error) {
	m := s.Model
	size := m.Config.Size
	g := gorgonia.NewGraph()
	inf := &inference{n: n, m: m, layer: s.Layer}
	inf.x = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, size, size), gorgonia.WithName("x"))
	inf.xT = tensor.New(tensor.WithShape(n, 1, size, size), tensor.Of(tensor.Float32))
	const all = nn.NoInputGrad | nn.NoParamGrad
	var err error
	if inf.xr, err = m.Reconstruct(inf.x, m.AE.Nodes(g), len(m.Config.Levels())-1, nil, all); err != nil {
		return nil, err
	}
	if inf.l, inf.fx, inf.fr, err = Perceptual(s.Features, s.Features.Set.Nodes(g), inf.x, inf.xr, s.Layer, all); err != nil {
		return nil, err
	}
	inf.featShape = inf.fx.Shape().Clone()
	inf.xrV = nn.ReadValue(inf.xr)
	inf.lV = nn.ReadValue(inf.l)
	inf.fxV = nn.ReadValue(inf.fx)
	inf.frV = nn.ReadValue(inf.fr)
	inf.vm = gorgonia.NewTapeMachine(g)
	return inf, nil
}

// Score implements score.Scorer: L_rel per image, the reconstruction and
// the anomaly map (Map, resized bilinearly to the image).
func (s *Scorer) Score(ctx context.Context, samples []data.Sample) ([]score.Result, error) {
	if s.Model == nil || s.Features == nil {
		return nil, ErrNotFitted
	}
	size := s.Model.Config.Size
	px := size * size
	bs := s.BatchSize
	if bs <= 0 {
		bs = 64
	}
	bs = min(bs, max(len(samples), 1))
	if s.inf == nil || s.inf.n != bs || s.inf.m != s.Model || s.inf.layer != s.Layer {
		inf, err := s.inference(bs)
		if err != nil {
			return nil, err
		}
		s.inf = inf
	}
	inf := s.inf
	fs := inf.featShape
	fl := fs[1] * fs[2] * fs[3]
	buf := f32s(inf.xT)
	out := make([]score.Result, 0, len(samples))
	for lo := 0; lo < len(samples); lo += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+bs, len(samples))
		clear(buf)
		for i, smp := range samples[lo:hi] {
			if smp.Image == nil || smp.Image.H != size || smp.Image.W != size {
				return nil, fmt.Errorf("dpa: %s is not a %dx%d image", smp.ID, size, size)
			}
			copy(buf[i*px:], smp.Image.Pix)
		}
		if err := gorgonia.Let(inf.x, inf.xT); err != nil {
			return nil, err
		}
		if err := inf.vm.RunAll(); err != nil {
			inf.vm.Reset()
			return nil, fmt.Errorf("dpa: %w", err)
		}
		lv, xv := f32s(*inf.lV), f32s(*inf.xrV)
		fxv, frv := f32s(*inf.fxV), f32s(*inf.frV)
		for i, smp := range samples[lo:hi] {
			recon := data.NewImage(size, size)
			copy(recon.Pix, xv[i*px:(i+1)*px])
			mp := Map(fxv[i*fl:(i+1)*fl], frv[i*fl:(i+1)*fl], fs[1], fs[2], fs[3])
			res := &data.Image{H: size, W: size, Pix: Bilinear(mp, fs[2], fs[3], size)}
			out = append(out, score.Result{
				ID: smp.ID, Label: smp.Label,
				Scores: map[string]float64{ColScore: float64(lv[i])},
				Recon:  recon, Residual: res, Query: smp.Image, Mask: smp.Mask,
			})
		}
		inf.vm.Reset()
	}
	return out, nil
}
