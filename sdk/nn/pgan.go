package nn

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The layers of progressive-growing GANs (Karras, Aila, Laine, Lehtinen,
// "Progressive Growing of GANs for Improved Quality, Stability, and
// Variation", ICLR 2018, Sec. 3 and 4.2): pixelwise feature normalisation
// and the minibatch standard deviation.

// PixelNormEps is the ε of PixelNorm in the progressive GAN's code (1e-8).
const PixelNormEps = 1e-8

// PixelNorm normalises every feature vector of x ([N, C] or [N, C, H, W])
// to unit mean square over its channels (Karras et al. 2018, Eq. 2):
//
//	y[n, c, p] = x[n, c, p] / sqrt(1/C Σ_c' x[n, c', p]² + eps).
//
// Its gradient to x is
//
//	g_x = r·g - r³/C · x · Σ_c' g[c'] x[c'],  r = 1/sqrt(mean_c x² + eps),
//
// taken by a backward op that is not differentiated again.
func PixelNorm(x *gorgonia.Node, eps float32) (*gorgonia.Node, error) {
	const layer = "PixelNorm"
	if err := checkNode(layer, "x", x, 2, 4); err != nil {
		return nil, err
	}
	xs := x.Shape()
	hw := 1
	if xs.Dims() == 4 {
		hw = xs[2] * xs[3]
	}
	if xs.TotalSize() == 0 || !(eps > 0) {
		return nil, fmt.Errorf("nn: %s: x of shape %v, eps %v", layer, xs, eps)
	}
	op := &pixelNormOp{base: newBase(layer, false, xs, xs), n: xs[0], c: xs[1], hw: hw, eps: eps}
	return gorgonia.ApplyOp(op, x)
}

type pixelNormOp struct {
	base
	n, c, hw int
	eps      float32
}

// pixelNormR sets r[p] = 1/sqrt(mean_c x[c, p]² + eps) for one sample's
// [c, hw] values.
func pixelNormR(x []float32, c, hw int, eps float32, r []float64) {
	for p := 0; p < hw; p++ {
		var s float64
		for k := 0; k < c; k++ {
			v := float64(x[k*hw+p])
			s += v * v
		}
		r[p] = 1 / math.Sqrt(s/float64(c)+float64(eps))
	}
}

func (op *pixelNormOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	x := in[0]
	d := op.c * op.hw
	parallelRange(op.n, max(minPerTask/max(d, 1), 1), func(lo, hi int) {
		r := make([]float64, op.hw)
		for n := lo; n < hi; n++ {
			xs, ys := x[n*d:(n+1)*d], y[n*d:(n+1)*d]
			pixelNormR(xs, op.c, op.hw, op.eps, r)
			for k := 0; k < op.c; k++ {
				for p := 0; p < op.hw; p++ {
					ys[k*op.hw+p] = float32(float64(xs[k*op.hw+p]) * r[p])
				}
			}
		}
	})
	return out, nil
}

func (op *pixelNormOp) DiffWRT(int) []bool { return []bool{true} }

func (op *pixelNormOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 1", op.name, len(inputs))
	}
	back := &pixelNormGradOp{base: newBase(op.name+"∂", false, op.shape, op.shape, op.shape), fwd: op}
	g, err := gorgonia.ApplyOp(back, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// pixelNormGradOp computes g_x from (x, g).
type pixelNormGradOp struct {
	base
	noDiff
	fwd *pixelNormOp
}

func (op *pixelNormGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, gx := op.output()
	x, g := in[0], in[1]
	f := op.fwd
	d := f.c * f.hw
	parallelRange(f.n, max(minPerTask/max(d, 1), 1), func(lo, hi int) {
		r := make([]float64, f.hw)
		for n := lo; n < hi; n++ {
			xs, gs, os := x[n*d:(n+1)*d], g[n*d:(n+1)*d], gx[n*d:(n+1)*d]
			pixelNormR(xs, f.c, f.hw, f.eps, r)
			for p := 0; p < f.hw; p++ {
				var dot float64
				for k := 0; k < f.c; k++ {
					dot += float64(gs[k*f.hw+p]) * float64(xs[k*f.hw+p])
				}
				rp := r[p]
				s := rp * rp * rp * dot / float64(f.c)
				for k := 0; k < f.c; k++ {
					i := k*f.hw + p
					os[i] = float32(rp*float64(gs[i]) - s*float64(xs[i]))
				}
			}
		}
	})
	return out, nil
}

// MinibatchStdEps is the ε under the square root of the minibatch standard
// deviation in the progressive GAN's code (1e-8).
const MinibatchStdEps = 1e-8

// MinibatchStd appends to x [N, C, H, W] one channel holding, for every
// sample, the mean over (C, H, W) of the standard deviation of its
// features over its group (Karras et al. 2018, Sec. 3, with the grouping of
// their code's minibatch_stddev_layer): the batch splits into G =
// min(group, N) groups' worth of members, sample n = g·M + m (M = N/G)
// belonging to the group of all samples with the same m, and
//
//	s[m] = 1/(CHW) Σ_{c,h,w} sqrt(1/G Σ_g (x[gM+m] - mean_g x[gM+m])² + 1e-8).
//
// N must be a multiple of G. The output is [N, C+1, H, W], channel C
// holding s[n mod M] at every pixel. The statistic couples the samples of
// a group: its gradient reaches every member. With frozen, the gradient
// treats the statistic as a constant (only the first C channels' gradient
// flows back), the choice a per-sample gradient penalty needs;
// MinibatchStdValues reads the statistic off the output.
func MinibatchStd(x *gorgonia.Node, group int, frozen bool) (*gorgonia.Node, error) {
	const layer = "MinibatchStd"
	if err := checkNode(layer, "x", x, 4); err != nil {
		return nil, err
	}
	xs := x.Shape()
	if group < 1 || xs.TotalSize() == 0 {
		return nil, fmt.Errorf("nn: %s: group %d for x of shape %v", layer, group, xs)
	}
	g := min(group, xs[0])
	if xs[0]%g != 0 {
		return nil, fmt.Errorf("nn: %s: batch of %d is not a multiple of the group size %d", layer, xs[0], g)
	}
	ys := tensor.Shape{xs[0], xs[1] + 1, xs[2], xs[3]}
	name := layer
	if frozen {
		name += "(frozen)"
	}
	op := &mbstdOp{base: newBase(name, false, ys, xs), n: xs[0], c: xs[1], hw: xs[2] * xs[3], g: g, frozen: frozen}
	return gorgonia.ApplyOp(op, x)
}

type mbstdOp struct {
	base
	n, c, hw, g int
	frozen      bool
}

// MinibatchStdStat returns the statistic s[m] of MinibatchStd for the n
// samples of c·hw values in x, with groups of min(group, n), one value per
// sample (s[n mod M]), computed as the op computes it.
func MinibatchStdStat(x []float32, n, c, hw, group int) []float32 {
	g := min(group, n)
	if n <= 0 || g <= 0 || n%g != 0 || len(x) != n*c*hw {
		panic(fmt.Sprintf("nn: MinibatchStdStat: %d values for %d samples of %dx%d, group %d", len(x), n, c, hw, group))
	}
	m := n / g
	d := c * hw
	s := make([]float32, n)
	for j := 0; j < m; j++ {
		var acc float64
		for i := 0; i < d; i++ {
			var mu float64
			for k := 0; k < g; k++ {
				mu += float64(x[(k*m+j)*d+i])
			}
			mu /= float64(g)
			var v float64
			for k := 0; k < g; k++ {
				e := float64(x[(k*m+j)*d+i]) - mu
				v += e * e
			}
			acc += math.Sqrt(v/float64(g) + MinibatchStdEps)
		}
		for k := 0; k < g; k++ {
			s[k*m+j] = float32(acc / float64(d))
		}
	}
	return s
}

// MinibatchStdValues returns the statistic channel of a MinibatchStd
// output y [N, C+1, H, W]: one value per sample.
func MinibatchStdValues(y []float32, n, c1, hw int) []float32 {
	if n <= 0 || len(y) != n*c1*hw {
		panic(fmt.Sprintf("nn: MinibatchStdValues: %d values for %d samples of %dx%d", len(y), n, c1, hw))
	}
	s := make([]float32, n)
	for i := range s {
		s[i] = y[(i*c1+c1-1)*hw]
	}
	return s
}

func (op *mbstdOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	x := in[0]
	s := MinibatchStdStat(x, op.n, op.c, op.hw, op.g)
	appendChannel(x, s, y, op.n, op.c, op.hw)
	return out, nil
}

// appendChannel writes x [n, c, hw] and s [n] broadcast over hw into y
// [n, c+1, hw].
func appendChannel(x, s, y []float32, n, c, hw int) {
	d := c * hw
	for i := 0; i < n; i++ {
		copy(y[i*(d+hw):i*(d+hw)+d], x[i*d:(i+1)*d])
		row := y[i*(d+hw)+d : (i+1)*(d+hw)]
		for p := range row {
			row[p] = s[i]
		}
	}
}

func (op *mbstdOp) DiffWRT(int) []bool { return []bool{true} }

func (op *mbstdOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 1", op.name, len(inputs))
	}
	var back gorgonia.Op
	var args gorgonia.Nodes
	if op.frozen {
		back = &dropChannelOp{base: newBase(op.name+"∂", false, op.in[0], op.shape), n: op.n, c: op.c, hw: op.hw}
		args = gorgonia.Nodes{grad}
	} else {
		back = &mbstdGradOp{base: newBase(op.name+"∂", false, op.in[0], op.in[0], op.shape), fwd: op}
		args = gorgonia.Nodes{inputs[0], grad}
	}
	g, err := gorgonia.ApplyOp(back, args...)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// mbstdGradOp computes MinibatchStd's gradient to x from (x, g).
type mbstdGradOp struct {
	base
	noDiff
	fwd *mbstdOp
}

func (op *mbstdGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, gx := op.output()
	x, g := in[0], in[1]
	f := op.fwd
	d, hw, gs := f.c*f.hw, f.hw, f.g
	m := f.n / gs
	dropChannel(g, gx, f.n, f.c, hw)
	// G_m: the gradient of s[m], summed over its members and pixels.
	for j := 0; j < m; j++ {
		var gm float64
		for k := 0; k < gs; k++ {
			row := g[(k*m+j)*(d+hw)+d : (k*m+j+1)*(d+hw)]
			for _, v := range row {
				gm += float64(v)
			}
		}
		scale := gm / float64(d) / float64(gs)
		for i := 0; i < d; i++ {
			var mu float64
			for k := 0; k < gs; k++ {
				mu += float64(x[(k*m+j)*d+i])
			}
			mu /= float64(gs)
			var v float64
			for k := 0; k < gs; k++ {
				e := float64(x[(k*m+j)*d+i]) - mu
				v += e * e
			}
			sigma := math.Sqrt(v/float64(gs) + MinibatchStdEps)
			for k := 0; k < gs; k++ {
				idx := (k*m+j)*d + i
				gx[idx] += float32(scale * (float64(x[idx]) - mu) / sigma)
			}
		}
	}
	return out, nil
}

// dropChannel copies the first c channels of g [n, c+1, hw] into gx
// [n, c, hw].
func dropChannel(g, gx []float32, n, c, hw int) {
	d := c * hw
	for i := 0; i < n; i++ {
		copy(gx[i*d:(i+1)*d], g[i*(d+hw):i*(d+hw)+d])
	}
}

// dropChannelOp is the gradient of a channel appended as a constant.
type dropChannelOp struct {
	base
	noDiff
	n, c, hw int
}

func (op *dropChannelOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, gx := op.output()
	dropChannel(in[0], gx, op.n, op.c, op.hw)
	return out, nil
}

// AppendChannel appends s [N] to x [N, C, H, W] as one more channel, s[n]
// at every pixel of sample n: out [N, C+1, H, W]. s is data (no gradient):
// the minibatch standard deviation of another batch held constant, say
// MinibatchStdValues of an anchor batch, which makes the network that
// follows a function of each sample alone.
func AppendChannel(x, s *gorgonia.Node) (*gorgonia.Node, error) {
	const layer = "AppendChannel"
	if err := checkNode(layer, "x", x, 4); err != nil {
		return nil, err
	}
	if err := checkNode(layer, "s", s, 1); err != nil {
		return nil, err
	}
	xs := x.Shape()
	if s.Shape()[0] != xs[0] || xs.TotalSize() == 0 {
		return nil, fmt.Errorf("nn: %s: x of shape %v and s of %v", layer, xs, s.Shape())
	}
	ys := tensor.Shape{xs[0], xs[1] + 1, xs[2], xs[3]}
	op := &appendChannelOp{base: newBase(layer, false, ys, xs, s.Shape()), n: xs[0], c: xs[1], hw: xs[2] * xs[3]}
	return gorgonia.ApplyOp(op, x, s)
}

type appendChannelOp struct {
	base
	n, c, hw int
}

func (op *appendChannelOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	appendChannel(in[0], in[1], y, op.n, op.c, op.hw)
	return out, nil
}

func (op *appendChannelOp) DiffWRT(int) []bool { return []bool{true, false} }

func (op *appendChannelOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 2", op.name, len(inputs))
	}
	back := &dropChannelOp{base: newBase(op.name+"∂", false, op.in[0], op.shape), n: op.n, c: op.c, hw: op.hw}
	g, err := gorgonia.ApplyOp(back, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g, nil}, nil
}
