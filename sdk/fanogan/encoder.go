package fanogan

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/optim"
)

// The encoder training losses of f-AnoGAN (Schlegl et al. 2019, Sec. 2.3).
const (
	// IZIf is image-to-image with the critic's features: the residual of
	// x and G(E(x)) plus κ times that of f(x) and f(G(E(x))) (Eq. 7), the
	// paper's choice.
	IZIf = "izif"
	// IZI is IZIf with κ = 0: the image residual alone (Eq. 6).
	IZI = "izi"
	// ZIZ is latent-to-latent: the residual of z and E(G(z)) on generated
	// images only (Eq. 5).
	ZIZ = "ziz"
)

// EncoderConfig holds the settings of the encoder's training, with G and D
// frozen (G's BatchNorm in eval mode).
type EncoderConfig struct {
	// Loss is IZIf (the default, ""), IZI or ZIZ.
	Loss string `json:"loss"`
	// Kappa weighs the feature residual of IZIf and of the anomaly score
	// (1).
	Kappa float64 `json:"kappa"`
	// LR is RMSProp's learning rate (5e-5).
	LR float64 `json:"lr"`
	// BatchSize is the number of images per step (64).
	BatchSize int `json:"batch_size"`
	// Seed seeds the z of ZIZ.
	Seed uint64 `json:"seed"`
}

// DefaultEncoderConfig returns the settings of the authors' code: izi_f
// with κ = 1, RMSProp with learning rate 5e-5, batches of 64.
func DefaultEncoderConfig() EncoderConfig {
	return EncoderConfig{Loss: IZIf, Kappa: 1, LR: 5e-5, BatchSize: 64, Seed: 1}
}

func (c EncoderConfig) loss() (string, error) {
	switch c.Loss {
	case "", IZIf:
		return IZIf, nil
	case IZI, ZIZ:
		return c.Loss, nil
	}
	return "", fmt.Errorf("fanogan: encoder loss %q (izif, izi or ziz)", c.Loss)
}

// EncoderTrainer trains E with G and D frozen and implements train.Model:
// one Step is one RMSProp step on a batch (ZIZ draws its own batch of z and
// ignores the images).
type EncoderTrainer struct {
	Model  *Model
	Config EncoderConfig
	Opt    *optim.RMSProp
	// Rand draws the z of ZIZ; its state is saved in checkpoints.
	Rand *rand.PCG

	loss  string
	vm    gorgonia.VM
	in    *gorgonia.Node // x, or z for ZIZ
	inT   *tensor.Dense
	out   *gorgonia.Node
	grads gorgonia.Nodes
	gv    [][]float32
}

// NewEncoderTrainer returns an encoder trainer for m's E.
func NewEncoderTrainer(m *Model, cfg EncoderConfig) (*EncoderTrainer, error) {
	loss, err := cfg.loss()
	if err != nil {
		return nil, err
	}
	if cfg.BatchSize <= 0 {
		return nil, fmt.Errorf("fanogan: batch size %d", cfg.BatchSize)
	}
	if cfg.LR <= 0 || math.IsNaN(cfg.LR) || cfg.Kappa < 0 || math.IsNaN(cfg.Kappa) {
		return nil, fmt.Errorf("fanogan: encoder learning rate %v, κ %v", cfg.LR, cfg.Kappa)
	}
	t := &EncoderTrainer{Model: m, Config: cfg, Opt: optim.NewRMSProp(cfg.LR), Rand: rand.NewPCG(cfg.Seed, 0xbb67ae8584caa73b), loss: loss}
	if err := t.build(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *EncoderTrainer) build() error {
	m, n, s := t.Model, t.Config.BatchSize, t.Model.Config.Size
	g := gorgonia.NewGraph()
	ep := m.E.Nodes(g)
	gp := m.G.Nodes(g)
	var err error
	if t.loss == ZIZ {
		t.in = gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(n, m.Config.Latent), gorgonia.WithName("z"))
		t.inT = tensor.New(tensor.WithShape(n, m.Config.Latent), tensor.Of(tensor.Float32))
		if t.out, err = m.zizLoss(t.in, ep, gp); err != nil {
			return err
		}
	} else {
		t.in = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, s, s), gorgonia.WithName("x"))
		t.inT = tensor.New(tensor.WithShape(n, 1, s, s), tensor.Of(tensor.Float32))
		if t.out, err = m.residuals(t.in, ep, gp, m.D.Nodes(g), true, t.kappa()); err != nil {
			return err
		}
	}
	if t.grads, err = gorgonia.Grad(t.out, ep...); err != nil {
		return fmt.Errorf("fanogan: encoder gradients: %w", err)
	}
	t.vm = gorgonia.NewTapeMachine(g)
	t.gv = make([][]float32, len(t.grads))
	return nil
}

