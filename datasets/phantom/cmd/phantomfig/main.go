// Command phantomfig draws docs/img/phantom.png: one normal phantom B-scan
// with its retina region, and the same scan with each kind of anomaly, each
// shown as drawn (left) and with its mask outlined (right).
//
//	go run ./datasets/phantom/cmd/phantomfig -o docs/img/phantom.png
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/anogo/anogo/datasets/phantom"
	"github.com/anogo/anogo/sdk/data"
)

func main() {
	out := flag.String("o", "docs/img/phantom.png", "output PNG file")
	index := flag.Int("i", 0, "index of the test scan to draw")
	flag.Parse()
	img, err := figure(phantom.DefaultConfig(), *index)
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		log.Fatalf("phantomfig: writing %s: %v", *out, err)
	}
	if err := f.Close(); err != nil {
		log.Fatalf("phantomfig: writing %s: %v", *out, err)
	}
}

// Palette: greys first, then the outline colours.
const (
	greys   = 128
	idxRed  = greys
	idxCyan = greys + 1
	idxText = greys + 2
	idxBack = greys + 3
	margin  = 4
	title   = 16
)

func palette() color.Palette {
	p := make(color.Palette, 0, greys+4)
	for j := range greys {
		g := uint8(j * 255 / (greys - 1))
		p = append(p, color.Gray{Y: g})
	}
	return append(p,
		color.RGBA{R: 255, G: 40, B: 40, A: 255},
		color.RGBA{R: 0, G: 220, B: 255, A: 255},
		color.RGBA{A: 255},
		color.RGBA{R: 255, G: 255, B: 255, A: 255},
	)
}

// figure draws the panels: a row per scan (normal, then one per Kind), the
// scan on the left and the scan with its mask (or, for the normal scan, its
// ROI) outlined on the right.
func figure(cfg phantom.Config, i int) (*image.Paletted, error) {
	type row struct {
		name    string
		img     *data.Image
		outline *data.Image
		colour  uint8
	}
	normal, err := phantom.GenerateKinds(cfg, "test", i)
	if err != nil {
		return nil, err
	}
	rows := []row{{"normal scan / retina ROI", normal.Image, normal.ROI, idxCyan}}
	for _, k := range phantom.Kinds {
		sc, err := phantom.GenerateKinds(cfg, "test", i, k)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{k.String() + " / mask", sc.Image, sc.Mask, idxRed})
	}
	w, h := cfg.Width, cfg.Height
	W := 2*w + 3*margin
	H := len(rows)*(h+title+margin) + margin
	fig := image.NewPaletted(image.Rect(0, 0, W, H), palette())
	for j := range fig.Pix {
		fig.Pix[j] = idxBack
	}
	for r, rw := range rows {
		y0 := margin + r*(h+title+margin) + title
		label(fig, margin, y0-4, rw.name)
		for c := range 2 {
			x0 := margin + c*(w+margin)
			for y := range h {
				for x := range w {
					v := (rw.img.At(y, x) + 1) / 2
					fig.SetColorIndex(x0+x, y0+y, uint8(min(greys-1, max(0, int(v*greys)))))
					if c == 1 && edge(rw.outline, y, x) {
						fig.SetColorIndex(x0+x, y0+y, rw.colour)
					}
				}
			}
		}
	}
	return fig, nil
}

// edge reports whether (y, x) lies just outside the region where m is 1:
// m is 0 there and 1 at a 4-neighbour.
func edge(m *data.Image, y, x int) bool {
	if m.At(y, x) > 0.5 {
		return false
	}
	for _, d := range [4][2]int{{-1, 0}, {1, 0}, {0, -1}, {0, 1}} {
		yy, xx := y+d[0], x+d[1]
		if yy >= 0 && yy < m.H && xx >= 0 && xx < m.W && m.At(yy, xx) > 0.5 {
			return true
		}
	}
	return false
}

func label(img *image.Paletted, x, y int, s string) {
	d := font.Drawer{
		Dst:  img,
		Src:  image.NewUniform(img.Palette[idxText]),
		Face: basicfont.Face7x13,
		Dot:  fixed.P(x, y),
	}
	d.DrawString(s)
}

func init() {
	log.SetFlags(0)
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: phantomfig [-o docs/img/phantom.png] [-i index]")
		flag.PrintDefaults()
	}
}
