package data

import (
	"errors"
	"fmt"
	"iter"
	"math"
)

// Label values of a Sample.
const (
	Normal    = 0
	Anomalous = 1
	Unknown   = -1
)

// Split names used by every Source.
const (
	Train = "train"
	Val   = "val"
	Test  = "test"
)

// ErrNoMask is returned by functions that need a pixel mask when a Sample has none.
var ErrNoMask = errors.New("data: sample has no mask")

// Image is a single-channel image stored row by row: the value of row y,
// column x is Pix[y*W+x]. Image satisfies gonum/plot's plotter.GridXYZ, so
// an image or an anomaly map can be drawn as a heat map without an adapter
// (row 0 is drawn at the top).
type Image struct {
	H, W int
	Pix  []float32
}

// NewImage returns a zero image of h rows and w columns.
// It panics if h or w is not positive.
func NewImage(h, w int) *Image {
	if h <= 0 || w <= 0 {
		panic(fmt.Sprintf("data: bad image size %dx%d", h, w))
	}
	return &Image{H: h, W: w, Pix: make([]float32, h*w)}
}

// At returns the value at row y, column x.
func (im *Image) At(y, x int) float32 { return im.Pix[y*im.W+x] }

// Set sets the value at row y, column x.
func (im *Image) Set(y, x int, v float32) { im.Pix[y*im.W+x] = v }

// Clone returns a deep copy of im; Clone of nil is nil.
func (im *Image) Clone() *Image {
	if im == nil {
		return nil
	}
	c := &Image{H: im.H, W: im.W, Pix: make([]float32, len(im.Pix))}
	copy(c.Pix, im.Pix)
	return c
}

// Dims, Z, X and Y implement plotter.GridXYZ (columns, rows).
func (im *Image) Dims() (c, r int) { return im.W, im.H }

// Z returns the value of column c, row r, with row 0 drawn at the top.
func (im *Image) Z(c, r int) float64 { return float64(im.Pix[(im.H-1-r)*im.W+c]) }

// X returns the x coordinate of column c.
func (im *Image) X(c int) float64 { return float64(c) }

// Y returns the y coordinate of row r.
func (im *Image) Y(r int) float64 { return float64(r) }

// Check returns an error if im is nil, has an inconsistent size or holds a
// NaN or infinite value. what names the image in the message (a file name or
// sample id).
func (im *Image) Check(what string) error {
	if im == nil {
		return fmt.Errorf("data: %s: no image", what)
	}
	if im.H <= 0 || im.W <= 0 || len(im.Pix) != im.H*im.W {
		return fmt.Errorf("data: %s: image size %dx%d does not match %d values", what, im.H, im.W, len(im.Pix))
	}
	for i, v := range im.Pix {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("data: %s: value %v at row %d, column %d", what, v, i/im.W, i%im.W)
		}
	}
	return nil
}

// Sample is one image with what is known about it.
type Sample struct {
	// ID names the sample's origin, e.g. "pneumoniamnist.npz:test/17" or
	// "scans/normal/a.png#patch(32,64)".
	ID string
	// Image holds grey values in [-1, 1].
	Image *Image
	// Label is Normal, Anomalous or Unknown.
	Label int
	// Mask is the pixel annotation (1 anomalous, 0 normal) of the same size
	// as Image, or nil when unknown.
	Mask *Image
}

// Source is a data set split into named parts. Samples iterates one split
// lazily; the iteration stops at the first error, which names the file and
// the problem. Implementations must not panic on bad input.
type Source interface {
	// Name is the source as written by the user, e.g. "phantom" or
	// "medmnist:PATH.npz".
	Name() string
	// Splits lists the splits this source has, in the order train, val, test.
	Splits() []string
	// Samples iterates the samples of one split.
	Samples(split string) iter.Seq2[Sample, error]
}

// Collect reads at most max samples (all when max <= 0) of one split.
func Collect(src Source, split string, max int) ([]Sample, error) {
	var out []Sample
	for s, err := range src.Samples(split) {
		if err != nil {
			return out, err
		}
		out = append(out, s)
		if max > 0 && len(out) >= max {
			break
		}
	}
	return out, nil
}

// Filter returns the samples whose label is one of labels.
func Filter(ss []Sample, labels ...int) []Sample {
	var out []Sample
	for _, s := range ss {
		for _, l := range labels {
			if s.Label == l {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// Labels returns the labels of ss.
func Labels(ss []Sample) []int {
	out := make([]int, len(ss))
	for i, s := range ss {
		out[i] = s.Label
	}
	return out
}
