package nn

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The layers of StyleGAN2's generator (Karras et al. 2020, "Analyzing and
// Improving the Image Quality of StyleGAN", Sec. 2.2, Eq. 1 to 3) that
// package stylegan2 builds its modulated convolutions from, in the
// non-fused form of the authors' code: the input channels are scaled by
// the style s (Modulate), convolved with the weight shared by the batch
// (Conv2d), and every output channel is scaled by the demodulation
// coefficient (Demodulate, then Modulate again). AddNoise adds the per-pixel
// noise, Repeat the learned constant input, StyleMix and Pick route the
// intermediate latents w to the layers.

// Modulate scales every channel of every sample: y[n,c,...] = x[n,c,...]·s[n,c]
// for x [N,C,H,W] or [N,C] and s [N,C]. ng drops the gradient for x
// (NoInputGrad) or for s (NoParamGrad).
func Modulate(x, s *gorgonia.Node, ng NoGrad) (*gorgonia.Node, error) {
	const layer = "Modulate"
	if err := checkNode(layer, "x", x, 2, 4); err != nil {
		return nil, err
	}
	if err := checkNode(layer, "s", s, 2); err != nil {
		return nil, err
	}
	xs, ss := x.Shape(), s.Shape()
	if ss[0] != xs[0] || ss[1] != xs[1] || xs.TotalSize() == 0 {
		return nil, fmt.Errorf("nn: %s: x has shape %v and s %v, want s [N C] for x [N C ...]", layer, xs, ss)
	}
	p := planes{n: xs[0], c: xs[1], hw: xs.TotalSize() / (xs[0] * xs[1])}
	return gorgonia.ApplyOp(&modulateOp{base: newBase(layer, false, xs, xs, ss), p: p, ng: ng}, x, s)
}

type modulateOp struct {
	base
	p  planes
	ng NoGrad
}

func (op *modulateOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	modulate(op.p, in[0], in[1], y)
	return out, nil
}

// modulate sets y[pl] = s[pl]·x[pl] for every plane pl of p.
func modulate(p planes, x, s, y []float32) {
	parallelRange(p.n*p.c, max(minPerTask/p.hw, 1), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			v := s[pl]
			xs, ys := x[pl*p.hw:(pl+1)*p.hw], y[pl*p.hw:(pl+1)*p.hw]
			for i, xv := range xs {
				ys[i] = xv * v
			}
		}
	})
}

func (op *modulateOp) DiffWRT(int) []bool { return []bool{op.ng.input(), op.ng.param()} }

func (op *modulateOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 2", op.name, len(inputs))
	}
	res := make(gorgonia.Nodes, 2)
	var err error
	if op.ng.input() {
		back := &modulateGradOp{base: newBase(op.name+"∂x", false, op.in[0], op.in[0], op.in[1]), p: op.p}
		if res[0], err = gorgonia.ApplyOp(back, grad, inputs[1]); err != nil {
			return nil, err
		}
	}
	if op.ng.param() {
		back := &planeDotOp{base: newBase(op.name+"∂s", false, op.in[1], op.in[0], op.in[0]), p: op.p}
		if res[1], err = gorgonia.ApplyOp(back, grad, inputs[0]); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// modulateGradOp computes g·s from (g, s).
type modulateGradOp struct {
	base
	noDiff
	p planes
}

func (op *modulateGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, gx := op.output()
	modulate(op.p, in[0], in[1], gx)
	return out, nil
}

// planeDotOp computes out[pl] = Σ a[pl]·b[pl] over every plane: [N, C].
type planeDotOp struct {
	base
	noDiff
	p planes
}

func (op *planeDotOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, r := op.output()
	a, b, p := in[0], in[1], op.p
	parallelRange(p.n*p.c, max(minPerTask/p.hw, 1), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			r[pl] = float32(dot64(a[pl*p.hw:(pl+1)*p.hw], b[pl*p.hw:(pl+1)*p.hw]))
		}
	})
	return out, nil
}

// dot64 is Σ a·b in float64 (two partial sums).
func dot64(a, b []float32) float64 {
	var s0, s1 float64
	i := 0
	for ; i+2 <= len(a); i += 2 {
		s0 += float64(a[i]) * float64(b[i])
		s1 += float64(a[i+1]) * float64(b[i+1])
	}
	if i < len(a) {
		s0 += float64(a[i]) * float64(b[i])
	}
	return s0 + s1
}

