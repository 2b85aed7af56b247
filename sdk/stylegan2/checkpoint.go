package stylegan2

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/params"
	"github.com/anogo/anogo/sdk/train"
)

// Kind is the checkpoint kind of this package's files.
const Kind = "stylegan2"

const (
	stageModel = "model" // Model.Save
	stageTrain = "train" // Trainer.Save
)

const (
	historyPrefix = "history."
	wAvgName      = "G.mapping.w_avg"
)

type meta struct {
	Config Config       `json:"config"`
	Stage  string       `json:"stage"`
	Train  *TrainConfig `json:"train,omitempty"`
	State  train.State  `json:"state"`
	Rand   []byte       `json:"rand,omitempty"`
	Steps  int          `json:"steps,omitempty"`
	// Augmented says whether an augmenter trained with the model; Augment
	// is its state.
	Augmented bool   `json:"augmented,omitempty"`
	Augment   []byte `json:"augment,omitempty"`
}

func (m *Model) checkpoint(md meta) (*checkpoint.Checkpoint, error) {
	md.Config = m.Config
	c := &checkpoint.Checkpoint{Kind: Kind}
	var err error
	if c.Meta, err = json.Marshal(md); err != nil {
		return nil, err
	}
	m.G.AddTo(c)
	m.GEMA.AddTo(c)
	m.D.AddTo(c)
	c.Add(wAvgName, m.wAvg, len(m.wAvg))
	m.History.AddTo(c, historyPrefix)
	return c, nil
}

// Save writes G, G_ema, D, w_avg, the configuration and the history (no
// optimiser state) to path, atomically.
func (m *Model) Save(path string) error {
	c, err := m.checkpoint(meta{Stage: stageModel})
	if err != nil {
		return err
	}
	return checkpoint.Save(path, c)
}

// Save implements train.Model: the model, the two Adam states, the random
// source, the augmenter's state, the step count, the settings and the loop
// state st.
func (t *Trainer) Save(path string, st train.State) error {
	rs, err := t.Rand.MarshalBinary()
	if err != nil {
		return err
	}
	md := meta{Stage: stageTrain, State: st, Rand: rs, Steps: t.Steps}
	cfg := t.Config
	md.Train = &cfg
	if t.Augment != nil {
		md.Augmented = true
		if md.Augment, err = t.Augment.MarshalBinary(); err != nil {
			return fmt.Errorf("stylegan2: the augmenter's state: %w", err)
		}
	}
	c, err := t.Model.checkpoint(md)
	if err != nil {
		return err
	}
	params.AddAdam(c, "adam_g", t.OptG, &t.Model.G)
	params.AddAdam(c, "adam_d", t.OptD, &t.Model.D)
	return checkpoint.Save(path, c)
}

// Load reads a model from a file written by Model.Save or Trainer.Save.
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
		return nil, nil, md, fmt.Errorf("stylegan2: %q holds a %q checkpoint, not %q", path, c.Kind, Kind)
	}
	if err := json.Unmarshal(c.Meta, &md); err != nil {
		return nil, nil, md, fmt.Errorf("stylegan2: %q: metadata: %w", path, err)
	}
	if stage != "" && md.Stage != stage {
		return nil, nil, md, fmt.Errorf("stylegan2: %q was written in stage %q, not %q", path, md.Stage, stage)
	}
	if err := md.Config.Validate(); err != nil {
		return nil, nil, md, fmt.Errorf("stylegan2: %q: %w", path, err)
	}
	if err := checkShapes(c, md.Config); err != nil {
		return nil, nil, md, fmt.Errorf("stylegan2: %q says %v: %w", path, md.Config, err)
	}
	m, err := New(md.Config, 0)
	if err != nil {
		return nil, nil, md, err
	}
	for _, s := range []*params.Set{&m.G, &m.GEMA, &m.D} {
		if err := s.RestoreFrom(c); err != nil {
			return nil, nil, md, fmt.Errorf("stylegan2: %q says %v: %w", path, md.Config, err)
		}
	}
	if err := c.Into(wAvgName, m.wAvg); err != nil {
		return nil, nil, md, fmt.Errorf("stylegan2: %q: %w", path, err)
	}
	m.Sync()
	if m.History, err = train.RestoreHistory(c, historyPrefix); err != nil {
		return nil, nil, md, fmt.Errorf("stylegan2: %q: %w", path, err)
	}
	return m, c, md, nil
}

// checkShapes checks the tensors of c against the shapes the configuration
// gives, before any network is built: a file whose tensors do not match
// its configuration (edited, or written by another version) is refused
// with the first tensor that differs, and a configuration that would
// allocate more than the file holds is never built.
func checkShapes(c *checkpoint.Checkpoint, cfg Config) error {
	want := Shapes(cfg)
	for _, s := range want {
		t, ok := c.Get(s.Name)
		if !ok {
			return fmt.Errorf("the file has no tensor %q", s.Name)
		}
		if !slices.Equal(t.Shape, s.Shape) {
			return fmt.Errorf("tensor %q has shape %v, the configuration gives %v", s.Name, t.Shape, s.Shape)
		}
	}
	return nil
}

// ParamShape is the name and shape of one tensor of a model file.
type ParamShape struct {
	Name  string
	Shape []int
}

