package detector

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/score"
	"github.com/anogo/anogo/sdk/train"
)

// Detector is a method's model.
type Detector interface {
	// Fit trains the detector on d.Train (images of d.Config.Size pixels a
	// side); the networks are built for that size.
	Fit(ctx context.Context, d *prep.Data, opt FitOptions) error
	// Score scores samples of the size the detector was fitted on: one
	// Result per sample, in order, with every column of Rows and, when the
	// method has them, the anomaly map (Result.Residual) and the
	// reconstruction (Result.Recon). Networks run in eval mode.
	Score(ctx context.Context, samples []data.Sample) ([]score.Result, error)
	// Save writes the fitted detector's files into the directory dir,
	// which exists.
	Save(dir string) error
	// Rows names the table rows the detector contributes and the score
	// column of each, in table order.
	Rows() []Row
}

// Row is one table row of a detector: the method's name as tables and
// figures show it (e.g. "AnoGAN", "GAN_R", "P_D") and the score column it
// ranks by. Map tells whether Result.Residual is this row's anomaly map.
type Row struct {
	Name   string `json:"name"`
	Column string `json:"column"`
	Map    bool   `json:"map,omitempty"`
}

// FitOptions are the hooks of a fit.
type FitOptions struct {
	// Hooks are called after every training step of every network the
	// method trains (progress bars, loss logs); an error stops the fit.
	// Label names the stage for them (set by the method, e.g. "DCGAN").
	Hooks []train.Hook
	// Progress, when not nil, is called with the name of each training
	// stage before it starts and returns that stage's extra hooks.
	Progress func(stage string) []train.Hook
	// CheckpointDir, when not empty, receives the method's periodic
	// checkpoints, so that an interrupted fit can be resumed (Resumer).
	CheckpointDir string
}

// StageHooks returns opt.Hooks and the hooks Progress gives for stage.
func (opt FitOptions) StageHooks(stage string) []train.Hook {
	h := slices.Clone(opt.Hooks)
	if opt.Progress != nil {
		h = append(h, opt.Progress(stage)...)
	}
	return h
}

// Latenter is implemented by detectors that map images to latent codes.
type Latenter interface {
	Latents(ctx context.Context, samples []data.Sample) ([][]float32, error)
}

// Resumer is implemented by detectors that can continue a fit interrupted
// after a checkpoint in opt.CheckpointDir, taking exactly the steps an
// uninterrupted fit would have taken.
type Resumer interface {
	Resume(ctx context.Context, d *prep.Data, opt FitOptions) error
}

// Method is what a method registers.
type Method struct {
	// Name is the method's name on the command line and in model
	// directories, lower case (e.g. "anogan").
	Name string
	// Summary is a one-line description.
	Summary string
	// Settings returns a new value of the named setting: "small" (tests,
	// seconds to minutes), "demo" (make demo) or "paper" (the paper's
	// settings). It is a pointer to a JSON-encodable struct, so that any
	// field can be overridden by key (Override) and the settings saved
	// with the model. Settings that implement Seeder are reseeded by the
	// experiment runner.
	Settings func(setting string) (any, error)
	// New returns an unfitted detector with the given settings (of the
	// type Settings returns).
	New func(settings any) (Detector, error)
	// Load reads a detector that Save wrote into dir, with the settings
	// it was fitted with.
	Load func(dir string, settings any) (Detector, error)
}

// Seeder is implemented by settings that hold random seeds: SetSeed seeds
// every random source of the method (initialisation, batches, mapping).
type Seeder interface {
	SetSeed(seed uint64)
}

var (
	mu      sync.RWMutex
	methods = map[string]Method{}
)

// Register makes a method available by name. It panics if the name is
// empty or already registered, or a function is missing (programming
// errors, as in database/sql.Register).
func Register(m Method) {
	mu.Lock()
	defer mu.Unlock()
	switch {
	case m.Name == "" || m.Name != strings.ToLower(m.Name) || strings.ContainsAny(m.Name, " ,/"):
		panic(fmt.Sprintf("detector: Register: bad method name %q", m.Name))
	case m.Settings == nil || m.New == nil || m.Load == nil:
		panic(fmt.Sprintf("detector: Register: method %q lacks Settings, New or Load", m.Name))
	}
	if _, dup := methods[m.Name]; dup {
		panic(fmt.Sprintf("detector: Register called twice for method %q", m.Name))
	}
	methods[m.Name] = m
}

// Methods returns the registered methods sorted by name.
func Methods() []Method {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Method, 0, len(methods))
	for _, m := range methods {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names returns the registered methods' names, sorted.
func Names() []string {
	var out []string
	for _, m := range Methods() {
		out = append(out, m.Name)
	}
	return out
}

// Lookup returns the method registered as name, or an error listing the
// registered names.
func Lookup(name string) (Method, error) {
	mu.RLock()
	m, ok := methods[name]
	mu.RUnlock()
	if !ok {
		return Method{}, fmt.Errorf("detector: unknown method %q (registered: %s)", name, strings.Join(Names(), ", "))
	}
	return m, nil
}

// Settings returns the named setting of the named method.
func Settings(method, setting string) (any, error) {
	m, err := Lookup(method)
	if err != nil {
		return nil, err
	}
	s, err := m.Settings(setting)
	if err != nil {
		return nil, fmt.Errorf("detector: %s: %w", method, err)
	}
	return s, nil
}

// Override sets fields of settings (a pointer to a JSON-encodable struct)
// from "key=value" pairs. A key is the JSON name of a field, with dots for
// nested fields ("train.lr", "mapping.steps"); a value is read as JSON
// (numbers, true/false, quoted or bare strings). Keys match
// case-insensitively; an unknown key is an error naming the known ones.
func Override(settings any, pairs ...string) error {
	if len(pairs) == 0 {
		return nil
	}
	b, err := json.Marshal(settings)
	if err != nil {
		return fmt.Errorf("detector: settings: %w", err)
	}
	var tree map[string]any
	if err := json.Unmarshal(b, &tree); err != nil {
		return fmt.Errorf("detector: settings: %w", err)
	}
	for _, kv := range pairs {
		key, val, ok := strings.Cut(kv, "=")
		if !ok || key == "" {
			return fmt.Errorf("detector: setting %q: want key=value", kv)
		}
		var v any
		if err := json.Unmarshal([]byte(val), &v); err != nil {
			v = val // a bare string
		}
		node := tree
		parts := strings.Split(key, ".")
		for i, p := range parts {
			cur, ok := node[p]
			if !ok {
				// Keys match case-insensitively, as encoding/json does.
				for k := range node {
					if strings.EqualFold(k, p) {
						p, cur, ok = k, node[k], true
						break
					}
				}
			}
			if !ok {
				return fmt.Errorf("detector: setting %q: no key %q (have %s)", kv, p, strings.Join(keys(node), ", "))
			}
			if i == len(parts)-1 {
				if _, isMap := cur.(map[string]any); isMap {
					return fmt.Errorf("detector: setting %q: %q is a group of settings (%s)", kv, p, strings.Join(keys(cur.(map[string]any)), ", "))
				}
				node[p] = v
				break
			}
			next, ok := cur.(map[string]any)
			if !ok {
				return fmt.Errorf("detector: setting %q: %q is not a group of settings", kv, p)
			}
			node = next
		}
	}
	if b, err = json.Marshal(tree); err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(settings); err != nil {
		return fmt.Errorf("detector: settings %v: %w", pairs, err)
	}
	return nil
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
