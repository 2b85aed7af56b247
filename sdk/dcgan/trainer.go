package dcgan

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/nn"
	"github.com/anogo/anogo/sdk/optim"
	"github.com/anogo/anogo/sdk/params"
	"github.com/anogo/anogo/sdk/train"
)

// TrainConfig holds the optimiser settings of adversarial training.
type TrainConfig struct {
	// LR and Beta1 are Adam's learning rate and first-moment decay
	// (DCGAN: 2e-4 and 0.5; 0 is a valid β1, WGAN-GP's). Beta2 is the
	// second-moment decay; 0 means 0.999 (Adam's and DCGAN's), WGAN-GP
	// uses 0.9.
	LR    float64 `json:"lr"`
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2,omitempty"`
	// BatchSize is the number of real images per step.
	BatchSize int `json:"batch_size"`
	// Seed seeds the sampling of z.
	Seed uint64 `json:"seed"`
}

// Adam returns a new Adam optimiser with c's learning rate, β1 (as given,
// 0 included) and β2 (0: 0.999).
func (c TrainConfig) Adam() *optim.Adam {
	beta2 := c.Beta2
	if beta2 == 0 {
		beta2 = 0.999
	}
	return optim.NewAdamBetas(c.LR, c.Beta1, beta2)
}

// DefaultTrainConfig returns DCGAN's settings: Adam with learning rate 2e-4
// and β1 = 0.5, batches of 64.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{LR: 2e-4, Beta1: 0.5, BatchSize: 64, Seed: 1}
}

// Trainer runs adversarial training of a Model (Sec. 2.1, Eq. 1) and
// implements train.Model.
//
// One step is a discriminator step, then a generator step, as in the
// DCGAN code the paper adapted: D minimises
// BCE(D(x), 1) + BCE(D(G(z)), 0), the minimax value of Eq. (1), and G
// minimises BCE(D(G(z)), 1), the non-saturating form of Eq. (2), on the
// same z. Both networks are in train mode (batch statistics).
//
// The step is one graph: G(z) is computed once; D runs on the real batch
// and on the fake one (not differentiated into G), Adam updates D inside
// the graph as soon as D's gradients are there, and the G step then runs
// the updated D on the same fake batch and differentiates through it into
// G (D's weights frozen). This is PyTorch's recipe, fake.detach() for the D
// step, without a second forward pass of G.
type Trainer struct {
	Model  *Model
	Config TrainConfig
	// OptG and OptD hold the Adam state of G and D.
	OptG, OptD *optim.Adam
	// ZSource draws z; its state is saved in checkpoints.
	ZSource *rand.PCG

	z []float32
	s step
}

// step is the compiled graph of a training step with its inputs, G's
// gradients and the losses.
type step struct {
	graph  *gorgonia.ExprGraph
	vm     gorgonia.VM
	zIn    *gorgonia.Node
	xIn    *gorgonia.Node
	grads  gorgonia.Nodes
	losses map[string]*gorgonia.Node
	zT, xT *tensor.Dense
	gvals  [][]float32
}

// NewTrainer returns a trainer for m.
func NewTrainer(m *Model, cfg TrainConfig) (*Trainer, error) {
	if cfg.BatchSize <= 0 {
		return nil, fmt.Errorf("dcgan: batch size %d", cfg.BatchSize)
	}
	t := &Trainer{
		Model:   m,
		Config:  cfg,
		OptG:    cfg.Adam(),
		OptD:    cfg.Adam(),
		ZSource: rand.NewPCG(cfg.Seed, 0xda3e39cb94b95bdb),
	}
	if err := t.build(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Trainer) build() error {
	m, n := t.Model, t.Config.BatchSize
	s := m.Config.Size
	t.z = make([]float32, n*m.Config.Latent)

	g := gorgonia.NewGraph()
	st := &t.s
	st.graph = g
	st.zIn = gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(n, m.Config.Latent), gorgonia.WithName("z"))
	st.xIn = gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, s, s), gorgonia.WithName("x"))
	gp, dp := m.G.Nodes(g), m.D.Nodes(g)
	fake, err := m.Generator(st.zIn, gp, Mode{Train: true, NoGrad: nn.NoInputGrad})
	if err != nil {
		return err
	}

	// Discriminator step: real and fake batches through D separately
	// (BatchNorm statistics per batch); the fake batch is data here.
	lr, _, err := m.Discriminator(st.xIn, dp, Mode{Train: true, NoGrad: nn.NoInputGrad})
	if err != nil {
		return err
	}
	lf, _, err := m.Discriminator(fake, dp, Mode{Train: true, NoGrad: nn.NoInputGrad})
	if err != nil {
		return err
	}
	real, err := MeanBCE(lr, 1)
	if err != nil {
		return err
	}
	fk, err := MeanBCE(lf, 0)
	if err != nil {
		return err
	}
	lossD, err := gorgonia.Add(real, fk)
	if err != nil {
		return err
	}
	dgrads, err := gorgonia.Grad(lossD, dp...)
	if err != nil {
		return fmt.Errorf("dcgan: discriminator gradients: %w", err)
	}
	dNew, err := updatedAfter(t.OptD, &m.D, dp, dgrads)
	if err != nil {
		return err
	}

	// Generator step: the updated D, weights frozen, on the same fake
	// batch; the gradient flows through D into G.
	lg, _, err := m.Discriminator(fake, dNew, Mode{Train: true, NoGrad: nn.NoParamGrad})
	if err != nil {
		return err
	}
	lossG, err := MeanBCE(lg, 1)
	if err != nil {
		return err
	}
	if st.grads, err = gorgonia.Grad(lossG, gp...); err != nil {
		return fmt.Errorf("dcgan: generator gradients: %w", err)
	}
	st.losses = map[string]*gorgonia.Node{"loss_d": lossD, "loss_d_real": real, "loss_d_fake": fk, "loss_g": lossG}
	st.vm = gorgonia.NewTapeMachine(g)
	st.zT = tensor.New(tensor.WithShape(n, m.Config.Latent), tensor.WithBacking(t.z))
	st.xT = tensor.New(tensor.WithShape(n, 1, s, s), tensor.Of(tensor.Float32))
	st.gvals = make([][]float32, len(st.grads))
	return nil
}

