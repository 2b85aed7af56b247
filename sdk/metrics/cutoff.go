package metrics

import (
	"math"

	"github.com/anogo/anogo/sdk/data"
)

// Cutoff holds the clinical statistics of a detector at one threshold: a
// sample is called anomalous when its score is >= Threshold.
//
// Recall and Sensitivity are the same quantity, TP / (TP + FN), and are
// always equal here. Table 1 of the AnoGAN paper (Schlegl et al. 2017)
// reports them in separate columns with values that differ in the fourth
// decimal (e.g. 0.7277 and 0.7279 for AnoGAN); the difference can only come
// from the paper's own rounding or computation, not from the definitions.
type Cutoff struct {
	// Threshold is the score at or above which a sample is called anomalous.
	Threshold float64
	// Precision is TP / (TP + FP), NaN when nothing is called anomalous.
	Precision float64
	// Recall is TP / (TP + FN).
	Recall float64
	// Sensitivity is TP / (TP + FN), the true positive rate.
	Sensitivity float64
	// Specificity is TN / (TN + FP), the true negative rate.
	Specificity float64
	// F1 is the harmonic mean of Precision and Recall, NaN when Precision is.
	F1 float64
	// Youden is Youden's index J = Sensitivity + Specificity - 1.
	Youden float64
	// TP, FP, TN and FN count the anomalous samples called anomalous, the
	// normal samples called anomalous, the normal samples called normal and
	// the anomalous samples called normal.
	TP, FP, TN, FN int
}

// CutoffAt returns the statistics of scores as a detector at threshold t:
// a sample is called anomalous when its score is >= t. Samples labelled
// Unknown are ignored. Rates without a denominator (e.g. Sensitivity with
// no anomalous sample) are NaN. CutoffAt panics on the same caller mistakes
// as ROC.
func CutoffAt(scores []float64, labels []int, t float64) Cutoff {
	checkInputs(scores, labels)
	c := Cutoff{Threshold: t}
	for i, l := range labels {
		if l == data.Unknown {
			continue
		}
		called := scores[i] >= t
		switch {
		case l == data.Anomalous && called:
			c.TP++
		case l == data.Anomalous:
			c.FN++
		case called:
			c.FP++
		default:
			c.TN++
		}
	}
	c.Sensitivity = ratio(c.TP, c.TP+c.FN)
	c.Recall = c.Sensitivity
	c.Specificity = ratio(c.TN, c.TN+c.FP)
	c.Precision = ratio(c.TP, c.TP+c.FP)
	c.F1 = 2 * c.Precision * c.Recall / (c.Precision + c.Recall)
	if c.Precision+c.Recall == 0 {
		c.F1 = 0
	}
	c.Youden = c.Sensitivity + c.Specificity - 1
	return c
}

// ratio returns a/b, or NaN when b is zero.
func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// Youden returns the optimal cut-off of the ROC curve of scores by Youden's
// index J = sensitivity + specificity - 1 = tpr - fpr, the criterion of the
// AnoGAN paper's Table 1 (Schlegl et al. 2017, Sec. 3). The threshold is
// one of the scores; among thresholds of equal J the highest (the one that
// calls fewest samples anomalous) is chosen. If no threshold has J > 0, the
// cut-off is +Inf and calls nothing anomalous.
//
// Samples labelled Unknown are ignored. When the curve is undefined (see
// Check) every statistic of the returned Cutoff is NaN. Youden panics on the
// same caller mistakes as ROC.
func Youden(scores []float64, labels []int) Cutoff {
	tpr, fpr, thresh := ROC(scores, labels)
	if tpr == nil {
		nan := math.NaN()
		return Cutoff{Threshold: nan, Precision: nan, Recall: nan, Sensitivity: nan,
			Specificity: nan, F1: nan, Youden: nan}
	}
	best := 0
	for i := range tpr {
		if tpr[i]-fpr[i] > tpr[best]-fpr[best] {
			best = i
		}
	}
	return CutoffAt(scores, labels, thresh[best])
}
