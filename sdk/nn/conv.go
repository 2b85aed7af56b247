package nn

import "github.com/anogo/anogo/sdk/blas"

// The three convolution kernels below work on raw NCHW float32 slices with
// im2col/col2im and one sgemm per chunk of samples (Chellapilla et al. 2006,
// "High performance convolutional neural networks for document processing").
// Small images are folded together: a chunk of b samples makes one column
// matrix of b·ho·wo columns, so that the matrix product stays wide enough for
// OpenBLAS to run near its peak even at 4×4 pixels.

// Tuning constants for the folding, chosen by BenchmarkConv2d64 and friends.
var (
	// targetCols is the number of columns (samples × output pixels) that a
	// chunk of the forward kernel aims at (a variable so that benchmarks
	// can sweep it).
	targetCols = 1024
	// targetColsBack is the same for the two backward kernels. Their
	// column matrices are larger in cache terms (the data kernel writes
	// one and reads it back in col2im; the filter kernel's worker reads
	// half the rows of it for every chunk), and smaller chunks ran 5 to 15%
	// faster in CPU time for every large layer (BenchmarkChunkSweep, after
	// the phase-wise col2im), where the forward kernel showed no
	// consistent difference.
	targetColsBack = 256
	// targetColsSub is the same for the sub-pixel data kernel
	// (convBackwardDataSub), in columns of one phase.
	targetColsSub = 128
)

// maxColFloats bounds one column buffer (32 MB).
const maxColFloats = 8 << 20

// chunks returns into how many chunks of consecutive samples to split the
// batch when each of nw workers takes whole chunks, a sample's column
// matrix has rows rows and a chunk aims at target columns: chunk t holds samples span(g.n, tasks, t). The
// number of chunks is a multiple of nw (where there are samples enough), so
// that every worker gets the same work: 64 samples of 7×7 pixels in chunks
// of at most 21 would otherwise be 21, 21, 21 and 1, one worker doing 42
// samples and the other 22.
func chunks(g *geom, nw, rows, target int) int {
	pix := g.pix()
	b := (target + pix - 1) / pix
	b = min(b, (g.n+nw-1)/nw)
	for b > 1 && rows*b*pix > maxColFloats {
		b--
	}
	b = max(b, 1)
	tasks := (g.n + b - 1) / b
	return min((tasks+nw-1)/nw*nw, g.n)
}

// gather copies the outputs of samples [n0, n0+nb) of a [n, co, pix]
// tensor into a [co, nb·pix] matrix.
func gather(g *geom, y []float32, n0, nb int, dst []float32) {
	pix, ld := g.pix(), nb*g.pix()
	for i := range nb {
		ys := y[(n0+i)*g.outSize():]
		for c := range g.co {
			copy(dst[c*ld+i*pix:c*ld+(i+1)*pix], ys[c*pix:(c+1)*pix])
		}
	}
}

// scatter is the inverse of gather.
func scatter(g *geom, src []float32, n0, nb int, y []float32) {
	pix, ld := g.pix(), nb*g.pix()
	for i := range nb {
		ys := y[(n0+i)*g.outSize():]
		for c := range g.co {
			copy(ys[c*pix:(c+1)*pix], src[c*ld+i*pix:c*ld+(i+1)*pix])
		}
	}
}

// convForward computes y = conv(x, w): x [n, c, h, w], w [co, c, k, k],
// y [n, co, ho, wo] (overwritten).
func convForward(g *geom, x, w, y []float32) {
	if useWinograd(g) {
		winoForward(g, x, w, y, nil)
		return
	}
	nw, rows, pix := Workers(), g.rows(), g.pix()
	if g.n >= nw {
		tasks := chunks(g, nw, rows, targetCols)
		parallel(tasks, func(_, t int) {
			n0, n1 := span(g.n, tasks, t)
			nb := n1 - n0
			ld := nb * pix
			col, ph := scratch.get(rows*ld), scratch.get(g.phaseSize())
			defer scratch.put(col)
			defer scratch.put(ph)
			for i := range nb {
				im2col(g, x[(n0+i)*g.inSize():], ph, col[i*pix:], ld, 0, rows, 0, g.ho)
			}
			if nb == 1 {
				blas.Sgemm(false, false, g.co, pix, rows, 1, w, rows, col, ld, 0, y[n0*g.outSize():], pix)
				return
			}
			tmp := scratch.get(g.co * ld)
			defer scratch.put(tmp)
			blas.Sgemm(false, false, g.co, ld, rows, 1, w, rows, col, ld, 0, tmp, ld)
			scatter(g, tmp, n0, nb, y)
		})
		return
	}
	// Fewer samples than workers: split each sample's output rows.
	parts := min(nw, g.ho)
	parallel(g.n*parts, func(_, t int) {
		n := t / parts
		oh0, oh1 := span(g.ho, parts, t%parts)
		ld := (oh1 - oh0) * g.wo
		if ld == 0 {
			return
		}
		col, ph := scratch.get(rows*ld), scratch.get(g.phaseSize())
		defer scratch.put(col)
		defer scratch.put(ph)
		im2col(g, x[n*g.inSize():], ph, col, ld, 0, rows, oh0, oh1)
		blas.Sgemm(false, false, g.co, ld, rows, 1, w, rows, col, ld, 0, y[n*g.outSize()+oh0*g.wo:], pix)
	})
}

