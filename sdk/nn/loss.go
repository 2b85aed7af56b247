package nn

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// AbsDiffSum returns, for each sample n, sum over all other axes of |a - b|
// as a vector [N]. (AnoGAN's residual loss Eq. 3 and discrimination loss
// Eq. 4 are built from it.) Gradient sign(a-b) to a and -sign(a-b) to b (0 at
// 0); ng's NoInputGrad means "no gradient for a", NoParamGrad "no gradient
// for b".
func AbsDiffSum(a, b *gorgonia.Node, ng NoGrad) (*gorgonia.Node, error) {
	const layer = "AbsDiffSum"
	if err := checkNode(layer, "a", a); err != nil {
		return nil, err
	}
	if err := checkNode(layer, "b", b); err != nil {
		return nil, err
	}
	as := a.Shape()
	if as.Dims() < 1 || !as.Eq(b.Shape()) {
		return nil, fmt.Errorf("nn: %s: shapes %v and %v, want equal shapes [N, ...]", layer, as, b.Shape())
	}
	n := as[0]
	op := &absDiffSumOp{base: newBase(layer, false, tensor.Shape{n}, as, as), n: n, ng: ng}
	return gorgonia.ApplyOp(op, a, b)
}

type absDiffSumOp struct {
	base
	n  int
	ng NoGrad
}

func (op *absDiffSumOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, r := op.output()
	a, b := in[0], in[1]
	d := len(a) / op.n
	parallelRange(op.n, max(minPerTask/max(d, 1), 1), func(lo, hi int) {
		for n := lo; n < hi; n++ {
			as, bs := a[n*d:(n+1)*d], b[n*d:(n+1)*d]
			var s0, s1 float64
			i := 0
			for ; i+2 <= d; i += 2 {
				s0 += math.Abs(float64(as[i] - bs[i]))
				s1 += math.Abs(float64(as[i+1] - bs[i+1]))
			}
			if i < d {
				s0 += math.Abs(float64(as[i] - bs[i]))
			}
			r[n] = float32(s0 + s1)
		}
	})
	return out, nil
}

func (op *absDiffSumOp) DiffWRT(int) []bool { return []bool{op.ng.input(), op.ng.param()} }

func (op *absDiffSumOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 2", op.name, len(inputs))
	}
	res := make(gorgonia.Nodes, 2)
	for i, want := range []bool{op.ng.input(), op.ng.param()} {
		if !want {
			continue
		}
		sign := float32(1)
		if i == 1 {
			sign = -1
		}
		g := &absDiffGradOp{base: newBase(fmt.Sprintf("%s∂%c", op.name, "ab"[i]), false, op.in[i], op.in[0], op.in[1], op.shape), n: op.n, sign: sign}
		var err error
		if res[i], err = gorgonia.ApplyOp(g, inputs[0], inputs[1], grad); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// absDiffGradOp computes sign·sign(a-b)·g[n] from (a, b, g).
type absDiffGradOp struct {
	base
	noDiff
	n    int
	sign float32
}

func (op *absDiffGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, r := op.output()
	a, b, g := in[0], in[1], in[2]
	d := len(a) / op.n
	parallelRange(op.n, max(minPerTask/max(d, 1), 1), func(lo, hi int) {
		for n := lo; n < hi; n++ {
			gn := op.sign * g[n]
			as, bs, rs := a[n*d:(n+1)*d], b[n*d:(n+1)*d], r[n*d:(n+1)*d]
			for i, v := range as {
				switch {
				case v > bs[i]:
					rs[i] = gn
				case v < bs[i]:
					rs[i] = -gn
				default:
					rs[i] = 0
				}
			}
		}
	})
	return out, nil
}

// BCEWithLogits returns per-sample binary cross-entropy of sigmoid(logit)
// against a constant target in [0,1] as a vector [N]; logits [N,1] or [N].
// Numerically stable (log-sum-exp form):
// ℓ(z, t) = -t·log σ(z) - (1-t)·log(1-σ(z)) = max(z, 0) - z·t + log(1 + e^{-|z|}),
// with gradient σ(z) - t.
func BCEWithLogits(logits *gorgonia.Node, target float32) (*gorgonia.Node, error) {
	const layer = "BCEWithLogits"
	if err := checkNode(layer, "logits", logits, 1, 2); err != nil {
		return nil, err
	}
	ls := logits.Shape()
	if ls.Dims() == 2 && ls[1] != 1 {
		return nil, fmt.Errorf("nn: %s: logits have shape %v, want [N 1] or [N]", layer, ls)
	}
	if !(target >= 0 && target <= 1) {
		return nil, fmt.Errorf("nn: %s: target %v outside [0, 1]", layer, target)
	}
	n := ls[0]
	op := &bceOp{base: newBase(fmt.Sprintf("%s(%g)", layer, target), false, tensor.Shape{n}, ls), t: target}
	return gorgonia.ApplyOp(op, logits)
}

type bceOp struct {
	base
	t float32
}

func (op *bceOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, r := op.output()
	t := float64(op.t)
	for i, v := range in[0] {
		z := float64(v)
		r[i] = float32(max(z, 0) - z*t + math.Log1p(math.Exp(-math.Abs(z))))
	}
	return out, nil
}

func (op *bceOp) DiffWRT(int) []bool { return []bool{true} }

func (op *bceOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g := &bceGradOp{base: newBase(op.name+"∂", false, op.in[0], op.in[0], op.shape), t: op.t}
	n, err := gorgonia.ApplyOp(g, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{n}, nil
}

// bceGradOp computes (σ(z) - t)·g from (z, g).
type bceGradOp struct {
	base
	noDiff
	t float32
}

func (op *bceGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, r := op.output()
	for i, z := range in[0] {
		s := 1 / (1 + math.Exp(-float64(z)))
		r[i] = float32((s - float64(op.t)) * float64(in[1][i]))
	}
	return out, nil
}
