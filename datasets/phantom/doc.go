// Package phantom provides a synthetic, seeded generator of retina-like OCT
// B-scans: the data set every anogo example runs on without a download.
//
// The scans imitate the preprocessed SD-OCT data of the AnoGAN paper
// (Schlegl et al. 2017, Sec. 3: about 256 columns per B-scan, grey values in
// [-1, 1], patches taken from inside the retina). They are drawn, not
// measured: nothing here is clinical data, and no result obtained on the
// phantom says anything about a clinical data set.
//
// A scan shows dark vitreous above a curved retina made of nine bands of
// differing brightness (nerve fibre layer, ganglion cell layer, inner
// plexiform layer, inner nuclear layer, outer plexiform layer, outer nuclear
// layer, ellipsoid zone, photoreceptor outer segments, retinal pigment
// epithelium), the choroid below, an optional foveal pit, retinal vessels with
// their shadows, multiplicative speckle and a little blur. Anomalous scans
// carry one to three of the anomalies the paper names (Kind): intraretinal
// cysts, subretinal fluid, hyperreflective foci and drusen, each with a pixel
// mask.
//
// Sample i of a split is a pure function of (Config.Seed, split, i), so any
// sample can be drawn alone (Generate) and a Source streams its splits
// without caching. Source.ROI gives the retina region of a sample, from which
// package github.com/anogo/anogo/datasets/patch takes its patches.
package phantom
