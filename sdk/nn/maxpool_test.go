package nn

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
)

// TestMaxPool2Grad checks MaxPool2's gradient against central differences,
// with the values of every 2×2 block kept apart by more than the step so
// that no difference crosses a tie.
func TestMaxPool2Grad(t *testing.T) {
	const (
		eps = 1e-2
		tol = 1e-3
	)
	checkGrad(t, gradCase{
		name: "MaxPool2", shapes: [][]int{{2, 3, 4, 6}}, wrt: []int{0},
		init: func(rng *rand.Rand, i int, d [][]float32) {
			perm := rng.Perm(len(d[0]))
			for k := range d[0] {
				d[0][k] = float32(perm[k]) * 0.1
			}
		},
		build: func(in []*gorgonia.Node) (*gorgonia.Node, error) { return MaxPool2(in[0]) },
	}, eps, tol)
}

// TestMaxPool2Values: the maximum of each block, the first on ties.
func TestMaxPool2Values(t *testing.T) {
	g := gorgonia.NewGraph()
	x := newInput(g, "x", []float32{
		1, 2, 5, 5,
		3, 0, 5, 1,
		-1, -2, 0, 0,
		-3, -4, 0, 0,
	}, 1, 1, 4, 4)
	y, err := MaxPool2(x)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := gorgonia.Grad(gorgonia.Must(gorgonia.Sum(y)), x)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	want := []float32{3, 5, -1, 0}
	got := y.Value().Data().([]float32)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("out %v, want %v", got, want)
		}
	}
	wantG := []float32{0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0}
	gg := grads[0].Value().Data().([]float32)
	for i := range wantG {
		if gg[i] != wantG[i] {
			t.Fatalf("gradient %v, want %v", gg, wantG)
		}
	}
}
