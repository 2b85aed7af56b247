package nn

import (
	"fmt"

	"gorgonia.org/gorgonia"
)

// The residual blocks of the ResNet that WGAN-GP introduced for 64×64
// images (Gulrajani et al. 2017, "Improved training of Wasserstein GANs")
// and that f-AnoGAN trains (Schlegl et al. 2019): pre-activation
// blocks (He et al. 2016, "Identity mappings in deep residual networks")
// that double the resolution in the generator and halve it in the critic,
// with a 1×1 convolution on the shortcut.

// ResUpParams are the parameters of a generator block (ResBlockUp) with
// Cin input and Cout output channels and K×K kernels, K odd (3 in
// f-AnoGAN). A nil bias is no bias; WGAN-GP's blocks have none on the first
// convolution (BatchNorm follows it) and one on the second and on the
// shortcut.
type ResUpParams struct {
	BN1Gamma, BN1Beta *gorgonia.Node // [Cin]
	BN1               *BNStats       // Cin channels
	W1                *gorgonia.Node // [Cout, Cin, K, K]
	B1                *gorgonia.Node // [Cout] or nil
	BN2Gamma, BN2Beta *gorgonia.Node // [Cout]
	BN2               *BNStats       // Cout channels
	W2                *gorgonia.Node // [Cout, Cout, K, K]
	B2                *gorgonia.Node // [Cout] or nil
	WS                *gorgonia.Node // [Cout, Cin, 1, 1], the shortcut
	BS                *gorgonia.Node // [Cout] or nil
}

// ResBlockUp is a generator block: x [N,Cin,H,W] → [N,Cout,2H,2W],
//
//	out = conv2(relu(bn2(conv1(up(relu(bn1(x))))))) + up(convS(x)),
//
// with up = Upsample2x, conv1 and conv2 K×K convolutions of stride 1 and
// padding (K-1)/2 (the resolution kept), convS a 1×1 convolution, each plus
// its bias. The shortcut convolves before upsampling, which gives the same
// values as upsampling first (both are per-pixel maps) at a quarter of the
// cost, and the second convolution's bias is added there too (an upsampled
// constant is the same constant). train chooses the BatchNorms' mode (batch
// statistics, updating BN1 and BN2, or the running ones); ng applies to x
// and to every parameter.
func ResBlockUp(x *gorgonia.Node, p ResUpParams, train bool, ng NoGrad) (*gorgonia.Node, error) {
	const layer = "ResBlockUp"
	k, err := checkBlock(layer, x, p.W1, p.W2, p.WS)
	if err != nil {
		return nil, err
	}
	inner := ng &^ NoInputGrad // the block's own activations always need theirs
	pad := (k - 1) / 2
	h, err := bnReLU(x, p.BN1Gamma, p.BN1Beta, p.BN1, train, ng)
	if err != nil {
		return nil, blockErr(layer, "bn1", err)
	}
	if h, err = Upsample2x(h); err != nil {
		return nil, blockErr(layer, "up", err)
	}
	if h, err = Conv2d(h, p.W1, 1, pad, inner); err != nil {
		return nil, blockErr(layer, "conv1", err)
	}
	if h, err = addBias(h, p.B1, inner); err != nil {
		return nil, blockErr(layer, "conv1 bias", err)
	}
	if h, err = bnReLU(h, p.BN2Gamma, p.BN2Beta, p.BN2, train, inner); err != nil {
		return nil, blockErr(layer, "bn2", err)
	}
	if h, err = Conv2d(h, p.W2, 1, pad, inner); err != nil {
		return nil, blockErr(layer, "conv2", err)
	}
	s, err := Conv2d(x, p.WS, 1, 0, ng)
	if err != nil {
		return nil, blockErr(layer, "shortcut", err)
	}
	if s, err = addBias(s, p.BS, inner); err != nil {
		return nil, blockErr(layer, "shortcut bias", err)
	}
	if s, err = addBias(s, p.B2, inner); err != nil {
		return nil, blockErr(layer, "conv2 bias", err)
	}
	if s, err = Upsample2x(s); err != nil {
		return nil, blockErr(layer, "shortcut up", err)
	}
	return gorgonia.Add(h, s)
}

// ResDownParams are the parameters of a critic block (ResBlockDown) with
// Cin input, Cmid inner (Cin in WGAN-GP's) and Cout output channels and
// K×K kernels, K odd. LayerNorm's gamma and beta are [C] (per channel, as in
// WGAN-GP) or [C, H, W]. A nil bias is no bias; WGAN-GP's blocks have none
// on the first convolution and one on the second and on the shortcut.
type ResDownParams struct {
	LN1Gamma, LN1Beta *gorgonia.Node // [Cin] or [Cin, H, W]
	W1                *gorgonia.Node // [Cmid, Cin, K, K]
	B1                *gorgonia.Node // [Cmid] or nil
	LN2Gamma, LN2Beta *gorgonia.Node // [Cmid] or [Cmid, H, W]
	W2                *gorgonia.Node // [Cout, Cmid, K, K]
	B2                *gorgonia.Node // [Cout] or nil
	WS                *gorgonia.Node // [Cout, Cin, 1, 1], the shortcut
	BS                *gorgonia.Node // [Cout] or nil
}

