package nn

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Conv2d: x [N,Cin,H,W], w [Cout,Cin,K,K] (PyTorch layout), no bias;
// out [N,Cout,(H+2p-K)/s+1,(W+2p-K)/s+1]. Square kernels, same stride/pad on
// both axes.
//
// out[n,o,i,j] = Σ_{c,u,v} w[o,c,u,v] · x[n,c,i·s-p+u,j·s-p+v], with x zero
// outside the image. ng drops the gradient for x (NoInputGrad) or for w
// (NoParamGrad).
func Conv2d(x, w *gorgonia.Node, stride, pad int, ng NoGrad) (*gorgonia.Node, error) {
	const layer = "Conv2d"
	if err := checkNode(layer, "x", x, 4); err != nil {
		return nil, err
	}
	if err := checkNode(layer, "w", w, 4); err != nil {
		return nil, err
	}
	xs, ws := x.Shape(), w.Shape()
	if ws[1] != xs[1] || ws[2] != ws[3] {
		return nil, fmt.Errorf("nn: %s: w has shape %v, want [Cout %d K K] for x %v", layer, ws, xs[1], xs)
	}
	if stride < 1 || pad < 0 {
		return nil, fmt.Errorf("nn: %s: stride %d, pad %d: want stride ≥ 1, pad ≥ 0", layer, stride, pad)
	}
	k := ws[2]
	g := geom{n: xs[0], c: xs[1], h: xs[2], w: xs[3], co: ws[0], k: k, s: stride, p: pad}
	if xs[2]+2*pad < k || xs[3]+2*pad < k {
		return nil, fmt.Errorf("nn: %s: kernel %d larger than the padded %d×%d input", layer, k, xs[2]+2*pad, xs[3]+2*pad)
	}
	g.ho, g.wo = (g.h+2*pad-k)/stride+1, (g.w+2*pad-k)/stride+1
	name := fmt.Sprintf("Conv2d(k%d,s%d,p%d)", k, stride, pad)
	op := &convOp{convKernel: newConvKernel(name, g, kFwd), ng: ng}
	return gorgonia.ApplyOp(op, x, w)
}

// ConvTranspose2d: a true fractionally-strided convolution (the adjoint of
// Conv2d) with any kernel, stride, padding and output padding, matching
// torch.nn.ConvTranspose2d: x [N,Cin,H,W], w [Cin,Cout,K,K] (PyTorch layout),
// no bias; out size (H-1)*s - 2p + K + outPad.
//
// out is the x-gradient of a Conv2d with weights w (read as [Cin,Cout,K,K] =
// [conv out, conv in, K, K]) whose output gradient is x; outPad (0 ≤ outPad <
// stride) chooses among the input sizes that such a Conv2d maps to H.
func ConvTranspose2d(x, w *gorgonia.Node, stride, pad, outPad int, ng NoGrad) (*gorgonia.Node, error) {
	const layer = "ConvTranspose2d"
	if err := checkNode(layer, "x", x, 4); err != nil {
		return nil, err
	}
	if err := checkNode(layer, "w", w, 4); err != nil {
		return nil, err
	}
	xs, ws := x.Shape(), w.Shape()
	if ws[0] != xs[1] || ws[2] != ws[3] {
		return nil, fmt.Errorf("nn: %s: w has shape %v, want [Cin %d Cout K K] for x %v", layer, ws, xs[1], xs)
	}
	if stride < 1 || pad < 0 || outPad < 0 || outPad >= stride {
		return nil, fmt.Errorf("nn: %s: stride %d, pad %d, outPad %d: want stride ≥ 1, pad ≥ 0, 0 ≤ outPad < stride", layer, stride, pad, outPad)
	}
	k := ws[2]
	ho := (xs[2]-1)*stride - 2*pad + k + outPad
	wo := (xs[3]-1)*stride - 2*pad + k + outPad
	if ho < 1 || wo < 1 {
		return nil, fmt.Errorf("nn: %s: output would be %d×%d", layer, ho, wo)
	}
	// Conv-sense geometry: the conv's input is our output and vice versa.
	g := geom{n: xs[0], c: ws[1], h: ho, w: wo, co: xs[1], k: k, s: stride, p: pad, ho: xs[2], wo: xs[3]}
	name := fmt.Sprintf("ConvTranspose2d(k%d,s%d,p%d,op%d)", k, stride, pad, outPad)
	op := &convOp{convKernel: newConvKernel(name, g, kData), ng: ng, transposed: true}
	return gorgonia.ApplyOp(op, x, w)
}

