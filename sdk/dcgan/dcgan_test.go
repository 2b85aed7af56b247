package dcgan

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/optim"
	"github.com/anogo/anogo/sdk/train"
)

func tiny(size int) Config { return Config{Size: size, Width: 4, Latent: 8} }

func TestConfig(t *testing.T) {
	p := PaperConfig()
	if got := p.Channels(); len(got) != 4 || got[0] != 64 || got[3] != 512 {
		t.Errorf("paper channels %v, want 64 128 256 512", got)
	}
	if fs := p.FeatureShape(); fs[0] != 512 || fs[1] != 4 || fs[2] != 4 {
		t.Errorf("paper feature shape %v, want 512x4x4", fs)
	}
	for i, c := range []Config{{Size: 48, Width: 8, Latent: 8}, {Size: 64, Width: 0, Latent: 8}, {Size: 64, Width: 8}} {
		if c.Validate() == nil {
			t.Errorf("case %d: %+v accepted", i, c)
		}
	}
}

// TestShapes runs G and D forward at every supported size.
func TestShapes(t *testing.T) {
	for _, size := range []int{28, 32, 64} {
		m, err := New(tiny(size), 1)
		if err != nil {
			t.Fatal(err)
		}
		inf, err := m.NewInference(3)
		if err != nil {
			t.Fatal(err)
		}
		z := make([]float32, 2*m.Config.Latent)
		SampleZ(rand.New(rand.NewPCG(1, 2)), z)
		x, err := inf.Generate(z)
		if err != nil {
			t.Fatal(err)
		}
		if len(x) != 2*size*size {
			t.Fatalf("size %d: G gave %d values, want %d", size, len(x), 2*size*size)
		}
		for _, v := range x {
			if v <= -1 || v >= 1 {
				t.Fatalf("size %d: G output %v outside (-1, 1)", size, v)
			}
		}
		logits, feats, err := inf.Discriminate(x)
		if err != nil {
			t.Fatal(err)
		}
		if len(logits) != 2 || len(feats) != 2*m.Config.FeatureLen() {
			t.Fatalf("size %d: D gave %d logits and %d features", size, len(logits), len(feats))
		}
		// Eval mode: the same input gives the same output, batch or not.
		l1, _, err := inf.Discriminate(x[:size*size])
		if err != nil {
			t.Fatal(err)
		}
		if d := l1[0] - logits[0]; d > 1e-5 || d < -1e-5 {
			t.Errorf("size %d: D(x) alone %v, in a batch %v", size, l1[0], logits[0])
		}
	}
}

func randomImages(n, size int, seed uint64) []*data.Image {
	rng := rand.New(rand.NewPCG(seed, seed))
	out := make([]*data.Image, n)
	for i := range out {
		im := data.NewImage(size, size)
		for j := range im.Pix {
			im.Pix[j] = float32(rng.Float64()*0.5 - 0.25 + 0.5*float64(j%size)/float64(size))
		}
		out[i] = im
	}
	return out
}

