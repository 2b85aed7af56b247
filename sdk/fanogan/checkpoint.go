package fanogan

import (
	"encoding/json"
	"fmt"

	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/params"
	"github.com/anogo/anogo/sdk/train"
)

// Kind is the checkpoint kind of f-AnoGAN's files.
const Kind = "fanogan"

// The checkpoint name prefixes of the training records.
const (
	historyWGAN    = "history.wgan."
	historyEncoder = "history.encoder."
)

// The stages a checkpoint was written in.
const (
	stageModel   = "model"   // Model.Save: the networks alone
	stageWGAN    = "wgan"    // Trainer.Save
	stageEncoder = "encoder" // EncoderTrainer.Save
)

type meta struct {
	Config  Config         `json:"config"`
	Stage   string         `json:"stage"`
	Train   *TrainConfig   `json:"train,omitempty"`
	Encoder *EncoderConfig `json:"encoder,omitempty"`
	State   train.State    `json:"state"`
	Rand    []byte         `json:"rand,omitempty"`
	// CriticSteps and GSteps are the WGAN-GP trainer's counters.
	CriticSteps int `json:"critic_steps,omitempty"`
	GSteps      int `json:"g_steps,omitempty"`
}

func (m *Model) checkpoint(md meta) (*checkpoint.Checkpoint, error) {
	md.Config = m.Config
	c := &checkpoint.Checkpoint{Kind: Kind}
	var err error
	if c.Meta, err = json.Marshal(md); err != nil {
		return nil, err
	}
	m.G.AddTo(c)
	m.D.AddTo(c)
	m.E.AddTo(c)
	m.WGANHistory.AddTo(c, historyWGAN)
	m.EncoderHistory.AddTo(c, historyEncoder)
	return c, nil
}

// Save writes the three networks (no optimiser state) to path, atomically.
func (m *Model) Save(path string) error {
	c, err := m.checkpoint(meta{Stage: stageModel})
	if err != nil {
		return err
	}
	return checkpoint.Save(path, c)
}

// Save implements train.Model: the networks, both Adam states, the random
// source, the step counters, the settings and the loop state st.
func (t *Trainer) Save(path string, st train.State) error {
	rs, err := t.Rand.MarshalBinary()
	if err != nil {
		return err
	}
	cfg := t.Config
	c, err := t.Model.checkpoint(meta{Stage: stageWGAN, Train: &cfg, State: st, Rand: rs, CriticSteps: t.CriticSteps, GSteps: t.GSteps})
	if err != nil {
		return err
	}
	params.AddAdam(c, "adam_g", t.OptG, &t.Model.G)
	params.AddAdam(c, "adam_d", t.OptD, &t.Model.D)
	return checkpoint.Save(path, c)
}

// Save implements train.Model: the networks, RMSProp's state, the random
// source, the settings and the loop state st.
func (t *EncoderTrainer) Save(path string, st train.State) error {
	rs, err := t.Rand.MarshalBinary()
	if err != nil {
		return err
	}
	cfg := t.Config
	c, err := t.Model.checkpoint(meta{Stage: stageEncoder, Encoder: &cfg, State: st, Rand: rs})
	if err != nil {
		return err
	}
	params.AddRMSProp(c, "rmsprop_e", t.Opt, &t.Model.E)
	return checkpoint.Save(path, c)
}

// Load reads the networks from a file written by Model.Save or either
// trainer's Save.
func Load(path string) (*Model, error) {
	m, _, _, err := load(path, "")
	return m, err
}

