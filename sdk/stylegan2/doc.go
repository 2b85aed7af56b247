// Package stylegan2 provides a CPU-sized StyleGAN2 (Karras et al.,
// "Analyzing and Improving the Image Quality of StyleGAN", CVPR 2020) with
// the training of StyleGAN2-ADA (Karras et al., "Training Generative
// Adversarial Networks with Limited Data", NeurIPS 2020), the generative
// model of HQ-AnoGAN (Sato et al., Int J CARS 2024), for grey images of
// 28, 32 or 64 pixels with values in [-1, 1].
//
// The networks follow the authors' code (stylegan2-ada-pytorch,
// training/networks.py): a mapping network (z normalised by its second
// moment, MappingLayers dense layers, learning rate ×0.01) gives w; the
// synthesis network starts from a learned constant and has, per
// resolution, two modulated 3x3 convolutions (the first upsampling) with
// noise inputs and a toRGB layer whose output is added to the upsampled
// image (the skip architecture); the discriminator is the residual one
// with the minibatch standard deviation in its epilogue. The modulated
// convolutions are computed in the non-fused form the authors train
// with: the input channels scaled by the style s, the convolution with the
// weight shared by the batch, every output channel scaled by
// d = 1/sqrt(Σ_i s_i² Σ_k w_{o,i,k}² + 1e-8) (sdk/nn's Modulate and
// Demodulate). The resampling is the authors' [1, 3, 3, 1] filter
// (nn.UpFIRDn2d): the upsampling convolutions are transposed
// convolutions of stride 2 followed by the filter, the downsampling ones
// the filter followed by stride-2 convolutions, the image is upsampled by
// the filter, as in their code. The equalised learning rate's constants
// and the activations' gains are folded into constants per parameter
// (Model.Scales).
//
// The training (Trainer, a train.Model) is the authors' (training/loss.py,
// training_loop.py): the non-saturating logistic loss, style mixing with
// probability 0.9, R1 = γ/2·‖∇x D(x)‖² on the real images every 16 steps
// scaled by 16, γ 'auto' = 0.0002·res²/batch, Adam (0.0025, β = (0,
// 0.99); D's rate and betas corrected for the lazy R1), G_ema with a
// half-life of batch·10/32 thousand images and ramp-up, w_avg with decay
// 0.995. The path-length regularisation is left out. R1's weight gradient
// is taken by package penalty from first-order passes through a
// penalty.Critic (critic.go) whose LeakyReLU slopes and minibatch
// statistic are frozen at the real batch, as package jointenc does.
//
// Augmentations (ADA) plug in through Augmenter, implemented elsewhere:
// every image D sees is augmented by a fresh draw, G's gradient flows
// back through the augmentation, and R1 is taken with respect to the
// images before it. docs/stylegan2.md describes the model, what differs
// from the authors' code, and the measured agreement with PyTorch and
// speed.
package stylegan2