// TestResumeMatchesUninterrupted trains 6 steps in one go and 3 + 3 steps
// with a checkpoint in between: the weights must be the same.
func TestResumeMatchesUninterrupted(t *testing.T) {
	cfg := tiny(28)
	tc := TrainConfig{LR: 2e-4, Beta1: 0.5, BatchSize: 4, Seed: 3}
	ims := randomImages(12, 28, 1)
	opt := train.Options{Epochs: 2, BatchSize: 4, Seed: 5}

	m1, _ := New(cfg, 9)
	t1, err := NewTrainer(m1, tc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := train.Run(context.Background(), t1, ims, opt, train.State{}); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "half.ckpt")
	m2, _ := New(cfg, 9)
	t2, err := NewTrainer(m2, tc)
	if err != nil {
		t.Fatal(err)
	}
	half := opt
	half.Steps = 3
	half.CheckpointPath = path
	if _, err := train.Run(context.Background(), t2, ims, half, train.State{}); err != nil {
		t.Fatal(err)
	}
	t3, st, err := Resume(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Step != 3 {
		t.Fatalf("resumed at step %d, want 3", st.Step)
	}
	if _, err := train.Run(context.Background(), t3, ims, opt, st); err != nil {
		t.Fatal(err)
	}
	a, b := m1.G.Values(), t3.Model.G.Values()
	a = append(a, m1.D.Values()...)
	b = append(b, t3.Model.D.Values()...)
	for i := range a {
		for j := range a[i] {
			if d := a[i][j] - b[i][j]; d > 1e-6 || d < -1e-6 {
				t.Fatalf("parameter %d value %d: uninterrupted %v, resumed %v", i, j, a[i][j], b[i][j])
			}
		}
	}
	for i, s := range m1.D.BN {
		for j := range s.Mean {
			if s.Mean[j] != t3.Model.D.BN[i].Mean[j] {
				t.Fatalf("BN %d running mean differs after resume", i)
			}
		}
	}
	if _, _, err := Resume(path, tiny(32)); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("resume with another configuration: %v", err)
	}
}

// TestTrainingLearns checks that a few dozen steps move D towards telling
// real from fake: its loss falls from the chance level 2·ln 2.
func TestTrainingLearns(t *testing.T) {
	m, _ := New(Config{Size: 28, Width: 8, Latent: 16}, 1)
	tr, err := NewTrainer(m, TrainConfig{LR: 1e-3, Beta1: 0.5, BatchSize: 8, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var first, last float64
	hook := func(in train.Info) error {
		if in.Step == 1 {
			first = in.Losses["loss_d"]
		}
		last = in.Losses["loss_d"]
		return nil
	}
	opt := train.Options{Steps: 30, BatchSize: 8, Seed: 1, Hooks: []train.Hook{hook}}
	if _, err := train.Run(context.Background(), tr, randomImages(64, 28, 2), opt, train.State{}); err != nil {
		t.Fatal(err)
	}
	if !(last < first) {
		t.Errorf("D loss went from %.4f to %.4f; it should fall", first, last)
	}
}

func TestSaveLoad(t *testing.T) {
	m, _ := New(tiny(32), 4)
	m.D.BN[0].Mean[1] = 0.5
	path := filepath.Join(t.TempDir(), "m.ckpt")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Config != m.Config || got.D.BN[0].Mean[1] != 0.5 {
		t.Fatalf("loaded %+v, BN mean %v", got.Config, got.D.BN[0].Mean[1])
	}
	a, b := m.G.Values(), got.G.Values()
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				t.Fatalf("G parameter %d differs after load", i)
			}
		}
	}
}

// TestDiscriminateImages checks that the batched pass over more than one
// batch gives each image's own logit and features.
func TestDiscriminateImages(t *testing.T) {
	m, _ := New(tiny(28), 2)
	ims := randomImages(70, 28, 3)
	logits, feats, err := m.DiscriminateImages(ims)
	if err != nil {
		t.Fatal(err)
	}
	if len(logits) != 70 || len(feats) != 70 || len(feats[69]) != m.Config.FeatureLen() {
		t.Fatalf("%d logits, %d feature vectors", len(logits), len(feats))
	}
	inf, err := m.NewInference(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 63, 64, 69} {
		l, f, err := inf.Discriminate(ims[i].Pix)
		if err != nil {
			t.Fatal(err)
		}
		if d := l[0] - logits[i]; d > 1e-5 || d < -1e-5 {
			t.Errorf("image %d: logit %v alone, %v batched", i, l[0], logits[i])
		}
		if d := f[5] - feats[i][5]; d > 1e-5 || d < -1e-5 {
			t.Errorf("image %d: feature %v alone, %v batched", i, f[5], feats[i][5])
		}
	}
	if _, _, err := m.DiscriminateImages([]*data.Image{data.NewImage(32, 32)}); err == nil {
		t.Error("accepted a 32x32 image for a 28x28 model")
	}
}

