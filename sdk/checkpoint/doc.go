// Package checkpoint reads and writes anogo checkpoints.
//
// # Format (version 1)
//
// A checkpoint is a ZIP archive (so it opens with any zip tool and NumPy)
// holding:
//
//   - manifest.json: {"format": "anogo-checkpoint", "version": 1,
//     "kind": "dcgan", "meta": {...}, "tensors": [{"name": "g.fc.w",
//     "shape": [2048, 100], "file": "tensors/0000.f32"}, ...]}. kind names
//     the model family; meta is the family's own JSON (configuration, step,
//     epoch, seed, random-number state, optimiser settings).
//   - tensors/NNNN.f32: each tensor's values as little-endian IEEE-754
//     float32, row-major, with no header (numpy.fromfile(f, "<f4")).
//
// Save writes to a temporary file in the target's directory, syncs it and
// renames it over the target, so a crash never leaves a half-written
// checkpoint and an earlier checkpoint of the same name survives until the
// new one is complete. Load checks the format name, the version, every
// tensor's size against its shape, and rejects NaN and Inf values; errors
// name the file and the problem.
package checkpoint
