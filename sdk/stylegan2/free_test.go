package stylegan2

import (
	"reflect"
	"runtime"
	"testing"
	"unsafe"
	"weak"

	"gorgonia.org/gorgonia"
)

// machine is a weak pointer to a tape machine (gorgonia's unexported type
// carries a finalizer; a weak pointer to it is cleared once the finalizer
// is queued: never, while the machine is part of a reference cycle).
func machine(vm gorgonia.VM) weak.Pointer[byte] {
	return weak.Make((*byte)(unsafe.Pointer(reflect.ValueOf(vm).Pointer())))
}

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
		"critic": machine(tr.graphs.critic.fused.vm), "fake": machine(tr.graphs.fake.vm),
		"G step": machine(tr.graphs.gstep.vm), "D loss": machine(tr.graphs.lossReal.vm),
	}
	tr = nil
	for name, w := range ws {
		freed := false
		for range 5 {
			runtime.GC()
			if w.Value() == nil {
				freed = true
				break
			}
		}
		if !freed {
			t.Errorf("the %s graph outlived its trainer", name)
		}
	}
}
