package nn

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BNStats are a BatchNorm layer's running statistics: exported so that
// checkpoints save and load them. Momentum 0.1 and Eps 1e-5 by default, as in
// PyTorch.
type BNStats struct {
	Mean, Var []float32
	Momentum  float32
	Eps       float32
}

// NewBNStats returns the statistics of a fresh layer of c channels: Mean 0,
// Var 1.
func NewBNStats(c int) *BNStats {
	st := &BNStats{Mean: make([]float32, c), Var: make([]float32, c), Momentum: 0.1, Eps: 1e-5}
	for i := range st.Var {
		st.Var[i] = 1
	}
	return st
}

// BatchNorm normalises per channel (Ioffe and Szegedy 2015, Alg. 1):
// y = gamma·(x - mean)/sqrt(var + eps) + beta. x [N,C,H,W] or [N,C];
// gamma, beta [C].
//
// train=true: batch statistics (biased variance to normalise), and the
// running statistics in st are updated in place at every forward run with the
// unbiased variance, exactly as PyTorch does:
// mean_r ← (1-m)·mean_r + m·mean, var_r ← (1-m)·var_r + m·var·M/(M-1), with
// M = N·H·W values per channel. train=false (eval): running statistics, which
// are not changed. The backward is correct in both modes (in eval mode it is
// a per-channel affine map). Writes nothing but st.
//
// st is read at every run, so statistics loaded from a checkpoint after the
// graph was built take effect.
func BatchNorm(x, gamma, beta *gorgonia.Node, st *BNStats, train bool, ng NoGrad) (*gorgonia.Node, error) {
	const layer = "BatchNorm"
	p, err := bnPlanes(layer, x, gamma, beta, st)
	if err != nil {
		return nil, err
	}
	xs := x.Shape()
	if train && p.n*p.hw < 2 {
		return nil, fmt.Errorf("nn: %s: training needs more than one value per channel, x has shape %v", layer, xs)
	}
	mode := "eval"
	if train {
		mode = "train"
	}
	cs := tensor.Shape{p.c}
	stats := &bnStatsOp{base: newBase("BatchNorm("+mode+")stats", false, tensor.Shape{2, p.c}, xs), p: p, st: st, train: train}
	s, err := gorgonia.ApplyOp(stats, x)
	if err != nil {
		return nil, err
	}
	op := &bnOp{base: newBase("BatchNorm("+mode+")", false, xs, xs, tensor.Shape{2, p.c}, cs, cs), p: p, train: train, ng: ng}
	return gorgonia.ApplyOp(op, x, s, gamma, beta)
}

func (st *BNStats) check(c int) error {
	if len(st.Mean) != c || len(st.Var) != c {
		return fmt.Errorf("statistics for %d and %d channels, want %d", len(st.Mean), len(st.Var), c)
	}
	if !(st.Eps > 0) {
		return fmt.Errorf("statistics with Eps %v, want > 0", st.Eps)
	}
	return nil
}

// bnStatsOp computes s [2, C] = (mean, 1/sqrt(var + eps)) per channel: of the
// batch in training (and updates st), of st in evaluation. It tells gorgonia
// it is not differentiable; bnOp's backward accounts for the statistics'
// dependence on x instead.
type bnStatsOp struct {
	base
	noDiff
	p     planes
	st    *BNStats
	train bool
}

func (op *bnStatsOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	st, p := op.st, op.p
	if err := st.check(p.c); err != nil {
		return nil, fmt.Errorf("nn: %s: %w", op.name, err)
	}
	out, s := op.output()
	mean, inv := s[:p.c], s[p.c:]
	if !op.train {
		for c := range p.c {
			mean[c] = st.Mean[c]
			inv[c] = float32(1 / math.Sqrt(float64(st.Var[c])+float64(st.Eps)))
		}
		return out, nil
	}
	x := in[0]
	m := float64(p.n * p.hw)
	mom := float64(st.Momentum)
	parallelRange(p.c, max(minPerTask/(p.n*p.hw), 1), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			var s1, s2 float64
			for n := range p.n {
				for _, v := range x[(n*p.c+c)*p.hw : (n*p.c+c+1)*p.hw] {
					f := float64(v)
					s1 += f
					s2 += f * f
				}
			}
			mu := s1 / m
			v := max(s2/m-mu*mu, 0) // biased variance
			mean[c] = float32(mu)
			inv[c] = float32(1 / math.Sqrt(v+float64(st.Eps)))
			st.Mean[c] = float32((1-mom)*float64(st.Mean[c]) + mom*mu)
			st.Var[c] = float32((1-mom)*float64(st.Var[c]) + mom*v*m/(m-1))
		}
	})
	return out, nil
}

// bnOp applies y = gamma·(x - mean)·inv + beta with (mean, inv) from
// bnStatsOp. Inputs: x, s, gamma, beta.
type bnOp struct {
	base
	p     planes
	train bool
	ng    NoGrad
}

func (op *bnOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	x, s, gamma, beta := in[0], in[1], in[2], in[3]
	p := op.p
	mean, inv := s[:p.c], s[p.c:]
	parallelRange(p.n*p.c, max(minPerTask/p.hw, 1), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			c := pl % p.c
			a := gamma[c] * inv[c]
			b := beta[c] - a*mean[c]
			xs, ys := x[pl*p.hw:(pl+1)*p.hw], y[pl*p.hw:(pl+1)*p.hw]
			for i, v := range xs {
				ys[i] = a*v + b
			}
		}
	})
	return out, nil
}

func (op *bnOp) DiffWRT(int) []bool {
	return []bool{op.ng.input(), false, op.ng.param(), op.ng.param()}
}

