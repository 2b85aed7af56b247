package figures

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgpdf"

	"github.com/anogo/anogo/sdk/data"
)

// minPixels is the smallest side, in pixels, of an image handed to a
// canvas: smaller images are enlarged by repeating pixels first, so that
// viewers that smooth embedded images (PDF, SVG) still show sharp pixels.
const minPixels = 256

// grey returns the grey level of an image value v in [-1, 1], clamped.
func grey(v float32) uint8 {
	return uint8(math.Round(float64(max(-1, min(1, v))+1) * 127.5))
}

// greyImage renders im, values in [-1, 1], as an RGBA image.
func greyImage(im *data.Image) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, im.W, im.H))
	for y := range im.H {
		for x := range im.W {
			g := grey(im.At(y, x))
			out.SetRGBA(x, y, color.RGBA{g, g, g, 255})
		}
	}
	return out
}

// blend mixes colour c into pixel (x, y) of img with opacity a in [0, 1].
func blend(img *image.RGBA, x, y int, c color.Color, a float64) {
	if a <= 0 {
		return
	}
	r, g, b, _ := c.RGBA()
	p := img.RGBAAt(x, y)
	mix := func(dst uint8, src uint32) uint8 {
		return uint8(math.Round(float64(dst)*(1-a) + float64(src>>8)*a))
	}
	img.SetRGBA(x, y, color.RGBA{mix(p.R, r), mix(p.G, g), mix(p.B, b), 255})
}

// overlay renders the residual image res over the grey query: colour map
// colours[res/rmax] with opacity alpha·res/rmax (the paper's Fig. 3, third
// row).
func overlay(query, res *data.Image, rmax float64, colours []color.Color, alpha float64) *image.RGBA {
	out := greyImage(query)
	if rmax <= 0 || len(colours) == 0 {
		return out
	}
	for y := range res.H {
		for x := range res.W {
			t := min(1, max(0, float64(res.At(y, x))/rmax))
			c := colours[int(math.Round(t*float64(len(colours)-1)))]
			blend(out, x, y, c, alpha*t)
		}
	}
	return out
}

// maskImage renders the query with the annotated pixels of mask tinted.
func maskImage(query, mask *data.Image, c color.Color) *image.RGBA {
	out := greyImage(query)
	for y := range mask.H {
		for x := range mask.W {
			if mask.At(y, x) > 0.5 {
				blend(out, x, y, c, 0.75)
			}
		}
	}
	return out
}

// enlarge repeats the pixels of img so that its smaller side has at least
// minPixels pixels.
func enlarge(img *image.RGBA) *image.RGBA {
	b := img.Bounds()
	k := (minPixels + min(b.Dx(), b.Dy()) - 1) / min(b.Dx(), b.Dy())
	if k <= 1 {
		return img
	}
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()*k, b.Dy()*k))
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			out.SetRGBA(x, y, img.RGBAAt(b.Min.X+x/k, b.Min.Y+y/k))
		}
	}
	return out
}

// drawImage draws img into rect, keeping its aspect ratio and centring it,
// with a thin grey frame.
func drawImage(c draw.Canvas, rect vg.Rectangle, img *image.RGBA) {
	b := img.Bounds()
	w, h := rect.Size().X, rect.Size().Y
	if aspect := vg.Length(b.Dx()) / vg.Length(b.Dy()); w/h > aspect {
		pad := (w - h*aspect) / 2
		rect.Min.X += pad
		rect.Max.X -= pad
	} else {
		pad := (h - w/aspect) / 2
		rect.Min.Y += pad
		rect.Max.Y -= pad
	}
	putImage(c, rect, enlarge(img))
	c.SetLineStyle(draw.LineStyle{Color: midGrey, Width: 0.3})
	c.Stroke(rect.Path())
}