// ResBlockDown is a critic block: x [N,Cin,H,W] → [N,Cout,H/2,W/2], H and
// W even,
//
//	out = pool(conv2(relu(ln2(conv1(relu(ln1(x))))))) + convS(pool(x)),
//
// with pool = MeanPool2, ln1 and ln2 LayerNorms with epsilon eps (PyTorch's
// default is 1e-5), conv1 and
// conv2 K×K convolutions of stride 1 and padding (K-1)/2, convS a 1×1
// convolution, each plus its bias (the second convolution's added after
// pooling, which gives the same values). Each sample's output depends on
// that sample alone, as a gradient penalty requires. ng applies to x and to
// every parameter.
func ResBlockDown(x *gorgonia.Node, p ResDownParams, eps float32, ng NoGrad) (*gorgonia.Node, error) {
	const layer = "ResBlockDown"
	k, err := checkBlock(layer, x, p.W1, p.W2, p.WS)
	if err != nil {
		return nil, err
	}
	inner := ng &^ NoInputGrad
	pad := (k - 1) / 2
	h, err := LayerNormAct(x, p.LN1Gamma, p.LN1Beta, eps, ReLU, 0, ng)
	if err != nil {
		return nil, blockErr(layer, "ln1", err)
	}
	if h, err = Conv2d(h, p.W1, 1, pad, inner); err != nil {
		return nil, blockErr(layer, "conv1", err)
	}
	if h, err = addBias(h, p.B1, inner); err != nil {
		return nil, blockErr(layer, "conv1 bias", err)
	}
	if h, err = LayerNormAct(h, p.LN2Gamma, p.LN2Beta, eps, ReLU, 0, inner); err != nil {
		return nil, blockErr(layer, "ln2", err)
	}
	if h, err = Conv2d(h, p.W2, 1, pad, inner); err != nil {
		return nil, blockErr(layer, "conv2", err)
	}
	if h, err = MeanPool2(h); err != nil {
		return nil, blockErr(layer, "pool", err)
	}
	s, err := MeanPool2(x)
	if err != nil {
		return nil, blockErr(layer, "shortcut pool", err)
	}
	if s, err = Conv2d(s, p.WS, 1, 0, ng); err != nil {
		return nil, blockErr(layer, "shortcut", err)
	}
	if s, err = addBias(s, p.BS, inner); err != nil {
		return nil, blockErr(layer, "shortcut bias", err)
	}
	if s, err = addBias(s, p.B2, inner); err != nil {
		return nil, blockErr(layer, "conv2 bias", err)
	}
	return gorgonia.Add(h, s)
}

// checkBlock checks what the layers of a block do not: x is 4-d, the
// kernels are square and odd with one size, the shortcut is 1×1 and ends in
// as many channels as the second convolution. It returns the kernel size.
func checkBlock(layer string, x, w1, w2, ws *gorgonia.Node) (int, error) {
	if err := checkNode(layer, "x", x, 4); err != nil {
		return 0, err
	}
	for _, v := range []struct {
		name string
		n    *gorgonia.Node
	}{{"W1", w1}, {"W2", w2}, {"WS", ws}} {
		if err := checkNode(layer, v.name, v.n, 4); err != nil {
			return 0, err
		}
	}
	s1, s2, ss := w1.Shape(), w2.Shape(), ws.Shape()
	k := s1[2]
	if k%2 != 1 || s1[3] != k || s2[2] != k || s2[3] != k {
		return 0, fmt.Errorf("nn: %s: W1 %v and W2 %v, want square kernels of one odd size", layer, s1, s2)
	}
	if ss[2] != 1 || ss[3] != 1 || ss[0] != s2[0] {
		return 0, fmt.Errorf("nn: %s: WS has shape %v, want [%d %d 1 1] (1×1, W2's output channels)", layer, ss, s2[0], x.Shape()[1])
	}
	return k, nil
}

func blockErr(layer, part string, err error) error {
	return fmt.Errorf("nn: %s: %s: %w", layer, part, err)
}

// bnReLU is BatchNorm followed by ReLU, fused where a fused op exists:
// BatchNormTrainAct in training, BatchNormAct for a frozen network in
// evaluation.
func bnReLU(x, gamma, beta *gorgonia.Node, st *BNStats, train bool, ng NoGrad) (*gorgonia.Node, error) {
	if train {
		return BatchNormTrainAct(x, gamma, beta, st, ReLU, 0, ng)
	}
	if !ng.param() {
		return BatchNormAct(x, gamma, beta, st, ReLU, 0, ng)
	}
	h, err := BatchNorm(x, gamma, beta, st, false, ng)
	if err != nil {
		return nil, err
	}
	return BiasAct(h, nil, ReLU, 0, 0)
}

// addBias adds b per channel unless it is nil.
func addBias(x, b *gorgonia.Node, ng NoGrad) (*gorgonia.Node, error) {
	if b == nil {
		return x, nil
	}
	return BiasAct(x, b, Identity, 0, ng)
}
