package psp

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/train"
)

// TestResumeExact interrupts a training run and resumes it from its
// checkpoint: the encoder, Adam's state and the history equal those of an
// uninterrupted run, bit for bit.
func TestResumeExact(t *testing.T) {
	g := newTestGen(28, 6, 4, 2, 3)
	_, ims := codesSet(t, g, 16, 0.5, 1)
	cfg := tinyTrainConfig()
	cfg.BatchSize = 4
	opt := train.Options{Steps: 10, BatchSize: 4, Seed: 7}
	newTrainer := func() *Trainer {
		m, err := New(ConfigFor(g, 2, 2), g, 1)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewTrainer(m, g, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	whole := newTrainer()
	if _, err := train.Run(context.Background(), whole, ims, opt, train.State{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "psp.ckpt")
	ctx, cancel := context.WithCancel(context.Background())
	io := opt
	io.CheckpointPath, io.CheckpointEvery = path, 3
	io.Hooks = []train.Hook{func(in train.Info) error {
		if in.Step == 7 {
			cancel()
		}
		return nil
	}}
	_, err := train.Run(ctx, newTrainer(), ims, io, train.State{})
	cancel()
	if !errors.Is(err, train.ErrInterrupted) {
		t.Fatalf("the interrupted run returned %v", err)
	}
	resumed, st, err := Resume(path, g)
	if err != nil {
		t.Fatal(err)
	}
	if st.Step != 7 {
		t.Fatalf("resumed at step %d, want 7", st.Step)
	}
	ro := opt
	ro.CheckpointPath = path
	if _, err := train.Run(context.Background(), resumed, ims, ro, st); err != nil {
		t.Fatal(err)
	}
	a, b := whole.Model, resumed.Model
	for i, p := range a.E.Params {
		if !slices.Equal(p.Value.Data().([]float32), b.E.Params[i].Value.Data().([]float32)) {
			t.Fatalf("parameter %s differs", p.Name)
		}
	}
	if whole.Opt.T != resumed.Opt.T {
		t.Fatalf("Adam at step %d and %d", whole.Opt.T, resumed.Opt.T)
	}
	for i := range whole.Opt.M {
		if !slices.Equal(whole.Opt.M[i], resumed.Opt.M[i]) || !slices.Equal(whole.Opt.V[i], resumed.Opt.V[i]) {
			t.Fatalf("Adam's moments of parameter %d differ", i)
		}
	}
	if a.History.Steps != 10 || b.History.Steps != 10 {
		t.Fatalf("histories of %d and %d steps", a.History.Steps, b.History.Steps)
	}
	for name, c := range a.History.Losses {
		if !slices.Equal(c.Value, b.History.Losses[name].Value) || !slices.Equal(c.Step, b.History.Losses[name].Step) {
			t.Fatalf("history of %s differs", name)
		}
	}
	// Resuming with another generator is refused.
	if _, _, err := Resume(path, newTestGen(28, 6, 4, 2, 4)); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("resume with another generator: %v", err)
	}
}

// rewrite loads path, lets edit change the checkpoint and saves it as a
// new file.
func rewrite(t *testing.T, path string, edit func(c *checkpoint.Checkpoint, md map[string]any)) string {
	t.Helper()
	c, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]any
	if err := json.Unmarshal(c.Meta, &md); err != nil {
		t.Fatal(err)
	}
	edit(c, md)
	if c.Meta, err = json.Marshal(md); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "edited.ckpt")
	if err := checkpoint.Save(out, c); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSaveLoad: a saved model (with its latent fit and default) scores
// exactly as the fitted one; files of another kind, an edited
// configuration, a truncated file or a stage mismatch are refused with
// errors naming the file.
func TestSaveLoad(t *testing.T) {
	g, m, _, val := scoredModel(t)
	ctx := context.Background()
	s := &Scorer{Model: m, Gen: g}
	res, err := s.Score(ctx, val)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := ChooseDefault(res, s.Columns())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetDefault(ch); err != nil {
		t.Fatal(err)
	}
	if res, err = s.Score(ctx, val); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.ckpt")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	l, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if l.Default == nil || l.Default.Column != ch.Column || len(l.Default.Candidates) != len(ch.Candidates) {
		t.Fatalf("default %+v, saved %+v", l.Default, ch)
	}
	if l.History.Steps != m.History.Steps {
		t.Fatalf("history of %d steps, saved %d", l.History.Steps, m.History.Steps)
	}
	res2, err := (&Scorer{Model: l, Gen: g}).Score(ctx, val)
	if err != nil {
		t.Fatal(err)
	}
	for i := range res {
		for c, v := range res[i].Scores {
			if res2[i].Scores[c] != v {
				t.Fatalf("%s: %s is %v after loading, %v before", res[i].ID, c, res2[i].Scores[c], v)
			}
		}
	}

	cases := []struct {
		name, path, want string
	}{
		{"another kind", rewrite(t, path, func(c *checkpoint.Checkpoint, _ map[string]any) { c.Kind = "fanogan" }), `"fanogan" checkpoint`},
		{"edited width", rewrite(t, path, func(_ *checkpoint.Checkpoint, md map[string]any) {
			md["config"].(map[string]any)["width"] = 3
		}), "disagree"},
		{"fewer ws", rewrite(t, path, func(_ *checkpoint.Checkpoint, md map[string]any) {
			md["config"].(map[string]any)["num_ws"] = 5
		}), "5 ws"},
		// Without the fit, five ws need a subset of the tensors of six:
		// the count of encoder tensors refuses it.
		{"fewer ws, no fit", rewrite(t, path, func(_ *checkpoint.Checkpoint, md map[string]any) {
			md["config"].(map[string]any)["num_ws"] = 5
			delete(md, "latent")
			delete(md, "default")
		}), "encoder tensors"},
		{"fewer codes", rewrite(t, path, func(_ *checkpoint.Checkpoint, md map[string]any) {
			md["latent"].(map[string]any)["n"] = 20
		}), "latent.codes"},
		{"unknown default", rewrite(t, path, func(_ *checkpoint.Checkpoint, md map[string]any) {
			md["default"].(map[string]any)["column"] = "A_x"
		}), "A_x"},
		{"invalid config", rewrite(t, path, func(_ *checkpoint.Checkpoint, md map[string]any) {
			md["config"].(map[string]any)["size"] = 30
		}), "image size 30"},
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(t.TempDir(), "truncated.ckpt")
	if err := os.WriteFile(trunc, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, struct{ name, path, want string }{"truncated", trunc, ""})
	for _, c := range cases {
		_, err := Load(c.path)
		if err == nil || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %s and saying %q", c.name, err, c.path, c.want)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
	if _, _, err := Resume(path, g); err == nil || !strings.Contains(err.Error(), `stage "model"`) {
		t.Errorf("resuming from a model file: %v", err)
	}
}
