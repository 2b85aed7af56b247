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
