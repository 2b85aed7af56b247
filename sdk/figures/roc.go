package figures

import (
	"errors"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/metrics"
)

// Curve is one detector of an ROC figure: its name in the legend, its
// scores (higher = more anomalous) and the labels of the samples (0 normal,
// 1 anomalous, -1 unknown and ignored).
type Curve struct {
	Name   string
	Scores []float64
	Labels []int
	// Color is the colour of the curve; nil takes the next colour of
	// Style.Colors.
	Color color.Color
}

// checkScores returns an error naming what if scores and labels cannot be
// measured: different lengths, a label outside {-1, 0, 1}, a NaN score, or
// no normal or no anomalous sample.
func checkScores(what string, scores []float64, labels []int) error {
	if len(scores) != len(labels) {
		return fmt.Errorf("figures: %s: %d scores but %d labels", what, len(scores), len(labels))
	}
	for i, l := range labels {
		if l != data.Normal && l != data.Anomalous && l != data.Unknown {
			return fmt.Errorf("figures: %s: label %d is %d, want 0, 1 or -1", what, i, l)
		}
	}
	if err := metrics.Check(scores, labels); err != nil {
		return fmt.Errorf("figures: %s: %w", what, err)
	}
	return nil
}

// ROC draws the ROC curves of curves (the paper's Fig. 4a and 4b), each
// named in the legend with its area under the curve, over the dashed
// diagonal of a detector that guesses. See Style.ROC.
func ROC(curves []Curve, title string) (*Figure, error) { return Default().ROC(curves, title) }

// ROC draws the ROC curves of curves in style s: false positive rate
// (1 - specificity) across, true positive rate (sensitivity) up, each curve
// named "Name (AUC = 0.89)" in the legend. It returns an error naming the
// curve if one cannot be measured (see metrics.Check), and if curves is
// empty.
func (s Style) ROC(curves []Curve, title string) (*Figure, error) {
	if len(curves) == 0 {
		return nil, errors.New("figures: ROC: no curves")
	}
	p := s.newPlot(title, "False positive rate (1 − specificity)", "True positive rate (sensitivity)")
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	ticks := unitTicks()
	p.X.Tick.Marker, p.Y.Tick.Marker = ticks, ticks
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = lightGrey, lightGrey
	grid.Vertical.Width, grid.Horizontal.Width = 0.5, 0.5
	chance, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	chance.LineStyle = draw.LineStyle{Color: midGrey, Width: 0.8, Dashes: []vg.Length{3, 3}}
	p.Add(grid, chance)

	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.XOffs, p.Legend.YOffs = -s.FontSize/2, s.FontSize/2
	for i, c := range curves {
		if err := checkScores(fmt.Sprintf("ROC: curve %d (%q)", i, c.Name), c.Scores, c.Labels); err != nil {
			return nil, err
		}
		tpr, fpr, _ := metrics.ROC(c.Scores, c.Labels)
		xys := make(plotter.XYs, len(tpr))
		for k := range tpr {
			xys[k] = plotter.XY{X: fpr[k], Y: tpr[k]}
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("figures: ROC: curve %q: %w", c.Name, err)
		}
		line.LineStyle = draw.LineStyle{Color: pick(c.Color, s.Colors, i), Width: s.LineWidth}
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("%s (AUC = %.2f)", c.Name, metrics.AUC(c.Scores, c.Labels)), line)
	}
	return &Figure{Width: s.Width, Height: s.Height, Plot: p, style: s}, nil
}

// unitTicks labels 0, 0.2, ..., 1 with minor ticks at the tenths.
func unitTicks() plot.ConstantTicks {
	var ts plot.ConstantTicks
	for k := 0; k <= 10; k++ {
		t := plot.Tick{Value: float64(k) / 10}
		if k%2 == 0 {
			t.Label = fmt.Sprintf("%.1f", t.Value)
		}
		ts = append(ts, t)
	}
	return ts
}
