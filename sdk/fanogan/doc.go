// Package fanogan is f-AnoGAN (Schlegl et al., "f-AnoGAN: Fast
// unsupervised anomaly detection with generative adversarial networks",
// Medical Image Analysis 54, 2019): a Wasserstein GAN with gradient penalty
// trained on normal images, then an encoder E trained with the GAN frozen so
// that one forward pass maps an image to its latent code.
//
// The networks are those of the authors' code (Model, New): a residual
// generator with BatchNorm, a residual critic with LayerNorm whose last
// block gives the features f(x), and an encoder that is the critic's trunk
// with BatchNorm, a linear layer and tanh. Trainer runs WGAN-GP (Gulrajani
// et al. 2017, Algorithm 1: λ = 10, five critic steps per generator step,
// Adam 1e-4 with β = (0, 0.9)); the penalty's weight gradient comes from
// package penalty, with the critic's ReLUs frozen at the interpolates, and
// is checked against PyTorch's create_graph gradient in this package's
// tests. EncoderTrainer trains E with izi_f (the paper's choice), izi or ziz
// and TensorFlow 1's RMSProp. Scorer maps and scores in one pass:
// A_R = MSE(x, G(E(x))), A_D = MSE(f(x), f(G(E(x)))), the score
// A_R + κ·A_D (Eq. 8), the latent-cycle score, and the map |x - G(E(x))|.
//
// The package registers the method "fanogan" with package detector (rows
// f-AnoGAN and f-AnoGAN_z), with the settings small, demo and paper, and
// checkpoints of both training stages that resume exactly.
// docs/fanogan.md has the method, our choices and our measurements.
package fanogan
