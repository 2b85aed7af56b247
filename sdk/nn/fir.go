package nn

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Resampling with a finite impulse response filter, as StyleGAN2 does it
// (Karras et al. 2020, "Analyzing and Improving the Image Quality of
// StyleGAN", Sec. 2 and App. B; its code's upfirdn2d operation):
// upsample by inserting zeros, pad, filter, and keep every down-th pixel.

// FIR1331 is StyleGAN2's resampling filter [1, 3, 3, 1] normalised to
// sum 1 along one axis, times gain^(1/2): the 2-D filter f⊗f then sums to
// gain. Upsampling by 2 takes gain 4 (the zeros inserted quarter the mean),
// blurring and downsampling take gain 1.
func FIR1331(gain float64) []float32 {
	s := float32(math.Sqrt(gain) / 8)
	return []float32{s, 3 * s, 3 * s, s}
}

// UpFIRDn2d resamples x [N,C,H,W] along both axes with the separable 2-D
// filter f⊗f: along each axis it inserts up-1 zeros after every pixel
// (length L·up), pads pad0 zeros before and pad1 after, convolves with f
// (a true convolution, f reversed, as upfirdn2d does; StyleGAN2's filter
// is symmetric) keeping only the outputs where f lies inside the padded
// signal, and keeps every down-th of them. The output side is
// (L·up + pad0 + pad1 - len(f))/down + 1. So
//
//	y[j] = Σ_t f[K-1-t] · u[j·down + t - pad0],  u[m] = x[m/up] where up divides m, 0 elsewhere.
//
// StyleGAN2's uses: upsample2d is UpFIRDn2d(x, FIR1331(4), 2, 1, 2, 1)
// (2H×2W); its 3×3 convolutions that upsample equal UpFIRDn2d(x,
// FIR1331(4), 2, 1, 3, 2) ((2H+2)×(2W+2)) followed by a 3×3 convolution
// without padding; the blur before its 3×3 stride-2 convolutions is
// UpFIRDn2d(x, FIR1331(1), 1, 1, 2, 2) and the resampling of its 1×1
// stride-2 shortcut UpFIRDn2d(x, FIR1331(1), 1, 2, 1, 1).
//
// The op is linear; its gradient is the transposed resampling, an op of
// the same kind (up and down exchanged, the filter reversed), so it may be
// differentiated any number of times.
func UpFIRDn2d(x *gorgonia.Node, f []float32, up, down, pad0, pad1 int) (*gorgonia.Node, error) {
	const layer = "UpFIRDn2d"
	if err := checkNode(layer, "x", x, 4); err != nil {
		return nil, err
	}
	k := len(f)
	if k == 0 || up < 1 || down < 1 || pad0 < 0 || pad1 < 0 {
		return nil, fmt.Errorf("nn: %s: filter of %d taps, up %d, down %d, padding %d, %d", layer, k, up, down, pad0, pad1)
	}
	xs := x.Shape()
	s := firSpec{g: make([]float32, k), up: up, down: down, p0: pad0, hin: xs[2], win: xs[3]}
	for t := range k {
		s.g[t] = f[k-1-t]
	}
	for _, l := range []int{xs[2], xs[3]} {
		if l*up+pad0+pad1 < k {
			return nil, fmt.Errorf("nn: %s: %d pixels, upsampled and padded to %d, shorter than the filter's %d taps", layer, l, l*up+pad0+pad1, k)
		}
	}
	s.hout = (xs[2]*up+pad0+pad1-k)/down + 1
	s.wout = (xs[3]*up+pad0+pad1-k)/down + 1
	name := fmt.Sprintf("%s(up%d,down%d,p%d,%d)", layer, up, down, pad0, pad1)
	return gorgonia.ApplyOp(newFIROp(name, xs[0], xs[1], s.rows()), x)
}

// firSpec is the resampling of every plane, the same map along both axes:
// output j of an axis is Σ_t g[t]·u[j·down + t - p0], u the input with up-1
// zeros after every value (and zero outside), g the filter in correlation
// order. hin×win planes become hout×wout planes.
type firSpec struct {
	g                    []float32
	up, down, p0         int
	hin, win, hout, wout int
	hsrc                 []int // the input row of tap t of output row a at a·len(g)+t, or -1
}

// rows sets s.hsrc.
func (s firSpec) rows() firSpec {
	k := len(s.g)
	s.hsrc = make([]int, s.hout*k)
	for a := range s.hout {
		for t := range k {
			m := a*s.down + t - s.p0
			s.hsrc[a*k+t] = -1
			if m >= 0 && m < s.hin*s.up && m%s.up == 0 {
				s.hsrc[a*k+t] = m / s.up
			}
		}
	}
	return s
}

// transpose returns the adjoint resampling: zeros inserted by down, the
// reversed filter, every up-th output kept, from the output's shape back
// to the input's.
func (s firSpec) transpose() firSpec {
	k := len(s.g)
	t := firSpec{g: make([]float32, k), up: s.down, down: s.up, p0: k - 1 - s.p0, hin: s.hout, win: s.wout, hout: s.hin, wout: s.win}
	for i, v := range s.g {
		t.g[k-1-i] = v
	}
	return t.rows()
}

// firOp applies the resampling to every plane.
type firOp struct {
	base
	n, c int
	s    firSpec
}

func newFIROp(name string, n, c int, s firSpec) *firOp {
	in := tensor.Shape{n, c, s.hin, s.win}
	out := tensor.Shape{n, c, s.hout, s.wout}
	return &firOp{base: newBase(name, false, out, in), n: n, c: c, s: s}
}

func (op *firOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	x, s := in[0], op.s
	parallelRange(op.n*op.c, max(minPerTask/max(s.hin*s.win+s.hout*s.wout, 1), 1), func(lo, hi int) {
		tmp := scratch.get(s.hin*s.wout + firRowLen(s))
		defer scratch.put(tmp)
		firPlanes(x, y, tmp, lo, hi, s)
	})
	return out, nil
}

// firRowLen is the length of the padded row that anogo_fir builds.
func firRowLen(s firSpec) int { return (s.wout-1)*s.down + len(s.g) }

func (op *firOp) DiffWRT(int) []bool { return []bool{true} }

func (op *firOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 1", op.name, len(inputs))
	}
	g, err := gorgonia.ApplyOp(newFIROp(op.name+"ᵀ", op.n, op.c, op.s.transpose()), grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{g}, nil
}
