// Package dcgan provides the deep convolutional GAN of the AnoGAN paper
// (Schlegl et al. 2017, Sec. 2.1 and "Implementation details"; Radford et
// al. 2015): a generator of fractionally-strided 5x5 convolutions with
// BatchNorm and ReLU and a tanh output, and a discriminator of strided 5x5
// convolutions with BatchNorm and LeakyReLU(0.2) and a scalar output.
//
// The paper's network works on 64x64 grey patches with z uniform on
// [-1, 1]^100 and channels 512-256-128-64. Config makes the image size (28,
// 32 or 64), the base channel width and the latent size settings so that
// CPU-sized runs and tests work; PaperConfig returns the paper's values.
//
// A Model holds the weights and the BatchNorm running statistics, one
// params.Set (Net) per network, which the networks read by name. Its
// Generator and Discriminator methods add the networks to a gorgonia graph,
// in train or eval mode, with nn.NoGrad flags that drop gradients nobody
// needs: the trainer, the latent mapper and the scorer all build their graphs
// from these two methods, so there is one definition of the architecture.
package dcgan