// DemodEps is the ε of StyleGAN2's demodulation (1e-8).
const DemodEps = 1e-8

// Demodulate returns the demodulation coefficients of a modulated
// convolution with styles s [N, I] and weight w [O, I, K, K] (Karras et al.
// 2020, Eq. 3), times gain:
//
//	d[n,o] = gain / sqrt(Σ_i s[n,i]² · Σ_{k} w[o,i,k]² + eps),
//
// [N, O]. Scaling the output channel o of conv(x·s, w) by d[n,o] is the
// demodulated convolution. ng drops the gradient for s (NoInputGrad) or for
// w (NoParamGrad). gain > 0 (StyleGAN2 folds the activation's gain √2 in
// here), eps > 0.
func Demodulate(s, w *gorgonia.Node, gain, eps float32, ng NoGrad) (*gorgonia.Node, error) {
	const layer = "Demodulate"
	if err := checkNode(layer, "s", s, 2); err != nil {
		return nil, err
	}
	if err := checkNode(layer, "w", w, 4); err != nil {
		return nil, err
	}
	ss, ws := s.Shape(), w.Shape()
	if ws[1] != ss[1] || ss.TotalSize() == 0 || ws.TotalSize() == 0 {
		return nil, fmt.Errorf("nn: %s: s has shape %v and w %v, want s [N I] for w [O I K K]", layer, ss, ws)
	}
	if !(gain > 0) || !(eps > 0) {
		return nil, fmt.Errorf("nn: %s: gain %v, eps %v: want both > 0", layer, gain, eps)
	}
	d := demodDims{n: ss[0], i: ss[1], o: ws[0], kk: ws[2] * ws[3]}
	op := &demodOp{base: newBase(fmt.Sprintf("%s(%g)", layer, gain), false, tensor.Shape{d.n, d.o}, ss, ws), d: d, gain: gain, eps: eps, ng: ng}
	return gorgonia.ApplyOp(op, s, w)
}

type demodDims struct{ n, i, o, kk int }

// w2 returns Σ_k w[o,i,k]² as [o, i] in float64.
func (d demodDims) w2(w []float32) []float64 {
	q := make([]float64, d.o*d.i)
	for j := range q {
		var s float64
		for _, v := range w[j*d.kk : (j+1)*d.kk] {
			s += float64(v) * float64(v)
		}
		q[j] = s
	}
	return q
}

type demodOp struct {
	base
	d         demodDims
	gain, eps float32
	ng        NoGrad
}

func (op *demodOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	s, d := in[0], op.d
	w2 := d.w2(in[1])
	gain, eps := float64(op.gain), float64(op.eps)
	for n := range d.n {
		sn := s[n*d.i : (n+1)*d.i]
		for o := range d.o {
			var q float64
			for i, v := range sn {
				q += float64(v) * float64(v) * w2[o*d.i+i]
			}
			y[n*d.o+o] = float32(gain / math.Sqrt(q+eps))
		}
	}
	return out, nil
}

func (op *demodOp) DiffWRT(int) []bool { return []bool{op.ng.input(), op.ng.param()} }

