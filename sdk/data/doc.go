// Package data defines the values that flow between anogo's stages: a
// single-channel Image, a Sample (image, label, optional pixel mask and an id
// naming its origin) and a Source of samples split into "train", "val" and
// "test".
//
// Every loader (package github.com/anogo/anogo/datasets/...) returns a Source;
// every model, mapper and scorer consumes Samples. Images hold grey values
// scaled to [-1, 1], as in the AnoGAN paper (Schlegl et al. 2017, Sec. 3).
// Labels follow the one-class convention of the field: 0 normal, 1
// anomalous, -1 unknown. Masks hold 0 (normal) or 1 (anomalous) per pixel and
// are nil when no annotation exists.
//
// Sources are iterated, never loaded whole: Samples returns an iter.Seq2, so a
// folder of 100,000 images is read one file at a time.
package data
