package metrics

import (
	"math"
	"testing"
)

func TestAUCBySize(t *testing.T) {
	// Normals score 0..9. Slivers (2 pixels) score 4.5 and 5.5: above 5
	// and 6 of the 10 normals, AUC 0.55. Lesions of 100 pixels score 20 and
	// 30: AUC 1. No anomalous sample falls in 5-16.
	scores := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 4.5, 5.5, 20, 30}
	labels := []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1}
	sizes := []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 100, 100}
	df, err := AUCBySize(scores, labels, sizes, SizeEdges)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		n    int
		auc  float64
	}{{"1-4", 2, 0.55}, {"5-16", 0, math.NaN()}, {"17-64", 0, math.NaN()}, {"65-200", 2, 1}, {"201+", 0, math.NaN()}}
	names, counts, aucs := df.Col("pixels").Records(), df.Col("anomalous").Float(), df.Col("auc").Float()
	if len(names) != len(want) {
		t.Fatalf("%d rows, want %d", len(names), len(want))
	}
	for k, w := range want {
		if names[k] != w.name || int(counts[k]) != w.n {
			t.Errorf("row %d: %s with %v anomalous, want %s with %d", k, names[k], counts[k], w.name, w.n)
		}
		if got := aucs[k]; !(math.IsNaN(w.auc) && math.IsNaN(got)) && math.Abs(got-w.auc) > 1e-12 {
			t.Errorf("row %s: AUC %v, want %v", w.name, got, w.auc)
		}
	}
	for _, bad := range [][]int{nil, {0, 5}, {5, 5}, {1, 10, 3}} {
		if _, err := AUCBySize(scores, labels, sizes, bad); err == nil {
			t.Errorf("edges %v: no error", bad)
		}
	}
	if _, err := AUCBySize(scores, labels, sizes[:3], SizeEdges); err == nil {
		t.Error("mismatched lengths: no error")
	}
}
