// Package idx provides MNIST-style IDX files (MNIST, Fashion-MNIST) as a
// one-class anomaly-detection data set.
//
// An IDX file is a magic number (two zero bytes, a data type code, the
// number of dimensions), one big-endian uint32 per dimension, then the data
// in row-major order. This package reads unsigned-byte files (type 0x08),
// plain or gzipped, and checks every header against the file before
// allocating: a plain file must be exactly as long as its header claims,
// a gzipped one must match the size in its gzip trailer.
//
// Open builds the one-class protocol used to report AnoGAN on MNIST and
// Fashion-MNIST: one class K is normal and all others anomalous; the train
// split holds only the class K images of the train file (the model sees
// normal images only) and the test split all images of the test file,
// labelled 0 for class K and 1 for the rest. The files keep their standard
// names (train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz) in
// one directory; on Debian, apt-get install dataset-fashion-mnist puts
// Fashion-MNIST in /usr/share/datasets/fashion-mnist.
package idx
