// Package dpa is the deep perceptual autoencoder (Shvetsova et al.,
// "Anomaly detection in medical imaging with deep perceptual
// autoencoders", IEEE Access 9, 2021; arXiv 2006.13265): an autoencoder
// trained with progressive growing to minimise the relative perceptual L1
// loss
//
//	L_rel(x, x̂) = mean|f(x) - f(x̂)| / mean|f(x)|
//
// with f one layer of a feature network (the paper: ImageNet VGG19), the
// denominator held constant in the gradient. The anomaly score of an image
// is the same loss, and the anomaly map the channel mean of |f(x) - f(x̂)|
// divided by mean|f(x)|, upsampled bilinearly to the image.
//
// The autoencoder is that of the authors' code (github ninatu/
// anomaly_detection, dpa/pg_encoders.py, pg_decoders.py, layers.py):
// pre-activation residual blocks with LeakyReLU 0.2 and no normalisation,
// 2x2 average pooling down, nearest upsampling up, a code of Latent
// values. It grows from 8x8 (7x7 at 28 pixels) to the image size, each new
// resolution faded in (Schedule). The feature network is VGG19's trunk up
// to relu3_2, with weights from a file the user converts
// (tools/vgg19_to_anogo.py, LoadVGG19) or, by default, seeded random
// weights (Features). Search chooses the feature layer, the code's size
// and the learning rate on the validation split, never the test split.
//
// The package registers the method "dpa" with package detector (small,
// demo and paper settings; exact resume across growing stages).
// docs/dpa.md has the method, our choices and our measurements.
package dpa
