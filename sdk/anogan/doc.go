// Package anogan runs the AnoGAN experiment of Schlegl et al. (2017) end to
// end: read a data source, cut patches, train the DCGAN on normal patches
// (Sec. 2.1), train the aCAE baseline, map and score the test patches
// (Sec. 2.2, 2.3) with AnoGAN, GAN_R and P_D, and build Table 1.
//
// The package registers AnoGAN with package detector as "anogan" (rows
// AnoGAN, GAN_R and P_D; Detector, Settings), so the experiment runner
// (package experiment) and anogo compare run it beside every other method.
// Each stage is also a function (Prepare, TrainGAN, TrainACAE, Score,
// Table1) that notebooks and the anogo command call one by one; Run runs
// anogan and acae through the experiment runner and writes the results
// under Config.Out:
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
//	results.csv     the runner's table: auc, ap, pixel_auc, dice (on whole
//	                test scans, patch maps stitched), timings, per method
//	scans.csv       the whole test scans' scores (max over their patches)
//	models/anogan/seed<N>/model.ckpt, models/acae/seed<N>/acae.ckpt
//	                the trained DCGAN and aCAE, each with its method.json
//	                (settings, data digest, thresholds)
//
// Seeds runs the experiment once per seed and tabulates the AUCs and their
// mean and standard deviation.
//
// Settings come in three sizes: Small (tests and notebooks' default),
// Demo (make demo: minutes on two cores) and Paper (the paper's 64x64 DCGAN,
// width 64, 500 mapping steps, 20 epochs; hours on a CPU).
package anogan
