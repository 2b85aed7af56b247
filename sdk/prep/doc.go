// Package prep provides the data preparation that every anomaly detection
// method of anogo shares: a data source (package datasets) becomes the
// training images at the model's size (whole images, resized, or patches
// cut inside the source's region of interest), a validation split holding
// normal images and a few labelled anomalies, the test samples (a balanced
// draw or the whole split), and, for patch-based runs, a few whole test
// images cut into a grid of patches whose maps are stitched back into a
// whole-image anomaly map (pixel-level evaluation).
//
// Nothing here knows a model type: a method's detector receives a *Data
// and trains on Data.Train, chooses its operating threshold on Data.Val and
// is evaluated on Data.Test and Data.Scans.
//
// The validation split comes from the source's own "val" split when it has
// one (the phantom, MedMNIST). Sources without one (IDX: MNIST,
// Fashion-MNIST; image folders) lend it from their test split: the first
// ValNormal normal and ValAnomalous anomalous test images, in the split's
// order, are the validation split and are left out of the test set, so the
// two never share an image. The perceptual autoencoder's protocol
// (Shvetsova et al. 2021, Sec. IV-B) chooses hyperparameters on such a
// split; any method may use it to check a score's direction and to pick a
// threshold.
//
// Contamination (Berg et al. 2019, Sec. 4): a fraction γ of the training
// set made of anomalies, n_anom = γ·N_normal/(1-γ) anomalous images of the
// training split (or, for sources whose training split holds normals only,
// none: Prepare then returns an error naming the source).
//
// Data.Digest is a digest of the training images, so that a model trained
// on other data (or on another version of the phantom's generator) is
// never mistaken for one trained on these.
package prep
