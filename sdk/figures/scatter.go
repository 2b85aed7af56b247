package figures

import (
	"errors"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"

	"github.com/anogo/anogo/sdk/data"
)

// Scatter2D draws two-dimensional points coloured by label, normal in blue
// and anomalous in red (the paper's Fig. 2b, a t-SNE embedding). See
// Style.Scatter2D.
func Scatter2D(points [][2]float64, labels []int, title string) (*Figure, error) {
	return Default().Scatter2D(points, labels, title)
}

// Scatter2D draws points coloured by labels in style s: s.Normal for 0,
// s.Anomalous for 1 (drawn on top) and s.Unknown for -1. The axes carry no
// tick labels, since embedding coordinates have no units. It returns an
// error if the slices differ in length, are empty, or hold a label outside
// {-1, 0, 1} or a NaN or infinite coordinate.
func (s Style) Scatter2D(points [][2]float64, labels []int, title string) (*Figure, error) {
	if len(points) != len(labels) {
		return nil, fmt.Errorf("figures: Scatter2D: %d points but %d labels", len(points), len(labels))
	}
	if len(points) == 0 {
		return nil, errors.New("figures: Scatter2D: no points")
	}
	byClass := map[int]plotter.XYs{}
	for i, pt := range points {
		l := labels[i]
		if l != data.Normal && l != data.Anomalous && l != data.Unknown {
			return nil, fmt.Errorf("figures: Scatter2D: label %d is %d, want 0, 1 or -1", i, l)
		}
		for _, v := range pt {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("figures: Scatter2D: point %d is %v", i, pt)
			}
		}
		byClass[l] = append(byClass[l], plotter.XY{X: pt[0], Y: pt[1]})
	}
	p := s.newPlot(title, "", "")
	p.HideAxes()
	p.Add(frame{draw.LineStyle{Color: color.Black, Width: 0.6}})
	p.Legend.Top = true
	p.Legend.XOffs, p.Legend.YOffs = -s.FontSize/2, -s.FontSize/3
	radius := s.FontSize / 5
	classes := []struct {
		label int
		name  string
		c     color.Color
	}{
		{data.Normal, "normal", s.Normal},
		{data.Anomalous, "anomalous", s.Anomalous},
		{data.Unknown, "unknown", s.Unknown},
	}
	// Unknown points are drawn first, anomalous ones last (on top).
	for _, k := range []int{2, 0, 1} {
		cls := classes[k]
		if len(byClass[cls.label]) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(byClass[cls.label])
		if err != nil {
			return nil, fmt.Errorf("figures: Scatter2D: %w", err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: withAlpha(cls.c, 0.75), Radius: radius, Shape: draw.CircleGlyph{}}
		p.Add(sc)
	}
	entries := 0
	for _, cls := range classes {
		if n := len(byClass[cls.label]); n > 0 {
			entries++
			// Legend glyphs are opaque and a little larger than the points.
			thumb := &plotter.Scatter{GlyphStyle: draw.GlyphStyle{Color: cls.c, Radius: radius * 1.5, Shape: draw.CircleGlyph{}}}
			p.Legend.Add(fmt.Sprintf("%s (n = %d)", cls.name, n), thumb)
		}
	}
	// Leave room above the points for the legend.
	xmin, xmax, ymin, ymax := bounds(points)
	padX, padY := 0.04*(xmax-xmin), 0.04*(ymax-ymin)
	p.X.Min, p.X.Max = xmin-padX, xmax+padX
	p.Y.Min, p.Y.Max = ymin-padY, ymax+padY+0.12*(ymax-ymin)*float64(entries)
	return &Figure{Width: s.Width, Height: s.Height, Plot: p, style: s}, nil
}

// bounds returns the range of the points' coordinates, widened by one half
// on each side where it is empty.
func bounds(points [][2]float64) (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, p := range points {
		xmin, xmax = min(xmin, p[0]), max(xmax, p[0])
		ymin, ymax = min(ymin, p[1]), max(ymax, p[1])
	}
	if xmax == xmin {
		xmin, xmax = xmin-0.5, xmax+0.5
	}
	if ymax == ymin {
		ymin, ymax = ymin-0.5, ymax+0.5
	}
	return xmin, xmax, ymin, ymax
}

// frame draws a rectangle around the data area of a plot.
type frame struct{ draw.LineStyle }

func (f frame) Plot(c draw.Canvas, _ *plot.Plot) {
	c.SetLineStyle(f.LineStyle)
	c.Stroke(c.Rectangle.Path())
}
