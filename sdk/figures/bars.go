package figures

import (
	"errors"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// BarGroup is one group of bars: e.g. one data set, with one value per
// series (method). A NaN value draws no bar.
type BarGroup struct {
	Name   string
	Values []float64
}

// Bars draws grouped bars, one colour per series: e.g. the AUC of every
// method (series) on every data set (group). See Style.Bars.
func Bars(groups []BarGroup, series []string, title, ylabel string) (*Figure, error) {
	return Default().Bars(groups, series, title, ylabel)
}

// Bars draws grouped bars in style s, the y axis from 0 to 1 when every
// value lies in [0, 1] (AUCs), with a dashed line at 0.5 (chance). It
// returns an error if groups or series is empty, a group has another number
// of values than series, or a value is infinite.
func (s Style) Bars(groups []BarGroup, series []string, title, ylabel string) (*Figure, error) {
	if len(groups) == 0 || len(series) == 0 {
		return nil, errors.New("figures: Bars: no groups or no series")
	}
	unit := true
	for _, g := range groups {
		if len(g.Values) != len(series) {
			return nil, fmt.Errorf("figures: Bars: group %q has %d values for %d series", g.Name, len(g.Values), len(series))
		}
		for _, v := range g.Values {
			if math.IsInf(v, 0) {
				return nil, fmt.Errorf("figures: Bars: group %q holds %v", g.Name, v)
			}
			if v < 0 || v > 1 {
				unit = false
			}
		}
	}
	p := s.newPlot(title, "", ylabel)
	w := vg.Points(float64(s.Width.Points()) * 0.7 / float64(len(groups)*len(series)+len(groups)))
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.Name
	}
	for k, name := range series {
		vals := make(plotter.Values, len(groups))
		for i, g := range groups {
			v := g.Values[k]
			if math.IsNaN(v) {
				v = 0
			}
			vals[i] = v
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, fmt.Errorf("figures: Bars: %w", err)
		}
		c := pick(nil, s.Colors, k)
		b.Color = c
		b.LineStyle = draw.LineStyle{Color: c, Width: 0}
		b.Offset = w * vg.Length(float64(k)-float64(len(series)-1)/2)
		p.Add(b)
		p.Legend.Add(name, b)
	}
	p.NominalX(names...)
	p.Legend.Top = true
	if unit {
		p.Y.Min, p.Y.Max = 0, 1.15
		chance, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 0.5}, {X: float64(len(groups)) - 0.5, Y: 0.5}})
		if err == nil {
			chance.LineStyle = draw.LineStyle{Color: color.Gray{Y: 128}, Width: s.LineWidth * 0.5, Dashes: []vg.Length{vg.Points(3), vg.Points(3)}}
			p.Add(chance)
		}
	}
	return &Figure{Width: s.Width, Height: s.Height, Plot: p, style: s}, nil
}
