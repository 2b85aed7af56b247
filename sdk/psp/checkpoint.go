package psp

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/params"
	"github.com/anogo/anogo/sdk/train"
)

// Kind is the checkpoint kind of this package's files.
const Kind = "psp"

const (
	historyPrefix = "history.encoder."
	adamPrefix    = "adam_e"
	stageModel    = "model" // Model.Save
	stageTrain    = "train" // Trainer.Save
)

type meta struct {
	Config Config       `json:"config"`
	Stage  string       `json:"stage"`
	Train  *TrainConfig `json:"train,omitempty"`
	State  train.State  `json:"state"`
	Latent *latentMeta  `json:"latent,omitempty"`
	// Default is the score chosen on validation data.
	Default *Choice `json:"default,omitempty"`
}

// latentMeta is the part of a Latent kept in the metadata; its arrays are
// tensors.
type latentMeta struct {
	K         int                 `json:"k"`
	N         int                 `json:"n"`
	Shrinkage []float64           `json:"shrinkage"`
	Norm      map[string]Standard `json:"norm"`
}

func (m *Model) checkpoint(md meta) (*checkpoint.Checkpoint, error) {
	md.Config = m.Config
	md.Default = m.Default
	c := &checkpoint.Checkpoint{Kind: Kind}
	m.E.AddTo(c)
	c.Add("w_avg", m.WAvg, len(m.WAvg))
	if l := m.Latent; l != nil {
		if err := l.check(); err != nil {
			return nil, err
		}
		md.Latent = &latentMeta{K: l.K, N: l.N(), Shrinkage: l.Shrinkage, Norm: l.Norm}
		c.Add("latent.mean", l.Mean, l.NumWs, l.WDim)
		c.Add("latent.chol", l.Chol, l.NumWs, l.WDim, l.WDim)
		c.Add("latent.codes", l.Codes, l.N(), l.NumWs*l.WDim)
	}
	m.History.AddTo(c, historyPrefix)
	var err error
	if c.Meta, err = json.Marshal(md); err != nil {
		return nil, err
	}
	return c, nil
}

// Save writes the encoder, w_avg, the training record, the latent fit and
// the default score (no optimiser state) to path, atomically.
func (m *Model) Save(path string) error {
	c, err := m.checkpoint(meta{Stage: stageModel})
	if err != nil {
		return err
	}
	return checkpoint.Save(path, c)
}

// Save implements train.Model: the model, Adam's state, the settings and
// the loop state st.
func (t *Trainer) Save(path string, st train.State) error {
	cfg := t.Config
	c, err := t.Model.checkpoint(meta{Stage: stageTrain, Train: &cfg, State: st})
	if err != nil {
		return err
	}
	params.AddAdam(c, adamPrefix, t.Opt, &t.Model.E)
	return checkpoint.Save(path, c)
}

// Load reads a model written by Model.Save or Trainer.Save.
func Load(path string) (*Model, error) {
	m, _, _, err := load(path, "")
	return m, err
}

