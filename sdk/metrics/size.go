package metrics

import (
	"fmt"
	"math"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"
)

// SizeEdges are the default lower edges of AUCBySize's groups: 1-4, 5-16,
// 17-64, 65-200 and more than 200 annotated pixels.
var SizeEdges = []int{1, 5, 17, 65, 201}

// AUCBySize stratifies the image-level AUC by the size of the anomaly: for
// each group of anomalous samples whose annotated pixel count sizes[i] lies
// in [edges[k], edges[k+1]) (the last group is open above), the AUC of
// those samples against all normal samples. It returns one row per group
// with the columns pixels (e.g. "5-16", "201+"), anomalous (the group's
// count) and auc (NaN for an empty group).
//
// Under the paper's labelling rule a patch is anomalous if it holds a single
// annotated pixel, so the overall AUC mixes slivers of an anomaly, which no
// score sees, with whole lesions; this table shows which is which. Sizes of
// normal samples are ignored; edges must be increasing and start at 1 or
// more.
func AUCBySize(scores []float64, labels []int, sizes []int, edges []int) (dataframe.DataFrame, error) {
	if len(sizes) != len(scores) || len(labels) != len(scores) {
		return dataframe.DataFrame{}, fmt.Errorf("metrics: %d scores, %d labels, %d sizes", len(scores), len(labels), len(sizes))
	}
	if len(edges) == 0 || edges[0] < 1 {
		return dataframe.DataFrame{}, fmt.Errorf("metrics: size edges %v: want increasing edges from 1 up", edges)
	}
	for k := 1; k < len(edges); k++ {
		if edges[k] <= edges[k-1] {
			return dataframe.DataFrame{}, fmt.Errorf("metrics: size edges %v: want increasing edges from 1 up", edges)
		}
	}
	var normal []float64
	for i, l := range labels {
		if l == 0 {
			normal = append(normal, scores[i])
		}
	}
	names := make([]string, len(edges))
	counts := make([]int, len(edges))
	aucs := make([]float64, len(edges))
	for k, lo := range edges {
		hi := math.MaxInt
		names[k] = fmt.Sprintf("%d+", lo)
		if k+1 < len(edges) {
			hi = edges[k+1]
			names[k] = fmt.Sprintf("%d-%d", lo, hi-1)
		}
		s := append([]float64(nil), normal...)
		y := make([]int, len(normal), len(normal)+len(scores))
		for i, l := range labels {
			if l == 1 && sizes[i] >= lo && sizes[i] < hi {
				s = append(s, scores[i])
				y = append(y, 1)
			}
		}
		counts[k] = len(s) - len(normal)
		aucs[k] = math.NaN()
		if counts[k] > 0 && len(normal) > 0 {
			aucs[k] = AUC(s, y)
		}
	}
	return dataframe.New(
		series.New(names, series.String, "pixels"),
		series.New(counts, series.Int, "anomalous"),
		series.New(aucs, series.Float, "auc"),
	), nil
}