// Shapes returns the names and shapes of the tensors of G, G_ema, D and
// w_avg of a model of configuration cfg, in the order of the sets (G's,
// G_ema's, D's, then w_avg), without building the networks.
func Shapes(cfg Config) []ParamShape {
	var g, d []ParamShape
	add := func(dst *[]ParamShape, name string, shape ...int) { *dst = append(*dst, ParamShape{name, shape}) }
	in := cfg.ZDim
	for i := range cfg.MappingLayers {
		name := fmt.Sprintf("G.mapping.fc%d", i)
		add(&g, name+".weight", cfg.WDim, in)
		add(&g, name+".bias", cfg.WDim)
		in = cfg.WDim
	}
	rs := cfg.Resolutions()
	c0 := cfg.Channels(rs[0])
	add(&g, fmt.Sprintf("G.synthesis.b%d.const", rs[0]), c0, rs[0], rs[0])
	for _, l := range cfg.synthLayers() {
		add(&g, l.name+".affine.weight", l.cin, cfg.WDim)
		add(&g, l.name+".affine.bias", l.cin)
		if l.rgb {
			add(&g, l.name+".weight", 1, l.cin, 1, 1)
			add(&g, l.name+".bias", 1)
			continue
		}
		add(&g, l.name+".weight", l.cout, l.cin, 3, 3)
		add(&g, l.name+".noise_strength", 1)
		add(&g, l.name+".bias", l.cout)
	}
	ct := cfg.Channels(cfg.Size)
	add(&d, fmt.Sprintf("D.b%d.fromrgb.weight", cfg.Size), ct, 1, 1, 1)
	add(&d, fmt.Sprintf("D.b%d.fromrgb.bias", cfg.Size), ct)
	for k := len(rs) - 1; k >= 1; k-- {
		pre := fmt.Sprintf("D.b%d.", rs[k])
		c, co := cfg.Channels(rs[k]), cfg.Channels(rs[k-1])
		add(&d, pre+"conv0.weight", c, c, 3, 3)
		add(&d, pre+"conv0.bias", c)
		add(&d, pre+"conv1.weight", co, c, 3, 3)
		add(&d, pre+"conv1.bias", co)
		add(&d, pre+"skip.weight", co, c, 1, 1)
	}
	pre := fmt.Sprintf("D.b%d.", rs[0])
	add(&d, pre+"conv.weight", c0, c0+1, 3, 3)
	add(&d, pre+"conv.bias", c0)
	add(&d, pre+"fc.weight", c0, c0*rs[0]*rs[0])
	add(&d, pre+"fc.bias", c0)
	add(&d, pre+"out.weight", 1, c0)
	add(&d, pre+"out.bias", 1)
	out := slices.Clone(g)
	for _, s := range g {
		out = append(out, ParamShape{emaName(s.Name), s.Shape})
	}
	out = append(out, d...)
	return append(out, ParamShape{wAvgName, []int{cfg.WDim}})
}

// ResumeTrainer reads a checkpoint written by Trainer.Save and returns a
// trainer in the same state with augmenter aug, whose state it restores,
// and the loop state to pass to train.Run. A checkpoint of another
// configuration than want (unless want is zero) is refused, and so is an
// augmenter where the checkpoint was trained without one or the reverse.
func ResumeTrainer(path string, want Config, aug Augmenter) (*Trainer, train.State, error) {
	m, c, md, err := load(path, stageTrain)
	if err != nil {
		return nil, train.State{}, err
	}
	if want != (Config{}) && want != md.Config {
		return nil, train.State{}, fmt.Errorf("stylegan2: %q was trained as %v, not %v: refusing to resume", path, md.Config, want)
	}
	if md.Train == nil {
		return nil, train.State{}, fmt.Errorf("stylegan2: %q has no training settings", path)
	}
	switch {
	case aug == nil && md.Augmented:
		return nil, train.State{}, fmt.Errorf("stylegan2: %q was trained with an augmenter; resume it with one", path)
	case aug != nil && !md.Augmented:
		return nil, train.State{}, fmt.Errorf("stylegan2: %q was trained without augmentation; resume it without an augmenter", path)
	}
	t, err := NewTrainer(m, *md.Train, aug)
	if err != nil {
		return nil, train.State{}, fmt.Errorf("stylegan2: %q: %w", path, err)
	}
	if err := t.Rand.UnmarshalBinary(md.Rand); err != nil {
		return nil, train.State{}, fmt.Errorf("stylegan2: %q: random source: %w", path, err)
	}
	if aug != nil {
		if err := aug.UnmarshalBinary(md.Augment); err != nil {
			return nil, train.State{}, fmt.Errorf("stylegan2: %q: the augmenter's state: %w", path, err)
		}
	}
	t.Steps = md.Steps
	if err := params.RestoreAdam(c, "adam_g", t.OptG, &m.G); err != nil {
		return nil, train.State{}, fmt.Errorf("stylegan2: %q: %w", path, err)
	}
	if err := params.RestoreAdam(c, "adam_d", t.OptD, &m.D); err != nil {
		return nil, train.State{}, fmt.Errorf("stylegan2: %q: %w", path, err)
	}
	return t, md.State, nil
}
