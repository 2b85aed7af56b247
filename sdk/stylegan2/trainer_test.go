package stylegan2

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/params"
	"github.com/anogo/anogo/sdk/penalty"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/train"
)

// tinyConfig is a model small enough for many steps in a test.
func tinyConfig(size int) Config {
	return Config{Size: size, Width: 2, MaxChannels: 8, ZDim: 8, WDim: 8, MappingLayers: 2}
}

func TestConfig(t *testing.T) {
	for i, c := range []struct {
		size, numWs int
		res         []int
	}{{28, 6, []int{7, 14, 28}}, {32, 8, []int{4, 8, 16, 32}}, {64, 10, []int{4, 8, 16, 32, 64}}} {
		cfg := tinyConfig(c.size)
		if err := cfg.Validate(); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if got := cfg.Resolutions(); !slices.Equal(got, c.res) {
			t.Errorf("case %d: resolutions %v, want %v", i, got, c.res)
		}
		if cfg.NumWs() != c.numWs {
			t.Errorf("case %d: %d ws, want %d", i, cfg.NumWs(), c.numWs)
		}
		used := map[int]bool{}
		for _, l := range cfg.synthLayers() {
			used[l.w] = true
		}
		if len(used) != c.numWs {
			t.Errorf("case %d: the layers take %d of the %d ws", i, len(used), c.numWs)
		}
	}
	if got := (Config{Size: 32, Width: 8, MaxChannels: 64}).Channels(4); got != 64 {
		t.Errorf("channels at 4x4: %d, want 64", got)
	}
	if got := (Config{Size: 28, Width: 8}).Channels(7); got != 32 {
		t.Errorf("channels at 7x7 of 28: %d, want 32", got)
	}
	for i, bad := range []Config{
		{Size: 48, Width: 8, ZDim: 8, WDim: 8, MappingLayers: 2},
		{Size: 32, Width: 0, ZDim: 8, WDim: 8, MappingLayers: 2},
		{Size: 32, Width: 8, MaxChannels: 4, ZDim: 8, WDim: 8, MappingLayers: 2},
		{Size: 32, Width: 8, ZDim: 0, WDim: 8, MappingLayers: 2},
		{Size: 32, Width: 8, ZDim: 8, WDim: 8, MappingLayers: 0},
	} {
		if bad.Validate() == nil {
			t.Errorf("bad config %d %+v accepted", i, bad)
		}
	}
	if g := AutoGamma(32, 32); math.Abs(g-0.0064) > 1e-12 {
		t.Errorf("auto γ at 32 px, batch 32: %v, want 0.0064", g)
	}
}

// TestShapes: Shapes lists New's tensors, in order.
func TestShapes(t *testing.T) {
	for _, size := range []int{28, 32, 64} {
		m, err := New(tinyConfig(size), 1)
		if err != nil {
			t.Fatal(err)
		}
		var got []ParamShape
		for _, set := range []*params.Set{&m.G, &m.GEMA, &m.D} {
			for _, p := range set.Params {
				got = append(got, ParamShape{p.Name, []int(p.Value.Shape())})
			}
		}
		got = append(got, ParamShape{wAvgName, []int{m.WDim()}})
		want := Shapes(m.Config)
		if len(got) != len(want) {
			t.Fatalf("%d px: %d tensors, Shapes gives %d", size, len(got), len(want))
		}
		for i := range got {
			if got[i].Name != want[i].Name || !slices.Equal(got[i].Shape, want[i].Shape) {
				t.Fatalf("%d px: tensor %d is %v %v, Shapes gives %v %v", size, i, got[i].Name, got[i].Shape, want[i].Name, want[i].Shape)
			}
		}
	}
}

func TestEMABeta(t *testing.T) {
	c := DefaultTrainConfig()
	c.BatchSize = 32
	if b := c.EMABeta(0); b != 0 {
		t.Errorf("β at the first step %v, want 0 (G_ema = G)", b)
	}
	// Past the ramp-up: half-life 32·10/32 = 10 thousand images.
	if b, want := c.EMABeta(1<<30), math.Pow(0.5, 32.0/10000); math.Abs(b-want) > 1e-15 {
		t.Errorf("β %v, want %v", b, want)
	}
	c.EMARampup = 0
	if b, want := c.EMABeta(0), math.Pow(0.5, 32.0/10000); math.Abs(b-want) > 1e-15 {
		t.Errorf("without ramp-up β %v, want %v", b, want)
	}
}

