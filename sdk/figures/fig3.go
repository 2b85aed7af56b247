package figures

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/anogo/anogo/sdk/data"
)

// Fig3Column is one query image of Fig. 3 with what the model made of it.
type Fig3Column struct {
	// Query is the query image x, values in [-1, 1].
	Query *data.Image
	// Generated is the image G(z_Γ) found by the mapping.
	Generated *data.Image
	// Residual is the residual image |x - G(z_Γ)|.
	Residual *data.Image
	// Mask is the pixel annotation (1 anomalous), or nil when unknown.
	Mask *data.Image
	// R and D are the residual and discrimination scores of the query.
	R, D float64
}

// Fig3Block is one block of Fig. 3, e.g. "normal (train)", "normal (test)"
// or "anomalous (test)": a title over a few columns. A query is called
// anomalous by the residual score when R >= RCutoff and by the
// discrimination score when D >= DCutoff; usually every block has the same
// cut-offs, e.g. metrics.Youden(...).Threshold of each score on the test set.
type Fig3Block struct {
	Title            string
	Columns          []Fig3Column
	RCutoff, DCutoff float64
}

// Fig3 draws the paper's Fig. 3 for blocks. See Style.Fig3.
func Fig3(blocks []Fig3Block) (*Figure, error) { return Default().Fig3(blocks) }

// Fig3 draws the paper's Fig. 3 (pixel-level identification of anomalies)
// in style s: blocks side by side under their titles, one column per query;
// rows, top to bottom, the query x, the generated image G(z_Γ), the residual
// |x - G(z_Γ)| overlaid on the query in s.Residual colours (opacity growing
// with the residual, scaled to the largest residual in the figure), a bar
// for the decision by the residual score R and one for the decision by the
// discrimination score D (s.CalledAnomalous or s.CalledNormal), and, when
// any column has a mask, the pixel annotation tinted on the query.
//
// It returns an error naming the block and column if an image is missing,
// malformed, of another size than its query or holds a NaN, or if a score
// or cut-off is NaN, and if blocks or a block's columns are empty.
func (s Style) Fig3(blocks []Fig3Block) (*Figure, error) {
	if len(blocks) == 0 {
		return nil, errors.New("figures: Fig3: no blocks")
	}
	var rmax float64
	var ncols int
	hasMask := false
	for b, blk := range blocks {
		if len(blk.Columns) == 0 {
			return nil, fmt.Errorf("figures: Fig3: block %d (%q) has no columns", b, blk.Title)
		}
		if math.IsNaN(blk.RCutoff) || math.IsNaN(blk.DCutoff) {
			return nil, fmt.Errorf("figures: Fig3: block %d (%q): cut-off is NaN", b, blk.Title)
		}
		for k, col := range blk.Columns {
			where := fmt.Sprintf("block %d (%q), column %d", b, blk.Title, k)
			if err := checkColumn(where, col); err != nil {
				return nil, err
			}
			for _, v := range col.Residual.Pix {
				rmax = max(rmax, math.Abs(float64(v)))
			}
			hasMask = hasMask || col.Mask != nil
		}
		ncols += len(blk.Columns)
	}

	l := s.fig3Layout(len(blocks), ncols, hasMask)
	fig := &Figure{Width: l.width, Height: l.height, style: s}
	fig.draw = func(c draw.Canvas) { s.drawFig3(c, l, blocks, rmax) }
	return fig, nil
}

// checkColumn returns an error naming where if an image of col is missing,
// malformed or of another size than the query, or a score is NaN.
func checkColumn(where string, col Fig3Column) error {
	for _, im := range []struct {
		name     string
		im       *data.Image
		optional bool
	}{
		{"query", col.Query, false},
		{"generated image", col.Generated, false},
		{"residual image", col.Residual, false},
		{"mask", col.Mask, true},
	} {
		if im.im == nil {
			if im.optional {
				continue
			}
			return fmt.Errorf("figures: Fig3: %s: no %s", where, im.name)
		}
		if err := im.im.Check(where + " " + im.name); err != nil {
			return fmt.Errorf("figures: Fig3: %w", err)
		}
		if im.im.H != col.Query.H || im.im.W != col.Query.W {
			return fmt.Errorf("figures: Fig3: %s: %s is %dx%d but the query is %dx%d",
				where, im.name, im.im.H, im.im.W, col.Query.H, col.Query.W)
		}
	}
	if math.IsNaN(col.R) || math.IsNaN(col.D) {
		return fmt.Errorf("figures: Fig3: %s: score is NaN", where)
	}
	return nil
}

// fig3Layout holds the geometry of Fig. 3, in points.
type fig3Layout struct {
	width, height        vg.Length
	margin, labelW       vg.Length
	cell, gap, blockGap  vg.Length
	titleH, barH, legend vg.Length
	hasMask              bool
}

var fig3Rows = []string{"query x", "G(z)", "residual", "R(x)", "D(x)", "annotation"}

func (s Style) fig3Layout(nblocks, ncols int, hasMask bool) fig3Layout {
	label := s.text(s.FontSize-1, draw.XRight, draw.YCenter)
	l := fig3Layout{
		margin:   s.FontSize / 2,
		gap:      s.FontSize / 6,
		blockGap: s.FontSize,
		hasMask:  hasMask,
	}
	for _, r := range fig3Rows {
		l.labelW = max(l.labelW, label.Width(r))
	}
	l.labelW += s.FontSize / 2
	fixed := 2*l.margin + l.labelW + vg.Length(nblocks-1)*l.blockGap + vg.Length(ncols-nblocks)*l.gap
	l.cell = min((s.PanelWidth-fixed)/vg.Length(ncols), 1.1*vg.Inch)
	l.width = fixed + vg.Length(ncols)*l.cell
	l.titleH = s.text(s.FontSize, draw.XCenter, draw.YTop).Height("Mg") + s.FontSize/2
	l.barH = max(l.cell/8, s.FontSize*0.8)
	l.legend = s.FontSize * 2
	imageRows := 3
	if hasMask {
		imageRows++
	}
	l.height = 2*l.margin + l.titleH + vg.Length(imageRows)*(l.cell+l.gap) + 2*(l.barH+l.gap) + l.gap + l.legend
	return l
}

