package patch

import (
	"fmt"
	"strings"

	"github.com/anogo/anogo/sdk/data"
)

// Patch is a square region of an image.
type Patch struct {
	// Y and X are the row and column of the top-left corner in the image.
	Y, X int
	// Size is the side of the region in image pixels.
	Size int
	// Image holds the pixels of the region (Size x Size unless resized).
	Image *data.Image
}

// Crop returns a copy of the size x size region of img whose top-left
// corner is row y, column x. It panics if the region does not lie inside
// img.
func Crop(img *data.Image, y, x, size int) *data.Image {
	if size <= 0 || y < 0 || x < 0 || y+size > img.H || x+size > img.W {
		panic(fmt.Sprintf("patch: crop of %d at (y=%d,x=%d) outside a %dx%d image", size, y, x, img.W, img.H))
	}
	out := data.NewImage(size, size)
	for r := range size {
		copy(out.Pix[r*size:(r+1)*size], img.Pix[(y+r)*img.W+x:(y+r)*img.W+x+size])
	}
	return out
}

// Label returns the label of the size x size patch of s at (y, x) by the
// rule of the AnoGAN paper (Sec. 3): 1 if the patch contains at least one
// pixel of s.Mask marked anomalous (> 0.5), else 0. When s has no mask the
// patch inherits s.Label (which may be data.Unknown). It panics if the patch
// does not lie inside the mask.
func Label(s data.Sample, y, x, size int) int {
	if s.Mask == nil {
		return s.Label
	}
	m := s.Mask
	if size <= 0 || y < 0 || x < 0 || y+size > m.H || x+size > m.W {
		panic(fmt.Sprintf("patch: label of %d at (y=%d,x=%d) outside a %dx%d mask", size, y, x, m.W, m.H))
	}
	for r := y; r < y+size; r++ {
		for _, v := range m.Pix[r*m.W+x : r*m.W+x+size] {
			if v > 0.5 {
				return data.Anomalous
			}
		}
	}
	return data.Normal
}

// ID returns the ID of the patch of the sample named id at (y, x):
// "phantom:test/17#patch(y=12,x=80)".
func ID(id string, y, x int) string {
	return fmt.Sprintf("%s#patch(y=%d,x=%d)", id, y, x)
}

// ParseID reads back an ID written by ID: the ID of the image the patch was
// cut from and the patch's top-left corner. An ID without a patch suffix is
// an error.
func ParseID(id string) (parent string, y, x int, err error) {
	k := strings.LastIndex(id, "#patch(")
	if k < 0 || !strings.HasSuffix(id, ")") {
		return "", 0, 0, fmt.Errorf("patch: %q is not a patch ID (want %q)", id, "ID#patch(y=Y,x=X)")
	}
	var rest string
	n, _ := fmt.Sscanf(id[k:], "#patch(y=%d,x=%d%s", &y, &x, &rest)
	if n != 3 || rest != ")" || y < 0 || x < 0 {
		return "", 0, 0, fmt.Errorf("patch: %q is not a patch ID (want %q)", id, "ID#patch(y=Y,x=X)")
	}
	return id[:k], y, x, nil
}

// Cut returns the size x size patch of s at (y, x) as a sample: its image
// (resized to out x out when out > 0 and out != size, bilinear), its label
// by Label (computed at full resolution, so a shrunken mask that lost a
// pixel does not change it), its mask crop (resized by nearest neighbour) or
// nil, and an ID made by ID. A patch outside the image, or a mask of another
// size than the image, is an error.
func Cut(s data.Sample, y, x, size, out int) (data.Sample, error) {
	if s.Image == nil {
		return data.Sample{}, fmt.Errorf("patch: %s: no image", s.ID)
	}
	im := s.Image
	if size <= 0 || y < 0 || x < 0 || y+size > im.H || x+size > im.W {
		return data.Sample{}, fmt.Errorf("patch: %s: patch of %d at (y=%d,x=%d) outside the %dx%d image", s.ID, size, y, x, im.W, im.H)
	}
	if s.Mask != nil && (s.Mask.H != im.H || s.Mask.W != im.W) {
		return data.Sample{}, fmt.Errorf("patch: %s: mask is %dx%d, image %dx%d", s.ID, s.Mask.W, s.Mask.H, im.W, im.H)
	}
	p := data.Sample{ID: ID(s.ID, y, x), Image: Crop(im, y, x, size), Label: Label(s, y, x, size)}
	if s.Mask != nil {
		p.Mask = Crop(s.Mask, y, x, size)
	}
	if out > 0 && out != size {
		p.Image = Resize(p.Image, out, out)
		if p.Mask != nil {
			p.Mask = ResizeNearest(p.Mask, out, out)
		}
	}
	return p, nil
}