// putImage draws img into rect, row 0 at the top, on any canvas. The PDF
// canvas of gonum/plot v0.17.0 draws images upside down (its page transform
// flips y and fpdf's image placement flips it again), so images for PDF are
// flipped here first.
func putImage(c draw.Canvas, rect vg.Rectangle, img *image.RGBA) {
	if _, ok := c.Canvas.(*vgpdf.Canvas); ok {
		img = flipRows(img)
	}
	c.DrawImage(rect, img)
}

// flipRows returns img upside down.
func flipRows(img *image.RGBA) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(b)
	for y := range b.Dy() {
		copy(out.Pix[y*out.Stride:y*out.Stride+4*b.Dx()], img.Pix[(b.Dy()-1-y)*img.Stride:(b.Dy()-1-y)*img.Stride+4*b.Dx()])
	}
	return out
}

// fillRect fills rect with colour col.
func fillRect(c draw.Canvas, rect vg.Rectangle, col color.Color) {
	c.SetColor(col)
	c.Fill(rect.Path())
}

// ImageGrid draws images in a grid of cols columns with an optional
// caption under each (titles nil or one per image), grey values in [-1, 1]
// from black to white: e.g. samples of the generator during training. See
// Style.ImageGrid.
func ImageGrid(images []*data.Image, cols int, titles []string) (*Figure, error) {
	return Default().ImageGrid(images, cols, titles)
}

// ImageGrid draws images in style s. The figure is s.PanelWidth wide, or
// narrower for few columns (cells at most 1.2 inches). It returns an error
// if images is empty, cols is not positive, titles is neither nil nor of
// the length of images, or an image is nil, malformed or holds a NaN.
func (s Style) ImageGrid(images []*data.Image, cols int, titles []string) (*Figure, error) {
	switch {
	case len(images) == 0:
		return nil, errors.New("figures: ImageGrid: no images")
	case cols <= 0:
		return nil, fmt.Errorf("figures: ImageGrid: %d columns", cols)
	case titles != nil && len(titles) != len(images):
		return nil, fmt.Errorf("figures: ImageGrid: %d titles for %d images", len(titles), len(images))
	}
	for i, im := range images {
		if err := im.Check(fmt.Sprintf("image %d", i)); err != nil {
			return nil, fmt.Errorf("figures: ImageGrid: %w", err)
		}
	}
	cols = min(cols, len(images))
	rows := (len(images) + cols - 1) / cols
	gap := s.FontSize / 4
	cell := min((s.PanelWidth-gap*vg.Length(cols+1))/vg.Length(cols), 1.2*vg.Inch)
	caption := s.text(s.FontSize-1, draw.XCenter, draw.YTop)
	capH := vg.Length(0)
	if titles != nil {
		capH = caption.Height("Mg") + gap
	}
	width := gap + vg.Length(cols)*(cell+gap)
	height := gap + vg.Length(rows)*(cell+capH+gap)
	fig := &Figure{Width: width, Height: height, style: s}
	fig.draw = func(c draw.Canvas) {
		top := c.Max.Y - gap
		for i, im := range images {
			r, k := i/cols, i%cols
			x0 := c.Min.X + gap + vg.Length(k)*(cell+gap)
			y1 := top - vg.Length(r)*(cell+capH+gap)
			rect := vg.Rectangle{Min: vg.Point{X: x0, Y: y1 - cell}, Max: vg.Point{X: x0 + cell, Y: y1}}
			drawImage(c, rect, greyImage(im))
			if titles != nil {
				c.FillText(caption, vg.Point{X: x0 + cell/2, Y: y1 - cell - gap/2}, fit(caption, titles[i], cell))
			}
		}
	}
	return fig, nil
}

// fit shortens txt with an ellipsis until it is at most w wide in sty.
func fit(sty text.Style, txt string, w vg.Length) string {
	if sty.Width(txt) <= w {
		return txt
	}
	r := []rune(txt)
	for len(r) > 1 && sty.Width(string(r)+"…") > w {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}