// MeanBCE is the batch mean of the binary cross-entropy of sigmoid(logit)
// against target: the adversarial losses of Eqs. (1) and (2).
func MeanBCE(logit *gorgonia.Node, target float32) (*gorgonia.Node, error) {
	l, err := nn.BCEWithLogits(logit, target)
	if err != nil {
		return nil, err
	}
	return gorgonia.Mean(l)
}

// Step implements train.Model: one D step and one G step on a batch of n
// real images (n must equal the configured batch size).
func (t *Trainer) Step(batch []float32, n int) (map[string]float64, error) {
	if n != t.Config.BatchSize {
		return nil, fmt.Errorf("dcgan: batch of %d, trainer built for %d", n, t.Config.BatchSize)
	}
	rng := rand.New(t.ZSource)
	SampleZ(rng, t.z)
	st := &t.s
	copy(st.xT.Data().([]float32), batch)
	defer st.vm.Reset()
	if err := gorgonia.Let(st.zIn, st.zT); err != nil {
		return nil, err
	}
	if err := gorgonia.Let(st.xIn, st.xT); err != nil {
		return nil, err
	}
	// The run updates D (OptD) in the middle of the graph.
	if err := st.vm.RunAll(); err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for name, n := range st.losses {
		out[name] = scalar(n.Value())
	}
	for i, g := range st.grads {
		st.gvals[i] = g.Value().Data().([]float32)
	}
	if err := t.OptG.Update(t.Model.G.Values(), st.gvals); err != nil {
		return nil, err
	}
	return out, nil
}

func scalar(v gorgonia.Value) float64 {
	switch x := v.Data().(type) {
	case float32:
		return float64(x)
	case []float32:
		return float64(x[0])
	case float64:
		return x
	}
	return 0
}

// Kind is the checkpoint kind of a DCGAN.
const Kind = "dcgan"

type meta struct {
	Config      Config      `json:"config"`
	TrainConfig TrainConfig `json:"train"`
	State       train.State `json:"state"`
	ZSource     []byte      `json:"z_source"`
	AdamG       int         `json:"adam_g_t"`
	AdamD       int         `json:"adam_d_t"`
}

// Save implements train.Model: it writes the weights, the BatchNorm
// statistics, both optimisers' state, the configuration, the z sampler's
// state and the loop state st to path, atomically.
func (t *Trainer) Save(path string, st train.State) error {
	zs, err := t.ZSource.MarshalBinary()
	if err != nil {
		return err
	}
	md := meta{Config: t.Model.Config, TrainConfig: t.Config, State: st, ZSource: zs, AdamG: t.OptG.T, AdamD: t.OptD.T}
	c := t.Model.checkpoint()
	if c.Meta, err = json.Marshal(md); err != nil {
		return err
	}
	params.AddAdam(c, "adam_g", t.OptG, &t.Model.G)
	params.AddAdam(c, "adam_d", t.OptD, &t.Model.D)
	return checkpoint.Save(path, c)
}

// checkpoint returns the model's weights and BatchNorm statistics.
func (m *Model) checkpoint() *checkpoint.Checkpoint {
	c := &checkpoint.Checkpoint{Kind: Kind}
	m.AddTo(c)
	return c
}