// load reads path, which must be of stage (any when empty), checks its
// tensors' shapes against its configuration before building anything, and
// restores the networks.
func load(path, stage string) (*Model, *checkpoint.Checkpoint, meta, error) {
	var md meta
	c, err := checkpoint.Load(path)
	if err != nil {
		return nil, nil, md, err
	}
	if c.Kind != Kind {
		return nil, nil, md, fmt.Errorf("fanogan: %q holds a %q checkpoint, not %q", path, c.Kind, Kind)
	}
	if err := json.Unmarshal(c.Meta, &md); err != nil {
		return nil, nil, md, fmt.Errorf("fanogan: %q: metadata: %w", path, err)
	}
	if stage != "" && md.Stage != stage {
		return nil, nil, md, fmt.Errorf("fanogan: %q was written in stage %q, not %q", path, md.Stage, stage)
	}
	cfg := md.Config
	if err := cfg.Validate(); err != nil {
		return nil, nil, md, fmt.Errorf("fanogan: %q: %w", path, err)
	}
	s0, _ := cfg.Base()
	want := map[string][]int{
		"G.input.weight":  {cfg.generatorChannels()[0] * s0 * s0, cfg.Latent},
		"D.output.weight": {1, cfg.FeatureLen()},
		"E.output.weight": {cfg.Latent, cfg.FeatureLen()},
		"D.input.weight":  {cfg.Width, 1, 3, 3},
	}
	if err := c.Expect(want); err != nil {
		return nil, nil, md, fmt.Errorf("fanogan: %q says %v: %w", path, cfg, err)
	}
	m, err := New(cfg, 0)
	if err != nil {
		return nil, nil, md, err
	}
	for _, s := range []*params.Set{&m.G, &m.D, &m.E} {
		if err := s.RestoreFrom(c); err != nil {
			return nil, nil, md, fmt.Errorf("fanogan: %q: %w", path, err)
		}
	}
	if m.WGANHistory, err = train.RestoreHistory(c, historyWGAN); err != nil {
		return nil, nil, md, fmt.Errorf("fanogan: %q: %w", path, err)
	}
	if m.EncoderHistory, err = train.RestoreHistory(c, historyEncoder); err != nil {
		return nil, nil, md, fmt.Errorf("fanogan: %q: %w", path, err)
	}
	return m, c, md, nil
}

// ResumeTrainer reads a checkpoint written by Trainer.Save and returns a
// trainer in the same state and the loop state to pass to train.Run. A
// checkpoint of another configuration than want (unless want is zero) is
// refused.
func ResumeTrainer(path string, want Config) (*Trainer, train.State, error) {
	m, c, md, err := load(path, stageWGAN)
	if err != nil {
		return nil, train.State{}, err
	}
	if want != (Config{}) && want != md.Config {
		return nil, train.State{}, fmt.Errorf("fanogan: %q was trained as %v, not %v: refusing to resume", path, md.Config, want)
	}
	if md.Train == nil {
		return nil, train.State{}, fmt.Errorf("fanogan: %q has no training settings", path)
	}
	t, err := NewTrainer(m, *md.Train)
	if err != nil {
		return nil, train.State{}, fmt.Errorf("fanogan: %q: %w", path, err)
	}
	if err := t.Rand.UnmarshalBinary(md.Rand); err != nil {
		return nil, train.State{}, fmt.Errorf("fanogan: %q: random source: %w", path, err)
	}
	t.CriticSteps, t.GSteps = md.CriticSteps, md.GSteps
	if err := params.RestoreAdam(c, "adam_g", t.OptG, &m.G); err != nil {
		return nil, train.State{}, fmt.Errorf("fanogan: %q: %w", path, err)
	}
	if err := params.RestoreAdam(c, "adam_d", t.OptD, &m.D); err != nil {
		return nil, train.State{}, fmt.Errorf("fanogan: %q: %w", path, err)
	}
	return t, md.State, nil
}

// ResumeEncoder reads a checkpoint written by EncoderTrainer.Save and
// returns a trainer in the same state and the loop state.
func ResumeEncoder(path string, want Config) (*EncoderTrainer, train.State, error) {
	m, c, md, err := load(path, stageEncoder)
	if err != nil {
		return nil, train.State{}, err
	}
	if want != (Config{}) && want != md.Config {
		return nil, train.State{}, fmt.Errorf("fanogan: %q was trained as %v, not %v: refusing to resume", path, md.Config, want)
	}
	if md.Encoder == nil {
		return nil, train.State{}, fmt.Errorf("fanogan: %q has no encoder settings", path)
	}
	t, err := NewEncoderTrainer(m, *md.Encoder)
	if err != nil {
		return nil, train.State{}, fmt.Errorf("fanogan: %q: %w", path, err)
	}
	if err := t.Rand.UnmarshalBinary(md.Rand); err != nil {
		return nil, train.State{}, fmt.Errorf("fanogan: %q: random source: %w", path, err)
	}
	if err := params.RestoreRMSProp(c, "rmsprop_e", t.Opt, &m.E); err != nil {
		return nil, train.State{}, fmt.Errorf("fanogan: %q: %w", path, err)
	}
	return t, md.State, nil
}
