package fanogan

import (
	"context"
	"fmt"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/score"
)

// The score columns of f-AnoGAN (Schlegl et al. 2019, Sec. 2.4, Eq. 8):
// A(x) = A_R(x) + κ·A_D(x), with the image residual A_R = 1/n ‖x - G(E(x))‖²
// and the feature residual A_D = 1/n_d ‖f(x) - f(G(E(x)))‖². The authors'
// code also writes the latent-cycle score 1/d ‖E(x) - E(G(E(x)))‖².
const (
	ColR     = "A_R"
	ColD     = "A_D"
	ColScore = "A_fanogan"
	ColCycle = "A_z"
)

// Mapping is the one-pass mapping of a batch: the codes E(x), the
// reconstructions G(E(x)) and the residuals.
type Mapping struct {
	Z     [][]float32
	Recon [][]float32
	// R, D and Cycle are A_R, A_D and the latent-cycle score per image.
	R, D, Cycle []float64
}

// Scorer scores images with a trained model in one pass: E, G and the
// critic in eval mode.
type Scorer struct {
	Model *Model
	// Kappa weighs A_D in the score (1).
	Kappa float64
	// BatchSize is the number of images per pass (0: 64).
	BatchSize int
	// NoCycle leaves out the latent-cycle score (one more pass of E): the
	// column A_z and Mapping.Cycle.
	NoCycle bool

	inf *inference // the compiled graph, kept between calls
}

// Columns implements score.Scorer.
func (s *Scorer) Columns() []string {
	if s.NoCycle {
		return []string{ColR, ColD, ColScore}
	}
	return []string{ColR, ColD, ColScore, ColCycle}
}

// inference is the compiled graph of one batch.
type inference struct {
	m           *Model
	n           int
	vm          gorgonia.VM
	x           *gorgonia.Node
	xT          *tensor.Dense
	z, xr, z2   *gorgonia.Node
	r, d, cycle *gorgonia.Node
}

func (m *Model) inference(n int, cycle bool) (*inference, error) {
	s := m.Config.Size
	inf := &inference{m: m, n: n}
	g := gorgonia.NewGraph()
	inf.x = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, s, s), gorgonia.WithName("x"))
	var err error
	ep, dp := m.E.Nodes(g), m.D.Nodes(g)
	if inf.z, err = m.Encoder(inf.x, ep, false, noGradAll); err != nil {
		return nil, err
	}
	if inf.xr, err = m.Generator(inf.z, m.G.Nodes(g), false, noGradAll); err != nil {
		return nil, err
	}
	if inf.r, err = nn.SquaredDiffMean(inf.xr, inf.x, noGradAll); err != nil {
		return nil, err
	}
	_, fx, _, err := m.Critic(inf.x, dp, nil, noGradAll)
	if err != nil {
		return nil, err
	}
	_, fr, _, err := m.Critic(inf.xr, dp, nil, noGradAll)
	if err != nil {
		return nil, err
	}
	if inf.d, err = nn.SquaredDiffMean(fr, fx, noGradAll); err != nil {
		return nil, err
	}
	if cycle {
		if inf.z2, err = m.Encoder(inf.xr, ep, false, noGradAll); err != nil {
			return nil, err
		}
		if inf.cycle, err = nn.SquaredDiffMean(inf.z2, inf.z, noGradAll); err != nil {
			return nil, err
		}
	}
	inf.vm = gorgonia.NewTapeMachine(g)
	inf.xT = tensor.New(tensor.WithShape(n, 1, s, s), tensor.Of(tensor.Float32))
	return inf, nil
}

