// Command anogo trains, scores, evaluates and compares anomaly detection
// methods from the command line, with the same functions the notebooks call
// (packages anogan, detector and experiment).
//
// Usage:
//
//	anogo data SOURCE                      describe a data source
//	anogo train [flags] -out model.ckpt    train a DCGAN (and an aCAE)
//	anogo score [flags] -model model.ckpt -out scores.csv
//	anogo eval  -scores scores.csv [-out table1.csv]
//	anogo demo  [-out out/demo] [-reuse]   the whole experiment on the phantom
//	anogo seeds [-seeds 1-8] [-out out/seeds] [-reuse]
//	                                       the experiment once per seed: AUCs, mean, sd
//	anogo methods [-settings small]        the registered methods
//	anogo compare -data SRC -methods a,b -seeds 1-3 -out DIR [-set METHOD:key=value]
//	                                       methods x seeds: results.csv, figures/
//	anogo repro [-setting small] [-out out/repro]
//	                                       compare on the phantom, Fashion-MNIST, PneumoniaMNIST
//	anogo train -method NAME [-data SRC] [-setting S] -out DIR
//	anogo score -model DIR [-data SRC] [-split test] -out scores.csv
//	                                       any registered method; scores and pred_<row>
//
// SOURCE is one of the data source specs of package datasets:
// phantom[:k=v,...], medmnist:PATH.npz, idx:DIR:class=K,
// folder:normal=DIR,abnormal=DIR[,masks=DIR], dicom:DIR.
//
// Settings start from -setting (small, demo or paper; see package anogan)
// and single flags override them. Run "anogo CMD -h" for a command's flags.
//
// demo writes table1.csv, scores.csv, train_scores.csv, auc_by_size.csv,
// the models and figures/ under -out, and on the phantom ideal_scores.csv:
// the test patches scored against the phantom's ideal reconstruction
// (anogan.Ideal), the ceiling of the residual score. -reuse scores again
// with the models already in -out/models when their method.json matches.
//
// seeds runs the experiment (the demo setting unless -setting says
// otherwise) once per seed into -out/seed<N> and writes seeds.csv (the
// image AUC of every method per seed) and seeds_summary.csv (mean, sample
// standard deviation, min and max per method): a single run of a small
// test set moves by a few hundredths with the seed.
package main
