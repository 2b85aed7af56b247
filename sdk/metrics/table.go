package metrics

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"github.com/anogo/anogo/sdk/data"
)

// Method is one detector under evaluation: its name as it should appear in a
// table or legend (e.g. "AnoGAN", "GAN_R", "P_D") and its scores for the
// labelled samples.
type Method struct {
	Name   string
	Scores []float64
	Labels []int
}

// Table1 returns the AnoGAN paper's Table 1 (Schlegl et al. 2017) for
// methods: one row per method, in the given order, with the columns
// method, precision, recall, sensitivity, specificity and auc, the first
// five at the Youden cut-off of the method's ROC curve.
//
// If the measures of a method are undefined (see Check) its row holds NaN
// and the returned frame's Err names the method and the problem. Table1
// panics on the same caller mistakes as ROC.
func Table1(methods []Method) dataframe.DataFrame {
	return table(methods, false)
}

// Summary returns Table1's columns followed by ap (AveragePrecision), f1 and
// threshold (both at the Youden cut-off).
func Summary(methods []Method) dataframe.DataFrame {
	return table(methods, true)
}

func table(methods []Method, summary bool) dataframe.DataFrame {
	n := len(methods)
	names := make([]string, n)
	prec, rec, sens, spec, auc := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	ap, f1, thresh := make([]float64, n), make([]float64, n), make([]float64, n)
	var firstErr error
	for i, m := range methods {
		if err := Check(m.Scores, m.Labels); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("metrics: method %q: %w", m.Name, err)
		}
		c := Youden(m.Scores, m.Labels)
		names[i] = m.Name
		prec[i], rec[i], sens[i], spec[i] = c.Precision, c.Recall, c.Sensitivity, c.Specificity
		auc[i] = AUC(m.Scores, m.Labels)
		f1[i], thresh[i] = c.F1, c.Threshold
		if summary {
			ap[i] = AveragePrecision(m.Scores, m.Labels)
		}
	}
	cols := []series.Series{
		series.New(names, series.String, "method"),
		series.New(prec, series.Float, "precision"),
		series.New(rec, series.Float, "recall"),
		series.New(sens, series.Float, "sensitivity"),
		series.New(spec, series.Float, "specificity"),
		series.New(auc, series.Float, "auc"),
	}
	if summary {
		cols = append(cols,
			series.New(ap, series.Float, "ap"),
			series.New(f1, series.Float, "f1"),
			series.New(thresh, series.Float, "threshold"),
		)
	}
	df := dataframe.New(cols...)
	if firstErr != nil {
		df.Err = firstErr
	}
	return df
}

// WriteCSV writes df to path as CSV with a header row, creating the
// directory if needed. Floats are written in full precision (the shortest
// text that reads back to the same value; NaN as "NaN"). The file is written
// atomically (data.WriteFile: a reader never sees half a table, a failed
// write keeps the earlier file, a symbolic link and the file's mode are
// kept). WriteCSV returns df's own error if it has one.
func WriteCSV(df dataframe.DataFrame, path string) (err error) {
	if e := df.Error(); e != nil {
		return fmt.Errorf("metrics: writing %q: %w", path, e)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("metrics: writing %q: %w", path, err)
	}
	err = data.WriteFile(path, func(f io.Writer) error {
		w := csv.NewWriter(f)
		return w.WriteAll(records(df))
	})
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// records returns df as text, header first, with floats in full precision
// (gota's own Records rounds them to six decimals).
func records(df dataframe.DataFrame) [][]string {
	names := df.Names()
	out := make([][]string, 1, df.Nrow()+1)
	out[0] = names
	cols := make([]series.Series, len(names))
	for j, name := range names {
		cols[j] = df.Col(name)
	}
	for i := 0; i < df.Nrow(); i++ {
		row := make([]string, len(names))
		for j, col := range cols {
			e := col.Elem(i)
			if col.Type() == series.Float {
				row[j] = strconv.FormatFloat(e.Float(), 'g', -1, 64)
			} else {
				row[j] = e.String()
			}
		}
		out = append(out, row)
	}
	return out
}
