package display

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/anogo/anogo/sdk/data"
)

// gridGap is the width in output pixels of the white lines between tiles.
const gridGap = 2

// Grey returns the 8-bit grey level of an image value: [-1, 1] mapped
// linearly to 0..255 (Sec. 3 of Schlegl et al. 2017 scales images to
// [-1, 1]), rounded, with values outside the range clamped and NaN shown
// black.
func Grey(v float32) uint8 {
	g := math.Round((float64(v) + 1) / 2 * 255)
	switch {
	case math.IsNaN(g) || g < 0:
		return 0
	case g > 255:
		return 255
	}
	return uint8(g)
}

// Grid lays imgs out row by row, cols per row (all in one row when cols <= 0),
// each pixel drawn as a scale x scale block (scale < 1 counts as 1), with
// white lines gridGap pixels wide between tiles. Tiles are as large as the
// largest image; smaller images sit in their tile's top-left corner. It
// returns an error if imgs is empty or an image is nil or malformed.
func Grid(imgs []*data.Image, cols, scale int) (*image.Gray, error) {
	if len(imgs) == 0 {
		return nil, errors.New("display: Grid: no images")
	}
	if cols <= 0 || cols > len(imgs) {
		cols = len(imgs)
	}
	scale = max(scale, 1)
	tileH, tileW := 0, 0
	for i, im := range imgs {
		if im == nil {
			return nil, fmt.Errorf("display: Grid: image %d is nil", i)
		}
		if im.H <= 0 || im.W <= 0 || len(im.Pix) != im.H*im.W {
			return nil, fmt.Errorf("display: Grid: image %d: size %dx%d does not match %d values", i, im.H, im.W, len(im.Pix))
		}
		tileH, tileW = max(tileH, im.H), max(tileW, im.W)
	}
	rows := (len(imgs) + cols - 1) / cols
	stepY, stepX := tileH*scale+gridGap, tileW*scale+gridGap
	out := image.NewGray(image.Rect(0, 0, cols*stepX-gridGap, rows*stepY-gridGap))
	for i := range out.Pix {
		out.Pix[i] = 255
	}
	for i, im := range imgs {
		y0, x0 := (i/cols)*stepY, (i%cols)*stepX
		for y := range im.H * scale {
			for x := range im.W * scale {
				out.SetGray(x0+x, y0+y, color.Gray{Y: Grey(im.Pix[(y/scale)*im.W+x/scale])})
			}
		}
	}
	return out, nil
}

// Images shows imgs as a grid (see Grid). Outside a notebook it does nothing
// and returns nil.
func Images(imgs []*data.Image, cols, scale int) error {
	if front == nil {
		return nil
	}
	g, err := Grid(imgs, cols, scale)
	if err != nil {
		return err
	}
	return PNG(g)
}