// SymDiff: with x̂ = (x - mean)·inv and g the output gradient,
// ∂gamma = Σ g·x̂ and ∂beta = Σ g (sums over all but the channel axis);
// in training ∂x = gamma·inv·(g - Σg/M - x̂·Σ(g·x̂)/M), the batch statistics
// being functions of x; in evaluation ∂x = gamma·inv·g.
func (op *bnOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 4 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 4", op.name, len(inputs))
	}
	x, s, gamma := inputs[0], inputs[1], inputs[2]
	res := make(gorgonia.Nodes, 4)
	p := op.p
	xs, ss, cs := op.in[0], op.in[1], tensor.Shape{p.c}
	var sums *gorgonia.Node
	var err error
	if op.ng.param() || (op.ng.input() && op.train) {
		so := &bnSumsOp{base: newBase(op.name+"∂sums", false, ss, xs, ss, xs), p: p}
		if sums, err = gorgonia.ApplyOp(so, x, s, grad); err != nil {
			return nil, err
		}
	}
	if op.ng.input() {
		gx := &bnGradXOp{p: p, train: op.train}
		if op.train {
			gx.base = newBase(op.name+"∂x", false, xs, xs, ss, cs, xs, ss)
			res[0], err = gorgonia.ApplyOp(gx, x, s, gamma, grad, sums)
		} else {
			gx.base = newBase(op.name+"∂x", false, xs, ss, cs, xs)
			res[0], err = gorgonia.ApplyOp(gx, s, gamma, grad)
		}
		if err != nil {
			return nil, err
		}
	}
	if op.ng.param() {
		for i := range 2 {
			r := &rowOp{base: newBase(fmt.Sprintf("%s∂%s", op.name, []string{"gamma", "beta"}[i]), false, cs, ss), row: i}
			if res[2+i], err = gorgonia.ApplyOp(r, sums); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// bnSumsOp computes [2, C] = (Σ g·x̂, Σ g) per channel from x, s and g.
type bnSumsOp struct {
	base
	noDiff
	p planes
}

func (op *bnSumsOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, r := op.output()
	x, s, g := in[0], in[1], in[2]
	p := op.p
	parallelRange(p.c, max(minPerTask/(p.n*p.hw), 1), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			var sg, sgx float64
			for n := range p.n {
				o := (n*p.c + c) * p.hw
				xs, gs := x[o:o+p.hw], g[o:o+p.hw]
				for i, v := range gs {
					sg += float64(v)
					sgx += float64(v) * float64(xs[i])
				}
			}
			// Σ g·x̂ = inv·(Σ g·x - mean·Σ g)
			r[c] = float32(float64(s[p.c+c]) * (sgx - float64(s[c])*sg))
			r[p.c+c] = float32(sg)
		}
	})
	return out, nil
}

// bnGradXOp computes ∂x: in training from (x, s, gamma, g, sums), in
// evaluation from (s, gamma, g).
type bnGradXOp struct {
	base
	noDiff
	p     planes
	train bool
}

func (op *bnGradXOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, gx := op.output()
	p := op.p
	var x, s, gamma, g, sums []float32
	if op.train {
		x, s, gamma, g, sums = in[0], in[1], in[2], in[3], in[4]
	} else {
		s, gamma, g = in[0], in[1], in[2]
	}
	m := float32(p.n * p.hw)
	parallelRange(p.n*p.c, max(minPerTask/p.hw, 1), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			c := pl % p.c
			mean, inv := s[c], s[p.c+c]
			a := gamma[c] * inv
			gs, gxs := g[pl*p.hw:(pl+1)*p.hw], gx[pl*p.hw:(pl+1)*p.hw]
			if !op.train {
				for i, v := range gs {
					gxs[i] = a * v
				}
				continue
			}
			// gx = a·(g - Σg/M - x̂·Σ(g·x̂)/M), x̂ = (x - mean)·inv
			b1 := sums[p.c+c] / m
			b2 := sums[c] / m * inv
			xs := x[pl*p.hw : (pl+1)*p.hw]
			for i, v := range gs {
				gxs[i] = a * (v - b1 - (xs[i]-mean)*b2)
			}
		}
	})
	return out, nil
}

// rowOp copies one row of a [2, C] matrix.
type rowOp struct {
	base
	noDiff
	row int
}

func (op *rowOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, r := op.output()
	c := len(r)
	copy(r, in[0][op.row*c:(op.row+1)*c])
	return out, nil
}

// bnPlanes checks the inputs of a BatchNorm layer (x [N,C,H,W] or [N,C],
// gamma and beta [C], statistics for C channels) and returns x's planes.
func bnPlanes(layer string, x, gamma, beta *gorgonia.Node, st *BNStats) (planes, error) {
	if err := checkNode(layer, "x", x, 2, 4); err != nil {
		return planes{}, err
	}
	xs := x.Shape()
	p := planes{n: xs[0], c: xs[1], hw: 1}
	if len(xs) == 4 {
		p.hw = xs[2] * xs[3]
	}
	for _, v := range []struct {
		name string
		n    *gorgonia.Node
	}{{"gamma", gamma}, {"beta", beta}} {
		if err := checkNode(layer, v.name, v.n, 1); err != nil {
			return planes{}, err
		}
		if v.n.Shape()[0] != p.c {
			return planes{}, fmt.Errorf("nn: %s: %s has shape %v, want [%d]", layer, v.name, v.n.Shape(), p.c)
		}
	}
	if st == nil {
		return planes{}, fmt.Errorf("nn: %s: nil statistics", layer)
	}
	if err := st.check(p.c); err != nil {
		return planes{}, fmt.Errorf("nn: %s: %w", layer, err)
	}
	return p, nil
}
