// Package patch provides the patch pipeline of the AnoGAN paper (Schlegl et
// al. 2017, Sec. 3): square patches cut at random positions inside a region
// of interest for training, the paper's patch label, balanced test sets,
// sliding grids over test images, and the way back from patch anomaly maps
// and scores to image maps and image scores.
//
// The paper trains on 64x64 patches taken at random positions inside the
// retina and labels a test patch positive when it contains at least one pixel
// annotated as anomalous; Label implements that rule. NewSource turns any
// data.Source of images into a data.Source of patches; Grid, Stitch and
// Aggregate serve image-level evaluation of a patch model.
//
// Everything random is seeded: the positions of the patches of an image are
// a function of (Options.Seed, split, sample ID).
package patch
