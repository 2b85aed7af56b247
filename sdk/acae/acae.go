package acae

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dcgan"
	"github.com/anogo/anogo/sdk/mapper"
	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/optim"
	"github.com/anogo/anogo/sdk/params"
	"github.com/anogo/anogo/sdk/score"
	"github.com/anogo/anogo/sdk/train"
)

// Model is an aCAE: Enc (encoder), and the DCGAN whose G is the decoder and
// whose D is the discriminator.
type Model struct {
	Enc *params.Set
	GAN *dcgan.Model
}

// New returns an aCAE with DCGAN initialisation.
func New(cfg dcgan.Config, seed uint64) (*Model, error) {
	gan, err := dcgan.New(cfg, seed)
	if err != nil {
		return nil, err
	}
	enc, err := dcgan.NewEncoder(cfg, seed+1)
	if err != nil {
		return nil, err
	}
	return &Model{Enc: enc, GAN: gan}, nil
}

// Config returns the underlying DCGAN configuration.
func (m *Model) Config() dcgan.Config { return m.GAN.Config }

// TrainConfig holds the aCAE's training settings.
type TrainConfig struct {
	dcgan.TrainConfig
	// AdvWeight weighs the adversarial loss against the reconstruction
	// loss in the autoencoder step (default 0.01).
	AdvWeight float64 `json:"adv_weight"`
}

// Trainer trains an aCAE; it implements train.Model.
type Trainer struct {
	Model       *Model
	Config      TrainConfig
	OptAE, OptD *optim.Adam

	d, ae struct {
		vm     gorgonia.VM
		x      *gorgonia.Node
		grads  gorgonia.Nodes
		losses map[string]*gorgonia.Node
	}
	xT     *tensor.Dense
	aeNets []*params.Set
}

// NewTrainer compiles the aCAE's two training graphs.
func NewTrainer(m *Model, cfg TrainConfig) (*Trainer, error) {
	if cfg.BatchSize <= 0 {
		return nil, fmt.Errorf("acae: batch size %d", cfg.BatchSize)
	}
	if cfg.AdvWeight == 0 {
		cfg.AdvWeight = 0.01
	}
	t := &Trainer{Model: m, Config: cfg, OptAE: cfg.Adam(), OptD: cfg.Adam()}
	t.aeNets = []*params.Set{m.Enc, &m.GAN.G}
	gan := m.GAN
	n, s := cfg.BatchSize, gan.Config.Size
	px := float32(s * s)
	t.xT = tensor.New(tensor.WithShape(n, 1, s, s), tensor.Of(tensor.Float32))
	{ // discriminator step
		g := gorgonia.NewGraph()
		x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, s, s), gorgonia.WithName("x"))
		frozen := dcgan.Mode{Train: true, NoGrad: nn.NoInputGrad | nn.NoParamGrad}
		code, _, err := gan.Encoder(m.Enc, x, m.Enc.Nodes(g), frozen)
		if err != nil {
			return nil, err
		}
		rec, err := gan.Generator(code, gan.G.Nodes(g), frozen)
		if err != nil {
			return nil, err
		}
		dp := gan.D.Nodes(g)
		lr, _, err := gan.Discriminator(x, dp, dcgan.Mode{Train: true, NoGrad: nn.NoInputGrad})
		if err != nil {
			return nil, err
		}
		lf, _, err := gan.Discriminator(rec, dp, dcgan.Mode{Train: true, NoGrad: nn.NoInputGrad})
		if err != nil {
			return nil, err
		}
		a, err := dcgan.MeanBCE(lr, 1)
		if err != nil {
			return nil, err
		}
		b, err := dcgan.MeanBCE(lf, 0)
		if err != nil {
			return nil, err
		}
		loss, err := gorgonia.Add(a, b)
		if err != nil {
			return nil, err
		}
		if t.d.grads, err = gorgonia.Grad(loss, dp...); err != nil {
			return nil, fmt.Errorf("acae: discriminator gradients: %w", err)
		}
		t.d.x, t.d.losses, t.d.vm = x, map[string]*gorgonia.Node{"loss_d": loss}, gorgonia.NewTapeMachine(g)
	}
	{ // autoencoder step
		g := gorgonia.NewGraph()
		x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, s, s), gorgonia.WithName("x"))
		ep, gp := m.Enc.Nodes(g), gan.G.Nodes(g)
		code, _, err := gan.Encoder(m.Enc, x, ep, dcgan.Mode{Train: true, NoGrad: nn.NoInputGrad})
		if err != nil {
			return nil, err
		}
		rec, err := gan.Generator(code, gp, dcgan.Mode{Train: true})
		if err != nil {
			return nil, err
		}
		l1, err := nn.AbsDiffSum(rec, x, nn.NoParamGrad)
		if err != nil {
			return nil, err
		}
		recLoss, err := gorgonia.Mean(l1)
		if err != nil {
			return nil, err
		}
		if recLoss, err = gorgonia.Div(recLoss, gorgonia.NewConstant(px)); err != nil {
			return nil, err
		}
		lf, _, err := gan.Discriminator(rec, gan.D.Nodes(g), dcgan.Mode{Train: true, NoGrad: nn.NoParamGrad})
		if err != nil {
			return nil, err
		}
		adv, err := dcgan.MeanBCE(lf, 1)
		if err != nil {
			return nil, err
		}
		wadv, err := gorgonia.Mul(adv, gorgonia.NewConstant(float32(cfg.AdvWeight)))
		if err != nil {
			return nil, err
		}
		loss, err := gorgonia.Add(recLoss, wadv)
		if err != nil {
			return nil, err
		}
		params := append(append(gorgonia.Nodes{}, ep...), gp...)
		if t.ae.grads, err = gorgonia.Grad(loss, params...); err != nil {
			return nil, fmt.Errorf("acae: autoencoder gradients: %w", err)
		}
		t.ae.x, t.ae.losses, t.ae.vm = x, map[string]*gorgonia.Node{"loss_rec": recLoss, "loss_adv": adv}, gorgonia.NewTapeMachine(g)
	}
	return t, nil
}

