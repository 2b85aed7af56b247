// Package anogan runs the AnoGAN experiment of Schlegl et al. (2017) end to
// end: read a data source, cut patches, train the DCGAN on normal patches
// (Sec. 2.1), train the aCAE baseline, map and score the test patches
// (Sec. 2.2, 2.3) with AnoGAN, GAN_R and P_D, and build Table 1.
//
// Each stage is a function (Prepare, TrainGAN, TrainACAE, Score, Table1)
// that notebooks and the anogo command call one by one; Run chains them and
// writes the results under Config.Out:
//
//	scores.csv      one row per test patch: id, label, R, D, A, R_ref, Dhat,
//	                Ahat, PD, aCAE (the aCAE's A)
//	table1.csv      method,precision,recall,sensitivity,specificity,auc for
//	                AnoGAN (A), GAN_R (Ahat), P_D (PD) and aCAE
//	auc_by_size.csv image AUC of every method by the number of annotated
//	                pixels in the anomalous patches (data with pixel masks)
//	ideal_scores.csv with Config.Ideal on the phantom: R, D, A of every test
//	                patch against the phantom's ideal reconstruction (Ideal),
//	                what AnoGAN would score with a perfect generator
//	model.ckpt      the trained DCGAN (package checkpoint's format)
//	acae.ckpt       the trained aCAE
//
// Seeds runs the experiment once per seed and tabulates the AUCs and their
// mean and standard deviation.
//
// Settings come in three sizes: Small (tests and notebooks' default),
// Demo (make demo: minutes on two cores) and Paper (the paper's 64x64 DCGAN,
// width 64, 500 mapping steps, 20 epochs; hours on a CPU).
package anogan