func (op *demodOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 2", op.name, len(inputs))
	}
	res := make(gorgonia.Nodes, 2)
	for k, want := range []bool{op.ng.input(), op.ng.param()} {
		if !want {
			continue
		}
		back := &demodGradOp{base: newBase(fmt.Sprintf("%s∂%c", op.name, "sw"[k]), false, op.in[k], op.in[0], op.in[1], op.shape, op.shape),
			fwd: op, wrtW: k == 1}
		var err error
		if res[k], err = gorgonia.ApplyOp(back, inputs[0], inputs[1], output, grad); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// demodGradOp computes the gradient to s (or to w, wrtW) from (s, w, d, g):
// with u[n,o] = -g[n,o]·d[n,o]³/(2·gain²),
//
//	∂s[n,i] = 2 s[n,i] Σ_o u[n,o] Σ_k w[o,i,k]²,  ∂w[o,i,k] = 2 w[o,i,k] Σ_n u[n,o] s[n,i]².
type demodGradOp struct {
	base
	noDiff
	fwd  *demodOp
	wrtW bool
}

func (op *demodGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, r := op.output()
	s, w, dv, g := in[0], in[1], in[2], in[3]
	d := op.fwd.d
	g2 := float64(op.fwd.gain) * float64(op.fwd.gain)
	u := make([]float64, d.n*d.o)
	for j := range u {
		dd := float64(dv[j])
		u[j] = -float64(g[j]) * dd * dd * dd / (2 * g2)
	}
	if !op.wrtW {
		w2 := d.w2(w)
		for n := range d.n {
			for i := range d.i {
				var acc float64
				for o := range d.o {
					acc += u[n*d.o+o] * w2[o*d.i+i]
				}
				r[n*d.i+i] = float32(2 * float64(s[n*d.i+i]) * acc)
			}
		}
		return out, nil
	}
	for o := range d.o {
		for i := range d.i {
			var acc float64
			for n := range d.n {
				sv := float64(s[n*d.i+i])
				acc += u[n*d.o+o] * sv * sv
			}
			base := (o*d.i + i) * d.kk
			for k := range d.kk {
				r[base+k] = float32(2 * float64(w[base+k]) * acc)
			}
		}
	}
	return out, nil
}

// AddNoise returns x + strength·noise for x [N,C,H,W], noise [N,1,H,W]
// (one plane per sample, added to every channel; data, no gradient) and
// strength [1], StyleGAN2's noise inputs (Karras et al. 2019, Sec. 3.2).
// ng drops the gradient for x (NoInputGrad) or for strength (NoParamGrad).
func AddNoise(x, noise, strength *gorgonia.Node, ng NoGrad) (*gorgonia.Node, error) {
	const layer = "AddNoise"
	if err := checkNode(layer, "x", x, 4); err != nil {
		return nil, err
	}
	if err := checkNode(layer, "noise", noise, 4); err != nil {
		return nil, err
	}
	if err := checkNode(layer, "strength", strength, 1); err != nil {
		return nil, err
	}
	xs, ns := x.Shape(), noise.Shape()
	if ns[0] != xs[0] || ns[1] != 1 || ns[2] != xs[2] || ns[3] != xs[3] || strength.Shape()[0] != 1 || xs.TotalSize() == 0 {
		return nil, fmt.Errorf("nn: %s: x %v, noise %v, strength %v: want noise [N 1 H W] and strength [1]", layer, xs, ns, strength.Shape())
	}
	p := planes{n: xs[0], c: xs[1], hw: xs[2] * xs[3]}
	op := &addNoiseOp{base: newBase(layer, false, xs, xs, ns, strength.Shape()), p: p, ng: ng}
	return gorgonia.ApplyOp(op, x, noise, strength)
}

type addNoiseOp struct {
	base
	p  planes
	ng NoGrad
}

func (op *addNoiseOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	x, nz, st, p := in[0], in[1], in[2][0], op.p
	parallelRange(p.n*p.c, max(minPerTask/p.hw, 1), func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			ns := nz[(pl/p.c)*p.hw : (pl/p.c+1)*p.hw]
			xs, ys := x[pl*p.hw:(pl+1)*p.hw], y[pl*p.hw:(pl+1)*p.hw]
			for i, v := range xs {
				ys[i] = v + st*ns[i]
			}
		}
	})
	return out, nil
}

func (op *addNoiseOp) DiffWRT(int) []bool { return []bool{op.ng.input(), false, op.ng.param()} }

