// Package acae provides the adversarial convolutional autoencoder (aCAE)
// baseline of the AnoGAN paper (Schlegl et al. 2017, Sec. 3, item 3; after
// Pathak et al. 2016): an adversarially trained model that "replaces the
// generator by an encoder-decoder pipeline", of depth comparable to the
// DCGAN, scored with the same anomaly score.
//
// The encoder has the DCGAN discriminator's convolution stack and a linear
// output of Latent values squashed into [-1, 1] by tanh; the decoder is the
// DCGAN generator; the discriminator is the DCGAN discriminator (package
// dcgan builds all three). Training alternates a discriminator step, which
// tells real images from reconstructions (BCE), and an autoencoder step
// minimising the mean absolute reconstruction error plus AdvWeight times the
// non-saturating adversarial loss.
//
// Scoring keeps the paper's definition of the anomaly score, Eq. (6), with
// the encoder in place of the iterative mapping (our choice; the paper does
// not say how the aCAE's latent code is found): for x̂ = Dec(Enc(x)),
// R = Σ|x - x̂|, D = Σ|f(x) - f(x̂)| with f the aCAE discriminator's last
// convolution block, A = (1 - λ)R + λD.
package acae
