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
	return batchNorm("BatchNorm", x, gamma, beta, st, train, Identity, 0, ng)
}

// BatchNormTrainAct is BatchNorm in training mode followed by
// BiasAct(·, nil, act, alpha), fused: the forward pass is one pass for the
// batch statistics and one that normalises and applies the activation; the
// backward pass reads act'(y)·g from the output y and the output gradient g
// on the fly (one pass for the two per-channel sums, one for ∂x), so the
// normalised values before the activation and their gradient are never
// stored. The values, the running statistics and the gradients are those
// of the two layers in a row, up to rounding; ng as for BatchNorm.
func BatchNormTrainAct(x, gamma, beta *gorgonia.Node, st *BNStats, act Act, alpha float32, ng NoGrad) (*gorgonia.Node, error) {
	const layer = "BatchNormTrainAct"
	if err := checkAct(layer, act, alpha); err != nil {
		return nil, err
	}
	return batchNorm(layer, x, gamma, beta, st, true, act, alpha, ng)
}

// checkAct returns an error unless act is an activation and alpha a valid
// LeakyReLU slope.
func checkAct(layer string, act Act, alpha float32) error {
	if act < Identity || act > Sigmoid {
		return fmt.Errorf("nn: %s: unknown activation %v", layer, act)
	}
	if act == LeakyReLU && !(alpha >= 0) {
		return fmt.Errorf("nn: %s: LeakyReLU slope %v, want ≥ 0", layer, alpha)
	}
	return nil
}

