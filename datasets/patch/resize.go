package patch

import (
	"fmt"

	"github.com/anogo/anogo/sdk/data"
)

// Resize returns img resampled to h rows and w columns, one axis after the
// other, with pixel centres aligned (the centre of output pixel j lies at
// input coordinate (j+0.5)*n/m - 0.5, as PyTorch's align_corners=False). An
// axis that grows is interpolated linearly; an axis that shrinks is averaged
// over the input pixels each output pixel covers (area resampling), so
// shrinking by any factor does not alias. Values stay within the range of
// img. It panics if h or w is not positive.
func Resize(img *data.Image, h, w int) *data.Image {
	if h <= 0 || w <= 0 {
		panic(fmt.Sprintf("patch: resize to %dx%d", w, h))
	}
	if h == img.H && w == img.W {
		return img.Clone()
	}
	wx, wy := weights(img.W, w), weights(img.H, h)
	tmp := make([]float64, img.H*w)
	for y := range img.H {
		row := img.Pix[y*img.W : (y+1)*img.W]
		for x, ws := range wx {
			s := 0.0
			for _, t := range ws {
				s += t.w * float64(row[t.i])
			}
			tmp[y*w+x] = s
		}
	}
	out := data.NewImage(h, w)
	for y, ws := range wy {
		for _, t := range ws {
			for x := range w {
				out.Pix[y*w+x] += float32(t.w * tmp[t.i*w+x])
			}
		}
	}
	return out
}

// tap is one input pixel and its weight in an output pixel.
type tap struct {
	i int
	w float64
}

// weights returns, for each of m output pixels along an axis of n input
// pixels, the input pixels it is made of: two linear-interpolation taps when
// m >= n, the covered pixels weighted by the length covered when m < n.
func weights(n, m int) [][]tap {
	out := make([][]tap, m)
	scale := float64(n) / float64(m)
	for j := range out {
		if m >= n {
			c := (float64(j)+0.5)*scale - 0.5
			i0 := int(c)
			if c < 0 {
				i0, c = 0, 0
			}
			i1 := min(i0+1, n-1)
			f := c - float64(i0)
			out[j] = []tap{{i0, 1 - f}, {i1, f}}
			continue
		}
		lo, hi := float64(j)*scale, float64(j+1)*scale
		for i := int(lo); i < n && float64(i) < hi; i++ {
			if l := min(hi, float64(i+1)) - max(lo, float64(i)); l > 0 {
				out[j] = append(out[j], tap{i, l / scale})
			}
		}
	}
	return out
}

// ResizeNearest returns img resampled to h rows and w columns by nearest
// neighbour (output pixel j takes input pixel floor((j+0.5)*n/m)), so a mask
// keeps its values 0 and 1. It panics if h or w is not positive.
func ResizeNearest(img *data.Image, h, w int) *data.Image {
	if h <= 0 || w <= 0 {
		panic(fmt.Sprintf("patch: resize to %dx%d", w, h))
	}
	out := data.NewImage(h, w)
	for y := range h {
		sy := min(img.H-1, int((float64(y)+0.5)*float64(img.H)/float64(h)))
		for x := range w {
			sx := min(img.W-1, int((float64(x)+0.5)*float64(img.W)/float64(w)))
			out.Pix[y*w+x] = img.Pix[sy*img.W+sx]
		}
	}
	return out
}
