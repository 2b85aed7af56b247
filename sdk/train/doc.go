// Package train provides the training loop shared by anogo's models: epochs
// over a set of training images in a seeded random order, fixed-size
// batches, hooks called after every step (loss logging, progress bars,
// sample grids), periodic checkpoints, cancellation through a context, and a
// stop with an error naming the step when a loss becomes NaN or Inf.
//
// A model plugs in by implementing Model: one optimisation step on a batch,
// and a checkpoint of its full state. The loop's own state (step, epoch) is
// a State, saved inside the model's checkpoint; the order of the images in
// epoch e is a function of (seed, e) alone, so a run resumed from a
// checkpoint sees exactly the batches an uninterrupted run would have seen.
package train
