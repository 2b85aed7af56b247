package dpa

import (
	"encoding/json"
	"fmt"

	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/params"
	"github.com/anogo/anogo/sdk/train"
)

// Kind is the checkpoint kind of this package's files.
const Kind = "dpa"

const (
	stageModel = "model" // Model.Save
	stageTrain = "train" // Trainer.Save
)

type meta struct {
	Config   Config      `json:"config"`
	Features Features    `json:"features"`
	Stage    string      `json:"stage"`
	Train    TrainConfig `json:"train"`
	State    train.State `json:"state"`
	Steps    int         `json:"steps,omitempty"`
}

// The file holds the feature network's weights too, so that a model
// scores as it was trained without the VGG19 file it was trained with.
func (m *Model) checkpoint(fn *FeatureNet, md meta) (*checkpoint.Checkpoint, error) {
	md.Config, md.Features = m.Config, fn.Features
	c := &checkpoint.Checkpoint{Kind: Kind}
	var err error
	if c.Meta, err = json.Marshal(md); err != nil {
		return nil, err
	}
	m.AE.AddTo(c)
	fn.Set.AddTo(c)
	m.History.addTo(c)
	return c, nil
}

// Save writes the autoencoder, the feature network and the training
// settings (no optimiser state) to path, atomically.
func (m *Model) Save(path string, fn *FeatureNet, cfg TrainConfig) error {
	c, err := m.checkpoint(fn, meta{Stage: stageModel, Train: cfg})
	if err != nil {
		return err
	}
	return checkpoint.Save(path, c)
}

// Save implements train.Model: the networks, the current phase's Adam
// state, the step count, the settings and the loop state st.
func (t *Trainer) Save(path string, st train.State) error {
	c, err := t.Model.checkpoint(t.Features, meta{Stage: stageTrain, Train: t.Config, State: st, Steps: t.Steps})
	if err != nil {
		return err
	}
	if t.Opt != nil {
		params.AddAdam(c, "adam", t.Opt, &t.Model.AE)
	}
	return checkpoint.Save(path, c)
}

// Load reads a model written by Model.Save or Trainer.Save: the
// autoencoder and its feature network.
func Load(path string) (*Model, *FeatureNet, error) {
	m, fn, _, _, err := load(path, "")
	return m, fn, err
}

// blankFeatureNet returns f's network with zero weights of the right
// shapes, to restore into.
func blankFeatureNet(f Features) *FeatureNet {
	fn := &FeatureNet{Features: f}
	for _, s := range fn.shapes() {
		n := s.w[0] * s.w[1] * 9
		fn.Set.Add(s.name+".weight", tensor.New(tensor.WithShape(s.w...), tensor.WithBacking(make([]float32, n))))
		fn.Set.Add(s.name+".bias", zeros(s.w[0]))
	}
	return fn
}

func load(path, stage string) (*Model, *FeatureNet, *checkpoint.Checkpoint, meta, error) {
	var md meta
	c, err := checkpoint.Load(path)
	if err != nil {
		return nil, nil, nil, md, err
	}
	if c.Kind != Kind {
		return nil, nil, nil, md, fmt.Errorf("dpa: %q holds a %q checkpoint, not %q", path, c.Kind, Kind)
	}
	if err := json.Unmarshal(c.Meta, &md); err != nil {
		return nil, nil, nil, md, fmt.Errorf("dpa: %q: metadata: %w", path, err)
	}
	if stage != "" && md.Stage != stage {
		return nil, nil, nil, md, fmt.Errorf("dpa: %q was written in stage %q, not %q", path, md.Stage, stage)
	}
	if err := md.Config.Validate(); err != nil {
		return nil, nil, nil, md, fmt.Errorf("dpa: %q: %w", path, err)
	}
	m, err := New(md.Config, 0)
	if err != nil {
		return nil, nil, nil, md, err
	}
	if err := m.AE.RestoreFrom(c); err != nil {
		return nil, nil, nil, md, fmt.Errorf("dpa: %q says %v: %w", path, md.Config, err)
	}
	fn := blankFeatureNet(md.Features)
	if err := fn.Set.RestoreFrom(c); err != nil {
		return nil, nil, nil, md, fmt.Errorf("dpa: %q: feature network %v: %w", path, md.Features, err)
	}
	if m.History, err = restoreHistory(c); err != nil {
		return nil, nil, nil, md, fmt.Errorf("dpa: %q: %w", path, err)
	}
	return m, fn, c, md, nil
}

// ResumeTrainer reads a checkpoint written by Trainer.Save and returns a
// trainer in the same state and the loop state to pass to train.Run. A
// checkpoint of another configuration than want (unless want is zero) is
// refused.
func ResumeTrainer(path string, want Config) (*Trainer, train.State, error) {
	m, fn, c, md, err := load(path, stageTrain)
	if err != nil {
		return nil, train.State{}, err
	}
	if want != (Config{}) && want != md.Config {
		return nil, train.State{}, fmt.Errorf("dpa: %q was trained as %v, not %v: refusing to resume", path, md.Config, want)
	}
	t, err := NewTrainer(m, fn, md.Train)
	if err != nil {
		return nil, train.State{}, fmt.Errorf("dpa: %q: %w", path, err)
	}
	t.Steps = md.Steps
	if _, ok := c.Get("adam.t"); ok {
		t.Opt = newAdam(md.Train)
		if err := params.RestoreAdam(c, "adam", t.Opt, &m.AE); err != nil {
			return nil, train.State{}, fmt.Errorf("dpa: %q: %w", path, err)
		}
	}
	return t, md.State, nil
}
