package nn

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The ops of pSp's encoder and loss (package psp): the bilinear resize of
// its pyramid (resizeOp, its adjoint resizeAdjOp) and the per-image
// distance of unit-normalised features of the perceptual loss
// (normDistOp, its gradient normDistGradOp). Float32,
// NCHW, an output buffer owned by the op and reused at every run, a
// backward pass made of ops created in SymDiff.

func check4D(what string, x *gorgonia.Node) error {
	if x == nil {
		return fmt.Errorf("nn: %s is nil", what)
	}
	if x.Shape().Dims() != 4 {
		return fmt.Errorf("nn: %s has shape %v, want [N, C, H, W]", what, x.Shape())
	}
	if t, ok := x.Type().(gorgonia.TensorType); !ok || t.Of != tensor.Float32 {
		return fmt.Errorf("nn: %s has type %v, want a float32 tensor", what, x.Type())
	}
	return nil
}

// tap is one output index's two source indices and the weight of the
// second: y = (1-f)·x[i0] + f·x[i1].
type tap struct {
	i0, i1 int
	f      float32
}

// alignedTaps returns the taps of a linear resize from n to m samples
// with aligned corners (PyTorch's align_corners=True): output i reads
// source position i·(n-1)/(m-1).
func alignedTaps(n, m int) []tap {
	t := make([]tap, m)
	scale := 0.0
	if m > 1 {
		scale = float64(n-1) / float64(m-1)
	}
	for i := range t {
		src := scale * float64(i)
		i0 := min(int(src), n-1)
		i1 := min(i0+1, n-1)
		t[i] = tap{i0: i0, i1: i1, f: float32(src - float64(i0))}
	}
	return t
}

// Resize resizes every plane of x [N, C, h, w] to H×W by bilinear
// interpolation with aligned corners: PyTorch's F.interpolate(x, size=(H,
// W), mode="bilinear", align_corners=True), which pSp's pyramid uses to
// bring a coarser map to the size of the finer one (GradualStyleEncoder.
// _upsample_add). Its gradient is the adjoint resize.
func Resize(x *gorgonia.Node, h, w int) (*gorgonia.Node, error) {
	if err := check4D("Resize: x", x); err != nil {
		return nil, err
	}
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("nn: Resize to %dx%d", h, w)
	}
	xs := x.Shape()
	op := &resizeOp{
		base:   newBase(fmt.Sprintf("Resize(%dx%d→%dx%d)", xs[2], xs[3], h, w), false, tensor.Shape{xs[0], xs[1], h, w}, xs),
		planes: xs[0] * xs[1], h: xs[2], w: xs[3], H: h, W: w,
		ty: alignedTaps(xs[2], h), tx: alignedTaps(xs[3], w),
	}
	return gorgonia.ApplyOp(op, x)
}

// resizeOp maps planes of h×w values to H×W.
type resizeOp struct {
	base
	planes, h, w, H, W int
	ty, tx             []tap
}

func (op *resizeOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	x := in[0]
	hw, HW := op.h*op.w, op.H*op.W
	for p := 0; p < op.planes; p++ {
		xs, ys := x[p*hw:(p+1)*hw], y[p*HW:(p+1)*HW]
		for i, ty := range op.ty {
			r0, r1 := xs[ty.i0*op.w:(ty.i0+1)*op.w], xs[ty.i1*op.w:(ty.i1+1)*op.w]
			yr := ys[i*op.W : (i+1)*op.W]
			for j, tx := range op.tx {
				a := (1-tx.f)*r0[tx.i0] + tx.f*r0[tx.i1]
				b := (1-tx.f)*r1[tx.i0] + tx.f*r1[tx.i1]
				yr[j] = (1-ty.f)*a + ty.f*b
			}
		}
	}
	return out, nil
}

func (op *resizeOp) DiffWRT(int) []bool { return []bool{true} }

