// Package hqanogan provides HQ-AnoGAN (Sato et al., "HQ-AnoGAN", Int J
// CARS 19(11):2121-2131, 2024) as anogo builds it: a StyleGAN2 generator
// trained with adaptive discriminator augmentation (package stylegan2 with
// package ada), a pixel2style2pixel encoder into the generator's
// intermediate latents W+ (package psp), and anomaly scores computed in
// W+ and from the reconstruction G(E(x)).
//
// The paper's score is not public, so the detector fits every candidate
// of package psp (the reconstruction residual A_R, the Mahalanobis, kNN
// and L2 distances of E(x) to the normal training codes, and their
// combinations with A_R), chooses the default on the validation split
// (psp.ChooseDefault; never the test split) and saves the choice with the
// model. docs/hqanogan.md says what the abstract says, what we built and
// what we chose. The method is registered with package detector as
// "hqanogan".
package hqanogan
