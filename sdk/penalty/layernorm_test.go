package penalty

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// lnOp is LayerNorm over all the values of each sample, with an
// element-wise affine map, as torch.nn.functional.layer_norm(x, x.shape[1:],
// gamma, beta, eps=1e-5), for the test critic until sdk/nn has its own:
// gorgonia's element-wise ops give wrong gradients in this graph (its
// InverseSqrt's gradient at 0.7 came out -0.29 instead of -0.85).
// Inputs x [N, ...], gamma [F], beta [F] with F the size of one sample.
// which < 0 is the forward op; 0, 1, 2 are the backward ops for x, gamma
// and beta, whose inputs are x, gamma and the output gradient.
type lnOp struct {
	xs    tensor.Shape
	which int
}

const lnEps = 1e-5

func layerNorm(x, gamma, beta *gorgonia.Node) (*gorgonia.Node, error) {
	xs := x.Shape().Clone()
	if f := xs.TotalSize() / xs[0]; gamma.Shape().TotalSize() != f || beta.Shape().TotalSize() != f {
		return nil, fmt.Errorf("layerNorm: gamma %v, beta %v for samples of %d values", gamma.Shape(), beta.Shape(), f)
	}
	return gorgonia.ApplyOp(&lnOp{xs: xs, which: -1}, x, gamma, beta)
}

func (o *lnOp) f() int { return o.xs.TotalSize() / o.xs[0] }

func (o *lnOp) outShape() tensor.Shape {
	if o.which == 1 || o.which == 2 {
		return tensor.Shape{o.f()}
	}
	return o.xs.Clone()
}

func (o *lnOp) Arity() int { return 3 }
func (o *lnOp) Type() hm.Type {
	tt := func(s tensor.Shape) hm.Type { return gorgonia.TensorType{Dims: s.Dims(), Of: tensor.Float32} }
	f := tensor.Shape{o.f()}
	third := f
	if o.which >= 0 {
		third = o.xs
	}
	return hm.NewFnType(tt(o.xs), tt(f), tt(third), tt(o.outShape()))
}
func (o *lnOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) { return o.outShape(), nil }
func (o *lnOp) ReturnsPtr() bool                                      { return false }
func (o *lnOp) CallsExtern() bool                                     { return false }
func (o *lnOp) OverwritesInput() int                                  { return -1 }
func (o *lnOp) String() string                                        { return fmt.Sprintf("testLayerNorm%d", o.which) }
func (o *lnOp) WriteHash(h hash.Hash)                                 { fmt.Fprintf(h, "penalty.testLayerNorm(%v,%d)", o.xs, o.which) }
func (o *lnOp) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

func (o *lnOp) DiffWRT(n int) []bool {
	out := make([]bool, n)
	if o.which < 0 {
		for i := range out {
			out[i] = true
		}
	}
	return out
}

func (o *lnOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if o.which >= 0 {
		return nil, fmt.Errorf("testLayerNorm: backward ops cannot be differentiated")
	}
	out := make(gorgonia.Nodes, 3)
	for i := range out {
		var err error
		if out[i], err = gorgonia.ApplyOp(&lnOp{xs: o.xs, which: i}, in[0], in[1], grad); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (o *lnOp) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	x, gamma, third := data(vals[0]), data(vals[1]), data(vals[2])
	n, f := o.xs[0], o.f()
	out := make([]float32, o.outShape().TotalSize())
	acc := make([]float64, f) // gamma's or beta's gradient
	xh := make([]float64, f)
	for s := 0; s < n; s++ {
		xv := x[s*f : (s+1)*f]
		var mu, v float64
		for _, e := range xv {
			mu += float64(e)
		}
		mu /= float64(f)
		for _, e := range xv {
			v += (float64(e) - mu) * (float64(e) - mu)
		}
		r := 1 / math.Sqrt(v/float64(f)+lnEps)
		for j, e := range xv {
			xh[j] = (float64(e) - mu) * r
		}
		switch o.which {
		case -1:
			for j := range xh {
				out[s*f+j] = float32(float64(gamma[j])*xh[j] + float64(third[j]))
			}
		case 0:
			gy := third[s*f : (s+1)*f]
			var m1, m2 float64
			for j := range xh {
				gxh := float64(gy[j]) * float64(gamma[j])
				m1 += gxh
				m2 += gxh * xh[j]
			}
			m1 /= float64(f)
			m2 /= float64(f)
			for j := range xh {
				gxh := float64(gy[j]) * float64(gamma[j])
				out[s*f+j] = float32(r * (gxh - m1 - xh[j]*m2))
			}
		case 1:
			for j := range xh {
				acc[j] += float64(third[s*f+j]) * xh[j]
			}
		case 2:
			for j := range xh {
				acc[j] += float64(third[s*f+j])
			}
		}
	}
	if o.which > 0 {
		for j, a := range acc {
			out[j] = float32(a)
		}
	}
	return tensor.New(tensor.WithShape(o.outShape()...), tensor.WithBacking(out)), nil
}
