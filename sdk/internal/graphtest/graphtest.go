// Package graphtest helps tests check that gorgonia graphs are freed.
package graphtest

import (
	"reflect"
	"runtime"
	"unsafe"
	"weak"

	"gorgonia.org/gorgonia"
)

// Machine returns a weak pointer to vm's tape machine. gorgonia's tape
// machine carries a finalizer, and a weak pointer to an object with a
// finalizer is cleared once the finalizer is queued: never, while the
// machine is part of a reference cycle (nn.ReadValue says how such cycles
// arose).
func Machine(vm gorgonia.VM) weak.Pointer[byte] {
	return weak.Make((*byte)(unsafe.Pointer(reflect.ValueOf(vm).Pointer())))
}

// Freed reports whether p's object is gone within a few collections (a
// finalizer runs after the first; what it held goes with a later one).
func Freed(p weak.Pointer[byte]) bool {
	for range 5 {
		runtime.GC()
		if p.Value() == nil {
			return true
		}
	}
	return false
}