// Step implements train.Model.
func (t *Trainer) Step(batch []float32, n int) (map[string]float64, error) {
	if n != t.Config.BatchSize {
		return nil, fmt.Errorf("acae: batch of %d, trainer built for %d", n, t.Config.BatchSize)
	}
	copy(t.xT.Data().([]float32), batch)
	out := map[string]float64{}
	if err := run(t.d.vm, t.d.x, t.xT, t.d.losses, out); err != nil {
		return nil, err
	}
	if err := t.OptD.Update(t.Model.GAN.D.Values(), values(t.d.grads)); err != nil {
		return nil, err
	}
	t.d.vm.Reset()
	if err := run(t.ae.vm, t.ae.x, t.xT, t.ae.losses, out); err != nil {
		return nil, err
	}
	var params [][]float32
	for _, net := range t.aeNets {
		params = append(params, net.Values()...)
	}
	if err := t.OptAE.Update(params, values(t.ae.grads)); err != nil {
		return nil, err
	}
	t.ae.vm.Reset()
	return out, nil
}

func run(vm gorgonia.VM, x *gorgonia.Node, xT *tensor.Dense, losses map[string]*gorgonia.Node, out map[string]float64) error {
	if err := gorgonia.Let(x, xT); err != nil {
		return err
	}
	if err := vm.RunAll(); err != nil {
		return fmt.Errorf("acae: %w", err)
	}
	for k, n := range losses {
		out[k] = float64(n.Value().Data().(float32))
	}
	return nil
}

func values(ns gorgonia.Nodes) [][]float32 {
	out := make([][]float32, len(ns))
	for i, n := range ns {
		out[i] = n.Value().Data().([]float32)
	}
	return out
}

// Kind is the checkpoint kind of an aCAE.
const Kind = "acae"

type meta struct {
	Config dcgan.Config `json:"config"`
	State  train.State  `json:"state"`
}

// Save implements train.Model. It writes the weights and BatchNorm
// statistics (not the optimiser state: an aCAE run is not resumable).
func (t *Trainer) Save(path string, st train.State) error {
	return t.Model.save(path, st)
}

// Save writes the model to path.
func (m *Model) Save(path string) error { return m.save(path, train.State{}) }

func (m *Model) save(path string, st train.State) error {
	c := &checkpoint.Checkpoint{Kind: Kind}
	var err error
	if c.Meta, err = json.Marshal(meta{Config: m.GAN.Config, State: st}); err != nil {
		return err
	}
	m.GAN.AddTo(c)
	m.Enc.AddTo(c)
	return checkpoint.Save(path, c)
}

