package metrics

import "math"

// AveragePrecision returns the area under the precision-recall curve of
// scores, summed step-wise as scikit-learn's average_precision_score does:
//
//	AP = Σ_n (R_n - R_{n-1}) P_n
//
// where P_n and R_n are the precision and recall when every sample with a
// score >= the n-th distinct score (taken in descending order) is called
// anomalous, and R_0 = 0. Tied scores enter together, as one step. No
// interpolation is applied, so AP is not the trapezoidal PR-AUC, which is
// optimistic.
//
// Samples labelled Unknown are ignored. AveragePrecision returns NaN when the
// curve is undefined (see Check) and panics on the same caller mistakes as
// ROC.
func AveragePrecision(scores []float64, labels []int) float64 {
	y, classes, ok := sortedDesc(scores, labels)
	if !ok {
		return math.NaN()
	}
	var nPos int
	for _, c := range classes {
		if c {
			nPos++
		}
	}
	var ap, prevRecall float64
	var tp, fp int
	for i := range y {
		if classes[i] {
			tp++
		} else {
			fp++
		}
		if i+1 < len(y) && y[i+1] == y[i] {
			continue // close the step after the last tied score
		}
		recall := float64(tp) / float64(nPos)
		precision := float64(tp) / float64(tp+fp)
		ap += (recall - prevRecall) * precision
		prevRecall = recall
	}
	return ap
}