func (op *addNoiseOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 3 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 3", op.name, len(inputs))
	}
	res := make(gorgonia.Nodes, 3)
	if op.ng.input() {
		res[0] = grad
	}
	if op.ng.param() {
		back := &noiseDotOp{base: newBase(op.name+"∂strength", false, op.in[2], op.in[0], op.in[1]), p: op.p}
		var err error
		if res[2], err = gorgonia.ApplyOp(back, grad, inputs[1]); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// noiseDotOp computes Σ g[n,c,p]·noise[n,p] from (g, noise): [1].
type noiseDotOp struct {
	base
	noDiff
	p planes
}

func (op *noiseDotOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, r := op.output()
	g, nz, p := in[0], in[1], op.p
	var s float64
	for pl := range p.n * p.c {
		s += dot64(g[pl*p.hw:(pl+1)*p.hw], nz[(pl/p.c)*p.hw:(pl/p.c+1)*p.hw])
	}
	r[0] = float32(s)
	return out, nil
}

// Repeat stacks n copies of x (any shape S): [n, S...]. StyleGAN2's
// synthesis network starts from a learned constant repeated over the
// batch. Its gradient sums the copies.
func Repeat(x *gorgonia.Node, n int) (*gorgonia.Node, error) {
	const layer = "Repeat"
	if err := checkNode(layer, "x", x); err != nil {
		return nil, err
	}
	xs := x.Shape()
	if n < 1 || xs.TotalSize() == 0 || xs.Dims() == 0 {
		return nil, fmt.Errorf("nn: %s: %d copies of shape %v", layer, n, xs)
	}
	ys := append(tensor.Shape{n}, xs...)
	return gorgonia.ApplyOp(&repeatOp{base: newBase(fmt.Sprintf("%s(%d)", layer, n), false, ys, xs), n: n}, x)
}

type repeatOp struct {
	base
	n int
}

func (op *repeatOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	d := len(in[0])
	for i := range op.n {
		copy(y[i*d:(i+1)*d], in[0])
	}
	return out, nil
}

func (op *repeatOp) DiffWRT(int) []bool { return []bool{true} }

func (op *repeatOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	back := &sumCopiesOp{base: newBase(op.name+"∂", false, op.in[0], op.shape), n: op.n}
	g, err := gorgonia.ApplyOp(back, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// sumCopiesOp sums the n slices of its input along the first axis.
type sumCopiesOp struct {
	base
	noDiff
	n int
}

func (op *sumCopiesOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, r := op.output()
	g := in[0]
	d := len(r)
	for j := range d {
		var s float64
		for i := range op.n {
			s += float64(g[i*d+j])
		}
		r[j] = float32(s)
	}
	return out, nil
}

// StyleMix returns the intermediate latents of StyleGAN2's style mixing
// (Karras et al. 2019, Sec. 3.1): ws [N, L, D] with ws[n, l] = a[n] for
// l < cut and b[n] from the cutoff on, for a and b [N, D] and cut [1], a
// number read at every run (data, no gradient; cut ≥ L gives a alone).
// Its gradient sums the layers' gradients of each side.
func StyleMix(a, b, cut *gorgonia.Node, l int) (*gorgonia.Node, error) {
	const layer = "StyleMix"
	if err := checkNode(layer, "a", a, 2); err != nil {
		return nil, err
	}
	if err := checkNode(layer, "b", b, 2); err != nil {
		return nil, err
	}
	if err := checkNode(layer, "cut", cut, 1); err != nil {
		return nil, err
	}
	as := a.Shape()
	if !as.Eq(b.Shape()) || cut.Shape()[0] != 1 || l < 1 || as.TotalSize() == 0 {
		return nil, fmt.Errorf("nn: %s: a %v, b %v, cut %v, %d layers", layer, as, b.Shape(), cut.Shape(), l)
	}
	ys := tensor.Shape{as[0], l, as[1]}
	op := &styleMixOp{base: newBase(fmt.Sprintf("%s(%d)", layer, l), false, ys, as, as, cut.Shape()), n: as[0], l: l, d: as[1]}
	return gorgonia.ApplyOp(op, a, b, cut)
}

type styleMixOp struct {
	base
	n, l, d int
}

// cutoff reads the cutoff as a layer index in [0, l].
func cutoff(v float32, l int) int {
	return int(math.Max(0, math.Min(float64(l), math.Round(float64(v)))))
}

func (op *styleMixOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	c := cutoff(in[2][0], op.l)
	for n := range op.n {
		for l := range op.l {
			src := in[0]
			if l >= c {
				src = in[1]
			}
			copy(y[(n*op.l+l)*op.d:(n*op.l+l+1)*op.d], src[n*op.d:(n+1)*op.d])
		}
	}
	return out, nil
}

func (op *styleMixOp) DiffWRT(int) []bool { return []bool{true, true, false} }

func (op *styleMixOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 3 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 3", op.name, len(inputs))
	}
	res := make(gorgonia.Nodes, 3)
	for k := range 2 {
		back := &styleMixGradOp{base: newBase(fmt.Sprintf("%s∂%c", op.name, "ab"[k]), false, op.in[k], op.shape, op.in[2]), fwd: op, second: k == 1}
		var err error
		if res[k], err = gorgonia.ApplyOp(back, grad, inputs[2]); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// styleMixGradOp sums g [N, L, D] over the layers before the cutoff (or
// from it, second) from (g, cut).
type styleMixGradOp struct {
	base
	noDiff
	fwd    *styleMixOp
	second bool
}

func (op *styleMixGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, r := op.output()
	f := op.fwd
	c := cutoff(in[1][0], f.l)
	lo, hi := 0, c
	if op.second {
		lo, hi = c, f.l
	}
	g := in[0]
	for n := range f.n {
		rn := r[n*f.d : (n+1)*f.d]
		clear(rn)
		for l := lo; l < hi; l++ {
			for j, v := range g[(n*f.l+l)*f.d : (n*f.l+l+1)*f.d] {
				rn[j] += v
			}
		}
	}
	return out, nil
}

// Pick returns layer l of x [N, L, D]: [N, D], the w of one layer of
// StyleGAN2's synthesis network. Its gradient is zero but at layer l.
func Pick(x *gorgonia.Node, l int) (*gorgonia.Node, error) {
	const layer = "Pick"
	if err := checkNode(layer, "x", x, 3); err != nil {
		return nil, err
	}
	xs := x.Shape()
	if l < 0 || l >= xs[1] || xs.TotalSize() == 0 {
		return nil, fmt.Errorf("nn: %s: layer %d of x %v", layer, l, xs)
	}
	op := &pickOp{base: newBase(fmt.Sprintf("%s(%d)", layer, l), false, tensor.Shape{xs[0], xs[2]}, xs), n: xs[0], l: xs[1], d: xs[2], at: l}
	return gorgonia.ApplyOp(op, x)
}

type pickOp struct {
	base
	n, l, d, at int
	scatter     bool // the gradient: [N, D] into layer at of zeros [N, L, D]
}

func (op *pickOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	x := in[0]
	for n := range op.n {
		row := (n*op.l + op.at) * op.d
		if op.scatter {
			clear(y[n*op.l*op.d : (n+1)*op.l*op.d])
			copy(y[row:row+op.d], x[n*op.d:(n+1)*op.d])
		} else {
			copy(y[n*op.d:(n+1)*op.d], x[row:row+op.d])
		}
	}
	return out, nil
}

func (op *pickOp) DiffWRT(int) []bool { return []bool{true} }

func (op *pickOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	back := &pickOp{base: newBase(op.name+"∂", false, op.in[0], op.shape), n: op.n, l: op.l, d: op.d, at: op.at, scatter: !op.scatter}
	g, err := gorgonia.ApplyOp(back, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// SwapIO exchanges the first two axes of a convolution weight: w [O, I,
// K, K] becomes [I, O, K, K], the layout of ConvTranspose2d. StyleGAN2's
// upsampling convolutions keep the layout of every other layer (and of
// their demodulation) and run as transposed convolutions, as its code
// does. Its gradient swaps the axes back.
func SwapIO(w *gorgonia.Node) (*gorgonia.Node, error) {
	const layer = "SwapIO"
	if err := checkNode(layer, "w", w, 4); err != nil {
		return nil, err
	}
	ws := w.Shape()
	if ws.TotalSize() == 0 {
		return nil, fmt.Errorf("nn: %s: w of shape %v", layer, ws)
	}
	return gorgonia.ApplyOp(newSwapIOOp(layer, ws), w)
}

func newSwapIOOp(name string, in tensor.Shape) *swapIOOp {
	out := tensor.Shape{in[1], in[0], in[2], in[3]}
	return &swapIOOp{base: newBase(name, false, out, in), o: in[0], i: in[1], kk: in[2] * in[3]}
}

type swapIOOp struct {
	base
	o, i, kk int
}

func (op *swapIOOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	w := in[0]
	for o := range op.o {
		for i := range op.i {
			copy(y[(i*op.o+o)*op.kk:(i*op.o+o+1)*op.kk], w[(o*op.i+i)*op.kk:(o*op.i+i+1)*op.kk])
		}
	}
	return out, nil
}

func (op *swapIOOp) DiffWRT(int) []bool { return []bool{true} }

func (op *swapIOOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	g, err := gorgonia.ApplyOp(newSwapIOOp(op.name+"∂", op.shape), grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}