// batchNorm adds the statistics op and the op that normalises and applies
// act (Identity for plain BatchNorm).
func batchNorm(layer string, x, gamma, beta *gorgonia.Node, st *BNStats, train bool, act Act, alpha float32, ng NoGrad) (*gorgonia.Node, error) {
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
	stats := &bnStatsOp{base: newBase(layer+"("+mode+")stats", false, tensor.Shape{2, p.c}, xs), p: p, st: st, train: train}
	s, err := gorgonia.ApplyOp(stats, x)
	if err != nil {
		return nil, err
	}
	name := layer + "(" + mode + ")"
	switch {
	case act == LeakyReLU:
		name = fmt.Sprintf("%s(%s,%v,%g)", layer, mode, act, alpha)
	case act != Identity:
		name = fmt.Sprintf("%s(%s,%v)", layer, mode, act)
	}
	op := &bnOp{base: newBase(name, false, xs, xs, tensor.Shape{2, p.c}, cs, cs), p: p, train: train, act: act, alpha: alpha, ng: ng}
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
	p      planes
	st     *BNStats
	train  bool
	s1, s2 []float64 // per-channel Σx and Σx²
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
	if len(op.s1) != p.c {
		op.s1, op.s2 = make([]float64, p.c), make([]float64, p.c)
	}
	parallelRange(p.c, max(minPerTask/(p.n*p.hw), 1), func(lo, hi int) {
		moments(p, lo, hi, x, op.s1, op.s2)
		for c := lo; c < hi; c++ {
			s1, s2 := op.s1[c], op.s2[c]
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

// bnOp applies y = act(gamma·(x - mean)·inv + beta) with (mean, inv) from
// bnStatsOp. Inputs: x, s, gamma, beta.
type bnOp struct {
	base
	p     planes
	train bool
	act   Act
	alpha float32
	ng    NoGrad
	a, b  []float32 // per-channel scale and shift
}

// affine sets a = gamma·inv and b = beta - a·mean, the per-channel affine
// map of the normalisation, and returns them.
func affine(a, b, s, gamma, beta []float32) ([]float32, []float32) {
	c := len(gamma)
	if len(a) != c {
		a, b = make([]float32, c), make([]float32, c)
	}
	for i := range c {
		a[i] = gamma[i] * s[c+i]
		b[i] = beta[i] - a[i]*s[i]
	}
	return a, b
}

func (op *bnOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	x, s, gamma, beta := in[0], in[1], in[2], in[3]
	p := op.p
	op.a, op.b = affine(op.a, op.b, s, gamma, beta)
	a, b := op.a, op.b
	parallelRange(p.n*p.c, max(minPerTask/p.hw, 1), func(lo, hi int) {
		if op.act <= LeakyReLU {
			affineAct(p, lo, hi, x, y, a, b, op.act, op.alpha)
			return
		}
		for pl := lo; pl < hi; pl++ {
			c := pl % p.c
			xs, ys := x[pl*p.hw:(pl+1)*p.hw], y[pl*p.hw:(pl+1)*p.hw]
			for i, v := range xs {
				ys[i] = a[c] * v
			}
			applyAct(op.act, op.alpha, b[c], ys, ys)
		}
	})
	return out, nil
}

func (op *bnOp) DiffWRT(int) []bool {
	return []bool{op.ng.input(), false, op.ng.param(), op.ng.param()}
}

// SymDiff: with x̂ = (x - mean)·inv, g the output gradient and
// gp = act'(y)·g the gradient at the normalised values (gp = g without an
// activation), ∂gamma = Σ gp·x̂ and ∂beta = Σ gp (sums over all but the
// channel axis); in training
// ∂x = gamma·inv·(gp - Σgp/M - x̂·Σ(gp·x̂)/M), the batch statistics being
// functions of x; in evaluation ∂x = gamma·inv·gp.
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
		so := &bnSumsOp{base: newBase(op.name+"∂sums", false, ss, xs, ss, xs, xs), p: p, act: op.act, alpha: op.alpha}
		if sums, err = gorgonia.ApplyOp(so, x, s, output, grad); err != nil {
			return nil, err
		}
	}
	if op.ng.input() {
		gx := &bnGradXOp{p: p, train: op.train, act: op.act, alpha: op.alpha}
		if op.train {
			gx.base = newBase(op.name+"∂x", false, xs, xs, ss, cs, xs, xs, ss)
			res[0], err = gorgonia.ApplyOp(gx, x, s, gamma, output, grad, sums)
		} else {
			gx.base = newBase(op.name+"∂x", false, xs, ss, cs, xs, xs)
			res[0], err = gorgonia.ApplyOp(gx, s, gamma, output, grad)
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

// bnSumsOp computes [2, C] = (Σ gp·x̂, Σ gp) per channel from x, s, y and
// g, gp = act'(y)·g.
type bnSumsOp struct {
	base
	noDiff
	p     planes
	act   Act
	alpha float32
}

func (op *bnSumsOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, r := op.output()
	x, s, y, g := in[0], in[1], in[2], in[3]
	p := op.p
	parallelRange(p.c, max(minPerTask/(p.n*p.hw), 1), func(lo, hi int) {
		tmp := scratch.get(p.hw)
		defer scratch.put(tmp)
		bnSums(p, lo, hi, x, y, g, tmp, s[:p.c], s[p.c:], r, op.act, op.alpha)
	})
	return out, nil
}

// bnGradXOp computes ∂x: in training from (x, s, gamma, y, g, sums), in
// evaluation from (s, gamma, y, g).
type bnGradXOp struct {
	base
	noDiff
	p     planes
	train bool
	act   Act
	alpha float32
	// per-channel factors of the training gradient
	a, b1, b2 []float32
}

func (op *bnGradXOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, gx := op.output()
	p := op.p
	if len(op.a) != p.c {
		op.a, op.b1, op.b2 = make([]float32, p.c), make([]float32, p.c), make([]float32, p.c)
	}
	a := op.a
	if !op.train {
		s, gamma, y, g := in[0], in[1], in[2], in[3]
		for c := range p.c {
			a[c] = gamma[c] * s[p.c+c]
		}
		parallelRange(p.n*p.c, max(minPerTask/p.hw, 1), func(lo, hi int) {
			actGrad(p, lo, hi, y, g, gx, a, op.act, op.alpha)
		})
		return out, nil
	}
	x, s, gamma, y, g, sums := in[0], in[1], in[2], in[3], in[4], in[5]
	// gx = a·(gp - Σgp/M - x̂·Σ(gp·x̂)/M), x̂ = (x - mean)·inv
	m := float32(p.n * p.hw)
	b1, b2 := op.b1, op.b2
	for c := range p.c {
		inv := s[p.c+c]
		a[c] = gamma[c] * inv
		b1[c] = sums[p.c+c] / m
		b2[c] = sums[c] / m * inv
	}
	parallelRange(p.n*p.c, max(minPerTask/p.hw, 1), func(lo, hi int) {
		tmp := scratch.get(p.hw)
		defer scratch.put(tmp)
		bnGradX(p, lo, hi, x, y, g, gx, tmp, s[:p.c], a, b1, b2, op.act, op.alpha)
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
