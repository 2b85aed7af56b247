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

// anogo_col2im is col2im of im2col.go, line for line; the compiler unrolls
// the strided scatter that Go's bounds checks slow down.
static void anogo_col2im(const float *col, long ld, int r0, int r1, float *x,
		int h, int w, int k, int s, int p, int ho, int wo) {
	int kk = k * k, c0 = r0 / kk, c1 = (r1 - 1) / kk + 1;
	long hw = (long)h * w;
	memset(x + c0 * hw, 0, sizeof(float) * (size_t)((c1 - c0) * hw));
	for (int r = r0; r < r1; r++) {
		int ci = r / kk, kh = r / k % k, kw = r % k;
		float *xc = x + ci * hw;
		const float *src = col + (long)(r - r0) * ld;
		int ow0, ow1, oh0, oh1;
		anogo_valid(kw, p, s, w, wo, &ow0, &ow1);
		int n = ow1 - ow0;
		if (n <= 0) continue;
		int iw0 = ow0 * s - p + kw;
		anogo_valid(kh, p, s, h, ho, &oh0, &oh1);
		for (int oh = oh0; oh < oh1; oh++) {
			const float *restrict in = src + (long)oh * wo + ow0;
			float *restrict dst = xc + (long)(oh * s - p + kh) * w + iw0;
			if (s == 1) {
				for (int i = 0; i < n; i++) dst[i] += in[i];
			} else if (s == 2) {
				for (int i = 0; i < n; i++) dst[2 * i] += in[i];
			} else {
				for (int i = 0; i < n; i++) dst[i * s] += in[i];
			}
		}
	}
}

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
	for (int r = r0; r < r1; r++) {
		int ci = r / kk, kh = r / k % k, kw = r % k;
		const float *img = ph + ((long)((kh % s) * s + kw % s) * c + ci) * AB;
		float *dst = col + (long)(r - r0) * ld;
		long o = (long)(oh0 + kh / s) * B + kw / s;
		for (long j = 0; j < (long)(oh1 - oh0) * wo; j += wo) {
			float *restrict d = dst + j;
			const float *restrict q = img + o;
			for (int i = 0; i < wo; i++) d[i] = q[i];
			o += B;
		}
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
// from. r0 and r1 must be multiples of k². The loops are in C (the same
// loops as the Go version this replaced; at batch 64 the transposed
// convolutions' forward ran 1.1 to 1.5 times faster): the strided scatter
// is where Go's bounds checks cost most.
func col2im(g *geom, col []float32, ld, r0, r1 int, x []float32) {
	if r1 <= r0 {
		return
	}
	c1 := (r1-1)/(g.k*g.k) + 1
	if len(x) < c1*g.h*g.w || len(col) < (r1-r0-1)*ld+g.ho*g.wo || ld < g.ho*g.wo {
		panic(fmt.Sprintf("nn: col2im: %d column values (ld %d) or %d image values too few for rows [%d, %d) of %+v", len(col), ld, len(x), r0, r1, *g))
	}
	C.anogo_col2im((*C.float)(unsafe.Pointer(&col[0])), C.long(ld), C.int(r0), C.int(r1),
		(*C.float)(unsafe.Pointer(&x[0])), C.int(g.h), C.int(g.w), C.int(g.k), C.int(g.s),
		C.int(g.p), C.int(g.ho), C.int(g.wo))
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
