package jointenc

import (
	"context"
	"testing"
	"weak"

	"github.com/anogo/anogo/sdk/internal/graphtest"
)

// TestGraphsFreed: the training graphs (critic and z-fed) and the scoring
// graph are freed with their owner. They were not while read ops pointed
// into the structs that hold the tape machines (a cycle through gorgonia's
// finalizer, which Go never collects): a contamination study kept every
// graph and grew to 17 GiB.
func TestGraphsFreed(t *testing.T) {
	d := tinyData(t)
	s := tinySettings()
	m, err := New(Config{Size: 28, Width: s.Model.Width, Latent: s.Model.Latent}, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, s.Train)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]float32, s.Train.BatchSize*28*28)
	if _, err := tr.Step(b, s.Train.BatchSize); err != nil {
		t.Fatal(err)
	}
	ws := map[string]weak.Pointer[byte]{"critic": graphtest.Machine(tr.pg.critic.fused.vm), "G step": graphtest.Machine(tr.pg.gstep.vm), "E step": graphtest.Machine(tr.pg.estep.vm)}
	if err := FitNorms(context.Background(), m, d.TrainSamples); err != nil {
		t.Fatal(err)
	}
	sc := &Scorer{Model: m}
	if _, err := sc.Score(context.Background(), d.Test); err != nil {
		t.Fatal(err)
	}
	ws["scoring"] = graphtest.Machine(sc.inf.vm)
	tr, sc = nil, nil
	for name, w := range ws {
		if !graphtest.Freed(w) {
			t.Errorf("the %s graph outlived its owner", name)
		}
	}
}
