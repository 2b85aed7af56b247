package nn

// geom is the geometry of one convolution in the forward ("conv") sense:
// an input of n samples with c channels of h×w pixels, co filters of k×k,
// stride s and zero padding p on every side, and an output of ho×wo pixels.
// A transposed convolution uses the same geometry with input and output
// swapped: its output is the conv-sense input and its input the conv-sense
// output.
type geom struct {
	n, c, h, w  int
	co, k, s, p int
	ho, wo      int
}

// rows is the number of rows of the column matrix: one per (channel, kernel
// row, kernel column).
func (g *geom) rows() int { return g.c * g.k * g.k }

// pix is the number of output pixels per sample and channel.
func (g *geom) pix() int { return g.ho * g.wo }

// inSize and outSize are the sizes of one sample of input and output.
func (g *geom) inSize() int  { return g.c * g.h * g.w }
func (g *geom) outSize() int { return g.co * g.ho * g.wo }

// The column matrix of one sample has a row per kernel tap r = (ci·k+kh)·k+kw
// and a column per output pixel (oh, ow); its entry is
// xpad[ci, oh·s+kh, ow·s+kw], xpad being the input with p zeros around it.
//
// Gathering that with stride s is slow, so the padded input is first split
// into its s×s stride phases: phase (py, px) holds
// xpad[c, a·s+py, b·s+px] at [c, a, b]. Tap (kh, kw) of pixel (oh, ow) is
// then phase (kh%s, kw%s) at [ci, oh+kh/s, ow+kw/s], so each row of the
// column matrix is ho contiguous runs of wo values.

// phaseDims returns the rows and columns of one phase image.
func (g *geom) phaseDims() (a, b int) {
	return g.ho + (g.k-1)/g.s, g.wo + (g.k-1)/g.s
}

// phaseSize is the length of the phase buffer of one sample.
func (g *geom) phaseSize() int {
	a, b := g.phaseDims()
	return g.s * g.s * g.c * a * b
}

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

// im2col writes rows [r0, r1) of sample x's column matrix, restricted to the
// output rows [oh0, oh1), into col: row r goes to col[(r-r0)*ld:], output
// pixel (oh, ow) to column (oh-oh0)·wo + ow. ph is scratch of at least
// g.phaseSize() values.
func im2col(g *geom, x, ph, col []float32, ld, r0, r1, oh0, oh1 int) {
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

// col2im sets channels [r0/k², r1/k²) of sample x to the adjoint of im2col
// applied to rows [r0, r1) of a column matrix (all output rows, laid out as
// im2col writes them): each entry is added back to the pixel it was copied
// from. r0 and r1 must be multiples of k². (Scattering directly measured
// faster here than going through the phases.)
func col2im(g *geom, col []float32, ld, r0, r1 int, x []float32) {
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
