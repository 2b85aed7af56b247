package experiment

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/go-gota/gota/dataframe"
	"gonum.org/v1/gonum/stat"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/figures"
)

// AUCFigure draws the image AUC of every method (bars) on every data set
// (groups) of a results table (Report.Results, or several stacked), each
// bar the mean over classes and seeds. col is the column drawn ("auc",
// "ap", "pixel_auc" or "dice"); empty values are left out of the means.
func AUCFigure(results dataframe.DataFrame, col, title string) (*figures.Figure, error) {
	if results.Err != nil {
		return nil, results.Err
	}
	datasets := unique(results.Col("dataset").Records())
	methods := unique(results.Col("method").Records())
	vals := map[[2]string][]float64{}
	ds, ms, vs := results.Col("dataset").Records(), results.Col("method").Records(), results.Col(col).Records()
	for i := range ds {
		v, err := strconv.ParseFloat(vs[i], 64)
		if err != nil {
			continue // empty: no masks or no map
		}
		k := [2]string{ds[i], ms[i]}
		vals[k] = append(vals[k], v)
	}
	var groups []figures.BarGroup
	for _, d := range datasets {
		g := figures.BarGroup{Name: d}
		for _, m := range methods {
			v := vals[[2]string{d, m}]
			if len(v) == 0 {
				g.Values = append(g.Values, math.NaN())
				continue
			}
			g.Values = append(g.Values, stat.Mean(v, nil))
		}
		groups = append(groups, g)
	}
	return figures.Bars(groups, methods, title, col)
}

func unique(xs []string) []string {
	var out []string
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// MapFigure shows up to n whole test scans of a run, anomalous ones first:
// for each, the scan, every row's stitched anomaly map (scaled to its
// largest value over the shown scans) and the annotation. It returns an
// error when the run has no scans (not a patch-based run).
func (r *MethodRun) MapFigure(n int) (*figures.Figure, error) {
	if len(r.Scans) == 0 {
		return nil, fmt.Errorf("experiment: %s: no whole scans (not a patch-based run)", r.Method)
	}
	var rows []string
	for _, row := range r.Model.Detector.Rows() {
		if row.Map {
			rows = append(rows, row.Name)
		}
	}
	scans := slices.Clone(r.Scans)
	slices.SortStableFunc(scans, func(a, b ScanResult) int { return b.Label - a.Label })
	scans = scans[:min(n, len(scans))]
	top := map[string]float32{}
	for _, s := range scans {
		for _, name := range rows {
			top[name] = max(top[name], slices.Max(s.Maps[name].Pix))
		}
	}
	var ims []*data.Image
	var titles []string
	for _, s := range scans {
		ims, titles = append(ims, s.Image), append(titles, fmt.Sprintf("%s (label %d)", short(s.ID), s.Label))
		for _, name := range rows {
			ims, titles = append(ims, scaled(s.Maps[name], top[name])), append(titles, name+" map")
		}
		if s.Mask != nil {
			ims, titles = append(ims, scaled(s.Mask, 1)), append(titles, "annotation")
		} else {
			ims, titles = append(ims, data.NewImage(s.Image.H, s.Image.W)), append(titles, "no annotation")
		}
	}
	return figures.ImageGrid(ims, len(rows)+2, titles)
}

// scaled maps [0, top] to the grey range [-1, 1].
func scaled(im *data.Image, top float32) *data.Image {
	out := data.NewImage(im.H, im.W)
	if top <= 0 {
		top = 1
	}
	for i, v := range im.Pix {
		out.Pix[i] = 2*min(max(v/top, 0), 1) - 1
	}
	return out
}

func short(id string) string {
	if len(id) > 18 {
		return "…" + id[len(id)-17:]
	}
	return id
}

// ResidualsBeside shows the same n test samples (anomalous first, in the
// order of the first run) scored by every run: the image, then each run's
// reconstruction and anomaly map (|x - x̂|, one grey scale per run, scaled
// to its largest value over the shown samples). Runs without maps are left
// out; it is an error if fewer than one has them or the runs scored
// different samples.
func ResidualsBeside(runs []*MethodRun, n int) (*figures.Figure, error) {
	var with []*MethodRun
	for _, r := range runs {
		if len(r.Test) > 0 && r.Test[0].Residual != nil {
			with = append(with, r)
		}
	}
	if len(with) == 0 {
		return nil, fmt.Errorf("experiment: no run has anomaly maps")
	}
	order := make([]int, len(with[0].Test))
	for i := range order {
		order[i] = i
	}
	first := with[0].Test
	slices.SortStableFunc(order, func(a, b int) int { return first[b].Label - first[a].Label })
	order = order[:min(n, len(order))]
	byID := make([]map[string]int, len(with))
	top := make([]float32, len(with))
	for k, r := range with {
		byID[k] = map[string]int{}
		for i, res := range r.Test {
			byID[k][res.ID] = i
		}
		for _, i := range order {
			j, ok := byID[k][first[i].ID]
			if !ok {
				return nil, fmt.Errorf("experiment: %s did not score %s", r.Method, first[i].ID)
			}
			top[k] = max(top[k], slices.Max(r.Test[j].Residual.Pix))
		}
	}
	var ims []*data.Image
	var titles []string
	for _, i := range order {
		q := first[i]
		ims, titles = append(ims, q.Query), append(titles, fmt.Sprintf("%s (label %d)", short(q.ID), q.Label))
		for k, r := range with {
			res := r.Test[byID[k][q.ID]]
			name := rowWithMap(r)
			recon := res.Recon
			if recon == nil {
				recon = data.NewImage(res.Residual.H, res.Residual.W)
			}
			ims, titles = append(ims, recon, scaled(res.Residual, top[k])), append(titles, name+" x̂", name+" |x − x̂|")
		}
	}
	return figures.ImageGrid(ims, 1+2*len(with), titles)
}

// rowWithMap names the row whose map a run's residuals are.
func rowWithMap(r *MethodRun) string {
	for _, row := range r.Model.Detector.Rows() {
		if row.Map {
			return row.Name
		}
	}
	return r.Method
}
