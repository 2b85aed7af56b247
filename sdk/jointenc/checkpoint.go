package jointenc

import (
	"encoding/json"
	"fmt"

	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/params"
	"github.com/anogo/anogo/sdk/train"
)

// Kind is the checkpoint kind of this package's files.
const Kind = "jointenc"

const (
	stageModel = "model" // Model.Save
	stageTrain = "train" // Trainer.Save
)

const historyPrefix = "history."

type meta struct {
	Config Config       `json:"config"`
	Stage  string       `json:"stage"`
	Train  *TrainConfig `json:"train,omitempty"`
	State  train.State  `json:"state"`
	Rand   []byte       `json:"rand,omitempty"`
	Steps  int          `json:"steps,omitempty"`
	Norms  *NormStats   `json:"norms,omitempty"`
}

func (m *Model) checkpoint(md meta) (*checkpoint.Checkpoint, error) {
	md.Config, md.Norms = m.Config, m.Norms
	c := &checkpoint.Checkpoint{Kind: Kind}
	var err error
	if c.Meta, err = json.Marshal(md); err != nil {
		return nil, err
	}
	m.G.AddTo(c)
	m.D.AddTo(c)
	m.E.AddTo(c)
	m.History.AddTo(c, historyPrefix)
	return c, nil
}

// Save writes the three networks' stored weights (no optimiser state) to
// path, atomically.
func (m *Model) Save(path string) error {
	c, err := m.checkpoint(meta{Stage: stageModel})
	if err != nil {
		return err
	}
	return checkpoint.Save(path, c)
}

// Save implements train.Model: the networks, the current phase's three
// Adam states, the random source, the step count, the settings and the
// loop state st.
func (t *Trainer) Save(path string, st train.State) error {
	rs, err := t.Rand.MarshalBinary()
	if err != nil {
		return err
	}
	cfg := t.Config
	c, err := t.Model.checkpoint(meta{Stage: stageTrain, Train: &cfg, State: st, Rand: rs, Steps: t.Steps})
	if err != nil {
		return err
	}
	if t.OptD != nil {
		params.AddAdam(c, "adam_g", t.OptG, &t.Model.G)
		params.AddAdam(c, "adam_d", t.OptD, &t.Model.D)
		params.AddAdam(c, "adam_e", t.OptE, &t.Model.E)
	}
	return checkpoint.Save(path, c)
}

// Load reads the networks from a file written by Model.Save or
// Trainer.Save.
func Load(path string) (*Model, error) {
	m, _, _, err := load(path, "")
	return m, err
}

func load(path, stage string) (*Model, *checkpoint.Checkpoint, meta, error) {
	var md meta
	c, err := checkpoint.Load(path)
	if err != nil {
		return nil, nil, md, err
	}
	if c.Kind != Kind {
		return nil, nil, md, fmt.Errorf("jointenc: %q holds a %q checkpoint, not %q", path, c.Kind, Kind)
	}
	if err := json.Unmarshal(c.Meta, &md); err != nil {
		return nil, nil, md, fmt.Errorf("jointenc: %q: metadata: %w", path, err)
	}
	if stage != "" && md.Stage != stage {
		return nil, nil, md, fmt.Errorf("jointenc: %q was written in stage %q, not %q", path, md.Stage, stage)
	}
	if err := md.Config.Validate(); err != nil {
		return nil, nil, md, fmt.Errorf("jointenc: %q: %w", path, err)
	}
	m, err := New(md.Config, 0)
	if err != nil {
		return nil, nil, md, err
	}
	for _, s := range []*params.Set{&m.G, &m.D, &m.E} {
		if err := s.RestoreFrom(c); err != nil {
			return nil, nil, md, fmt.Errorf("jointenc: %q says %v: %w", path, md.Config, err)
		}
	}
	m.Sync()
	if md.Norms != nil {
		if err := md.Norms.validate(); err != nil {
			return nil, nil, md, fmt.Errorf("jointenc: %q: %w", path, err)
		}
		m.Norms = md.Norms
	}
	if m.History, err = train.RestoreHistory(c, historyPrefix); err != nil {
		return nil, nil, md, fmt.Errorf("jointenc: %q: %w", path, err)
	}
	return m, c, md, nil
}

// ResumeTrainer reads a checkpoint written by Trainer.Save and returns a
// trainer in the same state and the loop state to pass to train.Run. A
// checkpoint of another configuration than want (unless want is zero) is
// refused.
func ResumeTrainer(path string, want Config) (*Trainer, train.State, error) {
	m, c, md, err := load(path, stageTrain)
	if err != nil {
		return nil, train.State{}, err
	}
	if want != (Config{}) && want != md.Config {
		return nil, train.State{}, fmt.Errorf("jointenc: %q was trained as %v, not %v: refusing to resume", path, md.Config, want)
	}
	if md.Train == nil {
		return nil, train.State{}, fmt.Errorf("jointenc: %q has no training settings", path)
	}
	t, err := NewTrainer(m, *md.Train)
	if err != nil {
		return nil, train.State{}, fmt.Errorf("jointenc: %q: %w", path, err)
	}
	if err := t.Rand.UnmarshalBinary(md.Rand); err != nil {
		return nil, train.State{}, fmt.Errorf("jointenc: %q: random source: %w", path, err)
	}
	t.Steps = md.Steps
	if _, ok := c.Get("adam_d.t"); ok {
		t.OptG, t.OptD, t.OptE = t.newAdam(), t.newAdam(), t.newAdam()
		if err := params.RestoreAdam(c, "adam_g", t.OptG, &m.G); err != nil {
			return nil, train.State{}, fmt.Errorf("jointenc: %q: %w", path, err)
		}
		if err := params.RestoreAdam(c, "adam_d", t.OptD, &m.D); err != nil {
			return nil, train.State{}, fmt.Errorf("jointenc: %q: %w", path, err)
		}
		if err := params.RestoreAdam(c, "adam_e", t.OptE, &m.E); err != nil {
			return nil, train.State{}, fmt.Errorf("jointenc: %q: %w", path, err)
		}
	}
	return t, md.State, nil
}
