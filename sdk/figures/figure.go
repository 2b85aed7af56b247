package figures

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/anogo/anogo/sdk/data"
)

// Formats are the file formats Save writes, in order.
var Formats = []string{"png", "svg", "pdf"}

// Figure is a finished figure of a fixed size: a single plot or a panel of
// images. Draw it on any canvas, or Save it.
type Figure struct {
	// Width and Height are the size of the saved figure.
	Width, Height vg.Length
	// Plot is the plot of a single-panel figure, nil for panels of images.
	// Its title, axes and legend may be changed before saving.
	Plot *plot.Plot

	style Style
	draw  func(c draw.Canvas) // draws a figure that is not a single plot
}

// Draw draws the figure on c, filling c with white first. A plot is drawn
// inside a margin of a third of the font size.
func (f *Figure) Draw(c draw.Canvas) {
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	if f.Plot != nil {
		m := f.style.FontSize / 3
		f.Plot.Draw(draw.Crop(c, m, -m, m, -m))
		return
	}
	f.draw(c)
}

// Encode writes the figure in format "png", "svg" or "pdf" to w.
func (f *Figure) Encode(w io.Writer, format string) error {
	var cw vg.CanvasWriterTo
	switch format {
	case "png":
		cw = vgimg.PngCanvas{Canvas: vgimg.NewWith(
			vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(f.style.DPI),
			vgimg.UseBackgroundColor(color.White))}
	case "svg":
		cw = vgsvg.NewWith(vgsvg.UseWH(f.Width, f.Height), vgsvg.EmbedFonts(f.style.EmbedFonts))
	case "pdf":
		c := vgpdf.New(f.Width, f.Height)
		c.EmbedFonts(true)
		cw = c
	default:
		return fmt.Errorf("figures: unknown format %q, want png, svg or pdf", format)
	}
	f.Draw(draw.New(cw))
	if format != "svg" {
		_, err := cw.WriteTo(w)
		return err
	}
	// gonum/plot v0.17.0 labels the PNG images it embeds in SVG as
	// "image/jpg"; browsers sniff the data, but strict renderers (librsvg)
	// skip the images. Label them as what they are.
	var buf bytes.Buffer
	if _, err := cw.WriteTo(&buf); err != nil {
		return err
	}
	_, err := w.Write(bytes.ReplaceAll(buf.Bytes(), []byte("data:image/jpg;base64,"), []byte("data:image/png;base64,")))
	return err
}

// Save writes the figure to dir/name.png, dir/name.svg and dir/name.pdf,
// creating dir if needed. Each file is written to a temporary file and
// renamed into place, so a reader never sees half a figure.
func (f *Figure) Save(dir, name string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("figures: saving %q: %w", name, err)
	}
	for _, format := range Formats {
		path := filepath.Join(dir, name+"."+format)
		var buf bytes.Buffer
		if err := f.Encode(&buf, format); err != nil {
			return fmt.Errorf("figures: writing %q: %w", path, err)
		}
		if err := writeFile(path, buf.Bytes()); err != nil {
			return fmt.Errorf("figures: writing %q: %w", path, err)
		}
	}
	return nil
}

// writeFile writes b to path through a temporary file and a rename.
func writeFile(path string, b []byte) error {
	return data.WriteFile(path, func(w io.Writer) error { _, err := w.Write(b); return err })
}
