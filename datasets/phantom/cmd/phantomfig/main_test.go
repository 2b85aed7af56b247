package main

import (
	"testing"

	"github.com/anogo/anogo/datasets/phantom"
)

func TestFigure(t *testing.T) {
	cfg := phantom.DefaultConfig()
	img, err := figure(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	rows := 1 + len(phantom.Kinds)
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 2*cfg.Width+3*margin || h != rows*(cfg.Height+title+margin)+margin {
		t.Errorf("figure is %dx%d", w, h)
	}
	// Every anomaly row has red outline pixels.
	for r := 1; r < rows; r++ {
		y0 := margin + r*(cfg.Height+title+margin) + title
		red := 0
		for y := y0; y < y0+cfg.Height; y++ {
			for x := 0; x < img.Bounds().Dx(); x++ {
				if img.ColorIndexAt(x, y) == idxRed {
					red++
				}
			}
		}
		if red == 0 {
			t.Errorf("row %d (%v) has no mask outline", r, phantom.Kinds[r-1])
		}
	}
}