func (op *resizeOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	adj := &resizeAdjOp{
		base: newBase(op.name+"ᵀ", false, op.in[0], op.shape),
		fwd:  op,
	}
	g, err := gorgonia.ApplyOp(adj, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}

// resizeAdjOp is the adjoint of a resizeOp: it spreads each output
// gradient over the four source values with the same weights.
type resizeAdjOp struct {
	base
	noDiff
	fwd *resizeOp
}

func (op *resizeAdjOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, gx := op.output()
	clear(gx)
	f := op.fwd
	gy := in[0]
	hw, HW := f.h*f.w, f.H*f.W
	for p := 0; p < f.planes; p++ {
		gs, ys := gx[p*hw:(p+1)*hw], gy[p*HW:(p+1)*HW]
		for i, ty := range f.ty {
			r0, r1 := gs[ty.i0*f.w:(ty.i0+1)*f.w], gs[ty.i1*f.w:(ty.i1+1)*f.w]
			yr := ys[i*f.W : (i+1)*f.W]
			for j, tx := range f.tx {
				a, b := (1-ty.f)*yr[j], ty.f*yr[j]
				r0[tx.i0] += (1 - tx.f) * a
				r0[tx.i1] += tx.f * a
				r1[tx.i0] += (1 - tx.f) * b
				r1[tx.i1] += tx.f * b
			}
		}
	}
	return out, nil
}

// NormEps is added to the norm of a feature vector before dividing by it,
// as LPIPS's normalize_tensor does (1e-10).
const NormEps = 1e-10

// NormDist returns, per image, the distance of LPIPS (Zhang et al. 2018,
// Eq. 1) between two feature maps a and b [N, C, H, W] with unit weights
// (LPIPS without its learnt linear layers):
//
//	d[n] = 1/(H·W) Σ_{h,w} ‖â[n,:,h,w] - b̂[n,:,h,w]‖²,  v̂ = v / (‖v‖ + 1e-10),
//
// each feature vector normalised over the channels. a takes no gradient
// (the features of the data); b takes one.
func NormDist(a, b *gorgonia.Node) (*gorgonia.Node, error) {
	if err := check4D("NormDist: a", a); err != nil {
		return nil, err
	}
	if err := check4D("NormDist: b", b); err != nil {
		return nil, err
	}
	as := a.Shape()
	if !as.Eq(b.Shape()) {
		return nil, fmt.Errorf("nn: NormDist of shapes %v and %v", as, b.Shape())
	}
	op := &normDistOp{base: newBase("NormDist", false, tensor.Shape{as[0]}, as, as), n: as[0], c: as[1], hw: as[2] * as[3]}
	return gorgonia.ApplyOp(op, a, b)
}

type normDistOp struct {
	base
	n, c, hw int
	na, nb   []float64 // scratch: the norms at every position
}

// norms sets out[p] = ‖v[:, p]‖ over the c channels of a plane stack.
func norms(out []float64, v []float32, c, hw int) {
	clear(out)
	for ch := 0; ch < c; ch++ {
		for p, x := range v[ch*hw : (ch+1)*hw] {
			out[p] += float64(x) * float64(x)
		}
	}
	for p := range out {
		out[p] = math.Sqrt(out[p])
	}
}

func (op *normDistOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, d := op.output()
	if op.na == nil {
		op.na, op.nb = make([]float64, op.hw), make([]float64, op.hw)
	}
	sz := op.c * op.hw
	for n := 0; n < op.n; n++ {
		a, b := in[0][n*sz:(n+1)*sz], in[1][n*sz:(n+1)*sz]
		norms(op.na, a, op.c, op.hw)
		norms(op.nb, b, op.c, op.hw)
		var s float64
		for ch := 0; ch < op.c; ch++ {
			ac, bc := a[ch*op.hw:(ch+1)*op.hw], b[ch*op.hw:(ch+1)*op.hw]
			for p := range ac {
				e := float64(ac[p])/(op.na[p]+NormEps) - float64(bc[p])/(op.nb[p]+NormEps)
				s += e * e
			}
		}
		d[n] = float32(s / float64(op.hw))
	}
	return out, nil
}

func (op *normDistOp) DiffWRT(int) []bool { return []bool{false, true} }

func (op *normDistOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 2", op.name, len(inputs))
	}
	g := &normDistGradOp{base: newBase("NormDist∂b", false, op.in[1], op.in[0], op.in[1], op.shape), fwd: op}
	gb, err := gorgonia.ApplyOp(g, inputs[0], inputs[1], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{nil, gb}, nil
}

// normDistGradOp computes ∂d/∂b·g from (a, b, g): with r = ‖b‖,
// ν = r + ε and G = 2(b̂ - â)/(H·W) at every position,
//
//	∂/∂b = G/ν - b·(bᵀG)/(r·ν²)
//
// (the second term is 0 where b = 0).
type normDistGradOp struct {
	base
	noDiff
	fwd    *normDistOp
	na, nb []float64
	dot    []float64
	g      []float64 // scratch: G/ν of one image
}

func (op *normDistGradOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, gb := op.output()
	f := op.fwd
	sz := f.c * f.hw
	if op.na == nil {
		op.na, op.nb, op.dot = make([]float64, f.hw), make([]float64, f.hw), make([]float64, f.hw)
		op.g = make([]float64, sz)
	}
	for n := 0; n < f.n; n++ {
		a, b := in[0][n*sz:(n+1)*sz], in[1][n*sz:(n+1)*sz]
		gn := float64(in[2][n]) * 2 / float64(f.hw)
		norms(op.na, a, f.c, f.hw)
		norms(op.nb, b, f.c, f.hw)
		clear(op.dot)
		// G/ν, and bᵀG per position.
		for ch := 0; ch < f.c; ch++ {
			ac, bc, gc := a[ch*f.hw:(ch+1)*f.hw], b[ch*f.hw:(ch+1)*f.hw], op.g[ch*f.hw:(ch+1)*f.hw]
			for p := range ac {
				nb := op.nb[p] + NormEps
				G := gn * (float64(bc[p])/nb - float64(ac[p])/(op.na[p]+NormEps))
				op.dot[p] += float64(bc[p]) * G
				gc[p] = G / nb
			}
		}
		for p := range op.dot {
			if r := op.nb[p]; r > 0 {
				nb := r + NormEps
				op.dot[p] /= r * nb * nb
			}
		}
		gs := gb[n*sz : (n+1)*sz]
		for ch := 0; ch < f.c; ch++ {
			bc, gc, oc := b[ch*f.hw:(ch+1)*f.hw], op.g[ch*f.hw:(ch+1)*f.hw], gs[ch*f.hw:(ch+1)*f.hw]
			for p := range bc {
				oc[p] = float32(gc[p] - float64(bc[p])*op.dot[p])
			}
		}
	}
	return out, nil
}
