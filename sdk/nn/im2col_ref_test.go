package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The Go forms of im2col and col2im, which the C loops of col2im_c.go
// replaced, kept as the reference that TestIm2colMatchesReference checks
// the C loops against.

// phaseImage returns phase (py, px) of channel c.
func (g *geom) phaseImage(ph []float32, py, px, c int) []float32 {
	a, b := g.phaseDims()
	o := ((py*g.s+px)*g.c + c) * a * b
	return ph[o : o+a*b]
}

// valid returns the range [lo, hi) of indices i in [0, n) for which
// i·s - p + off lies in [0, size).
func valid(off, p, s, size, n int) (lo, hi int) {
	if d := p - off; d > 0 {
		lo = (d + s - 1) / s
	}
	last := size - 1 + p - off
	if last < 0 {
		return 0, 0
	}
	hi = min(last/s+1, n)
	return min(lo, hi), hi
}

// channels returns the channels [c0, c1) that rows [r0, r1) touch.
func (g *geom) channels(r0, r1 int) (c0, c1 int) {
	kk := g.k * g.k
	return r0 / kk, (r1-1)/kk + 1
}

// splitPhases fills the phases of channels [c0, c1) of sample x into ph.
func splitPhases(g *geom, x, ph []float32, c0, c1 int) {
	A, B := g.phaseDims()
	hw := g.h * g.w
	for py := range g.s {
		for px := range g.s {
			b0, b1 := valid(px, g.p, g.s, g.w, B)
			n := b1 - b0
			iw0 := b0*g.s + px - g.p
			for c := c0; c < c1; c++ {
				img := g.phaseImage(ph, py, px, c)
				xc := x[c*hw : (c+1)*hw]
				for a := range A {
					row := img[a*B : (a+1)*B]
					ih := a*g.s + py - g.p
					if ih < 0 || ih >= g.h || n <= 0 {
						clear(row)
						continue
					}
					clear(row[:b0])
					clear(row[b1:])
					src := xc[ih*g.w+iw0:]
					out := row[b0:b1]
					if g.s == 1 {
						copy(out, src[:n])
						continue
					}
					for i := range out {
						out[i] = src[i*g.s]
					}
				}
			}
		}
	}
}

// im2colRef writes rows [r0, r1) of sample x's column matrix, restricted to the
// output rows [oh0, oh1), into col: row r goes to col[(r-r0)*ld:], output
// pixel (oh, ow) to column (oh-oh0)·wo + ow. ph is scratch of at least
// g.phaseSize() values.
func im2colRef(g *geom, x, ph, col []float32, ld, r0, r1, oh0, oh1 int) {
	c0, c1 := g.channels(r0, r1)
	splitPhases(g, x, ph, c0, c1)
	_, B := g.phaseDims()
	kk := g.k * g.k
	for r := r0; r < r1; r++ {
		ci, kh, kw := r/kk, r/g.k%g.k, r%g.k
		img := g.phaseImage(ph, kh%g.s, kw%g.s, ci)
		dst := col[(r-r0)*ld:]
		o := (oh0+kh/g.s)*B + kw/g.s
		for j := 0; j < (oh1-oh0)*g.wo; j += g.wo {
			copyRun(dst[j:j+g.wo], img[o:o+g.wo])
			o += B
		}
	}
}

// col2imRef sets channels [r0/k², r1/k²) of sample x to the adjoint of im2col
// applied to rows [r0, r1) of a column matrix (all output rows, laid out as
// im2col writes them): each entry is added back to the pixel it was copied
// from. r0 and r1 must be multiples of k². (Scattering directly measured
// faster here than going through the phases.)
func col2imRef(g *geom, col []float32, ld, r0, r1 int, x []float32) {
	c0, c1 := g.channels(r0, r1)
	hw := g.h * g.w
	clear(x[c0*hw : c1*hw])
	kk := g.k * g.k
	for r := r0; r < r1; r++ {
		ci, kh, kw := r/kk, r/g.k%g.k, r%g.k
		xc := x[ci*hw : (ci+1)*hw]
		src := col[(r-r0)*ld:]
		ow0, ow1 := valid(kw, g.p, g.s, g.w, g.wo)
		n := ow1 - ow0
		if n <= 0 {
			continue
		}
		iw0 := ow0*g.s - g.p + kw
		oh0, oh1 := valid(kh, g.p, g.s, g.h, g.ho)
		for oh := oh0; oh < oh1; oh++ {
			in := src[oh*g.wo+ow0 : oh*g.wo+ow1]
			dst := xc[(oh*g.s-g.p+kh)*g.w+iw0:]
			if g.s == 1 {
				addRun(dst[:n], in)
				continue
			}
			for i, v := range in {
				dst[i*g.s] += v
			}
		}
	}
}

