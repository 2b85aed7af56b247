package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// newInput returns an input node of graph g holding data with the given
// shape.
func newInput(g *gorgonia.ExprGraph, name string, data []float32, shape ...int) *gorgonia.Node {
	t := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
	return gorgonia.NodeFromAny(g, t, gorgonia.WithName(name))
}

// values returns a copy of a node's float32 data.
func values(t testing.TB, n *gorgonia.Node) []float32 {
	t.Helper()
	v := n.Value()
	if v == nil {
		t.Fatalf("node %v has no value", n)
	}
	d, err := float32s(v)
	if err != nil {
		t.Fatalf("node %v: %v", n, err)
	}
	return append([]float32(nil), d...)
}

// gradCase is one differentiable expression to check against finite
// differences.
type gradCase struct {
	name   string
	shapes [][]int // input shapes
	// init fills input i (nil: standard normal values).
	init  func(rng *rand.Rand, i int, data [][]float32)
	build func(in []*gorgonia.Node) (*gorgonia.Node, error)
	wrt   []int // inputs to differentiate with respect to
}

// checkGrad builds loss = Σ out·R for a fixed random R, lets gorgonia.Grad
// differentiate it and compares every gradient with central differences of
// step eps. It reports max|numeric - analytic| / max(1, max|analytic|) per
// input, which must stay within tol.
func checkGrad(t *testing.T, tc gradCase, eps, tol float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 13))
	g := gorgonia.NewGraph()
	data := make([][]float32, len(tc.shapes))
	nodes := make([]*gorgonia.Node, len(tc.shapes))
	for i, s := range tc.shapes {
		data[i] = randn(rng, tensor.Shape(s).TotalSize())
	}
	if tc.init != nil {
		for i := range data {
			tc.init(rng, i, data)
		}
	}
	for i, s := range tc.shapes {
		nodes[i] = newInput(g, fmt.Sprintf("in%d", i), data[i], s...)
	}
	out, err := tc.build(nodes)
	if err != nil {
		t.Fatalf("%s: build: %v", tc.name, err)
	}
	r := randn(rng, out.Shape().TotalSize())
	rn := newInput(g, "R", r, out.Shape()...)
	loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(out, rn))))
	var outVal gorgonia.Value
	gorgonia.Read(out, &outVal)
	wrt := make(gorgonia.Nodes, len(tc.wrt))
	for i, j := range tc.wrt {
		wrt[i] = nodes[j]
	}
	grads, err := gorgonia.Grad(loss, wrt...)
	if err != nil {
		t.Fatalf("%s: Grad: %v", tc.name, err)
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	run := func() float64 {
		m.Reset()
		outVal = nil
		if err := m.RunAll(); err != nil {
			t.Fatalf("%s: run: %v", tc.name, err)
		}
		o, err := float32s(outVal)
		if err != nil {
			t.Fatal(err)
		}
		return dot(o, r)
	}
	run()
	ana := make([][]float32, len(grads))
	for i, gn := range grads {
		ana[i] = values(t, gn)
	}
	for i, j := range tc.wrt {
		x := data[j]
		var maxErr, scale float64
		for k := range x {
			old := x[k]
			x[k] = old + float32(eps)
			lp := run()
			x[k] = old - float32(eps)
			lm := run()
			x[k] = old
			num := (lp - lm) / (2 * eps)
			maxErr = math.Max(maxErr, math.Abs(num-float64(ana[i][k])))
			scale = math.Max(scale, math.Abs(float64(ana[i][k])))
		}
		if rel := maxErr / math.Max(1, scale); rel > tol {
			t.Errorf("%s: gradient of input %d: max error %.3g, relative %.3g > tol %g", tc.name, j, maxErr, rel, tol)
		} else if testing.Verbose() {
			t.Logf("%s: gradient of input %d: relative error %.3g", tc.name, j, rel)
		}
	}
}
