package dpa

import (
	"context"
	"reflect"
	"runtime"
	"testing"
	"unsafe"
	"weak"

	"gorgonia.org/gorgonia"
)

// machine is a weak pointer to a tape machine (an unexported type of
// gorgonia's; it carries the finalizer, and a weak pointer to an object
// with a finalizer is cleared once the finalizer is queued: never, while
// the machine is part of a cycle).
func machine(vm gorgonia.VM) weak.Pointer[byte] {
	return weak.Make((*byte)(unsafe.Pointer(reflect.ValueOf(vm).Pointer())))
}

// collected reports whether p's object is freed within a few collections
// (a tape machine's finalizer runs after the first, its graph goes with a
// later one).
func collected[T any](p weak.Pointer[T]) bool {
	for range 5 {
		runtime.GC()
		if p.Value() == nil {
			return true
		}
	}
	return false
}

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
	wi := machine(sc.inf.vm)
	tr, err := NewTrainer(m, fn, s.Train)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]float32, s.Train.BatchSize*28*28)
	if _, err := tr.Step(b, s.Train.BatchSize); err != nil {
		t.Fatal(err)
	}
	wg := machine(tr.g.vm)
	sc, tr = nil, nil
	if !collected(wi) {
		t.Error("the scoring graph outlived its Scorer")
	}
	if !collected(wg) {
		t.Error("the training graph outlived its Trainer")
	}
}
