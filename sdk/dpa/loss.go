package dpa

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/nn"
)

// relEps keeps the relative loss finite for an image whose features are
// all zero; it is added to mean|f(x)| (values of order 0.1 to 10), far
// below float32's resolution there.
const relEps = 1e-8

// Perceptual adds the relative perceptual L1 loss of the authors' code
// (rec_losses.py, PerceptualLoss with use_L1_norm and
// use_relative_error; the paper's Sec. III) to the graph, per image:
//
//	L_rel(x, x̂)[n] = mean|f(x)[n] - f(x̂)[n]| / (mean|f(x)[n]| + ε)
//
// with f = layer of fn and ε = 1e-8. f(x) takes no gradient (the
// denominator is the authors' detached mean, and x is data); x̂ takes one
// unless ng has NoInputGrad. It returns L_rel [N] and the features f(x)
// and f(x̂) for the anomaly map. fnodes are fn.Set.Nodes of the graph.
func Perceptual(fn *FeatureNet, fnodes gorgonia.Nodes, x, xr *gorgonia.Node, layer string, ng nn.NoGrad) (l, fx, fr *gorgonia.Node, err error) {
	if !x.Shape().Eq(xr.Shape()) {
		return nil, nil, nil, fmt.Errorf("dpa: loss of shapes %v and %v", x.Shape(), xr.Shape())
	}
	if fx, err = fn.Extract(x, fnodes, layer, nn.NoInputGrad); err != nil {
		return nil, nil, nil, err
	}
	if fr, err = fn.Extract(xr, fnodes, layer, ng&nn.NoInputGrad); err != nil {
		return nil, nil, nil, err
	}
	fs := fx.Shape()
	d := float32(fs[1] * fs[2] * fs[3])
	diff, err := nn.AbsDiffSum(fr, fx, nn.NoParamGrad|ng&nn.NoInputGrad)
	if err != nil {
		return nil, nil, nil, err
	}
	zero := gorgonia.NewConstant(tensor.New(tensor.WithShape(fs...), tensor.Of(tensor.Float32)), gorgonia.WithName("zero_features"))
	den, err := nn.AbsDiffSum(fx, zero, nn.NoInputGrad|nn.NoParamGrad)
	if err != nil {
		return nil, nil, nil, err
	}
	// diff/d / (den/d + ε) = diff / (den + ε·d)
	if den, err = gorgonia.Add(den, gorgonia.NewConstant(float32(relEps)*d)); err != nil {
		return nil, nil, nil, err
	}
	if l, err = gorgonia.HadamardDiv(diff, den); err != nil {
		return nil, nil, nil, err
	}
	return l, fx, fr, nil
}

// Map returns the anomaly map of one image from its features f(x) and
// f(x̂) (C planes of h×w values each): the channel mean of |f(x) - f(x̂)|
// divided by mean|f(x)| (+ ε), h×w values.
func Map(fx, fr []float32, c, h, w int) []float32 {
	hw := h * w
	var den float64
	for _, v := range fx[:c*hw] {
		if v < 0 {
			den -= float64(v)
		} else {
			den += float64(v)
		}
	}
	den = den/float64(c*hw) + relEps
	out := make([]float32, hw)
	for ch := 0; ch < c; ch++ {
		a, b := fx[ch*hw:(ch+1)*hw], fr[ch*hw:(ch+1)*hw]
		for i := range out {
			d := a[i] - b[i]
			if d < 0 {
				d = -d
			}
			out[i] += d
		}
	}
	s := float32(1 / (float64(c) * den))
	for i := range out {
		out[i] *= s
	}
	return out
}

// Bilinear resizes an h×w map to size×size by bilinear interpolation with
// half-pixel centres (PyTorch's F.interpolate(mode="bilinear",
// align_corners=False), which the authors' code uses for its maps).
func Bilinear(m []float32, h, w, size int) []float32 {
	out := make([]float32, size*size)
	src := func(i, n int) (int, int, float32) {
		x := (float64(i)+0.5)*float64(n)/float64(size) - 0.5
		if x < 0 {
			x = 0
		}
		i0 := int(x)
		if i0 > n-1 {
			i0 = n - 1
		}
		i1 := min(i0+1, n-1)
		return i0, i1, float32(x - float64(i0))
	}
	for y := 0; y < size; y++ {
		y0, y1, fy := src(y, h)
		for x := 0; x < size; x++ {
			x0, x1, fx := src(x, w)
			top := m[y0*w+x0]*(1-fx) + m[y0*w+x1]*fx
			bot := m[y1*w+x0]*(1-fx) + m[y1*w+x1]*fx
			out[y*size+x] = top*(1-fy) + bot*fy
		}
	}
	return out
}