// Map maps the images of samples in one pass each, batch by batch.
func (s *Scorer) Map(ctx context.Context, samples []data.Sample) (*Mapping, error) {
	m := s.Model
	size := m.Config.Size
	px, zl := size*size, m.Config.Latent
	bs := s.BatchSize
	if bs <= 0 {
		bs = 64
	}
	bs = min(bs, max(len(samples), 1))
	if s.inf == nil || s.inf.n != bs || s.inf.m != m || (s.inf.cycle == nil) != s.NoCycle {
		inf, err := m.inference(bs, !s.NoCycle)
		if err != nil {
			return nil, err
		}
		s.inf = inf
	}
	inf := s.inf
	buf := f32s(inf.xT)
	out := &Mapping{}
	for lo := 0; lo < len(samples); lo += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+bs, len(samples))
		clear(buf)
		for i, smp := range samples[lo:hi] {
			if smp.Image == nil || smp.Image.H != size || smp.Image.W != size {
				return nil, fmt.Errorf("fanogan: %s is not a %dx%d image", smp.ID, size, size)
			}
			copy(buf[i*px:], smp.Image.Pix)
		}
		if err := gorgonia.Let(inf.x, inf.xT); err != nil {
			return nil, err
		}
		if err := inf.vm.RunAll(); err != nil {
			inf.vm.Reset()
			return nil, fmt.Errorf("fanogan: %w", err)
		}
		zv, xv := f32s(inf.z.Value()), f32s(inf.xr.Value())
		rv, dv := f32s(inf.r.Value()), f32s(inf.d.Value())
		for i := 0; i < hi-lo; i++ {
			out.Z = append(out.Z, append([]float32(nil), zv[i*zl:(i+1)*zl]...))
			out.Recon = append(out.Recon, append([]float32(nil), xv[i*px:(i+1)*px]...))
			out.R = append(out.R, float64(rv[i]))
			out.D = append(out.D, float64(dv[i]))
			if inf.cycle != nil {
				out.Cycle = append(out.Cycle, float64(f32s(inf.cycle.Value())[i]))
			}
		}
		inf.vm.Reset()
	}
	return out, nil
}

// Score implements score.Scorer: A_R, A_D, the score A_R + κ·A_D and the
// latent-cycle score, the reconstruction G(E(x)) and the anomaly map
// |x - G(E(x))|, and the code E(x) as Result.Z.
func (s *Scorer) Score(ctx context.Context, samples []data.Sample) ([]score.Result, error) {
	mp, err := s.Map(ctx, samples)
	if err != nil {
		return nil, err
	}
	size := s.Model.Config.Size
	out := make([]score.Result, len(samples))
	for i, smp := range samples {
		recon := data.NewImage(size, size)
		copy(recon.Pix, mp.Recon[i])
		sc := map[string]float64{ColR: mp.R[i], ColD: mp.D[i], ColScore: Anomaly(mp.R[i], mp.D[i], s.Kappa)}
		if mp.Cycle != nil {
			sc[ColCycle] = mp.Cycle[i]
		}
		out[i] = score.Result{
			ID: smp.ID, Label: smp.Label,
			Scores: sc,
			Recon:  recon, Residual: score.ResidualImage(smp.Image, recon),
			Query: smp.Image, Mask: smp.Mask, Z: mp.Z[i],
		}
	}
	return out, nil
}

// Anomaly is f-AnoGAN's anomaly score A(x) = A_R(x) + κ·A_D(x) (Schlegl et
// al. 2019, Eq. 8), the izi_f loss of one image.
func Anomaly(r, d, kappa float64) float64 { return r + kappa*d }

// Generate returns n images G(z), z ~ N(0, I) drawn with seed, G in eval
// mode: what the generator has learnt.
func (m *Model) Generate(n int, seed uint64) ([]*data.Image, error) {
	if n <= 0 || n > 4096 {
		return nil, fmt.Errorf("fanogan: %d images asked for (1 to 4096)", n)
	}
	s, zl := m.Config.Size, m.Config.Latent
	g := gorgonia.NewGraph()
	z := make([]float32, n*zl)
	SampleZ(rand.New(rand.NewPCG(seed, 0x9b05688c2b3e6c1f)), z)
	zn := gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(n, zl), tensor.WithBacking(z)), gorgonia.WithName("z"))
	x, err := m.Generator(zn, m.G.Nodes(g), false, noGradAll)
	if err != nil {
		return nil, err
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		return nil, fmt.Errorf("fanogan: %w", err)
	}
	v := f32s(x.Value())
	out := make([]*data.Image, n)
	for i := range out {
		out[i] = data.NewImage(s, s)
		copy(out[i].Pix, v[i*s*s:(i+1)*s*s])
	}
	return out, nil
}
