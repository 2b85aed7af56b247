package patch

import (
	"fmt"

	"github.com/anogo/anogo/sdk/data"
)

// Grid cuts img into size x size patches at a stride of stride pixels, row
// by row. Along each axis the positions are 0, stride, 2*stride, ... and,
// when the last of them does not reach the border, one more patch flush
// with the border, so the patches cover every pixel. Grid returns nil if
// img is smaller than size in either direction; it panics if size or stride
// is not positive.
func Grid(img *data.Image, size, stride int) []Patch {
	if size <= 0 || stride <= 0 {
		panic(fmt.Sprintf("patch: grid of size %d, stride %d", size, stride))
	}
	if img.H < size || img.W < size {
		return nil
	}
	var out []Patch
	for _, y := range starts(img.H, size, stride) {
		for _, x := range starts(img.W, size, stride) {
			out = append(out, Patch{Y: y, X: x, Size: size, Image: Crop(img, y, x, size)})
		}
	}
	return out
}

// starts returns the grid positions along an axis of n pixels.
func starts(n, size, stride int) []int {
	var out []int
	for p := 0; p+size <= n; p += stride {
		out = append(out, p)
	}
	if last := out[len(out)-1]; last+size < n {
		out = append(out, n-size)
	}
	return out
}

// Stitch returns the h x w map in which every pixel is the mean of the
// values that the maps give it: maps[j] belongs to patches[j] and is resized
// (Resize) to the patch's Size when it has another size, e.g. when the
// model ran on shrunken patches. Pixels no patch covers are 0. It panics if
// the lengths differ or a patch lies outside h x w.
func Stitch(h, w int, patches []Patch, maps []*data.Image) *data.Image {
	if len(patches) != len(maps) {
		panic(fmt.Sprintf("patch: stitch of %d patches with %d maps", len(patches), len(maps)))
	}
	sum := make([]float64, h*w)
	count := make([]int, h*w)
	for j, p := range patches {
		if p.Y < 0 || p.X < 0 || p.Y+p.Size > h || p.X+p.Size > w {
			panic(fmt.Sprintf("patch: stitch: patch of %d at (y=%d,x=%d) outside %dx%d", p.Size, p.Y, p.X, w, h))
		}
		m := maps[j]
		if m.H != p.Size || m.W != p.Size {
			m = Resize(m, p.Size, p.Size)
		}
		for r := range p.Size {
			for c := range p.Size {
				k := (p.Y+r)*w + p.X + c
				sum[k] += float64(m.Pix[r*p.Size+c])
				count[k]++
			}
		}
	}
	out := data.NewImage(h, w)
	for k, n := range count {
		if n > 0 {
			out.Pix[k] = float32(sum[k] / float64(n))
		}
	}
	return out
}
