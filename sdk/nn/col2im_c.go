package nn

/*
#cgo CFLAGS: -O3

#include <string.h>

// anogo_valid is valid() of im2col.go.
static inline void anogo_valid(int off, int p, int s, int size, int n, int *lo, int *hi) {
	int l = 0, d = p - off, last = size - 1 + p - off;
	if (d > 0) l = (d + s - 1) / s;
	if (last < 0) { *lo = 0; *hi = 0; return; }
	int h = last / s + 1;
	if (h > n) h = n;
	*lo = l < h ? l : h;
	*hi = h;
}

// anogo_col2im is the adjoint of anogo_im2col: channels [r0/k², r1/k²) of
// x get the sum of the column values of rows [r0, r1) that im2col copied
// from each pixel. It works through the stride phases, as im2col does: row
// (ci, kh, kw) of the column matrix is added, in runs of wo contiguous
// values, to phase (kh%s, kw%s) of channel ci at offset (kh/s, kw/s), and
// the phases are then interleaved into x. (Adding into x directly is a
// scatter with stride s, which does not vectorise.) ph holds s²·(channels)
// ·A·B values, A×B being the phase size.
static void anogo_col2im(const float *col, long ld, int r0, int r1, float *x, float *ph,
		int h, int w, int k, int s, int p, int ho, int wo) {
	int kk = k * k, c0 = r0 / kk, c1 = (r1 - 1) / kk + 1, nc = c1 - c0;
	int A = ho + (k - 1) / s, B = wo + (k - 1) / s;
	long hw = (long)h * w, AB = (long)A * B;
	memset(ph, 0, sizeof(float) * (size_t)((long)s * s * nc * AB));
	for (int r = r0; r < r1; r++) {
		int ci = r / kk, kh = r / k % k, kw = r % k;
		float *img = ph + ((long)((kh % s) * s + kw % s) * nc + (ci - c0)) * AB + (long)(kh / s) * B + kw / s;
		const float *src = col + (long)(r - r0) * ld;
		for (int oh = 0; oh < ho; oh++) {
			float *restrict d = img + (long)oh * B;
			const float *restrict q = src + (long)oh * wo;
			for (int i = 0; i < wo; i++) d[i] += q[i];
		}
	}
	// off[iw]: where pixel column iw lies within a row of phase images
	// (phase column iwp%s, position iwp/s), or -1 outside them.
	long off[w];
	for (int iw = 0; iw < w; iw++) {
		int iwp = iw + p, b = iwp / s;
		off[iw] = b < B ? (long)(iwp % s) * nc * AB + b : -1;
	}
	for (int ci = c0; ci < c1; ci++) {
		float *xc = x + ci * hw;
		for (int ih = 0; ih < h; ih++) {
			int ihp = ih + p, a = ihp / s;
			float *restrict dst = xc + (long)ih * w;
			if (a >= A) {
				for (int iw = 0; iw < w; iw++) dst[iw] = 0;
				continue;
			}
			const float *row = ph + ((long)(ihp % s) * s * nc + (ci - c0)) * AB + (long)a * B;
			for (int iw = 0; iw < w; iw++) dst[iw] = off[iw] < 0 ? 0 : row[off[iw]];
		}
	}
}

// IM2COL_ROWS is the last step of anogo_im2col: rows [r0, r1) of the column
// matrix, output rows [oh0, oh1), copied in runs of wo values from the
// phase images ph. It is instantiated for constant widths WO (the runs of a
// few values are then unrolled instead of running a loop with a remainder).
#define IM2COL_ROWS(NAME, WO) \
static void NAME(const float *ph, float *col, long ld, int r0, int r1, int oh0, int oh1, \
		int c, int k, int s, int wo_, int A, int B) { \
	const int wo = WO > 0 ? WO : wo_; \
	int kk = k * k; \
	long AB = (long)A * B; \
	for (int r = r0; r < r1; r++) { \
		int ci = r / kk, kh = r / k % k, kw = r % k; \
		const float *img = ph + ((long)((kh % s) * s + kw % s) * c + ci) * AB; \
		float *restrict d = col + (long)(r - r0) * ld; \
		const float *restrict q = img + (long)(oh0 + kh / s) * B + kw / s; \
		for (int oh = oh0; oh < oh1; oh++) { \
			if (WO > 0) __builtin_memcpy(d, q, sizeof(float) * (WO > 0 ? WO : 1)); \
			else for (int i = 0; i < wo; i++) d[i] = q[i]; \
			d += wo; \
			q += B; \
		} \
	} \
}
IM2COL_ROWS(anogo_im2col_rows_any, 0)
IM2COL_ROWS(anogo_im2col_rows_4, 4)
IM2COL_ROWS(anogo_im2col_rows_7, 7)
IM2COL_ROWS(anogo_im2col_rows_8, 8)
IM2COL_ROWS(anogo_im2col_rows_14, 14)
IM2COL_ROWS(anogo_im2col_rows_16, 16)
IM2COL_ROWS(anogo_im2col_rows_32, 32)

// anogo_im2col is splitPhases and im2col of im2col.go: rows [r0, r1) of a
// sample's column matrix, output rows [oh0, oh1), through the stride phases
// of the channels those rows touch.
static void anogo_im2col(const float *x, float *ph, float *col, long ld, int r0, int r1,
		int oh0, int oh1, int c, int h, int w, int k, int s, int p, int ho, int wo) {
	int kk = k * k, c0 = r0 / kk, c1 = (r1 - 1) / kk + 1;
	int A = ho + (k - 1) / s, B = wo + (k - 1) / s;
	long hw = (long)h * w, AB = (long)A * B;
	for (int py = 0; py < s; py++) {
		for (int px = 0; px < s; px++) {
			int b0, b1;
			anogo_valid(px, p, s, w, B, &b0, &b1);
			int n = b1 - b0, iw0 = b0 * s + px - p;
			for (int ch = c0; ch < c1; ch++) {
				float *img = ph + ((long)(py * s + px) * c + ch) * AB;
				const float *xc = x + ch * hw;
				for (int a = 0; a < A; a++) {
					float *restrict row = img + (long)a * B;
					int ih = a * s + py - p;
					if (ih < 0 || ih >= h || n <= 0) {
						for (int i = 0; i < B; i++) row[i] = 0;
						continue;
					}
					for (int i = 0; i < b0; i++) row[i] = 0;
					for (int i = b1; i < B; i++) row[i] = 0;
					const float *restrict src = xc + (long)ih * w + iw0;
					float *restrict out = row + b0;
					if (s == 1) {
						for (int i = 0; i < n; i++) out[i] = src[i];
					} else if (s == 2) {
						for (int i = 0; i < n; i++) out[i] = src[2 * i];
					} else {
						for (int i = 0; i < n; i++) out[i] = src[i * s];
					}
				}
			}
		}
	}
	switch (wo) {
	case 4: anogo_im2col_rows_4(ph, col, ld, r0, r1, oh0, oh1, c, k, s, wo, A, B); break;
	case 7: anogo_im2col_rows_7(ph, col, ld, r0, r1, oh0, oh1, c, k, s, wo, A, B); break;
	case 8: anogo_im2col_rows_8(ph, col, ld, r0, r1, oh0, oh1, c, k, s, wo, A, B); break;
	case 14: anogo_im2col_rows_14(ph, col, ld, r0, r1, oh0, oh1, c, k, s, wo, A, B); break;
	case 16: anogo_im2col_rows_16(ph, col, ld, r0, r1, oh0, oh1, c, k, s, wo, A, B); break;
	case 32: anogo_im2col_rows_32(ph, col, ld, r0, r1, oh0, oh1, c, k, s, wo, A, B); break;
	default: anogo_im2col_rows_any(ph, col, ld, r0, r1, oh0, oh1, c, k, s, wo, A, B);
	}
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// col2im sets channels [r0/k², r1/k²) of sample x to the adjoint of im2col
// applied to rows [r0, r1) of a column matrix (all output rows, laid out as
// im2col writes them): each entry is added back to the pixel it was copied
// from. r0 and r1 must be multiples of k². ph is scratch of at least
// g.phaseSize() values. The loops are in C (at batch 64 the first C
// version, a strided scatter into x, ran the transposed convolutions'
// forward 1.1 to 1.5 times faster than Go; the second adds contiguous runs
// into the stride phases and interleaves them).
func col2im(g *geom, col []float32, ld, r0, r1 int, x, ph []float32) {
	if r1 <= r0 {
		return
	}
	c1 := (r1-1)/(g.k*g.k) + 1
	if len(x) < c1*g.h*g.w || len(col) < (r1-r0-1)*ld+g.ho*g.wo || ld < g.ho*g.wo || len(ph) < g.phaseSize() {
		panic(fmt.Sprintf("nn: col2im: %d column values (ld %d), %d phase values or %d image values too few for rows [%d, %d) of %+v", len(col), ld, len(ph), len(x), r0, r1, *g))
	}
	C.anogo_col2im((*C.float)(unsafe.Pointer(&col[0])), C.long(ld), C.int(r0), C.int(r1),
		(*C.float)(unsafe.Pointer(&x[0])), (*C.float)(unsafe.Pointer(&ph[0])),
		C.int(g.h), C.int(g.w), C.int(g.k), C.int(g.s), C.int(g.p), C.int(g.ho), C.int(g.wo))
}

// im2col writes rows [r0, r1) of sample x's column matrix, restricted to the
// output rows [oh0, oh1), into col: row r goes to col[(r-r0)*ld:], output
// pixel (oh, ow) to column (oh-oh0)·wo + ow. ph is scratch of at least
// g.phaseSize() values. The loops are in C, as col2im's are; the Go form is
// splitPhases followed by copies of contiguous runs.
func im2col(g *geom, x, ph, col []float32, ld, r0, r1, oh0, oh1 int) {
	if r1 <= r0 || oh1 <= oh0 {
		return
	}
	c1 := (r1-1)/(g.k*g.k) + 1
	if len(x) < c1*g.h*g.w || len(ph) < g.phaseSize() || len(col) < (r1-r0-1)*ld+(oh1-oh0)*g.wo || ld < (oh1-oh0)*g.wo {
		panic(fmt.Sprintf("nn: im2col: %d column values (ld %d), %d phase values or %d image values too few for rows [%d, %d) of %+v", len(col), ld, len(ph), len(x), r0, r1, *g))
	}
	C.anogo_im2col((*C.float)(unsafe.Pointer(&x[0])), (*C.float)(unsafe.Pointer(&ph[0])),
		(*C.float)(unsafe.Pointer(&col[0])), C.long(ld), C.int(r0), C.int(r1), C.int(oh0), C.int(oh1),
		C.int(g.c), C.int(g.h), C.int(g.w), C.int(g.k), C.int(g.s), C.int(g.p), C.int(g.ho), C.int(g.wo))
}
