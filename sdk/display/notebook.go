package display

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"

	"github.com/janpfeifer/gonb/gonbui"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// frontEnd is where display sends what it shows; nil outside a notebook.
// Tests replace it with a recorder.
type frontEnd interface {
	HTML(html string)
	PNG(png []byte)
	// UpdateHTML creates the output block id the first time and replaces
	// its content afterwards.
	UpdateHTML(id, html string)
}

// gonbFront sends output to the GoNB kernel.
type gonbFront struct{}

func (gonbFront) HTML(html string)           { gonbui.DisplayHTML(html) }
func (gonbFront) PNG(png []byte)             { gonbui.DisplayPng(png) }
func (gonbFront) UpdateHTML(id, html string) { gonbui.UpdateHTML(id, html) }

var front frontEnd

func init() {
	if gonbui.IsNotebook {
		front = gonbFront{}
	}
}

// IsNotebook reports whether the program runs as a GoNB notebook cell, that
// is, whether the functions of this package show anything.
func IsNotebook() bool { return front != nil }

// HTML shows an HTML fragment as the cell's output.
func HTML(html string) {
	if front != nil {
		front.HTML(html)
	}
}

// PNG shows img inline, encoded as PNG. Outside a notebook it does nothing
// and returns nil; it returns an error if img is nil or cannot be encoded.
func PNG(img image.Image) error {
	if front == nil {
		return nil
	}
	if img == nil {
		return errors.New("display: PNG: nil image")
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("display: PNG: %w", err)
	}
	front.PNG(buf.Bytes())
	return nil
}

// Plot shows p inline as a w by h PNG (e.g. 12*vg.Centimeter). Outside a
// notebook it does nothing (p is not even drawn) and returns nil.
func Plot(p *plot.Plot, w, h vg.Length) error {
	if front == nil {
		return nil
	}
	png, err := PlotPNG(p, w, h)
	if err != nil {
		return err
	}
	front.PNG(png)
	return nil
}

// PlotPNG draws p as a w by h PNG image and returns its bytes.
func PlotPNG(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	if p == nil {
		return nil, errors.New("display: Plot: nil plot")
	}
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("display: Plot: bad size %v x %v", w, h)
	}
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return nil, fmt.Errorf("display: Plot: %w", err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("display: Plot: %w", err)
	}
	return buf.Bytes(), nil
}
