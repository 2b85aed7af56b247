// Package psp is the pixel2style2pixel (pSp) encoder of HQ-AnoGAN (Sato et
// al., "High-quality semi-supervised anomaly detection with generative
// adversarial networks", Int J CARS 19, 2024): a feature-pyramid encoder
// that maps an image into the intermediate latents W+ of a frozen
// StyleGAN2 generator, one w per synthesis layer (Richardson et al.,
// "Encoding in style: a StyleGAN encoder for image-to-image translation",
// CVPR 2021), and anomaly scores computed from those codes.
//
// The generator enters through the Generator interface (image side,
// number and size of the ws, w_avg, and Synthesis building the frozen
// network on a node of ws), so the package neither imports nor depends on
// a particular StyleGAN2.
//
// Model.Encode is pSp's GradualStyleEncoder at CPU size: a residual
// backbone without normalisation giving fine, medium and coarse maps (S/2,
// S/4, S/8), a top-down pyramid (bilinear upsampling with aligned corners,
// nn.Resize, plus 1x1 lateral convolutions), and one map2style head per w
// (stride-2 3x3 convolutions with LeakyReLU down to 1x1, then a linear
// layer), the ws split between the maps as pSp splits its 18
// (Config.Groups); ws = w_avg + E(x). Trainer trains E with G frozen on
// pSp's loss 1.0·L2 + 0.8·LPIPS, LPIPS replaced by Perceptual: package
// dpa's VGG19 trunk (seeded random weights or the user's VGG19) at
// relu1_2, relu2_2 and relu3_2 with LPIPS's distance of channel-normalised
// features (NormDist) and unit layer weights. Its checkpoints resume
// exactly (Resume).
//
// Scorer maps images in one pass and scores them: the residual A_R and
// the map |x - G(E(x))|; after Fit on the normal training images, the W+
// scores (Latent: the summed per-layer Mahalanobis distance with
// Ledoit–Wolf covariances, the kNN distance in W+, the summed per-layer
// Euclidean distance to the mean) and their combinations with A_R after
// standardising both on the training images. HQ-AnoGAN's own latent score
// is not public: these are candidates, and ChooseDefault picks the one
// with the best AUROC on the validation split (never the test split);
// Model.SetDefault keeps the choice with the model. docs/psp.md has the
// method, the reference code, our choices and our measurements.
package psp