// Load reads a model written by Save.
func Load(path string) (*Model, error) {
	c, err := checkpoint.Load(path)
	if err != nil {
		return nil, err
	}
	if c.Kind != Kind {
		return nil, fmt.Errorf("acae: %q holds a %q checkpoint, not %q", path, c.Kind, Kind)
	}
	var md meta
	if err := json.Unmarshal(c.Meta, &md); err != nil {
		return nil, fmt.Errorf("acae: %q: metadata: %w", path, err)
	}
	if err := dcgan.CheckShapes(c, md.Config, "g", "d", "e"); err != nil {
		return nil, fmt.Errorf("acae: %q: %w", path, err)
	}
	m, err := New(md.Config, 0)
	if err != nil {
		return nil, fmt.Errorf("acae: %q: %w", path, err)
	}
	if err := m.GAN.RestoreFrom(c); err != nil {
		return nil, fmt.Errorf("acae: %q: %w", path, err)
	}
	if err := m.Enc.RestoreFrom(c); err != nil {
		return nil, fmt.Errorf("acae: %q: %w", path, err)
	}
	return m, nil
}

// Scorer scores samples with a trained aCAE (see the package comment).
type Scorer struct {
	Model *Model
	// Lambda is λ of Eq. (6) (0: mapper.DefaultLambda); NoLambda uses
	// λ = 0, as the mapper's NoLambda does.
	Lambda   float64
	NoLambda bool
}

// Columns implements score.Scorer.
func (s *Scorer) Columns() []string { return []string{score.R, score.D, score.A} }

// Score implements score.Scorer.
func (s *Scorer) Score(ctx context.Context, samples []data.Sample) ([]score.Result, error) {
	const bs = 64
	gan := s.Model.GAN
	cfg := gan.Config
	px, fl := cfg.Size*cfg.Size, cfg.FeatureLen()
	lam := mapper.ResolveLambda(s.Lambda, s.NoLambda)
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(bs, 1, cfg.Size, cfg.Size), gorgonia.WithName("x"))
	frozen := dcgan.Mode{NoGrad: nn.NoInputGrad | nn.NoParamGrad}
	code, _, err := gan.Encoder(s.Model.Enc, x, s.Model.Enc.Nodes(g), frozen)
	if err != nil {
		return nil, err
	}
	rec, err := gan.Generator(code, gan.G.Nodes(g), frozen)
	if err != nil {
		return nil, err
	}
	dp := gan.D.Nodes(g)
	_, fx, err := gan.Discriminator(x, dp, frozen)
	if err != nil {
		return nil, err
	}
	_, frec, err := gan.Discriminator(rec, dp, frozen)
	if err != nil {
		return nil, err
	}
	vm := gorgonia.NewTapeMachine(g)
	xT := tensor.New(tensor.WithShape(bs, 1, cfg.Size, cfg.Size), tensor.Of(tensor.Float32))
	buf := xT.Data().([]float32)
	out := make([]score.Result, 0, len(samples))
	for lo := 0; lo < len(samples); lo += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+bs, len(samples))
		clear(buf)
		for i, smp := range samples[lo:hi] {
			if smp.Image.H != cfg.Size || smp.Image.W != cfg.Size {
				return nil, fmt.Errorf("acae: %s is %dx%d, the model takes %dx%d", smp.ID, smp.Image.H, smp.Image.W, cfg.Size, cfg.Size)
			}
			copy(buf[i*px:], smp.Image.Pix)
		}
		if err := gorgonia.Let(x, xT); err != nil {
			return nil, err
		}
		if err := vm.RunAll(); err != nil {
			return nil, fmt.Errorf("acae: %w", err)
		}
		rv := rec.Value().Data().([]float32)
		fv, frv := fx.Value().Data().([]float32), frec.Value().Data().([]float32)
		for i, smp := range samples[lo:hi] {
			recon := data.NewImage(cfg.Size, cfg.Size)
			copy(recon.Pix, rv[i*px:(i+1)*px])
			r, d := 0.0, 0.0
			for j := 0; j < px; j++ {
				r += math.Abs(float64(buf[i*px+j] - recon.Pix[j]))
			}
			for j := i * fl; j < (i+1)*fl; j++ {
				d += math.Abs(float64(fv[j] - frv[j]))
			}
			out = append(out, score.Result{
				ID: smp.ID, Label: smp.Label,
				Scores: map[string]float64{score.R: r, score.D: d, score.A: score.Anomaly(r, d, lam)},
				Recon:  recon, Residual: score.ResidualImage(smp.Image, recon),
				Query: smp.Image, Mask: smp.Mask,
			})
		}
		vm.Reset()
	}
	return out, nil
}
