// Package mapper finds, for a query image x, the latent code z whose
// generated image G(z) is most similar to x: AnoGAN's iterative mapping
// (Schlegl et al. 2017, Sec. 2.2).
//
// Iterative runs Γ steps of gradient descent (Adam) on z alone, with G and D
// frozen and in eval mode, minimising Eq. (5)
//
//	L(z) = (1 - λ)·L_R(z) + λ·L_D(z)
//
// with the residual loss L_R(z) = Σ|x - G(z)| (Eq. 3) and either the
// feature-matching discrimination loss L_D(z) = Σ|f(x) - f(G(z))| (Eq. 4, f
// the output of D's last convolution block) or, for the GAN_R baseline, the
// reference discrimination loss of Sec. 2.2.2: the sigmoid cross-entropy of
// D(G(z)) against the label "real". z starts from the prior U[-1, 1] and is
// kept in that range after every step.
//
// Restarts > 1 maps each query from several initial codes and keeps the
// code of lowest final loss: gradient descent on z finds a local minimum of
// Eq. (5), and a second start rescues queries whose first start got stuck
// (an extension; the paper uses one start).
//
// Queries are mapped in batches with independent codes: in eval mode each
// query's loss depends on its own z only, and Adam acts element by element,
// so a batch gives the same codes as mapping each query alone. Each query's
// initial z is drawn from a source seeded by the mapper's seed and the
// sample's ID, so it does not depend on the batch either. The batch is a
// queue: when a query is done (Γ steps, or an early stop by Tol), the next
// query takes its row at once, with fresh Adam moments, so early stops save
// work instead of leaving rows idle.
package mapper
