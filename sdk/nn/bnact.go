package nn

import (
	"fmt"

	"gorgonia.org/gorgonia"
)

// BatchNormAct is BatchNorm in evaluation mode followed by
// BiasAct(·, nil, act, alpha), fused into one pass: eval-mode BatchNorm is a
// per-channel affine map, so y = act(a[c]·x + b[c]) with
// a = gamma/sqrt(var + eps) and b = beta - a·mean, var and mean being the
// running statistics in st, read at every run. It is for frozen networks
// (AnoGAN's mapping, Sec. 2.2, and inference): ng must drop the parameter
// gradients (NoParamGrad); the gradient for x, a[c]·act'·g, is one pass
// too. The values are those of the two layers in a row, up to rounding.
func BatchNormAct(x, gamma, beta *gorgonia.Node, st *BNStats, act Act, alpha float32, ng NoGrad) (*gorgonia.Node, error) {
	const layer = "BatchNormAct"
	if ng.param() {
		return nil, fmt.Errorf("nn: %s: parameters must be frozen (NoParamGrad); use BatchNorm and BiasAct to train them", layer)
	}
	if err := checkAct(layer, act, alpha); err != nil {
		return nil, err
	}
	return batchNorm(layer, x, gamma, beta, st, false, act, alpha, ng)
}