func (t *EncoderTrainer) kappa() float64 {
	if t.loss == IZI {
		return 0
	}
	return t.Config.Kappa
}

// zizLoss adds the ziz loss of the codes z to the graph (Schlegl et al.
// 2019, Eq. 5): mean (z - E(G(z)))² over the batch and the code, G in eval
// mode, E in train mode and differentiated.
func (m *Model) zizLoss(z *gorgonia.Node, ep, gp gorgonia.Nodes) (*gorgonia.Node, error) {
	x, err := m.Generator(z, gp, false, noGradAll)
	if err != nil {
		return nil, err
	}
	ez, err := m.Encoder(x, ep, true, nn.NoInputGrad)
	if err != nil {
		return nil, err
	}
	r, err := nn.SquaredDiffMean(ez, z, nn.NoParamGrad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Mean(r)
}

// residuals adds the izi_f loss of the batch x to the graph (Schlegl et al.
// 2019, Eq. 7, averaged over the batch):
//
//	L = mean_i [ 1/n ‖x_i - G(E(x_i))‖² + κ/n_d ‖f(x_i) - f(G(E(x_i)))‖² ]
//
// with n pixels and n_d features; κ = 0 drops the critic (izi). E runs in
// train mode when train is set, G in eval mode, and only E is
// differentiated.
func (m *Model) residuals(x *gorgonia.Node, ep, gp, dp gorgonia.Nodes, train bool, kappa float64) (*gorgonia.Node, error) {
	z, err := m.Encoder(x, ep, train, nn.NoInputGrad)
	if err != nil {
		return nil, err
	}
	xr, err := m.Generator(z, gp, false, nn.NoParamGrad)
	if err != nil {
		return nil, err
	}
	r, err := nn.SquaredDiffMean(xr, x, nn.NoParamGrad)
	if err != nil {
		return nil, err
	}
	loss, err := gorgonia.Mean(r)
	if err != nil || kappa == 0 {
		return loss, err
	}
	_, fx, _, err := m.Critic(x, dp, nil, noGradAll)
	if err != nil {
		return nil, err
	}
	_, fr, _, err := m.Critic(xr, dp, nil, nn.NoParamGrad)
	if err != nil {
		return nil, err
	}
	fd, err := nn.SquaredDiffMean(fr, fx, nn.NoParamGrad)
	if err != nil {
		return nil, err
	}
	fm, err := gorgonia.Mean(fd)
	if err != nil {
		return nil, err
	}
	k := gorgonia.NewConstant(float32(kappa))
	if fm, err = gorgonia.Mul(fm, k); err != nil {
		return nil, err
	}
	return gorgonia.Add(loss, fm)
}

// Step implements train.Model; the loss is "loss_e".
func (t *EncoderTrainer) Step(batch []float32, n int) (map[string]float64, error) {
	if n != t.Config.BatchSize {
		return nil, fmt.Errorf("fanogan: batch of %d, encoder trainer built for %d", n, t.Config.BatchSize)
	}
	if t.loss == ZIZ {
		SampleZ(rand.New(t.Rand), f32s(t.inT))
	} else {
		if len(batch) != len(f32s(t.inT)) {
			return nil, fmt.Errorf("fanogan: %d values for %d images", len(batch), n)
		}
		copy(f32s(t.inT), batch)
	}
	defer t.vm.Reset()
	if err := gorgonia.Let(t.in, t.inT); err != nil {
		return nil, err
	}
	if err := t.vm.RunAll(); err != nil {
		return nil, err
	}
	loss := float64(scalar(t.out.Value()))
	for i, g := range t.grads {
		t.gv[i] = f32s(g.Value())
	}
	if err := t.Opt.Update(t.Model.E.Values(), t.gv); err != nil {
		return nil, err
	}
	out := map[string]float64{"loss_e": loss}
	t.Model.EncoderHistory.Add(out)
	return out, nil
}