// TestPenaltyChangesUpdate fails if R1 leaves D's update unchanged: its
// weight gradient reaches every weight of D (the biases only move the
// frozen network by constants, and PyTorch's R1 gradients for them are 0
// too), and the trainer's step with R1 moves D differently from the step
// without, by one more Adam step.
func TestPenaltyChangesUpdate(t *testing.T) {
	f := loadFixture(t)
	const size = 32
	var c fixtureCase
	for _, k := range f.Cases {
		if k.Size == size {
			c = k
		}
	}
	m := fixtureModel(t, f, size)
	n := f.Meta.N
	real := gen("32/real", n*size*size, 0.5, 0)
	cr := newCritic(m, n)
	rg := zerosLike(m.D.Values())
	opts := DefaultTrainConfig().Penalty
	if _, err := penalty.R1(cr, rg, real, n, f.Meta.Gamma, &opts); err != nil {
		t.Fatal(err)
	}
	cr.close()
	m.toStored(netD, rg)
	for i, p := range m.D.Params {
		var got, ref float64
		for j, v := range rg[i] {
			got += math.Abs(float64(v))
			ref += math.Abs(c.GradR1[p.Name][j])
		}
		if strings.HasSuffix(p.Name, ".bias") {
			if ref != 0 {
				t.Errorf("%s: PyTorch's R1 gradient %g, want 0", p.Name, ref)
			}
			continue
		}
		if !(got > 1e-6*ref) || ref == 0 {
			t.Errorf("%s: R1 does not reach it (%.3g, PyTorch %.3g)", p.Name, got, ref)
		}
	}
	// The trainer: the same step with and without R1.
	step := func(gamma float64) *Trainer {
		m, err := New(tinyConfig(size), 2)
		if err != nil {
			t.Fatal(err)
		}
		tc := DefaultTrainConfig()
		tc.BatchSize, tc.Gamma = n, gamma
		tr, err := NewTrainer(m, tc, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := tr.Step(real, n)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := out["r1"]; ok != (gamma != 0) {
			t.Fatalf("γ %v: r1 reported %v", gamma, ok)
		}
		tr.Close()
		return tr
	}
	with, without := step(1), step(0)
	if with.OptD.T != 2 || without.OptD.T != 1 {
		t.Errorf("D's Adam steps: %d with R1, %d without; want 2 and 1", with.OptD.T, without.OptD.T)
	}
	differ := 0
	for i, v := range with.Model.D.Values() {
		for j := range v {
			if v[j] != without.Model.D.Values()[i][j] {
				differ++
			}
		}
	}
	if differ == 0 {
		t.Fatal("R1 leaves D's update unchanged")
	}
	for i, v := range with.Model.G.Values() {
		if !slices.Equal(v, without.Model.G.Values()[i]) {
			t.Fatal("the first G step depends on R1, which comes after it")
		}
	}
	t.Logf("R1 changes %d of D's stored values in the first step", differ)
}

// synthImages returns n images of side size: smooth random blobs in
// [-1, 1], drawn with seed.
func synthImages(n, size int, seed string) []*data.Image {
	ims := make([]*data.Image, n)
	for i := range ims {
		im := data.NewImage(size, size)
		v := gen(seed+string(rune('a'+i%26))+string(rune('a'+i/26)), 4, 1, 0)
		for y := range size {
			for x := range size {
				fx, fy := float64(x)/float64(size), float64(y)/float64(size)
				u := math.Sin(3*fx*(1+0.2*float64(v[0]))+float64(v[1])) * math.Cos(2*fy*(1+0.2*float64(v[2]))+float64(v[3]))
				im.Set(y, x, float32(u))
			}
		}
		ims[i] = im
	}
	return ims
}

// TestResumeExact interrupts training (with the test augmenter) and
// resumes it from the checkpoint: G, G_ema, D, w_avg, the history and the
// augmenter's state equal those of an uninterrupted run, bit for bit.
func TestResumeExact(t *testing.T) {
	const size, steps = 28, 20
	ims := synthImages(16, size, "resume")
	tc := DefaultTrainConfig()
	tc.BatchSize, tc.Steps, tc.R1Interval = 4, steps, 4
	cfg := tinyConfig(size)
	fit := func(ctx context.Context, tr *Trainer, dir string, st train.State, hooks ...train.Hook) error {
		_, err := train.Run(ctx, tr, ims, tc.Options(filepath.Join(dir, "train.ckpt"), 7, hooks...), st)
		return err
	}
	newRun := func() (*Trainer, *testAugmenter) {
		m, err := New(cfg, 4)
		if err != nil {
			t.Fatal(err)
		}
		a := newTestAugmenter(9)
		tr, err := NewTrainer(m, tc, a)
		if err != nil {
			t.Fatal(err)
		}
		return tr, a
	}
	whole, wa := newRun()
	if err := fit(context.Background(), whole, t.TempDir(), train.State{}); err != nil {
		t.Fatal(err)
	}
	whole.Close()
	for _, at := range []int{3, 9, 16} {
		dir := t.TempDir()
		tr, _ := newRun()
		ctx, cancel := context.WithCancel(context.Background())
		err := fit(ctx, tr, dir, train.State{}, func(in train.Info) error {
			if in.Step == at {
				cancel()
			}
			return nil
		})
		cancel()
		tr.Close()
		if !errors.Is(err, train.ErrInterrupted) {
			t.Fatalf("step %d: the interrupted run returned %v", at, err)
		}
		ra := newTestAugmenter(0)
		rt, st, err := ResumeTrainer(filepath.Join(dir, "train.ckpt"), cfg, ra)
		if err != nil {
			t.Fatalf("step %d: %v", at, err)
		}
		if st.Step != at || rt.Steps != at {
			t.Fatalf("step %d: resumed at loop step %d, trainer step %d", at, st.Step, rt.Steps)
		}
		if err := fit(context.Background(), rt, dir, st); err != nil {
			t.Fatalf("step %d: %v", at, err)
		}
		rt.Close()
		rm, wm := rt.Model, whole.Model
		if rm.History.Steps != steps {
			t.Fatalf("step %d: history of %d steps", at, rm.History.Steps)
		}
		for name, c := range wm.History.Losses {
			if !slices.Equal(rm.History.Losses[name].Value, c.Value) || !slices.Equal(rm.History.Losses[name].Step, c.Step) {
				t.Fatalf("step %d: history of %s differs", at, name)
			}
		}
		for net, sets := range map[string][2][][]float32{
			"G": {rm.G.Values(), wm.G.Values()}, "G_ema": {rm.GEMA.Values(), wm.GEMA.Values()}, "D": {rm.D.Values(), wm.D.Values()},
		} {
			for i := range sets[0] {
				if !slices.Equal(sets[0][i], sets[1][i]) {
					t.Fatalf("step %d: %s parameter %d differs", at, net, i)
				}
			}
		}
		if !slices.Equal(rm.WAvg(), wm.WAvg()) {
			t.Fatalf("step %d: w_avg differs", at)
		}
		rb, _ := ra.MarshalBinary()
		wb, _ := wa.MarshalBinary()
		if !slices.Equal(rb, wb) {
			t.Fatalf("step %d: the augmenter's state differs (p %v against %v)", at, ra.P(), wa.P())
		}
	}
	// The augmenter must match the checkpoint.
	dir := t.TempDir()
	tr, _ := newRun()
	tc.Steps = 2
	if err := fit(context.Background(), tr, dir, train.State{}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if _, _, err := ResumeTrainer(filepath.Join(dir, "train.ckpt"), cfg, nil); err == nil || !strings.Contains(err.Error(), "augmenter") {
		t.Errorf("resuming an augmented run without an augmenter: %v", err)
	}
}

// TestSaveLoad: a saved model loads with the same weights, w_avg, samples
// and logits; wrong files are refused with errors naming them.
func TestSaveLoad(t *testing.T) {
	cfg := tinyConfig(32)
	m, err := New(cfg, 6)
	if err != nil {
		t.Fatal(err)
	}
	tc := DefaultTrainConfig()
	tc.BatchSize = 4
	tr, err := NewTrainer(m, tc, nil)
	if err != nil {
		t.Fatal(err)
	}
	x := gen("save/x", 4*32*32, 0.5, 0)
	for range 3 {
		if _, err := tr.Step(x, 4); err != nil {
			t.Fatal(err)
		}
	}
	tr.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "model.ckpt")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	l, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if l.Config != cfg || !slices.Equal(l.WAvg(), m.WAvg()) || l.History.Steps != 3 {
		t.Fatalf("loaded %v, w_avg equal %v, %d steps", l.Config, slices.Equal(l.WAvg(), m.WAvg()), l.History.Steps)
	}
	a, err := m.Sample(4, 11)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Sample(4, 11)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, b) {
		t.Fatal("the loaded model's samples differ")
	}
	da, _ := m.Discriminate(x, 4)
	db, err := l.Discriminate(x, 4)
	if err != nil || !slices.Equal(da, db) {
		t.Fatalf("the loaded model's logits differ (%v)", err)
	}
	if _, _, err := ResumeTrainer(path, Config{}, nil); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a model file resumed as a training checkpoint: %v", err)
	}
	// A file of another kind, and one whose tensors do not match its
	// configuration.
	other := filepath.Join(dir, "other.ckpt")
	if err := checkpoint.Save(other, &checkpoint.Checkpoint{Kind: "dcgan"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(other); err == nil || !strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), "dcgan") {
		t.Errorf("a dcgan file: %v", err)
	}
	c, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range c.Tensors {
		if c.Tensors[i].Name == "D.b4.fc.weight" {
			c.Tensors[i].Shape = []int{len(c.Tensors[i].Data), 1}
		}
	}
	edited := filepath.Join(dir, "edited.ckpt")
	if err := checkpoint.Save(edited, c); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(edited); err == nil || !strings.Contains(err.Error(), edited) || !strings.Contains(err.Error(), "D.b4.fc.weight") {
		t.Errorf("an edited file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "junk.ckpt"), []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(dir, "junk.ckpt")); err == nil || !strings.Contains(err.Error(), "junk.ckpt") {
		t.Errorf("a junk file: %v", err)
	}
}

