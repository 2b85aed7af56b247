package dpa

import (
	"context"
	"testing"

	"github.com/anogo/anogo/sdk/internal/graphtest"
)

// TestGraphsFreed: the scoring and training graphs are freed with their
// owner. They were not when the graph's read ops pointed into the struct
// holding its tape machine (a cycle through gorgonia's finalizer, which
// Go never collects): every graph stayed in memory for good.
func TestGraphsFreed(t *testing.T) {
	d := tinyData(t)
	s := tinySettings()
	m, err := New(Config{Size: 28, Width: s.Model.Width, Latent: s.Model.Latent}, 1)
	if err != nil {
		t.Fatal(err)
	}
	fn, err := NewFeatureNet(s.Features)
	if err != nil {
		t.Fatal(err)
	}
	sc := &Scorer{Model: m, Features: fn, Layer: Relu32}
	if _, err := sc.Score(context.Background(), d.Test); err != nil {
		t.Fatal(err)
	}
	wi := graphtest.Machine(sc.inf.vm)
	tr, err := NewTrainer(m, fn, s.Train)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]float32, s.Train.BatchSize*28*28)
	if _, err := tr.Step(b, s.Train.BatchSize); err != nil {
		t.Fatal(err)
	}
	wg := graphtest.Machine(tr.g.vm)
	sc, tr = nil, nil
	if !graphtest.Freed(wi) {
		t.Error("the scoring graph outlived its Scorer")
	}
	if !graphtest.Freed(wg) {
		t.Error("the training graph outlived its Trainer")
	}
}
