// Command anogo trains, scores and evaluates AnoGAN from the command line,
// with the same functions the notebooks call (package anogan).
//
// Usage:
//
//	anogo data SOURCE                      describe a data source
//	anogo train [flags] -out model.ckpt    train a DCGAN (and an aCAE)
//	anogo score [flags] -model model.ckpt -out scores.csv
//	anogo eval  -scores scores.csv [-out table1.csv]
//	anogo demo  [-out out/demo]            the whole experiment on the phantom
//
// SOURCE is one of the data source specs of package datasets:
// phantom[:k=v,...], medmnist:PATH.npz, idx:DIR:class=K,
// folder:normal=DIR,abnormal=DIR[,masks=DIR], dicom:DIR.
//
// Settings start from -setting (small, demo or paper; see package anogan)
// and single flags override them. Run "anogo CMD -h" for a command's flags.
package main
