package figures

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"
)

// Group is one set of values of a histogram figure, e.g. the residual
// scores of the normal training images.
type Group struct {
	Name   string
	Values []float64
	// Color is the colour of the group; nil takes the next colour of
	// Style.GroupColors.
	Color color.Color
}

// Histograms draws the distributions of groups overlaid (the paper's
// Fig. 4c and 4d). See Style.Histograms.
func Histograms(groups []Group, title, xlabel string) (*Figure, error) {
	return Default().Histograms(groups, title, xlabel)
}

// Histograms draws the distributions of groups in style s, overlaid on the
// same bins and each normalised to unit area, so that groups of different
// sizes compare as densities. The bins span all values of all groups; their
// number is s.Bins, or when zero the Freedman-Diaconis rule on the pooled
// values, kept between 10 and 60. It returns an error naming the group if a
// group is empty or holds a NaN or infinite value, and if groups is empty.
func (s Style) Histograms(groups []Group, title, xlabel string) (*Figure, error) {
	lo, width, densities, err := binned(groups, s.Bins)
	if err != nil {
		return nil, err
	}
	p := s.newPlot(title, xlabel, "Density")
	p.Legend.Top = true
	p.Legend.XOffs, p.Legend.YOffs = -s.FontSize/2, -s.FontSize/2
	for i, g := range groups {
		h := &plotter.Histogram{Bins: make([]plotter.HistogramBin, len(densities[i])), Width: width}
		for k, d := range densities[i] {
			h.Bins[k] = plotter.HistogramBin{Min: lo + float64(k)*width, Max: lo + float64(k+1)*width, Weight: d}
		}
		c := pick(g.Color, s.GroupColors, i)
		h.FillColor = withAlpha(c, 0.3)
		h.LineStyle = draw.LineStyle{Color: c, Width: s.LineWidth * 0.7}
		p.Add(h)
		p.Legend.Add(fmt.Sprintf("%s, n = %d", g.Name, len(g.Values)), h)
	}
	// Leave room above the bars for the legend.
	var top float64
	for _, d := range densities {
		top = max(top, slices.Max(d))
	}
	p.Y.Min, p.Y.Max = 0, top*(1.1+0.1*float64(len(groups)))
	return &Figure{Width: s.Width, Height: s.Height, Plot: p, style: s}, nil
}

// binned returns the common bins of groups, from lo in steps of width, and
// each group's density on them (unit area). nbins <= 0 chooses the number of
// bins by the Freedman-Diaconis rule.
func binned(groups []Group, nbins int) (lo, width float64, densities [][]float64, err error) {
	if len(groups) == 0 {
		return 0, 0, nil, errors.New("figures: Histograms: no groups")
	}
	var all []float64
	for i, g := range groups {
		if len(g.Values) == 0 {
			return 0, 0, nil, fmt.Errorf("figures: Histograms: group %d (%q) has no values", i, g.Name)
		}
		for k, v := range g.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, 0, nil, fmt.Errorf("figures: Histograms: group %d (%q): value %d is %v", i, g.Name, k, v)
			}
		}
		all = append(all, g.Values...)
	}
	slices.Sort(all)
	lo, hi := all[0], all[len(all)-1]
	n := nbins
	if n <= 0 {
		n = freedmanDiaconis(all)
	}
	if hi == lo {
		lo, hi, n = lo-0.5, hi+0.5, 1
	}
	width = (hi - lo) / float64(n)
	for _, g := range groups {
		d := make([]float64, n)
		for _, v := range g.Values {
			d[min(int((v-lo)/width), n-1)]++
		}
		for k := range d {
			d[k] /= float64(len(g.Values)) * width
		}
		densities = append(densities, d)
	}
	return lo, width, densities, nil
}

// freedmanDiaconis returns the number of bins of width 2 IQR / n^(1/3)
// over the sorted values x, between 10 and 60.
func freedmanDiaconis(x []float64) int {
	iqr := stat.Quantile(0.75, stat.Empirical, x, nil) - stat.Quantile(0.25, stat.Empirical, x, nil)
	span := x[len(x)-1] - x[0]
	if iqr <= 0 || span <= 0 {
		return 30
	}
	w := 2 * iqr / math.Cbrt(float64(len(x)))
	return max(10, min(60, int(math.Ceil(span/w))))
}