// Kinds of convolution kernels; shapes in conv sense, X [n,c,h,w],
// W [co,c,k,k], Y [n,co,ho,wo].
const (
	kFwd    = iota // (X, W) → Y
	kData          // (Y, W) → X
	kFilter        // (X, Y) → W
)

// convKernel is an op that runs one of the three convolution kernels.
// tiles, set on a Conv2d's forward op and its filter-gradient op, carries
// the Winograd path's transformed input from one to the other (winoTiles);
// the filter-gradient op then has the forward op's output as a third input,
// unused but for the order it imposes.
type convKernel struct {
	base
	g     geom
	kind  int
	tiles *winoTiles
}

func newConvKernel(name string, g geom, kind int) convKernel {
	X := tensor.Shape{g.n, g.c, g.h, g.w}
	W := tensor.Shape{g.co, g.c, g.k, g.k}
	Y := tensor.Shape{g.n, g.co, g.ho, g.wo}
	var b base
	switch kind {
	case kFwd:
		b = newBase(name, true, Y, X, W)
	case kData:
		b = newBase(name, true, X, Y, W)
	default:
		b = newBase(name, true, W, X, Y)
	}
	return convKernel{base: b, g: g, kind: kind}
}

func (op *convKernel) Do(vals ...gorgonia.Value) (gorgonia.Value, error) {
	in, err := op.inputs(vals)
	if err != nil {
		return nil, err
	}
	out, y := op.output()
	switch {
	case op.tiles != nil && useWinograd(&op.g) && op.kind == kFwd:
		winoForward(&op.g, in[0], in[1], y, op.tiles)
	case op.tiles != nil && useWinograd(&op.g) && op.kind == kFilter:
		winoFilter(&op.g, in[0], in[1], y, op.tiles)
	case op.kind == kFwd:
		convForward(&op.g, in[0], in[1], y)
	case op.kind == kData:
		convBackwardData(&op.g, in[0], in[1], y)
	default:
		convBackwardFilter(&op.g, in[0], in[1], y)
	}
	return out, nil
}

// convOp is the differentiable forward op of Conv2d and ConvTranspose2d.
type convOp struct {
	convKernel
	ng         NoGrad
	transposed bool
}

func (op *convOp) DiffWRT(n int) []bool { return []bool{op.ng.input(), op.ng.param()} }

// SymDiff builds the backward ops. For Conv2d (conv sense x = X, out = Y):
// gx = data(grad, w), gw = filter(x, grad). For ConvTranspose2d (x = Y,
// out = X): gx = fwd(grad, w), gw = filter(grad, x).
func (op *convOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("nn: %s: %d inputs, want 2", op.name, len(inputs))
	}
	x, w := inputs[0], inputs[1]
	res := make(gorgonia.Nodes, 2)
	var err error
	if op.ng.input() {
		if op.transposed {
			res[0], err = gorgonia.ApplyOp(&convGradOp{convKernel: newConvKernel(op.name+"∂x", op.g, kFwd)}, grad, w)
		} else {
			res[0], err = gorgonia.ApplyOp(&convGradOp{convKernel: newConvKernel(op.name+"∂x", op.g, kData)}, grad, w)
		}
		if err != nil {
			return nil, err
		}
	}
	if op.ng.param() {
		switch {
		case op.transposed:
			res[1], err = gorgonia.ApplyOp(&convGradOp{convKernel: newConvKernel(op.name+"∂w", op.g, kFilter)}, grad, x)
		case useWinograd(&op.g):
			// The filter gradient reuses the forward pass's transformed
			// input (winoTiles); output makes it run after the forward op.
			if op.tiles == nil {
				op.tiles = &winoTiles{}
			}
			k := newConvKernel(op.name+"∂w", op.g, kFilter)
			k.in = append(k.in, output.Shape().Clone())
			k.tiles = op.tiles
			res[1], err = gorgonia.ApplyOp(&convGradOp{convKernel: k}, x, grad, output)
		default:
			res[1], err = gorgonia.ApplyOp(&convGradOp{convKernel: newConvKernel(op.name+"∂w", op.g, kFilter)}, x, grad)
		}
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// convGradOp is a backward convolution op.
type convGradOp struct {
	convKernel
	noDiff
}
