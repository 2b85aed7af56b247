package patch

import (
	"fmt"
	"iter"

	"github.com/anogo/anogo/sdk/data"
)

// Flattened is a source whose images are those of another source with the
// retina flattened, as the AnoGAN paper prepares its OCT scans ("the retina
// is extracted and flattened", Sec. 3): every column is shifted vertically
// so that the top edge of the region of interest (the inner limiting
// membrane) lies on row Top. Rows shifted in from outside the image repeat
// the edge row. Masks and the region of interest move with the image, so
// labels and annotations are unchanged.
type Flattened struct {
	Src data.Source
	// ROIOf gives the region of interest of a sample of Src.
	ROIOf func(data.Sample) (*data.Image, error)
	// Top is the row the region's top edge is moved to.
	Top int
}

// NewFlattened flattens src, whose samples' regions of interest come from
// its ROI method, so that their top edges lie on row top.
func NewFlattened(src data.Source, top int) (*Flattened, error) {
	if src == nil {
		return nil, fmt.Errorf("patch: cannot flatten a nil source")
	}
	r, ok := src.(ROIer)
	if !ok {
		return nil, fmt.Errorf("patch: cannot flatten %s: it has no region of interest", src.Name())
	}
	if top < 0 {
		return nil, fmt.Errorf("patch: flatten to row %d", top)
	}
	return &Flattened{Src: src, ROIOf: r.ROI, Top: top}, nil
}

// Name names the source.
func (f *Flattened) Name() string { return fmt.Sprintf("%s#flat(top=%d)", f.Src.Name(), f.Top) }

// Splits returns the splits of the underlying source.
func (f *Flattened) Splits() []string { return f.Src.Splits() }

// Samples iterates the flattened samples of split.
func (f *Flattened) Samples(split string) iter.Seq2[data.Sample, error] {
	return func(yield func(data.Sample, error) bool) {
		for s, err := range f.Src.Samples(split) {
			if err != nil {
				yield(data.Sample{}, err)
				return
			}
			out, _, err := f.flatten(s)
			if !yield(out, err) || err != nil {
				return
			}
		}
	}
}

// ROI returns the flattened region of interest of a flattened sample.
func (f *Flattened) ROI(s data.Sample) (*data.Image, error) {
	roi, err := f.ROIOf(s)
	if err != nil {
		return nil, err
	}
	shift, err := f.shifts(roi)
	if err != nil {
		return nil, fmt.Errorf("patch: %s: %w", s.ID, err)
	}
	return shiftColumns(roi, shift), nil
}

func (f *Flattened) flatten(s data.Sample) (data.Sample, *data.Image, error) {
	roi, err := f.ROIOf(s)
	if err != nil {
		return data.Sample{}, nil, err
	}
	if roi.H != s.Image.H || roi.W != s.Image.W {
		return data.Sample{}, nil, fmt.Errorf("patch: %s: region of interest is %dx%d, image %dx%d", s.ID, roi.W, roi.H, s.Image.W, s.Image.H)
	}
	shift, err := f.shifts(roi)
	if err != nil {
		return data.Sample{}, nil, fmt.Errorf("patch: %s: %w", s.ID, err)
	}
	out := s
	out.Image = shiftColumns(s.Image, shift)
	if s.Mask != nil {
		out.Mask = shiftColumns(s.Mask, shift)
	}
	return out, shiftColumns(roi, shift), nil
}

// shifts returns, per column, how many rows the column moves up.
func (f *Flattened) shifts(roi *data.Image) ([]int, error) {
	shift := make([]int, roi.W)
	for x := 0; x < roi.W; x++ {
		top := -1
		for y := 0; y < roi.H; y++ {
			if roi.At(y, x) > 0 {
				top = y
				break
			}
		}
		if top < 0 {
			return nil, fmt.Errorf("column %d has no region of interest", x)
		}
		shift[x] = top - f.Top
	}
	return shift, nil
}

// shiftColumns moves column x of im up by shift[x] rows (down if
// negative), repeating the edge row where rows come from outside.
func shiftColumns(im *data.Image, shift []int) *data.Image {
	out := data.NewImage(im.H, im.W)
	for x := 0; x < im.W; x++ {
		for y := 0; y < im.H; y++ {
			sy := max(0, min(im.H-1, y+shift[x]))
			out.Set(y, x, im.At(sy, x))
		}
	}
	return out
}
