// Package figures provides the figures of the AnoGAN paper (Schlegl et al.
// 2017) for anogo's results, drawn with gonum/plot: ROC curves (Fig. 4a,
// 4b), overlaid score histograms (Fig. 4c, 4d), a two-dimensional
// embedding of normal and anomalous images (Fig. 2b), the panel of query,
// generated and residual images with the score decisions (Fig. 3), and
// plain image grids for generator samples.
//
// Every function returns a *Figure, which can be drawn on any
// gonum/plot canvas or saved with Figure.Save as PNG, SVG and PDF at once.
// Fonts, sizes and colours come from one place, a Style; the package-level
// functions use Default(), and the methods of Style draw the same figures in
// another style. Bad input (mismatched lengths, NaN scores, missing images)
// is reported as an error that names the curve, group or image.
package figures
