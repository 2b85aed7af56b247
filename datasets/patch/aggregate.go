package patch

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Aggregate turns the anomaly scores of the patches of one image into an
// image score. how is one of
//
//	"max"          the largest score: the image is as anomalous as its
//	               most anomalous patch
//	"mean"         the mean score
//	"topk-mean:K"  the mean of the K largest scores (of all of them when
//	               there are fewer than K); K = 1 is "max"
//
// An empty or NaN-holding scores, an unknown how or a K below 1 is an
// error. scores is not modified.
func Aggregate(scores []float64, how string) (float64, error) {
	if len(scores) == 0 {
		return 0, fmt.Errorf("patch: aggregate %q of no scores", how)
	}
	for j, s := range scores {
		if math.IsNaN(s) {
			return 0, fmt.Errorf("patch: aggregate %q: score %d is NaN", how, j)
		}
	}
	switch {
	case how == "max":
		return slices.Max(scores), nil
	case how == "mean":
		return mean(scores), nil
	case strings.HasPrefix(how, "topk-mean:"):
		k, err := strconv.Atoi(strings.TrimPrefix(how, "topk-mean:"))
		if err != nil || k < 1 {
			return 0, fmt.Errorf("patch: aggregate %q: K must be a positive integer", how)
		}
		s := slices.Clone(scores)
		slices.Sort(s)
		return mean(s[max(0, len(s)-k):]), nil
	}
	return 0, fmt.Errorf("patch: unknown aggregation %q (want max, mean or topk-mean:K)", how)
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