// TestSmallTrains trains the "small" setting briefly on phantom patches at
// 28 pixels: the losses stay finite, D learns to score the real patches
// above the generated ones, and G_ema's samples change. Skipped under
// -short.
func TestSmallTrains(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the small setting")
	}
	d, err := prep.Prepare(prep.Config{Data: "phantom:train=16,val=4,test=4", Size: 28, PatchSize: 32, PatchesPerImage: 16, TestPerClass: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Setting("small")
	if err != nil {
		t.Fatal(err)
	}
	s.Model.Size = 28
	m, err := New(s.Model, 1)
	if err != nil {
		t.Fatal(err)
	}
	before, err := m.Sample(8, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, s.Train, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := train.Run(context.Background(), tr, d.Train, s.Train.Options("", 0), train.State{}); err != nil {
		t.Fatal(err)
	}
	after, err := m.Sample(8, 1)
	if err != nil {
		t.Fatal(err)
	}
	var change, norm float64
	for i := range after {
		change += math.Abs(float64(after[i] - before[i]))
		norm += math.Abs(float64(before[i]))
	}
	h := m.History
	last := func(name string, k int) float64 {
		v := h.Losses[name].Value
		var s float64
		for _, x := range v[len(v)-k:] {
			s += float64(x)
		}
		return s / float64(k)
	}
	t.Logf("%d steps on %d patches: last 50 steps loss_d %.3f, loss_g %.3f, d_real %.3f, d_fake %.3f; samples moved by %.3g of their mean |value|",
		h.Steps, len(d.Train), last("loss_d", 50), last("loss_g", 50), last("d_real", 50), last("d_fake", 50), change/norm)
	if h.Steps != s.Train.Steps {
		t.Fatalf("%d steps recorded, want %d", h.Steps, s.Train.Steps)
	}
	if change < 0.05*norm {
		t.Errorf("G_ema's samples moved by %.3g of their size", change/norm)
	}
	if last("d_real", 50) <= last("d_fake", 50) {
		t.Errorf("D scores the generated patches (%.3f) at least as high as the real ones (%.3f)", last("d_fake", 50), last("d_real", 50))
	}
	for _, v := range after {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatal("a sample is not finite")
		}
	}
}
