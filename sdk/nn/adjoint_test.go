package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
)

// TestConvTransposeIsAdjoint checks <Conv2d(x), y> = <x, ConvTranspose2d(y)>
// for the same w, through the graph ops, with outPad chosen so that the
// transposed convolution's output has x's size.
func TestConvTransposeIsAdjoint(t *testing.T) {
	const tol = 1e-5
	cases := []struct {
		n, cin, h, w, cout, k, s, p int
	}{
		0: {n: 2, cin: 64, h: 32, w: 32, cout: 128, k: 5, s: 2, p: 2}, // the paper's D layer 2
		1: {n: 3, cin: 3, h: 8, w: 10, cout: 4, k: 4, s: 2, p: 1},
		2: {n: 1, cin: 2, h: 9, w: 9, cout: 3, k: 3, s: 3, p: 1},
		3: {n: 2, cin: 5, h: 6, w: 6, cout: 2, k: 3, s: 1, p: 1},
		4: {n: 4, cin: 1, h: 64, w: 64, cout: 8, k: 5, s: 2, p: 2},
	}
	for i, c := range cases {
		rng := rand.New(rand.NewPCG(uint64(i), 99))
		ho := (c.h+2*c.p-c.k)/c.s + 1
		wo := (c.w+2*c.p-c.k)/c.s + 1
		opH := c.h - ((ho-1)*c.s - 2*c.p + c.k)
		opW := c.w - ((wo-1)*c.s - 2*c.p + c.k)
		if opH != opW {
			t.Fatalf("case %d: output paddings %d and %d differ", i, opH, opW)
		}
		g := gorgonia.NewGraph()
		xd := randn(rng, c.n*c.cin*c.h*c.w)
		yd := randn(rng, c.n*c.cout*ho*wo)
		x := newInput(g, "x", xd, c.n, c.cin, c.h, c.w)
		y := newInput(g, "y", yd, c.n, c.cout, ho, wo)
		w := newInput(g, "w", randn(rng, c.cout*c.cin*c.k*c.k), c.cout, c.cin, c.k, c.k)
		cx, err := Conv2d(x, w, c.s, c.p, 0)
		if err != nil {
			t.Fatal(err)
		}
		ty, err := ConvTranspose2d(y, w, c.s, c.p, opH, 0)
		if err != nil {
			t.Fatal(err)
		}
		m := gorgonia.NewTapeMachine(g)
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		lhs, rhs := dot(values(t, cx), yd), dot(xd, values(t, ty))
		if d := math.Abs(lhs - rhs); d > tol*math.Max(1, math.Abs(lhs)) {
			t.Errorf("case %d: <Conv2d(x), y> = %.7g, <x, ConvTranspose2d(y)> = %.7g", i, lhs, rhs)
		}
		m.Close()
	}
}
