package nn

/*
#cgo CFLAGS: -O3

// The resampling of UpFIRDn2d (fir.go) over planes [lo, hi) of hin×win
// values in x, giving hout×wout values in y. Along an axis, output j is
// Σ_t g[t]·u[j·down + t - p0], u the input with up-1 zeros after every
// value and zero outside. First every row along the width, into tmp
// (hin×wout), through the padded, zero-stuffed row in buf ((wout-1)·down +
// k values); then the rows of the output, each the sum of the rows of tmp
// that its taps reach. Built for the baseline x86-64 (no FMA), the results
// are those of the Go loops of firPlaneGo (modconv_test.go). hsrc[a·k + t]
// is the input row of tap t of output row a, or -1 where it falls on a
// zero.

static void anogo_fir(const float *x, float *y, float *tmp, float *buf, long lo, long hi,
		long hin, long win, long hout, long wout, const float *g, long k, long up, long down, long p0,
		const long *hsrc) {
	long nb = (wout - 1) * down + k;
	for (long p = lo; p < hi; p++) {
		const float *xp = x + p * hin * win;
		float *yp = y + p * hout * wout;
		for (long i = 0; i < hin; i++) {
			const float *xr = xp + i * win;
			float *restrict tr = tmp + i * wout;
			for (long q = 0; q < nb; q++) buf[q] = 0.0f;
			for (long j = 0; j < win; j++) {
				long q = j * up + p0;
				if (q >= 0 && q < nb) buf[q] = xr[j];
			}
			if (k == 4) {
				const float g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3];
				if (down == 1) {
					for (long j = 0; j < wout; j++)
						tr[j] = 0.0f + g0 * buf[j] + g1 * buf[j + 1] + g2 * buf[j + 2] + g3 * buf[j + 3];
				} else {
					for (long j = 0; j < wout; j++) {
						const float *b = buf + j * down;
						tr[j] = 0.0f + g0 * b[0] + g1 * b[1] + g2 * b[2] + g3 * b[3];
					}
				}
			} else {
				for (long j = 0; j < wout; j++) {
					float s = 0.0f;
					for (long t = 0; t < k; t++) s += g[t] * buf[j * down + t];
					tr[j] = s;
				}
			}
		}
		for (long a = 0; a < hout; a++) {
			float *restrict yr = yp + a * wout;
			const float *r[4];
			float w[4];
			long nr = 0;
			for (long t = 0; t < k && nr < 4; t++) {
				long s = hsrc[a * k + t];
				if (s < 0) continue;
				r[nr] = tmp + s * wout;
				w[nr++] = g[t];
			}
			long more = 0;
			for (long t = 0; t < k; t++) more += hsrc[a * k + t] >= 0;
			switch (more > 4 ? 0 : nr) {
			case 1:
				for (long b = 0; b < wout; b++) yr[b] = 0.0f + w[0] * r[0][b];
				break;
			case 2:
				for (long b = 0; b < wout; b++) yr[b] = 0.0f + w[0] * r[0][b] + w[1] * r[1][b];
				break;
			case 3:
				for (long b = 0; b < wout; b++) yr[b] = 0.0f + w[0] * r[0][b] + w[1] * r[1][b] + w[2] * r[2][b];
				break;
			case 4:
				for (long b = 0; b < wout; b++)
					yr[b] = 0.0f + w[0] * r[0][b] + w[1] * r[1][b] + w[2] * r[2][b] + w[3] * r[3][b];
				break;
			default:
				for (long b = 0; b < wout; b++) yr[b] = 0.0f;
				for (long t = 0; t < k; t++) {
					long s = hsrc[a * k + t];
					if (s < 0) continue;
					const float wt = g[t];
					const float *restrict tr = tmp + s * wout;
					for (long b = 0; b < wout; b++) yr[b] += wt * tr[b];
				}
			}
		}
	}
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// firPlanes resamples planes [lo, hi) of x into y by s (anogo_fir); tmp
// holds s.hin·s.wout + firRowLen(s) values.
func firPlanes(x, y, tmp []float32, lo, hi int, s firSpec) {
	if lo >= hi {
		return
	}
	nt := s.hin * s.wout
	if unsafe.Sizeof(int(0)) != unsafe.Sizeof(C.long(0)) || len(s.hsrc) != s.hout*len(s.g) {
		panic("nn: firPlanes: the row taps do not match (or Go's int is not C's long)")
	}
	if lo < 0 || len(x) < hi*s.hin*s.win || len(y) < hi*s.hout*s.wout || len(tmp) < nt+firRowLen(s) {
		panic(fmt.Sprintf("nn: firPlanes: planes [%d, %d) of %dx%d -> %dx%d, %d, %d and %d values", lo, hi, s.hin, s.win, s.hout, s.wout, len(x), len(y), len(tmp)))
	}
	C.anogo_fir(fptr(x), fptr(y), fptr(tmp[:nt]), fptr(tmp[nt:]), C.long(lo), C.long(hi),
		C.long(s.hin), C.long(s.win), C.long(s.hout), C.long(s.wout),
		fptr(s.g), C.long(len(s.g)), C.long(s.up), C.long(s.down), C.long(s.p0), (*C.long)(unsafe.Pointer(&s.hsrc[0])))
}