// convBackwardData computes gx = convᵀ(gy, w), the gradient of conv(x, w)
// with respect to x for output gradient gy: gy [n, co, ho, wo],
// w [co, c, k, k], gx [n, c, h, w] (overwritten). It is also the forward pass
// of a transposed convolution.
func convBackwardData(g *geom, gy, w, gx []float32) {
	if useWinograd(g) {
		winoData(g, gy, w, gx)
		return
	}
	if useSubpixel(g) {
		convBackwardDataSub(g, gy, w, gx)
		return
	}
	nw, rows, pix := Workers(), g.rows(), g.pix()
	if g.n >= nw {
		tasks := chunks(g, nw, rows, targetColsBack)
		parallel(tasks, func(_, t int) {
			n0, n1 := span(g.n, tasks, t)
			nb := n1 - n0
			ld := nb * pix
			gyc := gy[n0*g.outSize():]
			if nb > 1 {
				gyc = scratch.get(g.co * ld)
				defer scratch.put(gyc)
				gather(g, gy, n0, nb, gyc)
			}
			gcol, ph := scratch.get(rows*ld), scratch.get(g.phaseSize())
			defer scratch.put(gcol)
			defer scratch.put(ph)
			blas.Sgemm(true, false, rows, ld, g.co, 1, w, rows, gyc, ld, 0, gcol, ld)
			for i := range nb {
				col2im(g, gcol[i*pix:], ld, 0, rows, gx[(n0+i)*g.inSize():], ph)
			}
		})
		return
	}
	// Fewer samples than workers: split each sample's channels.
	kk := g.k * g.k
	parts := min(nw, g.c)
	parallel(g.n*parts, func(_, t int) {
		n := t / parts
		c0, c1 := span(g.c, parts, t%parts)
		if c0 == c1 {
			return
		}
		r0, r1 := c0*kk, c1*kk
		gcol, ph := scratch.get((r1-r0)*pix), scratch.get(g.phaseSize())
		defer scratch.put(gcol)
		defer scratch.put(ph)
		blas.Sgemm(true, false, r1-r0, pix, g.co, 1, w[r0:], rows, gy[n*g.outSize():], pix, 0, gcol, pix)
		col2im(g, gcol, pix, r0, r1, gx[n*g.inSize():], ph)
	})
}

// convBackwardFilter computes gw, the gradient of conv(x, w) with respect to
// w for output gradient gy: x [n, c, h, w], gy [n, co, ho, wo],
// gw [co, c, k, k] (overwritten). Workers split the columns of gw (the rows of
// the column matrix), so each writes its own part and no reduction is needed.
func convBackwardFilter(g *geom, x, gy, gw []float32) {
	if useWinograd(g) {
		winoFilter(g, x, gy, gw, nil)
		return
	}
	nw, rows, pix := Workers(), g.rows(), g.pix()
	parts := min(nw, rows)
	nc := chunks(g, 1, rows/parts, targetColsBack)
	b := (g.n + nc - 1) / nc
	parallel(parts, func(_, t int) {
		r0, r1 := span(rows, parts, t)
		col, ph := scratch.get((r1-r0)*b*pix), scratch.get(g.phaseSize())
		defer scratch.put(col)
		defer scratch.put(ph)
		var buf []float32
		if b > 1 {
			buf = scratch.get(g.co * b * pix)
			defer scratch.put(buf)
		}
		for n0 := 0; n0 < g.n; n0 += b {
			nb := min(b, g.n-n0)
			ld := nb * pix
			for i := range nb {
				im2col(g, x[(n0+i)*g.inSize():], ph, col[i*pix:], ld, r0, r1, 0, g.ho)
			}
			gyc := gy[n0*g.outSize():]
			if nb > 1 {
				gyc = buf[:g.co*ld]
				gather(g, gy, n0, nb, gyc)
			}
			beta := float32(1)
			if n0 == 0 {
				beta = 0
			}
			blas.Sgemm(false, true, g.co, r1-r0, ld, 1, gyc, ld, col, ld, beta, gw[r0:], rows)
		}
	})
}
