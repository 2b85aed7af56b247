// Package jointenc provides the jointly trained encoder of Berg, Ahlberg
// and Felsberg, "Unsupervised Learning of Anomaly Detection from
// Contaminated Image Data using Simultaneous Encoder Training" (arXiv
// 1905.11034, 2019), as its authors' code builds it: a progressive-growing
// GAN (Karras et al. 2018: growing from 4x4, or 7x7 at 28 pixels, with
// fade-in, the equalised learning rate, PixelNorm on z and G's features,
// the minibatch standard deviation in D) trained with WGAN-GP and the
// drift term, and an encoder E with D's architecture trained from the
// first step on mean |G(z) - G(E(G(z)))|. The anomaly score is ‖E(x)‖
// (the paper's cue); the residual of G(E(x)) and an AnoGAN-style
// combination are further columns, and |x - G(E(x))| is the map.
//
// The critic is a penalty.Critic with its LeakyReLUs' slopes and its
// minibatch statistic frozen at the penalty's anchor batch (critic.go);
// docs/jointenc.md says why and what it changes. The method is registered
// with package detector as "jointenc".
package jointenc