// AddTo adds the model's weights and BatchNorm statistics to c, named as
// in a DCGAN checkpoint (Net.AddTo); RestoreFrom reads them back. Models
// built on a DCGAN (package acae) use them for their own checkpoints.
func (m *Model) AddTo(c *checkpoint.Checkpoint) {
	m.G.AddTo(c)
	m.D.AddTo(c)
}

// CheckShapes checks, before a model is built, that the configuration a
// checkpoint states agrees with its tensors: the linear layers of the
// networks named by prefixes ("g" the generator, "d" a discriminator, "e"
// an encoder) must have the shapes cfg gives them, which depend on its
// size, width and latent size. An edited configuration (width 512 in a
// width-8 file) is then an error naming the tensor, not gigabytes
// allocated for weights the file does not hold.
func CheckShapes(c *checkpoint.Checkpoint, cfg Config, prefixes ...string) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	s0, l := cfg.Base()
	ch := cfg.Channels()
	shapes := map[string][]int{
		"g": {ch[l-1] * s0 * s0, cfg.Latent},
		"d": {1, cfg.FeatureLen()},
		"e": {cfg.Latent, cfg.FeatureLen()},
	}
	want := map[string][]int{}
	for _, p := range prefixes {
		want[p+".fc.w"] = shapes[p]
	}
	if err := c.Expect(want); err != nil {
		return fmt.Errorf("the checkpoint says %v: %w", cfg, err)
	}
	return nil
}

// Save writes the model alone (no optimiser state) to path.
func (m *Model) Save(path string) error {
	c := m.checkpoint()
	var err error
	if c.Meta, err = json.Marshal(meta{Config: m.Config}); err != nil {
		return err
	}
	return checkpoint.Save(path, c)
}

// Load reads a model written by Model.Save or Trainer.Save.
func Load(path string) (*Model, error) {
	m, _, _, err := load(path)
	return m, err
}

func load(path string) (*Model, *checkpoint.Checkpoint, meta, error) {
	var md meta
	c, err := checkpoint.Load(path)
	if err != nil {
		return nil, nil, md, err
	}
	if c.Kind != Kind {
		return nil, nil, md, fmt.Errorf("dcgan: %q holds a %q checkpoint, not %q", path, c.Kind, Kind)
	}
	if err := json.Unmarshal(c.Meta, &md); err != nil {
		return nil, nil, md, fmt.Errorf("dcgan: %q: metadata: %w", path, err)
	}
	if err := CheckShapes(c, md.Config, "g", "d"); err != nil {
		return nil, nil, md, fmt.Errorf("dcgan: %q: %w", path, err)
	}
	m, err := New(md.Config, 0)
	if err != nil {
		return nil, nil, md, fmt.Errorf("dcgan: %q: %w", path, err)
	}
	if err := m.RestoreFrom(c); err != nil {
		return nil, nil, md, fmt.Errorf("dcgan: %q: %w", path, err)
	}
	return m, c, md, nil
}

// RestoreFrom sets the model's weights and BatchNorm statistics from c.
func (m *Model) RestoreFrom(c *checkpoint.Checkpoint) error {
	if err := m.G.RestoreFrom(c); err != nil {
		return err
	}
	return m.D.RestoreFrom(c)
}

// Resume reads a checkpoint written by Trainer.Save and returns a trainer
// in the same state and the loop state to pass to train.Run. If want is not
// the zero Config, a checkpoint of another configuration is refused.
func Resume(path string, want Config) (*Trainer, train.State, error) {
	m, c, md, err := load(path)
	if err != nil {
		return nil, train.State{}, err
	}
	if want != (Config{}) && want != md.Config {
		return nil, train.State{}, fmt.Errorf("dcgan: %q was trained as %v, not %v: refusing to resume", path, md.Config, want)
	}
	t, err := NewTrainer(m, md.TrainConfig)
	if err != nil {
		return nil, train.State{}, fmt.Errorf("dcgan: %q: %w", path, err)
	}
	if len(md.ZSource) > 0 {
		if err := t.ZSource.UnmarshalBinary(md.ZSource); err != nil {
			return nil, train.State{}, fmt.Errorf("dcgan: %q: z sampler state: %w", path, err)
		}
	}
	// The step counts are also in the metadata, where files written before
	// params.AddAdam saved them alone.
	t.OptG.T, t.OptD.T = md.AdamG, md.AdamD
	if err := params.RestoreAdam(c, "adam_g", t.OptG, &m.G); err != nil {
		return nil, train.State{}, fmt.Errorf("dcgan: %q: %w", path, err)
	}
	if err := params.RestoreAdam(c, "adam_d", t.OptD, &m.D); err != nil {
		return nil, train.State{}, fmt.Errorf("dcgan: %q: %w", path, err)
	}
	return t, md.State, nil
}
