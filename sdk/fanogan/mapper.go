package fanogan

import (
	"context"
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/mapper"
	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/optim"
	"github.com/anogo/anogo/sdk/score"
)

// Mapper maps queries into the latent space of an f-AnoGAN model with its
// encoder, z = E(x), in one pass, and implements mapper.Mapper. With Steps
// > 0 it then refines E(x) by AnoGAN's iterative mapping (Schlegl et al.
// 2017, Sec. 2.2, Eq. 5) on this model's G and critic features:
//
//	L(z) = (1 - λ)·Σ|x - G(z)| + λ·Σ|f(x) - f(G(z))|
//
// minimised by Adam on z alone, G and D frozen in eval mode, starting from
// E(x) instead of a random code. Each query's code has its own Adam state
// (Adam is element-wise and the loss a sum over queries), so a query's
// result does not depend on its batch.
//
// As a score.Scorer it gives AnoGAN's columns R, D and A = (1-λ)R + λD at
// the final code, with the map |x - G(z)|: AnoGAN's scores computed from
// E(x).
type Mapper struct {
	Model *Model
	// Steps is the number of refinement steps (0: E(x) alone).
	Steps int
	// Lambda is λ of Eq. 5 (0: mapper.DefaultLambda; NoLambda: 0).
	Lambda   float64
	NoLambda bool
	// LR is Adam's learning rate on z (0: 0.01, AnoGAN's mapper default);
	// Batch the number of queries per pass (0: 64).
	LR    float64
	Batch int
}

var (
	_ mapper.Mapper = (*Mapper)(nil)
	_ score.Scorer  = (*Mapper)(nil)
)

// Columns implements score.Scorer.
func (mp *Mapper) Columns() []string { return []string{score.R, score.D, score.A} }

// mapGraph computes, for a batch of codes z and queries x (with their
// features fx), G(z), R and D per query and the gradient of Σ L with
// respect to z.
type mapGraph struct {
	vm              gorgonia.VM
	z, x, fx        *gorgonia.Node
	zT, xT, fxT     *tensor.Dense
	recon, r, d, gz *gorgonia.Node
}

func (mp *Mapper) build(n int, lambda float64) (*mapGraph, error) {
	m := mp.Model
	s, zl, fl := m.Config.Size, m.Config.Latent, m.Config.FeatureLen()
	g := gorgonia.NewGraph()
	mg := &mapGraph{}
	mg.z = gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(n, zl), gorgonia.WithName("z"))
	mg.x = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, s, s), gorgonia.WithName("x"))
	mg.fx = gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(n, fl), gorgonia.WithName("fx"))
	var err error
	if mg.recon, err = m.Generator(mg.z, m.G.Nodes(g), false, nn.NoParamGrad); err != nil {
		return nil, err
	}
	if mg.r, err = nn.AbsDiffSum(mg.recon, mg.x, nn.NoParamGrad); err != nil {
		return nil, err
	}
	_, fr, _, err := m.Critic(mg.recon, m.D.Nodes(g), nil, nn.NoParamGrad)
	if err != nil {
		return nil, err
	}
	if mg.d, err = nn.AbsDiffSum(fr, mg.fx, nn.NoParamGrad); err != nil {
		return nil, err
	}
	lr, err := gorgonia.Mul(mg.r, gorgonia.NewConstant(float32(1-lambda)))
	if err != nil {
		return nil, err
	}
	ld, err := gorgonia.Mul(mg.d, gorgonia.NewConstant(float32(lambda)))
	if err != nil {
		return nil, err
	}
	l, err := gorgonia.Add(lr, ld)
	if err != nil {
		return nil, err
	}
	loss, err := gorgonia.Sum(l)
	if err != nil {
		return nil, err
	}
	gs, err := gorgonia.Grad(loss, mg.z)
	if err != nil {
		return nil, fmt.Errorf("fanogan: mapping gradients: %w", err)
	}
	mg.gz = gs[0]
	mg.vm = gorgonia.NewTapeMachine(g)
	mg.zT = tensor.New(tensor.WithShape(n, zl), tensor.Of(tensor.Float32))
	mg.xT = tensor.New(tensor.WithShape(n, 1, s, s), tensor.Of(tensor.Float32))
	mg.fxT = tensor.New(tensor.WithShape(n, fl), tensor.Of(tensor.Float32))
	return mg, nil
}

// run evaluates the graph at the current codes.
func (mg *mapGraph) run() error {
	for _, nv := range []struct {
		n *gorgonia.Node
		v *tensor.Dense
	}{{mg.z, mg.zT}, {mg.x, mg.xT}, {mg.fx, mg.fxT}} {
		if err := gorgonia.Let(nv.n, nv.v); err != nil {
			return err
		}
	}
	return mg.vm.RunAll()
}

