package nn

/*
#cgo CFLAGS: -O3
#cgo LDFLAGS: -lm

#include <math.h>

// LayerNorm's passes over NCHW tensors: samples of d = c·hw values, each
// normalised by its own mean and 1/sqrt(var + eps); plane p (of hw values)
// belongs to sample p / c and channel p % c. gamma and beta hold c values
// (elem == 0, one per channel) or c·hw (elem == 1, one per value of a
// sample). Activations as in act_c.go: 0 Identity, 1 ReLU, 2 LeakyReLU,
// 3 Tanh, 4 Sigmoid (the forward pass here applies 0 to 2 only).

#pragma GCC optimize ("no-trapping-math")

// anogo_ln_moments sets mean[k] and inv[k] = 1/sqrt(var + eps) (biased
// variance) for samples [n0, n1), sums in double.
static void anogo_ln_moments(const float *x, long n0, long n1, long d, double eps, float *mean, float *inv) {
	for (long k = n0; k < n1; k++) {
		const float *xs = x + k * d;
		double a[4] = {0, 0, 0, 0}, q[4] = {0, 0, 0, 0};
		long i = 0;
		for (; i + 4 <= d; i += 4) {
			for (int j = 0; j < 4; j++) {
				double u = xs[i + j];
				a[j] += u;
				q[j] += u * u;
			}
		}
		for (; i < d; i++) {
			double u = xs[i];
			a[0] += u;
			q[0] += u * u;
		}
		double mu = ((a[0] + a[1]) + (a[2] + a[3])) / d;
		double v = ((q[0] + q[1]) + (q[2] + q[3])) / d - mu * mu;
		if (v < 0) v = 0;
		mean[k] = (float)mu;
		inv[k] = (float)(1 / sqrt(v + eps));
	}
}

// anogo_ln_fwd sets y = act(gamma·(x - mean)·inv + beta) over planes
// [lo, hi); per channel as act(a·x + b) with a = gamma·inv,
// b = beta - a·mean.
static void anogo_ln_fwd(const float *x, float *y, long lo, long hi, long c, long hw,
		const float *mean, const float *inv, const float *gamma, const float *beta,
		int elem, int act, float alpha) {
	for (long p = lo; p < hi; p++) {
		long k = p / c, ch = p % c;
		float m = mean[k], iv = inv[k];
		const float *restrict xs = x + p * hw;
		float *restrict ys = y + p * hw;
		if (elem) {
			const float *restrict gs = gamma + ch * hw, *restrict bs = beta + ch * hw;
			for (long i = 0; i < hw; i++) ys[i] = gs[i] * ((xs[i] - m) * iv) + bs[i];
		} else {
			float a = gamma[ch] * iv, b = beta[ch] - a * m;
			for (long i = 0; i < hw; i++) ys[i] = a * xs[i] + b;
		}
		switch (act) {
		case 1:
			for (long i = 0; i < hw; i++) ys[i] = ys[i] > 0 ? ys[i] : 0;
			break;
		case 2:
			for (long i = 0; i < hw; i++) ys[i] = ys[i] <= 0 ? ys[i] * alpha : ys[i];
			break;
		}
	}
}

// anogo_ln_dact returns gp = act'(y)·g for n values: g itself for Identity,
// tmp filled otherwise. (ReLU's g[i] is loaded whatever y[i]'s sign, so
// that gcc turns the select into vector masks instead of a branch: a
// conditional load would be ten times slower.)
static const float *anogo_ln_dact(int act, float alpha, long n, const float *restrict y,
		const float *restrict g, float *restrict tmp) {
	switch (act) {
	case 1: for (long i = 0; i < n; i++) { float u = g[i]; tmp[i] = y[i] > 0 ? u : 0.0f; } break;
	case 2: for (long i = 0; i < n; i++) tmp[i] = y[i] > 0 ? g[i] : alpha * g[i]; break;
	case 3: for (long i = 0; i < n; i++) tmp[i] = g[i] * (1 - y[i] * y[i]); break;
	case 4: for (long i = 0; i < n; i++) tmp[i] = g[i] * y[i] * (1 - y[i]); break;
	default: return g;
	}
	return tmp;
}

// anogo_ln_dot2 adds Σ gp and Σ gp·(x - m) over n values to *sa and *sb:
// eight float partial sums each (which gcc vectorises; a plane has at most
// a few thousand values), added in double.
static void anogo_ln_dot2(const float *restrict gp, const float *restrict xs, float m, long n,
		double *sa, double *sb) {
	float a[8] = {0, 0, 0, 0, 0, 0, 0, 0}, b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
	long i = 0;
	for (; i + 8 <= n; i += 8) {
		for (int j = 0; j < 8; j++) {
			float u = gp[i + j];
			a[j] += u;
			b[j] += u * (xs[i + j] - m);
		}
	}
	for (; i < n; i++) {
		a[0] += gp[i];
		b[0] += gp[i] * (xs[i] - m);
	}
	double ta = 0, tb = 0;
	for (int j = 0; j < 8; j++) {
		ta += a[j];
		tb += b[j];
	}
	*sa += ta;
	*sb += tb;
}

// anogo_ln_gradx sets the input gradient for samples [n0, n1): with
// h = gamma·gp the gradient at x̂ = (x - mean)·inv,
// gx = inv·(h - Σh/d - x̂·Σ(h·x̂)/d) = inv·(h - c1 - (x - mean)·c2),
// c1 = Σh/d, c2 = inv²·Σ(h·(x - mean))/d. tmp holds hw values.
static void anogo_ln_gradx(const float *x, const float *y, const float *g, float *gx, float *tmp,
		long n0, long n1, long c, long hw, const float *mean, const float *inv,
		const float *gamma, int elem, int act, float alpha) {
	long d = c * hw;
	for (long k = n0; k < n1; k++) {
		float m = mean[k], iv = inv[k];
		double sa = 0, sb = 0;
		for (long ch = 0; ch < c; ch++) {
			long o = k * d + ch * hw;
			const float *restrict xs = x + o;
			const float *gp = anogo_ln_dact(act, alpha, hw, y + o, g + o, tmp);
			if (elem) {
				const float *restrict gs = gamma + ch * hw;
				for (long i = 0; i < hw; i++) tmp[i] = gs[i] * gp[i];
				anogo_ln_dot2(tmp, xs, m, hw, &sa, &sb);
			} else {
				double pa = 0, pb = 0;
				anogo_ln_dot2(gp, xs, m, hw, &pa, &pb);
				sa += gamma[ch] * pa;
				sb += gamma[ch] * pb;
			}
		}
		float c1 = (float)(sa / d), c2 = (float)(sb / d * iv * iv);
		for (long ch = 0; ch < c; ch++) {
			long o = k * d + ch * hw;
			const float *restrict xs = x + o;
			const float *gp = anogo_ln_dact(act, alpha, hw, y + o, g + o, tmp);
			float *restrict out = gx + o;
			if (elem) {
				const float *restrict gs = gamma + ch * hw;
				for (long i = 0; i < hw; i++) out[i] = iv * (gs[i] * gp[i] - c1 - (xs[i] - m) * c2);
			} else {
				float gc = gamma[ch];
				for (long i = 0; i < hw; i++) out[i] = iv * (gc * gp[i] - c1 - (xs[i] - m) * c2);
			}
		}
	}
}

// anogo_ln_param_sums sets, for channels [c0, c1) of n samples, the
// gradients of gamma (Σ gp·x̂) and beta (Σ gp), x̂ = (x - mean)·inv, into
// r = [2][G]: per channel (elem == 0, G = c, sums over samples and pixels,
// in double) or per value (elem == 1, G = c·hw, sums over samples). tmp
// holds hw values.
static void anogo_ln_param_sums(const float *x, const float *y, const float *g, float *tmp, long n,
		long c, long hw, long c0, long c1, const float *mean, const float *inv, int elem, int act,
		float alpha, float *r) {
	long d = c * hw;
	for (long ch = c0; ch < c1; ch++) {
		double sx = 0, sg = 0;
		float *restrict rg = r + ch * hw, *restrict rb = r + d + ch * hw;
		if (elem) {
			for (long i = 0; i < hw; i++) rg[i] = rb[i] = 0;
		}
		for (long k = 0; k < n; k++) {
			long o = k * d + ch * hw;
			const float *restrict xs = x + o;
			const float *gp = anogo_ln_dact(act, alpha, hw, y + o, g + o, tmp);
			float m = mean[k], iv = inv[k];
			if (elem) {
				for (long i = 0; i < hw; i++) {
					rg[i] += gp[i] * ((xs[i] - m) * iv);
					rb[i] += gp[i];
				}
				continue;
			}
			double pg = 0, px = 0;
			anogo_ln_dot2(gp, xs, m, hw, &pg, &px);
			sg += pg;
			sx += iv * px;
		}
		if (!elem) {
			r[ch] = (float)sx;
			r[c + ch] = (float)sg;
		}
	}
}
*/
import "C"

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LayerNorm normalises each sample over all its values (Ba et al. 2016,
// "Layer normalization"): for x [N,C,H,W] or [N,C],
// y = gamma·(x - mean)/sqrt(var + eps) + beta, mean and (biased) var taken
// over the C·H·W values of each sample. gamma and beta are either [C], one
// scale and offset per channel (the layer normalisation of WGAN-GP's ResNet
// critic, Gulrajani et al. 2017, as f-AnoGAN uses it), or [C,H,W], one per
// value: torch.nn.LayerNorm([C, H, W], eps). eps must be > 0; PyTorch's
// default is 1e-5. ng drops the gradient for x (NoInputGrad) or for gamma and
// beta (NoParamGrad).
//
// Unlike BatchNorm, samples do not interact, so the output of a sample and
// its gradients depend on that sample alone (as a gradient penalty needs).
func LayerNorm(x, gamma, beta *gorgonia.Node, eps float32, ng NoGrad) (*gorgonia.Node, error) {
	return layerNorm("LayerNorm", x, gamma, beta, eps, Identity, 0, ng)
}

// LayerNormAct is LayerNorm followed by BiasAct(·, nil, act, alpha), fused
// as BatchNormTrainAct fuses BatchNorm: one pass normalises and applies the
// activation, and the backward passes read act'(y)·g from the output, so the
// normalised values before the activation are never stored.
func LayerNormAct(x, gamma, beta *gorgonia.Node, eps float32, act Act, alpha float32, ng NoGrad) (*gorgonia.Node, error) {
	const layer = "LayerNormAct"
	if err := checkAct(layer, act, alpha); err != nil {
		return nil, err
	}
	return layerNorm(layer, x, gamma, beta, eps, act, alpha, ng)
}

// lnGeom is the layout of a LayerNorm: n samples of c planes of hw values;
// elem when gamma and beta have one value per value of a sample.
type lnGeom struct {
	planes
	elem bool
}

func (g lnGeom) d() int { return g.c * g.hw }

// params is the number of values of gamma (and of beta).
func (g lnGeom) params() int {
	if g.elem {
		return g.d()
	}
	return g.c
}

func layerNorm(layer string, x, gamma, beta *gorgonia.Node, eps float32, act Act, alpha float32, ng NoGrad) (*gorgonia.Node, error) {
	if err := checkNode(layer, "x", x, 2, 4); err != nil {
		return nil, err
	}
	if !(eps > 0) {
		return nil, fmt.Errorf("nn: %s: eps %v, want > 0", layer, eps)
	}
	xs := x.Shape()
	lg := lnGeom{planes: planes{n: xs[0], c: xs[1], hw: 1}}
	if len(xs) == 4 {
		lg.hw = xs[2] * xs[3]
	}
	if lg.n < 1 || lg.d() < 1 {
		return nil, fmt.Errorf("nn: %s: x has shape %v, want a non-empty tensor", layer, xs)
	}
	ps := tensor.Shape{lg.c}
	for _, v := range []struct {
		name string
		n    *gorgonia.Node
	}{{"gamma", gamma}, {"beta", beta}} {
		if err := checkNode(layer, v.name, v.n); err != nil {
			return nil, err
		}
	}
	switch gs := gamma.Shape(); {
	case gs.Eq(ps):
	case len(xs) == 4 && gs.Eq(xs[1:]):
		lg.elem, ps = true, xs[1:].Clone()
	default:
		return nil, fmt.Errorf("nn: %s: gamma has shape %v, want [%d] or %v for x %v", layer, gs, lg.c, xs[1:], xs)
	}
	if !beta.Shape().Eq(ps) {
		return nil, fmt.Errorf("nn: %s: beta has shape %v, want gamma's %v", layer, beta.Shape(), ps)
	}
	ss := tensor.Shape{2, lg.n}
	stats := &lnStatsOp{base: newBase(layer+"stats", false, ss, xs), g: lg, eps: eps}
	s, err := gorgonia.ApplyOp(stats, x)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s(%g)", layer, eps)
	switch {
	case act == LeakyReLU:
		name = fmt.Sprintf("%s(%g,%v,%g)", layer, eps, act, alpha)
	case act != Identity:
		name = fmt.Sprintf("%s(%g,%v)", layer, eps, act)
	}
	op := &lnOp{base: newBase(name, false, xs, xs, ss, ps, ps), g: lg, act: act, alpha: alpha, ng: ng}
	return gorgonia.ApplyOp(op, x, s, gamma, beta)
}

// lnStatsOp computes s [2, N] = (mean, 1/sqrt(var + eps)) per sample. Like
// bnStatsOp it is not differentiable; lnOp's backward accounts for the
// statistics' dependence on x.
type lnStatsOp struct {
	base
	noDiff
	g   lnGeom
	eps float32
}

func (op *lnStatsOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, s := op.output()
	x, n, d := in[0], op.g.n, op.g.d()
	parallelRange(n, max(minPerTask/d, 1), func(lo, hi int) {
		C.anogo_ln_moments(fptr(x), C.long(lo), C.long(hi), C.long(d), C.double(op.eps), fptr(s[:n]), fptr(s[n:]))
	})
	return out, nil
}

// lnOp applies y = act(gamma·(x - mean)·inv + beta) with (mean, inv) from
// lnStatsOp. Inputs: x, s, gamma, beta.
type lnOp struct {
	base
	g     lnGeom
	act   Act
	alpha float32
	ng    NoGrad
}

func (op *lnOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	x, s, gamma, beta := in[0], in[1], in[2], in[3]
	g := op.g
	act := op.act
	if act > LeakyReLU {
		act = Identity // applied in Go below
	}
	parallelRange(g.n*g.c, max(minPerTask/g.hw, 1), func(lo, hi int) {
		C.anogo_ln_fwd(fptr(x), fptr(y), C.long(lo), C.long(hi), C.long(g.c), C.long(g.hw),
			fptr(s[:g.n]), fptr(s[g.n:]), fptr(gamma), fptr(beta), cbool(g.elem), C.int(act), C.float(op.alpha))
		if op.act > LeakyReLU {
			ys := y[lo*g.hw : hi*g.hw]
			applyAct(op.act, op.alpha, 0, ys, ys)
		}
	})
	return out, nil
}

func (op *lnOp) DiffWRT(int) []bool {
	return []bool{op.ng.input(), false, op.ng.param(), op.ng.param()}
}

// SymDiff: with x̂ = (x - mean)·inv, g the output gradient and
// gp = act'(y)·g, ∂gamma = Σ gp·x̂ and ∂beta = Σ gp (over samples, and over
// pixels for per-channel parameters), and
// ∂x = inv·(h - Σh/D - x̂·Σ(h·x̂)/D) with h = gamma·gp, sums over the D values
// of the sample.
func (op *lnOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 4 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 4", op.name, len(inputs))
	}
	x, s, gamma := inputs[0], inputs[1], inputs[2]
	res := make(gorgonia.Nodes, 4)
	xs, ss, ps := op.in[0], op.in[1], op.in[2]
	var err error
	if op.ng.input() {
		gx := &lnGradXOp{base: newBase(op.name+"∂x", false, xs, xs, ss, ps, xs, xs), g: op.g, act: op.act, alpha: op.alpha}
		if res[0], err = gorgonia.ApplyOp(gx, x, s, gamma, output, grad); err != nil {
			return nil, err
		}
	}
	if op.ng.param() {
		rs := tensor.Shape{2, op.g.params()}
		so := &lnSumsOp{base: newBase(op.name+"∂sums", false, rs, xs, ss, xs, xs), g: op.g, act: op.act, alpha: op.alpha}
		sums, err := gorgonia.ApplyOp(so, x, s, output, grad)
		if err != nil {
			return nil, err
		}
		for i := range 2 {
			r := &rowOp{base: newBase(fmt.Sprintf("%s∂%s", op.name, []string{"gamma", "beta"}[i]), false, ps, rs), row: i}
			if res[2+i], err = gorgonia.ApplyOp(r, sums); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// lnGradXOp computes ∂x from (x, s, gamma, y, g).
type lnGradXOp struct {
	base
	noDiff
	g     lnGeom
	act   Act
	alpha float32
}

func (op *lnGradXOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, gx := op.output()
	x, s, gamma, y, g := in[0], in[1], in[2], in[3], in[4]
	lg := op.g
	parallelRange(lg.n, max(minPerTask/lg.d(), 1), func(lo, hi int) {
		tmp := scratch.get(lg.hw)
		defer scratch.put(tmp)
		C.anogo_ln_gradx(fptr(x), fptr(y), fptr(g), fptr(gx), fptr(tmp), C.long(lo), C.long(hi),
			C.long(lg.c), C.long(lg.hw), fptr(s[:lg.n]), fptr(s[lg.n:]), fptr(gamma), cbool(lg.elem),
			C.int(op.act), C.float(op.alpha))
	})
	return out, nil
}

// lnSumsOp computes [2, G] = (∂gamma, ∂beta) from (x, s, y, g), G the
// number of values of gamma.
type lnSumsOp struct {
	base
	noDiff
	g     lnGeom
	act   Act
	alpha float32
}

func (op *lnSumsOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, r := op.output()
	x, s, y, g := in[0], in[1], in[2], in[3]
	lg := op.g
	parallelRange(lg.c, max(minPerTask/(lg.n*lg.hw), 1), func(lo, hi int) {
		tmp := scratch.get(lg.hw)
		defer scratch.put(tmp)
		C.anogo_ln_param_sums(fptr(x), fptr(y), fptr(g), fptr(tmp), C.long(lg.n), C.long(lg.c), C.long(lg.hw),
			C.long(lo), C.long(hi), fptr(s[:lg.n]), fptr(s[lg.n:]), cbool(lg.elem), C.int(op.act),
			C.float(op.alpha), fptr(r))
	})
	return out, nil
}
