// Package detector provides the interface that every anomaly detection
// method of anogo implements, and the registry through which the
// experiment runner, the tables, the figures, the command line and the
// notebooks find methods by name.
//
// A method lives in its own package and registers itself from an init
// function, in the shape of image.RegisterFormat and database/sql.Register:
//
//	func init() {
//		detector.Register(detector.Method{
//			Name:     "acae",
//			Summary:  "adversarial convolutional autoencoder (AnoGAN's baseline)",
//			Settings: settings, // "small", "demo", "paper" -> *Settings
//			New:      newDetector,
//			Load:     load,
//		})
//	}
//
// A program makes the methods it wants available by importing their
// packages, usually all of them at once through package detector/all.
//
// A Detector fits on the training images of a prep.Data, scores samples
// (one or more named score columns per image, a per-pixel anomaly map and
// the reconstruction when the method has one), saves itself into a model
// directory and names the table rows it contributes: one trained DCGAN
// gives AnoGAN, GAN_R and P_D. Optional capabilities are found by type
// assertion, as gonum/plot does: Latenter (latent codes), Resumer (resuming
// an interrupted fit from its checkpoint).
//
// Model wraps a fitted Detector with what travels with it: the method's
// name and settings, the size and digest of its training data, and the
// operating thresholds chosen on the validation split (Calibrate), so that
// a score is turned into a predicted label with the same cut-off in
// training and in use.
package detector
