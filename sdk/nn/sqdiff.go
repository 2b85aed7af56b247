package nn

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SquaredDiffSum returns, for each sample n, the sum over all other axes of
// (a - b)² as a vector [N] (the image and feature residuals of f-AnoGAN,
// Schlegl et al. 2019, are per-sample means of it: see SquaredDiffMean).
// Gradient 2(a-b)·g to a and -2(a-b)·g to b; ng's NoInputGrad means "no
// gradient for a", NoParamGrad "no gradient for b", as for AbsDiffSum.
func SquaredDiffSum(a, b *gorgonia.Node, ng NoGrad) (*gorgonia.Node, error) {
	return squaredDiff("SquaredDiffSum", a, b, false, ng)
}

// SquaredDiffMean is SquaredDiffSum divided by the number of values of one
// sample: the per-sample mean squared error, torch's
// ((a - b)**2).flatten(1).mean(1).
func SquaredDiffMean(a, b *gorgonia.Node, ng NoGrad) (*gorgonia.Node, error) {
	return squaredDiff("SquaredDiffMean", a, b, true, ng)
}

func squaredDiff(layer string, a, b *gorgonia.Node, mean bool, ng NoGrad) (*gorgonia.Node, error) {
	if err := checkNode(layer, "a", a); err != nil {
		return nil, err
	}
	if err := checkNode(layer, "b", b); err != nil {
		return nil, err
	}
	as := a.Shape()
	if as.Dims() < 1 || !as.Eq(b.Shape()) || as.TotalSize() == 0 {
		return nil, fmt.Errorf("nn: %s: shapes %v and %v, want equal non-empty shapes [N, ...]", layer, as, b.Shape())
	}
	n := as[0]
	scale := 1.0
	if mean {
		scale = 1 / float64(as.TotalSize()/n)
	}
	op := &sqDiffOp{base: newBase(layer, false, tensor.Shape{n}, as, as), n: n, scale: scale, ng: ng}
	return gorgonia.ApplyOp(op, a, b)
}

// sqDiffOp computes r[n] = scale·Σ (a - b)² per sample, in float64.
type sqDiffOp struct {
	base
	n     int
	scale float64
	ng    NoGrad
}

func (op *sqDiffOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, r := op.output()
	a, b := in[0], in[1]
	d := len(a) / op.n
	parallelRange(op.n, max(minPerTask/max(d, 1), 1), func(lo, hi int) {
		for n := lo; n < hi; n++ {
			r[n] = float32(op.scale * sqDiff64(a[n*d:(n+1)*d], b[n*d:(n+1)*d]))
		}
	})
	return out, nil
}

// sqDiff64 returns Σ (a[i] - b[i])² in float64 (four partial sums), the
// differences taken in float32 as torch does.
func sqDiff64(a, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		d0, d1 := float64(a[i]-b[i]), float64(a[i+1]-b[i+1])
		d2, d3 := float64(a[i+2]-b[i+2]), float64(a[i+3]-b[i+3])
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(a); i++ {
		d := float64(a[i] - b[i])
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

func (op *sqDiffOp) DiffWRT(int) []bool { return []bool{op.ng.input(), op.ng.param()} }

func (op *sqDiffOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 2", op.name, len(inputs))
	}
	res := make(gorgonia.Nodes, 2)
	for i, want := range []bool{op.ng.input(), op.ng.param()} {
		if !want {
			continue
		}
		f := 2 * op.scale
		if i == 1 {
			f = -f
		}
		g := &sqDiffGradOp{base: newBase(fmt.Sprintf("%s∂%c", op.name, "ab"[i]), false, op.in[i], op.in[0], op.in[1], op.shape), n: op.n, f: float32(f)}
		var err error
		if res[i], err = gorgonia.ApplyOp(g, inputs[0], inputs[1], grad); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// sqDiffGradOp computes f·(a-b)·g[n] from (a, b, g), f = ±2·scale.
type sqDiffGradOp struct {
	base
	noDiff
	n int
	f float32
}

func (op *sqDiffGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, r := op.output()
	a, b, g := in[0], in[1], in[2]
	d := len(a) / op.n
	parallelRange(op.n, max(minPerTask/max(d, 1), 1), func(lo, hi int) {
		for n := lo; n < hi; n++ {
			gn := op.f * g[n]
			as, bs, rs := a[n*d:(n+1)*d], b[n*d:(n+1)*d], r[n*d:(n+1)*d]
			bs, rs = bs[:len(as)], rs[:len(as)]
			for i, v := range as {
				rs[i] = gn * (v - bs[i])
			}
		}
	})
	return out, nil
}
