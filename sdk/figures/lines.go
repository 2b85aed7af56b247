package figures

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one line of a line plot: Y[i] at X[i]. Points whose Y is not
// finite are left out.
type Series struct {
	Name string
	X, Y []float64
}

// Lines draws series as lines in the default style (training curves).
func Lines(series []Series, title, xlabel, ylabel string) (*Figure, error) {
	return Default().Lines(series, title, xlabel, ylabel)
}

// Lines draws series as lines in style s, named in the legend. It returns
// an error if series is empty, a series' X and Y differ in length or a
// series has no finite point.
func (s Style) Lines(series []Series, title, xlabel, ylabel string) (*Figure, error) {
	if len(series) == 0 {
		return nil, errors.New("figures: Lines: no series")
	}
	p := s.newPlot(title, xlabel, ylabel)
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = lightGrey, lightGrey
	grid.Vertical.Width, grid.Horizontal.Width = 0.5, 0.5
	p.Add(grid)
	p.Legend.Top = true
	for i, sr := range series {
		if len(sr.X) != len(sr.Y) {
			return nil, fmt.Errorf("figures: Lines: series %q has %d x and %d y values", sr.Name, len(sr.X), len(sr.Y))
		}
		var xys plotter.XYs
		for k, y := range sr.Y {
			if !math.IsNaN(y) && !math.IsInf(y, 0) && !math.IsNaN(sr.X[k]) && !math.IsInf(sr.X[k], 0) {
				xys = append(xys, plotter.XY{X: sr.X[k], Y: y})
			}
		}
		if len(xys) == 0 {
			return nil, fmt.Errorf("figures: Lines: series %q has no finite point", sr.Name)
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("figures: Lines: series %q: %w", sr.Name, err)
		}
		line.LineStyle = draw.LineStyle{Color: pick(nil, s.Colors, i), Width: s.LineWidth}
		p.Add(line)
		p.Legend.Add(sr.Name, line)
	}
	return &Figure{Width: s.Width, Height: s.Height, Plot: p, style: s}, nil
}
