// Package ada provides the adaptive discriminator augmentation (ADA) of
// Karras et al., "Training Generative Adversarial Networks with Limited
// Data" (NeurIPS 2020), for grey images: a pipeline of invertible,
// differentiable augmentations applied to every image the discriminator
// sees, each with a probability p that a heuristic tunes from the
// discriminator's outputs on real images, so that it does not overfit a
// small training set.
//
// Images are NCHW float32 batches (values in [-1, 1], usually C = 1); all
// channels of a sample get the same transform. A Pipeline draws a Batch of
// per-sample transforms (Draw); the Batch applies them (Apply) and takes
// gradients back through them (Backward, the exact transpose of Apply's
// linear part), so a trainer can augment generated images and
// differentiate through the augmentation.
//
// The transforms are the 'bgc' set of stylegan2-ada-pytorch
// (training/augment.py) without hue and saturation: x-flip, quarter turns
// and integer translation (exact gathers of pixels), isotropic scaling,
// rotation, anisotropic scaling and fractional translation (composed into
// one affine map per sample about the image centre and carried out by
// bilinear sampling with reflection at the borders, the semantics of
// PyTorch's affine_grid and grid_sample with padding_mode='reflection' and
// align_corners=False), then brightness, contrast and luma flip (y =
// s·c·(x + b)). Unlike the reference code it does not upsample the image
// by 2 with a 12-tap wavelet filter before the sampling and filter it down
// again after: on a CPU that would sample four times as many pixels and
// add two filtering passes for every augmented image. Bilinear sampling at
// the image's own resolution blurs and aliases rotated and scaled images
// more. See docs/ada.md.
//
// The heuristic (Sec. 3): every Interval minibatches, r_t = E[sign(D(x))]
// over the real images of those minibatches, and p moves by
// sign(r_t - Target)·batch·Interval/(Kimg·1000), clamped to [0, 1].
//
// Pipeline implements a trainer's Augmenter (Draw, Observe, P and binary
// marshalling for exact resume); its Draw returns Augmentation, an alias of
// the interface literal with Apply and Backward, so a trainer whose own
// Augmentation is the same alias takes a *Pipeline as it is.
package ada
