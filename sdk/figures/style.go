package figures

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// Style is the look shared by every figure: fonts, sizes, line widths and
// colours. Default returns the style of the package-level functions; change
// a copy's fields and call its methods to draw in another style. The zero
// Style has no font size or resolution: always start from Default().
type Style struct {
	// Font is the typeface of all text.
	Font font.Font
	// FontSize is the size of axis labels and legends; titles are 1 pt
	// larger, tick labels and image captions 1 pt smaller.
	FontSize vg.Length
	// Width and Height are the size of single-panel figures (ROC,
	// histograms, scatter).
	Width, Height vg.Length
	// PanelWidth is the width of multi-panel figures (Fig3, ImageGrid).
	PanelWidth vg.Length
	// LineWidth is the width of data lines; axes and outlines are thinner.
	LineWidth vg.Length
	// DPI is the resolution of PNG output.
	DPI int
	// EmbedFonts embeds the fonts in SVG output, so that it looks the same
	// without Liberation installed. PDF output always embeds them.
	EmbedFonts bool

	// Colors are the colours of ROC curves, in order. The default order
	// (blue, vermillion, black, green, ...) gives the colours of the
	// paper's Fig. 4a for aCAE, GAN_R, AnoGAN, P_D.
	Colors []color.Color
	// GroupColors are the colours of histogram groups, in order; the
	// default (blue, green, vermillion) is the paper's Fig. 4c for normal
	// train, normal test and anomalous images.
	GroupColors []color.Color
	// Normal, Anomalous and Unknown colour the classes in Scatter2D.
	Normal, Anomalous, Unknown color.Color
	// CalledNormal and CalledAnomalous colour the decision bars of Fig3.
	CalledNormal, CalledAnomalous color.Color
	// MaskColor tints annotated pixels in Fig3.
	MaskColor color.Color
	// Residual is the colour map of the residual overlay of Fig3, from no
	// residual to the largest one.
	Residual []color.Color
	// ResidualAlpha is the opacity of the overlay where the residual is
	// largest; it falls linearly to 0 where the residual is 0.
	ResidualAlpha float64
	// Bins is the number of histogram bins; 0 chooses it from the data.
	Bins int
}

// Colour-blind-safe colours (Okabe and Ito 2008).
var (
	blue       = color.RGBA{R: 0, G: 114, B: 178, A: 255}
	vermillion = color.RGBA{R: 213, G: 94, B: 0, A: 255}
	green      = color.RGBA{R: 0, G: 158, B: 115, A: 255}
	orange     = color.RGBA{R: 230, G: 159, B: 0, A: 255}
	purple     = color.RGBA{R: 204, G: 121, B: 167, A: 255}
	skyBlue    = color.RGBA{R: 86, G: 180, B: 233, A: 255}
	midGrey    = color.RGBA{R: 150, G: 150, B: 150, A: 255}
	lightGrey  = color.RGBA{R: 225, G: 225, B: 225, A: 255}
)

// Default returns the default style: 10 pt Liberation Sans, single panels
// 4.5 × 3.4 inches, multi-panel figures 7 inches wide, PNG at 300 dpi.
func Default() Style {
	return Style{
		Font:            font.Font{Typeface: "Liberation", Variant: "Sans"},
		FontSize:        10,
		Width:           4.5 * vg.Inch,
		Height:          3.4 * vg.Inch,
		PanelWidth:      7 * vg.Inch,
		LineWidth:       1.4,
		DPI:             300,
		EmbedFonts:      true,
		Colors:          []color.Color{blue, vermillion, color.Black, green, orange, purple, skyBlue},
		GroupColors:     []color.Color{blue, green, vermillion, orange, purple, skyBlue},
		Normal:          blue,
		Anomalous:       vermillion,
		Unknown:         midGrey,
		CalledNormal:    color.RGBA{R: 60, G: 170, B: 90, A: 255},
		CalledAnomalous: color.RGBA{R: 215, G: 40, B: 30, A: 255},
		MaskColor:       color.RGBA{R: 0, G: 200, B: 255, A: 255},
		Residual:        warm(256),
		ResidualAlpha:   0.85,
	}
}

// warm returns n colours from dark red through red and orange to yellow.
func warm(n int) []color.Color {
	stops := []color.RGBA{{140, 0, 0, 255}, {225, 30, 0, 255}, {255, 140, 0, 255}, {255, 235, 60, 255}}
	out := make([]color.Color, n)
	for i := range out {
		t := float64(i) / float64(n-1) * float64(len(stops)-1)
		k := min(int(t), len(stops)-2)
		f := t - float64(k)
		a, b := stops[k], stops[k+1]
		mix := func(x, y uint8) uint8 { return uint8(float64(x)*(1-f) + float64(y)*f + 0.5) }
		out[i] = color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
	}
	return out
}

// text returns a text style of the given size, aligned as given.
func (s Style) text(size vg.Length, x text.XAlignment, y text.YAlignment) text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    font.From(s.Font, size),
		XAlign:  x,
		YAlign:  y,
		Handler: plot.DefaultTextHandler,
	}
}

// newPlot returns a plot with the style's fonts and the given labels. Only
// fonts and line widths are changed: plot's alignments and rotations stay.
func (s Style) newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(s.Font, s.FontSize+1)
	p.Title.Padding = s.FontSize / 2
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(s.Font, s.FontSize)
		a.Tick.Label.Font = font.From(s.Font, s.FontSize-1)
		a.LineStyle.Width = 0.6
		a.Tick.LineStyle.Width = 0.6
		a.Tick.Length = s.FontSize / 2.5
		a.Padding = 0
	}
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	p.Legend.TextStyle.Font = font.From(s.Font, s.FontSize-1)
	p.Legend.ThumbnailWidth = 2 * s.FontSize
	p.Legend.Padding = s.FontSize / 5
	return p
}

// pick returns colours[i] cycling, or c when c is not nil.
func pick(c color.Color, colours []color.Color, i int) color.Color {
	if c != nil {
		return c
	}
	if len(colours) == 0 {
		return color.Black
	}
	return colours[i%len(colours)]
}

// withAlpha returns c with opacity a (colours are premultiplied).
func withAlpha(c color.Color, a float64) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: uint8(a*255 + 0.5)}
}