func (s Style) drawFig3(c draw.Canvas, l fig3Layout, blocks []Fig3Block, rmax float64) {
	label := s.text(s.FontSize-1, draw.XRight, draw.YCenter)
	title := s.text(s.FontSize, draw.XCenter, draw.YBottom)

	// Vertical extents of the rows, from the top.
	type span struct{ top, bottom vg.Length }
	y := c.Max.Y - l.margin - l.titleH
	var rows []span
	heights := []vg.Length{l.cell, l.cell, l.cell, l.barH, l.barH}
	if l.hasMask {
		heights = append(heights, l.cell)
	}
	for i, h := range heights {
		if i == 3 || i == 5 {
			y -= l.gap // extra space around the bars
		}
		rows = append(rows, span{y, y - h})
		y -= h + l.gap
	}
	x0 := c.Min.X + l.margin + l.labelW
	for i, r := range rows {
		c.FillText(label, vg.Point{X: x0 - s.FontSize/3, Y: (r.top + r.bottom) / 2}, fig3Rows[i])
	}

	x := x0
	for _, blk := range blocks {
		bw := vg.Length(len(blk.Columns))*l.cell + vg.Length(len(blk.Columns)-1)*l.gap
		top := rows[0].top + s.FontSize/4
		c.FillText(title, vg.Point{X: x + bw/2, Y: top + s.FontSize/4}, fit(title, blk.Title, bw))
		c.StrokeLine2(draw.LineStyle{Color: color.Black, Width: 0.6}, x, top, x+bw, top)
		for _, col := range blk.Columns {
			cellAt := func(i int) vg.Rectangle {
				return vg.Rectangle{Min: vg.Point{X: x, Y: rows[i].bottom}, Max: vg.Point{X: x + l.cell, Y: rows[i].top}}
			}
			drawImage(c, cellAt(0), greyImage(col.Query))
			drawImage(c, cellAt(1), greyImage(col.Generated))
			drawImage(c, cellAt(2), overlay(col.Query, col.Residual, rmax, s.Residual, s.ResidualAlpha))
			for i, anomalous := range []bool{col.R >= blk.RCutoff, col.D >= blk.DCutoff} {
				bar := s.CalledNormal
				if anomalous {
					bar = s.CalledAnomalous
				}
				fillRect(c, cellAt(3+i), bar)
			}
			if l.hasMask {
				if col.Mask != nil {
					drawImage(c, cellAt(5), maskImage(col.Query, col.Mask, s.MaskColor))
				} else {
					fillRect(c, cellAt(5), lightGrey)
					c.FillText(s.text(s.FontSize-1, draw.XCenter, draw.YCenter),
						vg.Point{X: x + l.cell/2, Y: (rows[5].top + rows[5].bottom) / 2}, "none")
				}
			}
			x += l.cell + l.gap
		}
		x += l.blockGap - l.gap
	}
	s.fig3Legend(c, l, x0, c.Min.Y+l.margin+l.legend/2)
}

// fig3Legend draws, centred on the line at height y: the two bar colours
// and the residual colour scale.
func (s Style) fig3Legend(c draw.Canvas, l fig3Layout, x0, y vg.Length) {
	txt := s.text(s.FontSize-1, draw.XLeft, draw.YCenter)
	sw := s.FontSize * 0.9
	x := x0
	swatch := func(col color.Color, name string) {
		fillRect(c, vg.Rectangle{Min: vg.Point{X: x, Y: y - sw/2}, Max: vg.Point{X: x + sw, Y: y + sw/2}}, col)
		x += sw + s.FontSize/3
		c.FillText(txt, vg.Point{X: x, Y: y}, name)
		x += txt.Width(name) + s.FontSize
	}
	swatch(s.CalledNormal, "called normal")
	swatch(s.CalledAnomalous, "called anomalous")
	if len(s.Residual) == 0 {
		return
	}
	name := "residual: 0"
	c.FillText(txt, vg.Point{X: x, Y: y}, name)
	x += txt.Width(name) + s.FontSize/3
	n := len(s.Residual)
	ramp := image.NewRGBA(image.Rect(0, 0, n, 8))
	for i, col := range s.Residual {
		c := blendOn(color.RGBA{128, 128, 128, 255}, col, s.ResidualAlpha*float64(i)/float64(max(n-1, 1)))
		for y := range 8 {
			ramp.SetRGBA(i, y, c)
		}
	}
	rw := 6 * s.FontSize
	rect := vg.Rectangle{Min: vg.Point{X: x, Y: y - sw/2}, Max: vg.Point{X: x + rw, Y: y + sw/2}}
	putImage(c, rect, ramp)
	c.SetLineStyle(draw.LineStyle{Color: midGrey, Width: 0.3})
	c.Stroke(rect.Path())
	c.FillText(txt, vg.Point{X: x + rw + s.FontSize/3, Y: y}, "max")
}

// blendOn returns colour c mixed onto background bg with opacity a.
func blendOn(bg color.RGBA, c color.Color, a float64) color.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	img.SetRGBA(0, 0, bg)
	blend(img, 0, 0, c, a)
	return img.RGBAAt(0, 0)
}
