package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/integrate"
	"gonum.org/v1/gonum/stat"

	"github.com/anogo/anogo/sdk/data"
)

// Errors reported by Check and the pixel-level functions.
var (
	// ErrNoNormal means there is no normal sample (or pixel) to measure against.
	ErrNoNormal = errors.New("metrics: no normal sample")
	// ErrNoAnomalous means there is no anomalous sample (or pixel) to measure against.
	ErrNoAnomalous = errors.New("metrics: no anomalous sample")
)

// Check returns an error describing the first problem in scores and labels
// that leaves the ROC curve undefined: a NaN score of a labelled sample, no
// normal sample or no anomalous sample. It returns nil when every measure of
// this package is defined. Check panics on the same caller mistakes as ROC.
func Check(scores []float64, labels []int) error {
	checkInputs(scores, labels)
	var nNeg, nPos int
	for i, l := range labels {
		if l == data.Unknown {
			continue
		}
		if math.IsNaN(scores[i]) {
			return fmt.Errorf("metrics: score %d is NaN", i)
		}
		if l == data.Anomalous {
			nPos++
		} else {
			nNeg++
		}
	}
	switch {
	case nNeg == 0:
		return ErrNoNormal
	case nPos == 0:
		return ErrNoAnomalous
	}
	return nil
}

// checkInputs panics on caller mistakes: slices of different lengths or a
// label that is not Normal, Anomalous or Unknown.
func checkInputs(scores []float64, labels []int) {
	if len(scores) != len(labels) {
		panic(fmt.Sprintf("metrics: %d scores but %d labels", len(scores), len(labels)))
	}
	for i, l := range labels {
		if l != data.Normal && l != data.Anomalous && l != data.Unknown {
			panic(fmt.Sprintf("metrics: label %d is %d, want 0, 1 or -1", i, l))
		}
	}
}

// sorted returns the scores of the labelled samples in ascending order with
// their classes (true = anomalous), or ok = false when Check reports a
// problem. The caller's slices are not modified.
func sorted(scores []float64, labels []int) (y []float64, classes []bool, ok bool) {
	if Check(scores, labels) != nil {
		return nil, nil, false
	}
	y = make([]float64, 0, len(scores))
	classes = make([]bool, 0, len(scores))
	for i, l := range labels {
		if l == data.Unknown {
			continue
		}
		y = append(y, scores[i])
		classes = append(classes, l == data.Anomalous)
	}
	stat.SortWeightedLabeled(y, classes, nil)
	return y, classes, true
}

// ROC returns the receiver operating characteristic curve of scores as a
// detector of anomalous samples: tpr[i] (sensitivity) and fpr[i]
// (1 - specificity) are the rates at which anomalous and normal samples get
// a score >= thresh[i]. thresh runs from +Inf (nothing called anomalous,
// tpr = fpr = 0) down to the smallest score (everything called anomalous,
// tpr = fpr = 1), with one point per distinct score, so fpr and tpr never
// decrease.
//
// Samples labelled Unknown are ignored. ROC returns nil slices when the
// curve is undefined (see Check). It panics if the slices differ in length
// or a label is not 0, 1 or -1. It is computed by gonum's stat.ROC on a
// sorted copy of the inputs.
func ROC(scores []float64, labels []int) (tpr, fpr, thresh []float64) {
	y, classes, ok := sorted(scores, labels)
	if !ok {
		return nil, nil, nil
	}
	return stat.ROC(nil, y, classes, nil)
}

// AUC returns the area under the ROC curve of scores, by the trapezoidal
// rule over the points returned by ROC. It equals the probability that a
// random anomalous sample scores higher than a random normal one, with a
// tie counted as one half (the Mann-Whitney U statistic divided by the
// number of pairs): tied scores form one point of the curve, and the
// trapezoid across it gives ties half credit.
//
// AUC returns NaN when the curve is undefined (see Check) and panics on the
// same caller mistakes as ROC.
func AUC(scores []float64, labels []int) float64 {
	tpr, fpr, _ := ROC(scores, labels)
	if tpr == nil {
		return math.NaN()
	}
	return integrate.Trapezoidal(fpr, tpr)
}

// sortedDesc returns a copy of the labelled scores in descending order with
// their classes, or ok = false when Check reports a problem.
func sortedDesc(scores []float64, labels []int) (y []float64, classes []bool, ok bool) {
	y, classes, ok = sorted(scores, labels)
	if !ok {
		return nil, nil, false
	}
	slices.Reverse(y)
	slices.Reverse(classes)
	return y, classes, true
}
