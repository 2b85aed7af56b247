package stylegan2

import (
	"testing"
	"weak"

	"github.com/anogo/anogo/sdk/internal/graphtest"
)

// TestGraphsFreed: the training graphs are freed with their trainer. They
// were not while read ops pointed into the structs holding the tape
// machines (a cycle through gorgonia's finalizer, which Go never collects).
func TestGraphsFreed(t *testing.T) {
	cfg := Config{Size: 28, Width: 2, MaxChannels: 8, ZDim: 4, WDim: 4, MappingLayers: 1}
	m, err := New(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	tc := DefaultTrainConfig()
	tc.BatchSize, tc.Steps = 4, 1
	tr, err := NewTrainer(m, tc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Step(make([]float32, 4*28*28), 4); err != nil {
		t.Fatal(err)
	}
	ws := map[string]weak.Pointer[byte]{
		"critic": graphtest.Machine(tr.graphs.critic.fused.vm), "fake": graphtest.Machine(tr.graphs.fake.vm),
		"G step": graphtest.Machine(tr.graphs.gstep.vm), "D loss": graphtest.Machine(tr.graphs.lossReal.vm),
	}
	tr = nil
	for name, w := range ws {
		if !graphtest.Freed(w) {
			t.Errorf("the %s graph outlived its trainer", name)
		}
	}
}
