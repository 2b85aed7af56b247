package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// resizeRef is the bilinear resize with aligned corners in float64,
// written from its definition: output (i, j) reads source position
// (i·(h-1)/(H-1), j·(w-1)/(W-1)) and interpolates its four neighbours.
func resizeRef(x []float64, h, w, H, W int) []float64 {
	out := make([]float64, H*W)
	pos := func(i, n, m int) (int, int, float64) {
		if m == 1 {
			return 0, 0, 0
		}
		s := float64(i) * float64(n-1) / float64(m-1)
		i0 := int(math.Floor(s))
		if i0 >= n-1 {
			return n - 1, n - 1, 0
		}
		return i0, i0 + 1, s - float64(i0)
	}
	for i := range H {
		y0, y1, fy := pos(i, h, H)
		for j := range W {
			x0, x1, fx := pos(j, w, W)
			out[i*W+j] = (1-fy)*((1-fx)*x[y0*w+x0]+fx*x[y0*w+x1]) + fy*((1-fx)*x[y1*w+x0]+fx*x[y1*w+x1])
		}
	}
	return out
}

// TestPSPResize checks Resize against its definition, the corners kept, and
// its gradient as the adjoint: ⟨Resize(x), g⟩ = ⟨x, ∂⟩ for random x and g.
func TestPSPResize(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct{ h, w, H, W int }{{4, 4, 8, 8}, {4, 4, 7, 7}, {7, 7, 14, 14}, {3, 5, 6, 4}, {1, 1, 3, 3}} {
		n, ch := 2, 3
		x := randnStd(rng, n*ch*c.h*c.w, 1)
		gy := randnStd(rng, n*ch*c.H*c.W, 1)
		gr := gorgonia.NewGraph()
		xn := gorgonia.NodeFromAny(gr, tensor.New(tensor.WithShape(n, ch, c.h, c.w), tensor.WithBacking(x)), gorgonia.WithName("x"))
		gn := gorgonia.NodeFromAny(gr, tensor.New(tensor.WithShape(n, ch, c.H, c.W), tensor.WithBacking(gy)), gorgonia.WithName("g"))
		y, err := Resize(xn, c.H, c.W)
		if err != nil {
			t.Fatal(err)
		}
		prod := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(y, gn))))
		gx, err := gorgonia.Grad(prod, xn)
		if err != nil {
			t.Fatal(err)
		}
		vm := gorgonia.NewTapeMachine(gr)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		yv, gxv := y.Value().Data().([]float32), gx[0].Value().Data().([]float32)
		hw, HW := c.h*c.w, c.H*c.W
		var lhs, rhs float64
		for p := 0; p < n*ch; p++ {
			xp := make([]float64, hw)
			for i := range xp {
				xp[i] = float64(x[p*hw+i])
			}
			ref := resizeRef(xp, c.h, c.w, c.H, c.W)
			for i, r := range ref {
				if math.Abs(float64(yv[p*HW+i])-r) > 1e-6 {
					t.Fatalf("%+v: plane %d value %d: %v, reference %v", c, p, i, yv[p*HW+i], r)
				}
				lhs += r * float64(gy[p*HW+i])
			}
			if yv[p*HW] != x[p*hw] || yv[p*HW+HW-1] != x[p*hw+hw-1] {
				t.Errorf("%+v: corners %v %v, want %v %v", c, yv[p*HW], yv[p*HW+HW-1], x[p*hw], x[p*hw+hw-1])
			}
		}
		for i, v := range x {
			rhs += float64(v) * float64(gxv[i])
		}
		if math.Abs(lhs-rhs) > 1e-5*math.Max(1, math.Abs(lhs)) {
			t.Errorf("%+v: ⟨Resize(x), g⟩ = %v, ⟨x, Resizeᵀ(g)⟩ = %v", c, lhs, rhs)
		}
		vm.Close()
	}
	if _, err := Resize(nil, 2, 2); err == nil {
		t.Error("Resize(nil) returned no error")
	}
}

// normDistRef is NormDist in float64 from its definition.
func normDistRef(a, b []float64, n, c, hw int) []float64 {
	out := make([]float64, n)
	for i := range n {
		for p := range hw {
			var na, nb float64
			for ch := range c {
				k := i*c*hw + ch*hw + p
				na += a[k] * a[k]
				nb += b[k] * b[k]
			}
			na, nb = math.Sqrt(na)+NormEps, math.Sqrt(nb)+NormEps
			for ch := range c {
				k := i*c*hw + ch*hw + p
				e := a[k]/na - b[k]/nb
				out[i] += e * e / float64(hw)
			}
		}
	}
	return out
}

// TestPSPNormDist checks NormDist's values against its definition and its
// gradient with respect to b against central differences of that
// definition in float64.
func TestPSPNormDist(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	n, c, h, w := 2, 3, 4, 5
	hw := h * w
	a, b := randnStd(rng, n*c*hw, 1), randnStd(rng, n*c*hw, 1)
	gw := randnStd(rng, n, 1)
	gr := gorgonia.NewGraph()
	an := gorgonia.NodeFromAny(gr, tensor.New(tensor.WithShape(n, c, h, w), tensor.WithBacking(a)), gorgonia.WithName("a"))
	bn := gorgonia.NodeFromAny(gr, tensor.New(tensor.WithShape(n, c, h, w), tensor.WithBacking(b)), gorgonia.WithName("b"))
	wn := gorgonia.NodeFromAny(gr, tensor.New(tensor.WithShape(n), tensor.WithBacking(gw)), gorgonia.WithName("w"))
	d, err := NormDist(an, bn)
	if err != nil {
		t.Fatal(err)
	}
	obj := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(d, wn))))
	gb, err := gorgonia.Grad(obj, bn)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(gr)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	a64, b64 := make([]float64, len(a)), make([]float64, len(b))
	for i := range a {
		a64[i], b64[i] = float64(a[i]), float64(b[i])
	}
	ref := normDistRef(a64, b64, n, c, hw)
	for i, r := range ref {
		if got := float64(d.Value().Data().([]float32)[i]); math.Abs(got-r) > 1e-6*math.Max(1, r) {
			t.Errorf("image %d: %v, reference %v", i, got, r)
		}
	}
	obj64 := func(b []float64) float64 {
		var s float64
		for i, v := range normDistRef(a64, b, n, c, hw) {
			s += v * float64(gw[i])
		}
		return s
	}
	const step = 1e-6
	gv := gb[0].Value().Data().([]float32)
	var num, den float64
	for k := range b64 {
		keep := b64[k]
		b64[k] = keep + step
		up := obj64(b64)
		b64[k] = keep - step
		down := obj64(b64)
		b64[k] = keep
		fd := (up - down) / (2 * step)
		num += (float64(gv[k]) - fd) * (float64(gv[k]) - fd)
		den += fd * fd
	}
	if e := math.Sqrt(num / den); e > 1e-5 {
		t.Errorf("gradient: relative error %.3g against central differences", e)
	} else {
		t.Logf("gradient: relative error %.2g against central differences", e)
	}
	if _, err := NormDist(an, wn); err == nil {
		t.Error("NormDist of a 1-d node returned no error")
	}
}

func randnStd(rng *rand.Rand, n int, std float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(std * rng.NormFloat64())
	}
	return v
}
