package train

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anogo/anogo/sdk/data"
)

// sumModel records the batches it sees; its "loss" is the batch sum.
type sumModel struct {
	seen  []float64
	saves []State
	nanAt int
}

func (m *sumModel) Step(b []float32, n int) (map[string]float64, error) {
	s := 0.0
	for _, v := range b {
		s += float64(v)
	}
	m.seen = append(m.seen, s)
	if m.nanAt > 0 && len(m.seen) == m.nanAt {
		s = math.NaN()
	}
	return map[string]float64{"sum": s}, nil
}

func (m *sumModel) Save(path string, st State) error { m.saves = append(m.saves, st); return nil }

func images(n int) []*data.Image {
	out := make([]*data.Image, n)
	for i := range out {
		out[i] = data.NewImage(2, 2)
		out[i].Pix[0] = float32(i)
	}
	return out
}

func TestResumeSeesSameBatches(t *testing.T) {
	ims := images(10)
	opt := Options{Epochs: 3, BatchSize: 3, Seed: 7}
	full := &sumModel{}
	st, err := Run(context.Background(), full, ims, opt, State{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Step != 9 || len(full.seen) != 9 {
		t.Fatalf("took %d steps (state %+v), want 9", len(full.seen), st)
	}
	// Run 4 steps, then resume from step 4.
	part := &sumModel{}
	o := opt
	o.Steps = 4
	st4, err := Run(context.Background(), part, ims, o, State{})
	if err != nil || st4.Step != 4 {
		t.Fatal(st4, err)
	}
	rest := &sumModel{}
	if _, err := Run(context.Background(), rest, ims, opt, st4); err != nil {
		t.Fatal(err)
	}
	got := append(part.seen, rest.seen...)
	for i := range full.seen {
		if got[i] != full.seen[i] {
			t.Fatalf("batch %d: resumed run saw %v, uninterrupted %v", i, got[i], full.seen[i])
		}
	}
	// Epochs differ in order.
	if full.seen[0] == full.seen[3] && full.seen[1] == full.seen[4] {
		t.Error("epochs 0 and 1 saw the same order")
	}
}

func TestNaNStops(t *testing.T) {
	m := &sumModel{nanAt: 2}
	_, err := Run(context.Background(), m, images(10), Options{Epochs: 1, BatchSize: 2}, State{})
	if !errors.Is(err, ErrNotFinite) || !strings.Contains(err.Error(), "step 2") {
		t.Fatalf("error %v, want a non-finite loss error naming step 2", err)
	}
}

func TestHooksAndCheckpoints(t *testing.T) {
	m := &sumModel{}
	var steps []int
	opt := Options{Steps: 5, BatchSize: 2, CheckpointPath: filepath.Join(t.TempDir(), "x"), CheckpointEvery: 2,
		Hooks: []Hook{func(in Info) error { steps = append(steps, in.Step); return nil }}}
	if _, err := Run(context.Background(), m, images(4), opt, State{}); err != nil {
		t.Fatal(err)
	}
	if len(steps) != 5 || steps[4] != 5 {
		t.Fatalf("hook saw %v", steps)
	}
	if len(m.saves) != 3 || m.saves[0].Step != 2 || m.saves[2].Step != 5 {
		t.Fatalf("saves %+v, want steps 2, 4 and 5", m.saves)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, &sumModel{}, images(4), Options{Steps: 3, BatchSize: 2}, State{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestBadImages(t *testing.T) {
	ims := images(4)
	ims[2] = data.NewImage(3, 2)
	if _, err := Run(context.Background(), &sumModel{}, ims, Options{Steps: 1, BatchSize: 2}, State{}); err == nil || !strings.Contains(err.Error(), "image 2") {
		t.Fatalf("error %v, want one naming image 2", err)
	}
	if _, err := Run(context.Background(), &sumModel{}, images(1), Options{Steps: 1, BatchSize: 2}, State{}); err == nil {
		t.Fatal("ran with fewer images than a batch")
	}
}

// TestRunRefusesBadState: a loop state with a negative step or epoch (a
// damaged checkpoint) is an error, not an index out of range.
func TestRunRefusesBadState(t *testing.T) {
	ims := make([]*data.Image, 4)
	for i := range ims {
		ims[i] = data.NewImage(2, 2)
	}
	for i, st := range []State{{Step: -1}, {Epoch: -3}, {Step: 2, Seed: 9}} {
		_, err := Run(context.Background(), nopModel{}, ims, Options{Steps: 4, BatchSize: 2, Seed: 1}, st)
		if err == nil {
			t.Errorf("%d: state %+v: no error", i, st)
		}
	}
}

type nopModel struct{}

func (nopModel) Step([]float32, int) (map[string]float64, error) {
	return map[string]float64{"loss": 0}, nil
}
func (nopModel) Save(string, State) error { return nil }

// TestCancelSaves: a cancelled run saves the state it reached and says
// where (it printed only "context canceled", and the steps since the last
// periodic checkpoint were lost).
func TestCancelSaves(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m := &sumModel{}
	path := filepath.Join(t.TempDir(), "m.ckpt")
	opt := Options{Steps: 10, BatchSize: 2, CheckpointPath: path, CheckpointEvery: 100,
		Hooks: []Hook{func(in Info) error {
			if in.Step == 3 {
				cancel()
			}
			return nil
		}}}
	st, err := Run(ctx, m, images(4), opt, State{})
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "step 3 of 10") {
		t.Errorf("error %v, want one saying step 3 of 10 was saved to %s", err, path)
	}
	if st.Step != 3 || len(m.saves) != 1 || m.saves[0].Step != 3 {
		t.Errorf("state %+v, saves %+v; want step 3 saved once", st, m.saves)
	}
}

// TestLockedCheckpoint: a second run writing the same checkpoint path
// fails at once (two trainings to one -out both reported success and one
// result was lost).
func TestLockedCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.ckpt")
	unlock, err := data.Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	m := &sumModel{}
	_, err = Run(context.Background(), m, images(4), Options{Steps: 2, BatchSize: 2, CheckpointPath: path}, State{})
	if !errors.Is(err, data.ErrLocked) || len(m.seen) != 0 {
		t.Errorf("error %v after %d steps, want data.ErrLocked before any", err, len(m.seen))
	}
}
