// Package metrics provides the image- and pixel-level measures by which
// anogo's anomaly scores are judged: the ROC curve and its area, the
// optimal cut-off by Youden's index with the clinical statistics the AnoGAN
// paper reports at it (Schlegl et al. 2017, Table 1), average precision,
// pixel-level AUROC and the best Dice overlap of anomaly maps with
// annotations, and the result tables that collect them.
//
// Conventions, shared by every function:
//   - A higher score means more anomalous. A sample is called anomalous at
//     threshold t when its score is >= t.
//   - Labels are data.Normal (0), data.Anomalous (1) or data.Unknown (-1);
//     samples labelled Unknown are left out of every measure.
//   - Inputs are never modified. Caller mistakes (slices of different
//     lengths, a label outside {-1, 0, 1}) panic with a message that begins
//     "metrics: ". Problems in the data (a NaN score, no normal or no
//     anomalous sample) make a measure undefined: functions that return a
//     single number return NaN, ROC returns nil slices, and Check reports
//     the problem as an error.
//
// The functions are built on gonum: stat.ROC for the curve and
// integrate.Trapezoidal for its area.
package metrics
