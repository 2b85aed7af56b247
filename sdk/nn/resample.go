package nn

/*
#cgo CFLAGS: -O3

#include <string.h>

// Nearest-neighbour 2× upsampling and 2×2 pooling of NCHW planes, each the
// adjoint of the other up to the scale s: planes [lo, hi) of h×w values (the
// small side) in x, of 2h×2w in y.

// anogo_up2 sets y[2i+a, 2j+b] = s·x[i, j] for a, b in {0, 1}.
static void anogo_up2(const float *x, float *y, long lo, long hi, long h, long w, float s) {
	long w2 = 2 * w;
	for (long p = lo; p < hi; p++) {
		const float *xs = x + p * h * w;
		float *ys = y + p * 4 * h * w;
		for (long i = 0; i < h; i++) {
			const float *restrict xr = xs + i * w;
			float *restrict r0 = ys + 2 * i * w2;
			if (s == 1.0f) {
				for (long j = 0; j < w; j++) {
					r0[2 * j] = xr[j];
					r0[2 * j + 1] = xr[j];
				}
			} else {
				for (long j = 0; j < w; j++) {
					float v = s * xr[j];
					r0[2 * j] = v;
					r0[2 * j + 1] = v;
				}
			}
			memcpy(r0 + w2, r0, (size_t)w2 * sizeof(float));
		}
	}
}

// anogo_pool2 sets x[i, j] = s·((y[2i, 2j] + y[2i, 2j+1]) + (y[2i+1, 2j] +
// y[2i+1, 2j+1])).
static void anogo_pool2(const float *y, float *x, long lo, long hi, long h, long w, float s) {
	long w2 = 2 * w;
	for (long p = lo; p < hi; p++) {
		const float *ys = y + p * 4 * h * w;
		float *xs = x + p * h * w;
		for (long i = 0; i < h; i++) {
			const float *restrict a = ys + 2 * i * w2, *restrict b = a + w2;
			float *restrict xr = xs + i * w;
			for (long j = 0; j < w; j++)
				xr[j] = s * ((a[2 * j] + a[2 * j + 1]) + (b[2 * j] + b[2 * j + 1]));
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

// Upsample2x repeats every pixel of x [N,C,H,W] into a 2×2 block:
// out [N,C,2H,2W], out[n,c,2i+a,2j+b] = x[n,c,i,j] (nearest-neighbour
// upsampling, torch.nn.functional.interpolate(x, scale_factor=2)). Its
// gradient sums each 2×2 block of the output gradient.
func Upsample2x(x *gorgonia.Node) (*gorgonia.Node, error) {
	const layer = "Upsample2x"
	if err := checkNode(layer, "x", x, 4); err != nil {
		return nil, err
	}
	xs := x.Shape()
	return gorgonia.ApplyOp(newResampleOp(layer, true, 1, xs[0], xs[1], xs[2], xs[3]), x)
}

// MeanPool2 averages each 2×2 block of x [N,C,H,W]: out [N,C,H/2,W/2],
// out[n,c,i,j] = (x[n,c,2i,2j] + x[n,c,2i,2j+1] + x[n,c,2i+1,2j] +
// x[n,c,2i+1,2j+1])/4 (torch.nn.functional.avg_pool2d(x, 2)). H and W must
// be even. Its gradient spreads a quarter of each output gradient over the
// block.
func MeanPool2(x *gorgonia.Node) (*gorgonia.Node, error) {
	const layer = "MeanPool2"
	if err := checkNode(layer, "x", x, 4); err != nil {
		return nil, err
	}
	xs := x.Shape()
	if xs[2]%2 != 0 || xs[3]%2 != 0 || xs[2] < 2 || xs[3] < 2 {
		return nil, fmt.Errorf("nn: %s: x has shape %v, want even height and width", layer, xs)
	}
	return gorgonia.ApplyOp(newResampleOp(layer, false, 0.25, xs[0], xs[1], xs[2]/2, xs[3]/2), x)
}

// resampleOp is upsampling (up: [n,c,h,w] → [n,c,2h,2w], y = s·x repeated)
// or pooling (the reverse, y = s·Σ of each block). Both are linear, and the
// gradient of each is the other with the same s, so resampleOp is its own
// backward op and may be differentiated any number of times.
type resampleOp struct {
	base
	up    bool
	scale float32
	p     planes // n·c planes of h·w values, the small side
	h, w  int    // the small side's height and width
}

func newResampleOp(name string, up bool, scale float32, n, c, h, w int) *resampleOp {
	small, large := tensor.Shape{n, c, h, w}, tensor.Shape{n, c, 2 * h, 2 * w}
	op := &resampleOp{up: up, scale: scale, p: planes{n: n, c: c, hw: h * w}, h: h, w: w}
	if up {
		op.base = newBase(name, false, large, small)
	} else {
		op.base = newBase(name, false, small, large)
	}
	return op
}

func (op *resampleOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	x := in[0]
	parallelRange(op.p.n*op.p.c, max(minPerTask/(4*op.p.hw), 1), func(lo, hi int) {
		resample(op.up, x, y, lo, hi, op.p, op.h, op.w, op.scale)
	})
	return out, nil
}

// resample runs anogo_up2 (up) from x to y or anogo_pool2 from x to y over
// planes [lo, hi) of p; the small side has h×w pixels.
func resample(up bool, x, y []float32, lo, hi int, p planes, h, w int, s float32) {
	if lo >= hi {
		return
	}
	small, large := x, y
	if !up {
		small, large = y, x
	}
	if lo < 0 || hi > p.n*p.c || len(small) < hi*h*w || len(large) < 4*hi*h*w {
		panic(fmt.Sprintf("nn: resample: planes [%d, %d) of %+v, %d and %d values", lo, hi, p, len(small), len(large)))
	}
	if up {
		C.anogo_up2(fptr(x), fptr(y), C.long(lo), C.long(hi), C.long(h), C.long(w), C.float(s))
	} else {
		C.anogo_pool2(fptr(x), fptr(y), C.long(lo), C.long(hi), C.long(h), C.long(w), C.float(s))
	}
}

func (op *resampleOp) DiffWRT(int) []bool { return []bool{true} }

func (op *resampleOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 1", op.name, len(inputs))
	}
	back := newResampleOp(op.name+"∂", !op.up, op.scale, op.p.n, op.p.c, op.h, op.w)
	n, err := gorgonia.ApplyOp(back, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{n}, nil
}
