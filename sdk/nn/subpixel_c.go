package nn

/*
#cgo CFLAGS: -O3

#include <string.h>

// Sub-pixel form of the data kernel (convBackwardData): see subpixel below.

// anogo_sub_weights packs, for every stride phase (py, px) in turn, the
// weights of the taps that reach it: phase q's block is a [c][tx·ty·co]
// matrix, entry (ci, (l·ty+j)·co+o) = w[o, ci, kh0+s·j, kw0+s·l].
static void anogo_sub_weights(const float *w, float *wp, int c, int co, int k, int s, int p) {
	for (int py = 0; py < s; py++) {
		int kh0 = (py + p) % s, ty = kh0 < k ? (k - kh0 + s - 1) / s : 0;
		for (int px = 0; px < s; px++) {
			int kw0 = (px + p) % s, tx = kw0 < k ? (k - kw0 + s - 1) / s : 0;
			long K = (long)co * ty * tx;
			for (int ci = 0; ci < c; ci++) {
				float *restrict d = wp + (long)ci * K;
				for (int l = 0; l < tx; l++) {
					for (int j = 0; j < ty; j++) {
						const float *restrict src = w + (long)ci * k * k + (kh0 + s * j) * k + kw0 + s * l;
						long st = (long)c * k * k;
						for (int o = 0; o < co; o++) *d++ = src[o * st];
					}
				}
			}
			wp += (long)c * K;
		}
	}
}

// anogo_sub_cols writes the shifted windows of nb samples of gy
// ([nb][co][ho][wo], samples ostride apart) that the phases share: row
// (wx·ny+wy)·co+o, column i·A·B + a·B + b holds gy[i, o, a+dyMax-wy,
// b+dxMax-wx] (zero outside), for wy < ny, wx < nx. Each plane of gy is
// first copied into pad, a zero-bordered plane in which every window is in
// range (gy row oh is pad row oh+oy, column ow pad column ow+ox), so that
// the copies have no bounds to test; SUB_COLS instantiates the loop for
// constant widths B (the copies of a few values are then unrolled).
#define SUB_COLS(NAME, BW) \
static void NAME(const float *gy, long ostride, int nb, int co, int ho, int wo, \
		int ny, int nx, int dyMax, int dxMax, int A, int B_, float *col, long ld, float *pad) { \
	const int B = BW > 0 ? BW : B_; \
	long AB = (long)A * B, pix = (long)ho * wo; \
	int oy = ny - 1 - dyMax, ox = nx - 1 - dxMax; \
	if (oy < 0) oy = 0; \
	if (ox < 0) ox = 0; \
	int PH = A + dyMax + oy, PW = B + dxMax + ox; \
	for (int i = 0; i < nb; i++) { \
		for (int o = 0; o < co; o++) { \
			const float *src = gy + i * ostride + o * pix; \
			for (long q = 0; q < (long)PH * PW; q++) pad[q] = 0; \
			for (int oh = 0; oh < ho && oh + oy < PH; oh++) { \
				float *restrict d = pad + (long)(oh + oy) * PW + ox; \
				const float *restrict q = src + (long)oh * wo; \
				for (int ow = 0; ow < wo && ow + ox < PW; ow++) d[ow] = q[ow]; \
			} \
			for (int wx = 0; wx < nx; wx++) { \
				for (int wy = 0; wy < ny; wy++) { \
					float *restrict d = col + ((long)(wx * ny + wy) * co + o) * ld + i * AB; \
					const float *restrict q = pad + (long)(dyMax - wy + oy) * PW + dxMax - wx + ox; \
					for (int a = 0; a < A; a++) { \
						if (BW > 0) __builtin_memcpy(d, q, sizeof(float) * (BW > 0 ? BW : 1)); \
						else for (int b = 0; b < B; b++) d[b] = q[b]; \
						d += B; \
						q += PW; \
					} \
				} \
			} \
		} \
	} \
}
SUB_COLS(anogo_sub_cols_any, 0)
SUB_COLS(anogo_sub_cols_4, 4)
SUB_COLS(anogo_sub_cols_7, 7)
SUB_COLS(anogo_sub_cols_8, 8)
SUB_COLS(anogo_sub_cols_16, 16)
SUB_COLS(anogo_sub_cols_32, 32)

static void anogo_sub_cols(const float *gy, long ostride, int nb, int co, int ho, int wo,
		int ny, int nx, int dyMax, int dxMax, int A, int B, float *col, long ld, float *pad) {
	switch (B) {
	case 4: anogo_sub_cols_4(gy, ostride, nb, co, ho, wo, ny, nx, dyMax, dxMax, A, B, col, ld, pad); break;
	case 7: anogo_sub_cols_7(gy, ostride, nb, co, ho, wo, ny, nx, dyMax, dxMax, A, B, col, ld, pad); break;
	case 8: anogo_sub_cols_8(gy, ostride, nb, co, ho, wo, ny, nx, dyMax, dxMax, A, B, col, ld, pad); break;
	case 16: anogo_sub_cols_16(gy, ostride, nb, co, ho, wo, ny, nx, dyMax, dxMax, A, B, col, ld, pad); break;
	case 32: anogo_sub_cols_32(gy, ostride, nb, co, ho, wo, ny, nx, dyMax, dxMax, A, B, col, ld, pad); break;
	default: anogo_sub_cols_any(gy, ostride, nb, co, ho, wo, ny, nx, dyMax, dxMax, A, B, col, ld, pad);
	}
}

// anogo_sub_put writes one phase's result out ([c][ld], column
// i·Am·Bm+a·Bm+b) into gx ([nb][c][h][w], samples istride apart) at pixel
// (s·a+py, s·b+px), a < A, b < B.
static void anogo_sub_put(const float *out, long ld, int nb, int c, int Am, int Bm, int A, int B,
		float *gx, long istride, int h, int w, int py, int px, int s) {
	long AB = (long)Am * Bm, hw = (long)h * w;
	for (int ci = 0; ci < c; ci++) {
		for (int i = 0; i < nb; i++) {
			const float *src = out + (long)ci * ld + i * AB;
			float *dst = gx + i * istride + ci * hw + (long)py * w + px;
			for (int a = 0; a < A; a++) {
				const float *restrict q = src + (long)a * Bm;
				float *restrict d = dst + (long)a * s * w;
				if (s == 2) {
					for (int b = 0; b < B; b++) d[2 * b] = q[b];
				} else {
					for (int b = 0; b < B; b++) d[b * s] = q[b];
				}
			}
		}
	}
}

// anogo_sub_zero zeroes one phase of gx (a phase that no tap reaches).
static void anogo_sub_zero(int nb, int c, int A, int B, float *gx, long istride, int h, int w,
		int py, int px, int s) {
	long hw = (long)h * w;
	for (int i = 0; i < nb; i++) {
		for (int ci = 0; ci < c; ci++) {
			float *dst = gx + i * istride + ci * hw + (long)py * w + px;
			for (int a = 0; a < A; a++) {
				for (int b = 0; b < B; b++) dst[(long)a * s * w + (long)b * s] = 0;
			}
		}
	}
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/anogo/anogo/sdk/blas"
)

// The data kernel (the gradient of a convolution with respect to its input,
// and the forward pass of a transposed convolution) through the stride
// phases of its output ("sub-pixel" decomposition). Output pixel
// (ih, iw) = (s·a+py, s·b+px) of phase (py, px) receives only the taps
// kh ≡ py+p, kw ≡ px+p (mod s): kh = kh0+s·j, kw = kw0+s·l, read from the
// output gradient gy at (a+dy0-j, b+dx0-l) with kh0 = (py+p) mod s and
// dy0 = (py+p-kh0)/s (likewise for columns). So every phase is a stride-1
// convolution of gy with a sub-kernel of ty×tx taps (3×3, 3×2, 2×3 or 2×2
// for k = 5, s = 2), whose sgemm (c rows, co·ty·tx deep) writes the phase
// itself: the column-matrix form's col2im (a scatter-add of c·k² rows per
// sample) disappears. The phases read shifted windows of gy, the same
// ones for all of them (3×3 shifts for k = 5, s = 2), so one column matrix
// of co·ny·nx rows serves every phase, each taking a block of rows (or, if
// its taps skip some rows of windows, one block per tap column, summed by
// sgemm's beta). The result of a phase is then copied into every s-th
// pixel of gx.
//
// At 28×28 (c 64, co 128, 7×7 → 14×14, batch 64) this ran the kernel in
// 20 to 23 ms of CPU against 24 to 27 through col2im; on the 64×64 model's
// layers it is about as fast as col2im. With one input channel (the first
// layer of D, the last of G) the phases' products are matrix-vector
// products and the column matrix is co/c times larger than col2im's, 8 to
// 9 times slower: those keep col2im (subpixelMinC).

// subPhase is the geometry of one output phase.
type subPhase struct {
	py, px, ty, tx, dy0, dx0, a, b int
	woff                           int // offset of its weight block
}

// subGeom is the sub-pixel form of a data kernel: its phases and the
// shifted windows of gy that they share (dy from dyMax down to
// dyMax-ny+1, likewise dx), at am×bm columns per sample.
type subGeom struct {
	phases               []subPhase
	ny, nx, dyMax, dxMax int
	am, bm               int
}

// newSubGeom returns the s² phases of g and their windows.
func newSubGeom(g *geom) *subGeom {
	sg := &subGeom{}
	woff := 0
	dyMin, dxMin := 1<<30, 1<<30
	sg.dyMax, sg.dxMax = -1<<30, -1<<30
	for py := range g.s {
		kh0 := (py + g.p) % g.s
		ty := 0
		if kh0 < g.k {
			ty = (g.k - kh0 + g.s - 1) / g.s
		}
		for px := range g.s {
			kw0 := (px + g.p) % g.s
			tx := 0
			if kw0 < g.k {
				tx = (g.k - kw0 + g.s - 1) / g.s
			}
			q := subPhase{py: py, px: px, ty: ty, tx: tx, dy0: (py + g.p - kh0) / g.s, dx0: (px + g.p - kw0) / g.s,
				a: max(0, (g.h-py+g.s-1)/g.s), b: max(0, (g.w-px+g.s-1)/g.s), woff: woff}
			woff += g.c * g.co * ty * tx
			sg.phases = append(sg.phases, q)
			sg.am, sg.bm = max(sg.am, q.a), max(sg.bm, q.b)
			if ty > 0 && tx > 0 && q.a > 0 && q.b > 0 {
				sg.dyMax, dyMin = max(sg.dyMax, q.dy0), min(dyMin, q.dy0-ty+1)
				sg.dxMax, dxMin = max(sg.dxMax, q.dx0), min(dxMin, q.dx0-tx+1)
			}
		}
	}
	if sg.dyMax >= dyMin {
		sg.ny, sg.nx = sg.dyMax-dyMin+1, sg.dxMax-dxMin+1
	}
	return sg
}

// padSize is the size of anogo_sub_cols's zero-bordered plane.
func (sg *subGeom) padSize() int {
	oy, ox := max(0, sg.ny-1-sg.dyMax), max(0, sg.nx-1-sg.dxMax)
	return max(1, (sg.am+sg.dyMax+oy)*(sg.bm+sg.dxMax+ox))
}

// useSubpixel says whether convBackwardData takes the sub-pixel path: for
// strided convolutions whose input has channels enough that the sgemm of a
// phase (c rows) is not a matrix-vector product, with samples enough for
// every worker.
func useSubpixel(g *geom) bool {
	return g.s > 1 && g.c >= subpixelMinC && g.n >= Workers()
}

// subpixelMinC is the least number of input channels (conv sense) for the
// sub-pixel path.
var subpixelMinC = 16

// convBackwardDataSub is convBackwardData through the output's stride
// phases (see above).
func convBackwardDataSub(g *geom, gy, w, gx []float32) {
	if len(w) < g.co*g.rows() || len(gy) < g.n*g.outSize() || len(gx) < g.n*g.inSize() {
		panic(fmt.Sprintf("nn: convBackwardDataSub: %d, %d, %d values too few for %+v", len(gy), len(w), len(gx), *g))
	}
	sg := newSubGeom(g)
	wp := scratch.get(g.co * g.rows())
	defer scratch.put(wp)
	C.anogo_sub_weights((*C.float)(unsafe.Pointer(&w[0])), (*C.float)(unsafe.Pointer(&wp[0])),
		C.int(g.c), C.int(g.co), C.int(g.k), C.int(g.s), C.int(g.p))
	nw, pix, rows := Workers(), sg.am*sg.bm, sg.ny*sg.nx*g.co
	sub := *g
	sub.ho, sub.wo = sg.am, sg.bm // chunks only looks at pix and n
	tasks := chunks(&sub, nw, max(rows, 1), targetColsSub)
	b := (g.n + tasks - 1) / tasks
	parallel(tasks, func(_, t int) {
		n0, n1 := span(g.n, tasks, t)
		nb := n1 - n0
		ld := nb * pix
		col, out, pad := scratch.get(max(rows*b*pix, 1)), scratch.get(g.c*b*pix), scratch.get(sg.padSize())
		defer scratch.put(col)
		defer scratch.put(out)
		defer scratch.put(pad)
		gys, gxs := gy[n0*g.outSize():], gx[n0*g.inSize():]
		if rows > 0 {
			C.anogo_sub_cols((*C.float)(unsafe.Pointer(&gys[0])), C.long(g.outSize()), C.int(nb), C.int(g.co),
				C.int(g.ho), C.int(g.wo), C.int(sg.ny), C.int(sg.nx), C.int(sg.dyMax), C.int(sg.dxMax),
				C.int(sg.am), C.int(sg.bm), (*C.float)(unsafe.Pointer(&col[0])), C.long(ld), (*C.float)(unsafe.Pointer(&pad[0])))
		}
		for _, q := range sg.phases {
			if q.a == 0 || q.b == 0 {
				continue
			}
			if q.ty == 0 || q.tx == 0 {
				C.anogo_sub_zero(C.int(nb), C.int(g.c), C.int(q.a), C.int(q.b), (*C.float)(unsafe.Pointer(&gxs[0])),
					C.long(g.inSize()), C.int(g.h), C.int(g.w), C.int(q.py), C.int(q.px), C.int(g.s))
				continue
			}
			// Taps (j, l) read window (wy0+j, wx0+l): for each l, ty·co
			// consecutive rows of col.
			kq := g.co * q.ty * q.tx
			wy0, wx0 := sg.dyMax-q.dy0, sg.dxMax-q.dx0
			if q.ty == sg.ny {
				blas.Sgemm(false, false, g.c, ld, kq, 1, wp[q.woff:], kq, col[wx0*sg.ny*g.co*ld:], ld, 0, out, ld)
			} else {
				for l := range q.tx {
					beta := float32(1)
					if l == 0 {
						beta = 0
					}
					blas.Sgemm(false, false, g.c, ld, q.ty*g.co, 1, wp[q.woff+l*q.ty*g.co:], kq,
						col[((wx0+l)*sg.ny+wy0)*g.co*ld:], ld, beta, out, ld)
				}
			}
			C.anogo_sub_put((*C.float)(unsafe.Pointer(&out[0])), C.long(ld), C.int(nb), C.int(g.c), C.int(sg.am), C.int(sg.bm),
				C.int(q.a), C.int(q.b), (*C.float)(unsafe.Pointer(&gxs[0])), C.long(g.inSize()), C.int(g.h), C.int(g.w),
				C.int(q.py), C.int(q.px), C.int(g.s))
		}
	})
}