// Map implements mapper.Mapper: Latent.Z is E(x) refined by Steps steps,
// Residual and Discrimination AnoGAN's R and D at it, Loss Eq. 5.
func (mp *Mapper) Map(ctx context.Context, queries []data.Sample) ([]mapper.Latent, error) {
	m := mp.Model
	if m == nil {
		return nil, ErrNotFitted
	}
	if mp.Steps < 0 {
		return nil, fmt.Errorf("fanogan: %d mapping steps", mp.Steps)
	}
	lambda := mapper.ResolveLambda(mp.Lambda, mp.NoLambda)
	lr := mp.LR
	if lr <= 0 {
		lr = 0.01
	}
	bs := mp.Batch
	if bs <= 0 {
		bs = 64
	}
	bs = min(bs, max(len(queries), 1))
	start := &Scorer{Model: m, BatchSize: bs}
	one, err := start.Map(ctx, queries)
	if err != nil {
		return nil, err
	}
	fx, err := m.features(queries, bs)
	if err != nil {
		return nil, err
	}
	mg, err := mp.build(bs, lambda)
	if err != nil {
		return nil, err
	}
	s, zl, fl := m.Config.Size, m.Config.Latent, m.Config.FeatureLen()
	px := s * s
	out := make([]mapper.Latent, 0, len(queries))
	for lo := 0; lo < len(queries); lo += bs {
		hi := min(lo+bs, len(queries))
		zb, xb, fb := f32s(mg.zT), f32s(mg.xT), f32s(mg.fxT)
		clear(zb)
		clear(xb)
		clear(fb)
		for i := lo; i < hi; i++ {
			copy(zb[(i-lo)*zl:], one.Z[i])
			copy(xb[(i-lo)*px:], queries[i].Image.Pix)
			copy(fb[(i-lo)*fl:], fx[i*fl:(i+1)*fl])
		}
		opt := optim.NewAdam(lr, 0.9)
		for step := 0; ; step++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := mg.run(); err != nil {
				mg.vm.Reset()
				return nil, fmt.Errorf("fanogan: mapping: %w", err)
			}
			if step == mp.Steps {
				break
			}
			g := f32s(mg.gz.Value())
			if hi-lo < bs {
				clear(g[(hi-lo)*zl:]) // padding rows stay where they are
			}
			if err := opt.Update([][]float32{zb}, [][]float32{g}); err != nil {
				mg.vm.Reset()
				return nil, err
			}
			mg.vm.Reset()
		}
		rec, rv, dv := f32s(mg.recon.Value()), f32s(mg.r.Value()), f32s(mg.d.Value())
		for i := lo; i < hi; i++ {
			j := i - lo
			im := data.NewImage(s, s)
			copy(im.Pix, rec[j*px:(j+1)*px])
			r, d := float64(rv[j]), float64(dv[j])
			out = append(out, mapper.Latent{ID: queries[i].ID, Z: append([]float32(nil), zb[j*zl:(j+1)*zl]...),
				Residual: r, Discrimination: d, Loss: score.Anomaly(r, d, lambda), Steps: mp.Steps, Recon: im})
		}
		mg.vm.Reset()
	}
	return out, nil
}

// Score implements score.Scorer: AnoGAN's R, D and A at the code Map finds,
// the reconstruction and the map |x - G(z)|.
func (mp *Mapper) Score(ctx context.Context, samples []data.Sample) ([]score.Result, error) {
	lat, err := mp.Map(ctx, samples)
	if err != nil {
		return nil, err
	}
	lambda := mapper.ResolveLambda(mp.Lambda, mp.NoLambda)
	out := make([]score.Result, len(samples))
	for i, smp := range samples {
		l := lat[i]
		out[i] = score.Result{ID: smp.ID, Label: smp.Label,
			Scores: map[string]float64{score.R: l.Residual, score.D: l.Discrimination, score.A: score.Anomaly(l.Residual, l.Discrimination, lambda)},
			Recon:  l.Recon, Residual: score.ResidualImage(smp.Image, l.Recon), Query: smp.Image, Mask: smp.Mask, Z: l.Z}
	}
	return out, nil
}

// features returns f(x) of every query, one after the other.
func (m *Model) features(queries []data.Sample, bs int) ([]float32, error) {
	s, fl := m.Config.Size, m.Config.FeatureLen()
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(bs, 1, s, s), gorgonia.WithName("x"))
	_, f, _, err := m.Critic(x, m.D.Nodes(g), nil, noGradAll)
	if err != nil {
		return nil, err
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	xT := tensor.New(tensor.WithShape(bs, 1, s, s), tensor.Of(tensor.Float32))
	out := make([]float32, 0, len(queries)*fl)
	for lo := 0; lo < len(queries); lo += bs {
		hi := min(lo+bs, len(queries))
		buf := f32s(xT)
		clear(buf)
		for i := lo; i < hi; i++ {
			copy(buf[(i-lo)*s*s:], queries[i].Image.Pix)
		}
		if err := gorgonia.Let(x, xT); err != nil {
			return nil, err
		}
		if err := vm.RunAll(); err != nil {
			return nil, err
		}
		out = append(out, f32s(f.Value())[:(hi-lo)*fl]...)
		vm.Reset()
	}
	return out, nil
}