// copyRun copies src into dst (equal lengths); runs shorter than 16 values
// are copied in a loop, which beats copy()'s call for them.
func copyRun(dst, src []float32) {
	if len(src) >= 16 {
		copy(dst, src)
		return
	}
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = v
	}
}

// addRun adds src to dst (equal lengths).
func addRun(dst, src []float32) {
	dst = dst[:len(src)]
	i := 0
	for ; i+4 <= len(src); i += 4 {
		d, s := dst[i:i+4:i+4], src[i:i+4:i+4]
		d[0] += s[0]
		d[1] += s[1]
		d[2] += s[2]
		d[3] += s[3]
	}
	for ; i < len(src); i++ {
		dst[i] += src[i]
	}
}

// TestIm2colMatchesReference compares the C im2col and col2im with their Go
// reference forms on every row range and output-row range that the
// convolution kernels use, for several geometries (strides 1 to 3).
func TestIm2colMatchesReference(t *testing.T) {
	geoms := []geom{
		withOut(geom{n: 1, c: 3, h: 8, w: 8, co: 2, k: 5, s: 2, p: 2}),
		withOut(geom{n: 1, c: 2, h: 7, w: 7, co: 2, k: 5, s: 2, p: 2}),
		withOut(geom{n: 1, c: 2, h: 5, w: 6, co: 3, k: 3, s: 1, p: 1}),
		withOut(geom{n: 1, c: 2, h: 9, w: 9, co: 3, k: 3, s: 3, p: 1}),
		withOut(geom{n: 1, c: 1, h: 64, w: 64, co: 4, k: 5, s: 2, p: 2}),
		withOut(geom{n: 1, c: 4, h: 8, w: 10, co: 3, k: 4, s: 2, p: 1}),
		// Output widths 7, 8, 14 and 16, which have loops of their own.
		withOut(geom{n: 1, c: 2, h: 14, w: 14, co: 3, k: 5, s: 2, p: 2}),
		withOut(geom{n: 1, c: 2, h: 9, w: 16, co: 3, k: 5, s: 2, p: 2}),
		withOut(geom{n: 1, c: 2, h: 5, w: 28, co: 3, k: 5, s: 2, p: 2}),
		withOut(geom{n: 1, c: 2, h: 16, w: 16, co: 3, k: 3, s: 1, p: 1}),
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for gi, g := range geoms {
		rows, pix, kk := g.rows(), g.pix(), g.k*g.k
		x := randn(rng, g.inSize())
		for _, rr := range [][2]int{{0, rows}, {kk, rows}, {0, kk}} {
			r0, r1 := rr[0], rr[1]
			if r1 <= r0 {
				continue
			}
			for _, oo := range [][2]int{{0, g.ho}, {g.ho / 2, g.ho}} {
				oh0, oh1 := oo[0], oo[1]
				ld := (oh1-oh0)*g.wo + 3 // a wider matrix, as when samples are folded
				want := make([]float32, (r1-r0)*ld)
				got := make([]float32, (r1-r0)*ld)
				im2colRef(&g, x, make([]float32, g.phaseSize()), want, ld, r0, r1, oh0, oh1)
				im2col(&g, x, make([]float32, g.phaseSize()), got, ld, r0, r1, oh0, oh1)
				if err := sameFloats(got, want); err != nil {
					t.Errorf("geometry %d rows [%d, %d) out rows [%d, %d): im2col: %v", gi, r0, r1, oh0, oh1, err)
				}
			}
			ld := pix + 3
			col := randn(rng, (r1-r0)*ld)
			want := randn(rng, g.inSize())
			got := append([]float32(nil), want...)
			col2imRef(&g, col, ld, r0, r1, want)
			col2im(&g, col, ld, r0, r1, got, randn(rng, g.phaseSize()))
			if err := sameFloats(got, want); err != nil {
				t.Errorf("geometry %d rows [%d, %d): col2im: %v", gi, r0, r1, err)
			}
		}
	}
}

// sameFloats reports the first index where a and b differ by more than
// rounding (the sums in col2im may be ordered differently by the compiler).
func sameFloats(a, b []float32) error {
	if len(a) != len(b) {
		return fmt.Errorf("lengths %d and %d", len(a), len(b))
	}
	for i := range a {
		d := a[i] - b[i]
		if d < -1e-5 || d > 1e-5 {
			return fmt.Errorf("index %d: %v, want %v", i, a[i], b[i])
		}
	}
	return nil
}