// load reads path, which must be of stage (any when empty), checks every
// tensor the configuration needs against the file before building
// anything, and restores the model.
func load(path, stage string) (*Model, *checkpoint.Checkpoint, meta, error) {
	var md meta
	c, err := checkpoint.Load(path)
	if err != nil {
		return nil, nil, md, err
	}
	if c.Kind != Kind {
		return nil, nil, md, fmt.Errorf("psp: %q holds a %q checkpoint, not %q", path, c.Kind, Kind)
	}
	if err := json.Unmarshal(c.Meta, &md); err != nil {
		return nil, nil, md, fmt.Errorf("psp: %q: metadata: %w", path, err)
	}
	if stage != "" && md.Stage != stage {
		return nil, nil, md, fmt.Errorf("psp: %q was written in stage %q, not %q", path, md.Stage, stage)
	}
	cfg := md.Config
	if err := cfg.Validate(); err != nil {
		return nil, nil, md, fmt.Errorf("psp: %q: %w", path, err)
	}
	specs := cfg.params()
	want := map[string][]int{"w_avg": {cfg.WDim}}
	for _, p := range specs {
		want[p.name] = p.shape
	}
	lm := md.Latent
	if lm != nil {
		if lm.N <= lm.K || lm.K < 1 || len(lm.Shrinkage) != cfg.NumWs {
			return nil, nil, md, fmt.Errorf("psp: %q: latent fit of %d codes for a kNN of %d with %d shrinkages for %d ws", path, lm.N, lm.K, len(lm.Shrinkage), cfg.NumWs)
		}
		for _, col := range []string{ColR, ColMaha, ColKNN, ColL2} {
			if st, ok := lm.Norm[col]; !ok || !(st.Std > 0) {
				return nil, nil, md, fmt.Errorf("psp: %q: latent fit without the training statistics of %s", path, col)
			}
		}
		want["latent.mean"] = []int{cfg.NumWs, cfg.WDim}
		want["latent.chol"] = []int{cfg.NumWs, cfg.WDim, cfg.WDim}
		want["latent.codes"] = []int{lm.N, cfg.NumWs * cfg.WDim}
	}
	if err := c.Expect(want); err != nil {
		return nil, nil, md, fmt.Errorf("psp: %q says %v: %w", path, cfg, err)
	}
	// A file with more encoder tensors than the configuration (an edited
	// number of ws or blocks) is refused too.
	n := 0
	for _, t := range c.Tensors {
		if strings.HasPrefix(t.Name, "E.") {
			n++
		}
	}
	if n != len(specs) {
		return nil, nil, md, fmt.Errorf("psp: %q says %v, which has %d encoder tensors, but holds %d: the configuration and the tensors disagree", path, cfg, len(specs), n)
	}
	m := newModel(cfg, 0)
	if err := m.E.RestoreFrom(c); err != nil {
		return nil, nil, md, fmt.Errorf("psp: %q: %w", path, err)
	}
	if err := c.Into("w_avg", m.WAvg); err != nil {
		return nil, nil, md, fmt.Errorf("psp: %q: %w", path, err)
	}
	if err := checkFinite(fmt.Sprintf("%q: w_avg", path), m.WAvg); err != nil {
		return nil, nil, md, err
	}
	if lm != nil {
		l := &Latent{NumWs: cfg.NumWs, WDim: cfg.WDim, K: lm.K, Shrinkage: lm.Shrinkage, Norm: lm.Norm,
			Mean: make([]float32, cfg.NumWs*cfg.WDim), Chol: make([]float32, cfg.NumWs*cfg.WDim*cfg.WDim), Codes: make([]float32, lm.N*cfg.NumWs*cfg.WDim)}
		for _, t := range []struct {
			name string
			dst  []float32
		}{{"latent.mean", l.Mean}, {"latent.chol", l.Chol}, {"latent.codes", l.Codes}} {
			if err := c.Into(t.name, t.dst); err != nil {
				return nil, nil, md, fmt.Errorf("psp: %q: %w", path, err)
			}
			if err := checkFinite(fmt.Sprintf("%q: %s", path, t.name), t.dst); err != nil {
				return nil, nil, md, err
			}
		}
		m.Latent = l
	}
	if md.Default != nil {
		if err := m.SetDefault(*md.Default); err != nil {
			return nil, nil, md, fmt.Errorf("psp: %q: %w", path, err)
		}
	}
	if m.History, err = train.RestoreHistory(c, historyPrefix); err != nil {
		return nil, nil, md, fmt.Errorf("psp: %q: %w", path, err)
	}
	return m, c, md, nil
}

// Resume reads a checkpoint written by Trainer.Save and returns a trainer
// with the generator g (which must be the one the encoder was built for)
// in the same state, and the loop state to pass to train.Run.
func Resume(path string, g Generator) (*Trainer, train.State, error) {
	m, c, md, err := load(path, stageTrain)
	if err != nil {
		return nil, train.State{}, err
	}
	if md.Train == nil {
		return nil, train.State{}, fmt.Errorf("psp: %q has no training settings", path)
	}
	if err := m.checkGenerator(g); err != nil {
		return nil, train.State{}, fmt.Errorf("psp: %q: %w", path, err)
	}
	t, err := NewTrainer(m, g, *md.Train)
	if err != nil {
		return nil, train.State{}, fmt.Errorf("psp: %q: %w", path, err)
	}
	if err := params.RestoreAdam(c, adamPrefix, t.Opt, &m.E); err != nil {
		return nil, train.State{}, fmt.Errorf("psp: %q: %w", path, err)
	}
	return t, md.State, nil
}
