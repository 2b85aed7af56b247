package nn

import (
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestMask: y = x ⊙ m, the gradient to x is g ⊙ m (for a loss Σ w ⊙ y it
// is w ⊙ m exactly), and m gets none.
func TestMask(t *testing.T) {
	const n = 3 * 4 * 5
	x, m, w := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = float32(i%7) - 3
		m[i] = float32(i % 2)
		w[i] = float32(i%5) + 0.5
	}
	g := gorgonia.NewGraph()
	node := func(v []float32, name string) *gorgonia.Node {
		return gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(3, 4, 5), tensor.WithBacking(v)), gorgonia.WithName(name))
	}
	xn, mn, wn := node(x, "x"), node(m, "m"), node(w, "w")
	y, err := Mask(xn, mn)
	if err != nil {
		t.Fatal(err)
	}
	p, err := gorgonia.HadamardProd(y, wn)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := gorgonia.Sum(p)
	if err != nil {
		t.Fatal(err)
	}
	gr, err := gorgonia.Grad(loss, xn)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	yv, gv := y.Value().Data().([]float32), gr[0].Value().Data().([]float32)
	for i := range x {
		if yv[i] != x[i]*m[i] || gv[i] != w[i]*m[i] {
			t.Fatalf("%d: y %v want %v, grad %v want %v", i, yv[i], x[i]*m[i], gv[i], w[i]*m[i])
		}
	}
	if _, err := Mask(xn, node(make([]float32, n), "m2")); err != nil {
		t.Fatal(err)
	}
	bad := gorgonia.NodeFromAny(g, tensor.New(tensor.WithShape(3, 20), tensor.WithBacking(make([]float32, n))), gorgonia.WithName("bad"))
	if _, err := Mask(xn, bad); err == nil {
		t.Fatal("a mask of another shape was accepted")
	}
}
