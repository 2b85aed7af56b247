package metrics_test

import (
	"fmt"

	"github.com/anogo/anogo/sdk/metrics"
)

func ExampleAUC() {
	// Anomaly scores of six test images: higher means more anomalous.
	scores := []float64{0.1, 0.4, 0.35, 0.8, 0.7, 0.2}
	labels := []int{0, 0, 1, 1, 1, -1} // the last image is unlabelled and left out
	fmt.Printf("AUC = %.4f\n", metrics.AUC(scores, labels))
	// Output:
	// AUC = 0.8333
}

func ExampleYouden() {
	scores := []float64{0.9, 0.8, 0.8, 0.5, 0.3}
	labels := []int{1, 0, 1, 1, 0}
	c := metrics.Youden(scores, labels)
	fmt.Printf("threshold %.2f: J = %.2f\n", c.Threshold, c.Youden)
	fmt.Printf("precision %.4f recall %.4f sensitivity %.4f specificity %.4f\n",
		c.Precision, c.Recall, c.Sensitivity, c.Specificity)
	fmt.Printf("TP %d FP %d TN %d FN %d\n", c.TP, c.FP, c.TN, c.FN)
	// Output:
	// threshold 0.50: J = 0.50
	// precision 0.7500 recall 1.0000 sensitivity 1.0000 specificity 0.5000
	// TP 3 FP 1 TN 1 FN 0
}

func ExampleTable1() {
	labels := []int{0, 0, 0, 1, 1, 1}
	df := metrics.Table1([]metrics.Method{
		{Name: "AnoGAN", Scores: []float64{0.1, 0.2, 0.6, 0.5, 0.8, 0.9}, Labels: labels},
		{Name: "P_D", Scores: []float64{0.3, 0.1, 0.2, 0.25, 0.05, 0.4}, Labels: labels},
	})
	fmt.Println(df.Names())
	fmt.Println(df.Col("method").Records(), df.Col("auc").Records())
	// Output:
	// [method precision recall sensitivity specificity auc]
	// [AnoGAN P_D] [0.888889 0.555556]
}