// TestTrainConfigAdam: β2 0 means Adam's 0.999; a given β2 (WGAN-GP's
// 0.9) and a β1 of 0 are taken as they are.
func TestTrainConfigAdam(t *testing.T) {
	if a := (TrainConfig{LR: 2e-4, Beta1: 0.5}).Adam(); a.Beta1 != 0.5 || a.Beta2 != 0.999 || a.LR != 2e-4 {
		t.Errorf("default: %+v", a)
	}
	if a := (TrainConfig{LR: 1e-4, Beta1: 0, Beta2: 0.9}).Adam(); a.Beta1 != 0 || a.Beta2 != 0.9 {
		t.Errorf("WGAN-GP's: %+v", a)
	}
}

// TestTrainConfigBetas: β2 is the JSON field beta2, left out when 0 so
// that the existing settings read and write as before; a trainer, and one
// resumed from its checkpoint, use β1 = 0 and β2 = 0.9 as given.
func TestTrainConfigBetas(t *testing.T) {
	b, err := json.Marshal(DefaultTrainConfig())
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"lr":0.0002,"beta1":0.5,"batch_size":64,"seed":1}`; string(b) != want {
		t.Errorf("DCGAN's settings as JSON: %s, want %s", b, want)
	}
	var tc TrainConfig
	if err := json.Unmarshal([]byte(`{"lr":1e-4,"beta1":0,"beta2":0.9,"batch_size":4,"seed":2}`), &tc); err != nil {
		t.Fatal(err)
	}
	if tc.Beta1 != 0 || tc.Beta2 != 0.9 {
		t.Fatalf("read %+v", tc)
	}
	m, _ := New(tiny(28), 1)
	tr, err := NewTrainer(m, tc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "b.ckpt")
	if _, err := train.Run(context.Background(), tr, randomImages(4, 28, 1), train.Options{Steps: 1, BatchSize: 4, Seed: 1, CheckpointPath: path}, train.State{}); err != nil {
		t.Fatal(err)
	}
	back, _, err := Resume(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range []*optim.Adam{tr.OptG, tr.OptD, back.OptG, back.OptD} {
		if a.Beta1 != 0 || a.Beta2 != 0.9 || a.LR != 1e-4 {
			t.Errorf("optimiser %d: %+v", i, a)
		}
	}
}

// TestParamsByName: the networks find their weights by name, so a Net whose
// parameters are stored in another order computes the same function (the
// weights used to be consumed in creation order), and a missing one is an
// error naming it.
func TestParamsByName(t *testing.T) {
	m, err := New(Config{Size: 28, Width: 4, Latent: 8}, 1)
	if err != nil {
		t.Fatal(err)
	}
	im := data.NewImage(28, 28)
	for i := range im.Pix {
		im.Pix[i] = float32(i%7)/7 - 0.5
	}
	want, _, err := m.DiscriminateImages([]*data.Image{im})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(m.D.Params)
	got, _, err := m.DiscriminateImages([]*data.Image{im})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != want[0] {
		t.Errorf("logit %v with the parameters reversed, %v before", got[0], want[0])
	}
	m.D.Params = m.D.Params[1:]
	if _, _, err := m.DiscriminateImages([]*data.Image{im}); err == nil || !strings.Contains(err.Error(), "no parameter") {
		t.Errorf("a missing parameter: %v", err)
	}
}

// TestLoadRefusesEditedConfig: a checkpoint whose stated configuration was
// edited (width 512, size 64 in a width-4, 28-pixel file) is refused by
// its tensor shapes before the model is built (it allocated gigabytes).
func TestLoadRefusesEditedConfig(t *testing.T) {
	m, err := New(Config{Size: 28, Width: 4, Latent: 8}, 1)
	if err != nil {
		t.Fatal(err)
	}
	c := m.checkpoint()
	if c.Meta, err = json.Marshal(meta{Config: Config{Size: 64, Width: 512, Latent: 8}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "edited.ckpt")
	if err := checkpoint.Save(path, c); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "disagree") {
		t.Errorf("Load of an edited configuration: %v", err)
	}
}

// TestBNStatsByName: the networks find their BatchNorm running statistics
// by layer name, as they do their weights, so reordered statistics change
// nothing in eval mode (they were taken by position: the generator's first
// layer got another layer's statistics).
func TestBNStatsByName(t *testing.T) {
	m, err := New(tiny(32), 2)
	if err != nil {
		t.Fatal(err)
	}
	for k, net := range []*Net{&m.G, &m.D} {
		for i, st := range net.BN {
			for j := range st.Mean {
				st.Mean[j] = 0.1 * float32(k+i+j)
				st.Var[j] = 1 + 0.2*float32(i*j)
			}
		}
	}
	run := func() ([]float32, []float32) {
		in, err := m.NewInference(1)
		if err != nil {
			t.Fatal(err)
		}
		z := make([]float32, m.Config.Latent)
		SampleZ(rand.New(rand.NewPCG(1, 2)), z)
		x, err := in.Generate(z)
		if err != nil {
			t.Fatal(err)
		}
		logits, _, err := in.Discriminate(x)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Clone(x), slices.Clone(logits)
	}
	x0, l0 := run()
	slices.Reverse(m.G.BN)
	slices.Reverse(m.D.BN)
	x1, l1 := run()
	if !slices.Equal(x0, x1) || !slices.Equal(l0, l1) {
		t.Errorf("statistics reversed: D(G(z)) %v, before %v", l1, l0)
	}
}

// TestCheckpointNames: a trainer's checkpoint keeps the tensor names DCGAN
// checkpoints have always had, so older files load; one without the
// optimisers' step-count tensors (adam_g.t, adam_d.t, added with package
// params) resumes from the step counts in its metadata.
func TestCheckpointNames(t *testing.T) {
	m, _ := New(tiny(28), 9)
	tr, err := NewTrainer(m, TrainConfig{LR: 2e-4, Beta1: 0.5, BatchSize: 4, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "a.ckpt")
	if _, err := train.Run(context.Background(), tr, randomImages(8, 28, 1), train.Options{Steps: 2, BatchSize: 4, Seed: 5, CheckpointPath: path}, train.State{}); err != nil {
		t.Fatal(err)
	}
	c, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	old := &checkpoint.Checkpoint{Kind: c.Kind, Meta: c.Meta}
	for _, x := range c.Tensors {
		names = append(names, x.Name)
		if !strings.HasSuffix(x.Name, ".t") {
			old.Tensors = append(old.Tensors, x)
		}
	}
	for _, want := range []string{"g.fc.w", "g.bn1.gamma", "g.bnstats0.mean", "g.bnstats1.var", "d.conv0.b", "d.bnstats0.mean", "d.fc.w",
		"adam_g.m.g.fc.w", "adam_g.v.g.convt2.b", "adam_d.m.d.bn1.beta", "adam_g.t", "adam_d.t"} {
		if !slices.Contains(names, want) {
			t.Errorf("no tensor %q in %v", want, names)
		}
	}
	oldPath := filepath.Join(t.TempDir(), "old.ckpt")
	if err := checkpoint.Save(oldPath, old); err != nil {
		t.Fatal(err)
	}
	a, _, err := Resume(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Resume(oldPath, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if a.OptG.T != 2 || b.OptG.T != 2 || b.OptD.T != 2 || !slices.Equal(a.OptD.V[3], b.OptD.V[3]) {
		t.Errorf("resumed T %d / %d, from the older file %d / %d", a.OptG.T, a.OptD.T, b.OptG.T, b.OptD.T)
	}
}
