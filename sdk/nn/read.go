package nn

import "gorgonia.org/gorgonia"

// ReadValue adds gorgonia.Read of n to n's graph and returns where the
// value lands, in an allocation of its own.
//
// Why not gorgonia.Read(n, &s.field): gorgonia's tape machine has a
// finalizer, and a struct that holds the machine and is pointed to by its
// graph's read op forms a cycle through an object with a finalizer, which
// Go never collects (runtime.SetFinalizer). Every graph of such a struct,
// with all its buffers, then stays in memory for the life of the process:
// a contamination study grew to 17 GiB that way. The *gorgonia.Value
// returned here points nowhere back, so the graph is freed with its owner.
func ReadValue(n *gorgonia.Node) *gorgonia.Value {
	v := new(gorgonia.Value)
	gorgonia.Read(n, v)
	return v
}
