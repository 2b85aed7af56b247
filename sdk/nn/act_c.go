package nn

/*
#cgo CFLAGS: -O3

// Element-wise passes of BiasAct, BatchNorm and BatchNormAct over NCHW
// tensors seen as planes of hw values, plane p belonging to channel p % c.
// The Go loops they replace spent most of their time in mispredicted
// branches; these loops compile to vector compares and masks. Activations: 0 Identity, 1 ReLU, 2 LeakyReLU,
// 3 Tanh, 4 Sigmoid (only the derivatives of the last two are here: their
// forward stays in Go). Built for the baseline x86-64 (no FMA), the results are those of
// the Go expressions they stand for, bit for bit.

// gcc does not if-convert a floating-point operation that might trap (a
// select between t and t·alpha), and the branch it leaves instead is
// mispredicted half the time (the sign of a ReLU's input is random).
// Nothing here relies on floating-point traps; the results do not change.
#pragma GCC optimize ("no-trapping-math")

// anogo_affine_act sets y = act(a[ch]·x + b[ch]) over planes [lo, hi), for
// act 0 to 2; a == NULL means a = 1 (then y = act(x + b[ch]), exactly).
static void anogo_affine_act(const float *x, float *y, long lo, long hi, long c, long hw,
		const float *a, const float *b, int act, float alpha) {
	for (long p = lo; p < hi; p++) {
		long ch = p % c;
		float ac = a ? a[ch] : 1.0f, bc = b ? b[ch] : 0.0f;
		const float *restrict xs = x + p * hw;
		float *restrict ys = y + p * hw;
		switch (act) {
		case 1:
			for (long i = 0; i < hw; i++) {
				float t = ac * xs[i] + bc;
				ys[i] = t > 0 ? t : 0;
			}
			break;
		case 2:
			for (long i = 0; i < hw; i++) {
				float t = ac * xs[i] + bc;
				ys[i] = t <= 0 ? t * alpha : t;
			}
			break;
		default:
			for (long i = 0; i < hw; i++) ys[i] = ac * xs[i] + bc;
		}
	}
}

// The derivative loops: gx = a·act'(y)·g in the order of the Go code
// (a·g first, a·alpha for LeakyReLU's slope).
#define ANOGO_DACT(act, n, y, g, ac, al, out) do { \
	switch (act) { \
	case 1: for (long i = 0; i < n; i++) { float u = ac * g[i]; out[i] = y[i] > 0 ? u : 0.0f; } break; \
	case 2: for (long i = 0; i < n; i++) out[i] = y[i] > 0 ? ac * g[i] : al * g[i]; break; \
	case 3: for (long i = 0; i < n; i++) out[i] = ac * g[i] * (1 - y[i] * y[i]); break; \
	case 4: for (long i = 0; i < n; i++) out[i] = ac * g[i] * y[i] * (1 - y[i]); break; \
	default: for (long i = 0; i < n; i++) out[i] = ac * g[i]; \
	} } while (0)

// anogo_act_grad sets gx = a[ch]·act'(y)·g over planes [lo, hi) (a == NULL:
// a = 1, and then gx = act'(y)·g exactly).
static void anogo_act_grad(const float *y, const float *g, float *gx, long lo, long hi, long c,
		long hw, const float *a, int act, float alpha) {
	for (long p = lo; p < hi; p++) {
		float ac = a ? a[p % c] : 1.0f, al = ac * alpha;
		const float *restrict ys = y + p * hw, *restrict gs = g + p * hw;
		float *restrict out = gx + p * hw;
		ANOGO_DACT(act, hw, ys, gs, ac, al, out);
	}
}

// anogo_moments adds, for channels [c0, c1) of an [n, c, hw] tensor, Σx to
// s1[ch] and Σx² to s2[ch], in double.
static void anogo_moments(const float *x, long n, long c, long hw, long c0, long c1,
		double *s1, double *s2) {
	for (long ch = c0; ch < c1; ch++) {
		double a[4] = {0, 0, 0, 0}, q[4] = {0, 0, 0, 0};
		for (long k = 0; k < n; k++) {
			const float *xs = x + (k * c + ch) * hw;
			long i = 0;
			for (; i + 4 <= hw; i += 4) {
				for (int j = 0; j < 4; j++) {
					double u = xs[i + j];
					a[j] += u;
					q[j] += u * u;
				}
			}
			for (; i < hw; i++) {
				double u = xs[i];
				a[0] += u;
				q[0] += u * u;
			}
		}
		s1[ch] = (a[0] + a[1]) + (a[2] + a[3]);
		s2[ch] = (q[0] + q[1]) + (q[2] + q[3]);
	}
}

// anogo_bn_sums sets, for channels [c0, c1), r[ch] = Σ gp·x̂ and
// r[c + ch] = Σ gp, gp = act'(y)·g being the gradient at BatchNorm's
// output, x̂ = (x - mean)·inv; sums in double. tmp holds hw values.
static void anogo_bn_sums(const float *x, const float *y, const float *g, float *tmp, long n, long c,
		long hw, long c0, long c1, const float *mean, const float *inv, int act, float alpha, float *r) {
	for (long ch = c0; ch < c1; ch++) {
		double sg[4] = {0, 0, 0, 0}, sx[4] = {0, 0, 0, 0};
		for (long k = 0; k < n; k++) {
			long o = (k * c + ch) * hw;
			const float *xs = x + o, *gs = g + o;
			if (act != 0) {
				const float *ys = y + o;
				ANOGO_DACT(act, hw, ys, gs, 1.0f, alpha, tmp);
				gs = tmp;
			}
			long i = 0;
			for (; i + 4 <= hw; i += 4) {
				for (int j = 0; j < 4; j++) {
					double u = gs[i + j];
					sg[j] += u;
					sx[j] += u * (double)xs[i + j];
				}
			}
			for (; i < hw; i++) {
				double u = gs[i];
				sg[0] += u;
				sx[0] += u * (double)xs[i];
			}
		}
		double sgs = (sg[0] + sg[1]) + (sg[2] + sg[3]), sgx = (sx[0] + sx[1]) + (sx[2] + sx[3]);
		r[ch] = (float)((double)inv[ch] * (sgx - (double)mean[ch] * sgs));
		r[c + ch] = (float)sgs;
	}
}

// anogo_bn_gradx sets, over planes [lo, hi), the input gradient of
// train-mode BatchNorm followed by act: gx = a·(gp - b1 - (x - mean)·b2)
// with gp = act'(y)·g and per-channel a = gamma·inv, b1 = Σgp/M,
// b2 = Σ(gp·x̂)/M·inv. tmp holds hw values.
static void anogo_bn_gradx(const float *x, const float *y, const float *g, float *gx, float *tmp,
		long lo, long hi, long c, long hw, const float *mean, const float *a, const float *b1,
		const float *b2, int act, float alpha) {
	for (long p = lo; p < hi; p++) {
		long ch = p % c, o = p * hw;
		const float *restrict xs = x + o, *restrict gs = g + o;
		float *restrict out = gx + o;
		if (act != 0) {
			const float *ys = y + o;
			ANOGO_DACT(act, hw, ys, gs, 1.0f, alpha, tmp);
			gs = tmp;
		}
		float ac = a[ch], m = mean[ch], c1 = b1[ch], c2 = b2[ch];
		for (long i = 0; i < hw; i++) out[i] = ac * (gs[i] - c1 - (xs[i] - m) * c2);
	}
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

func fptr(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&s[0]))
}

// checkPlanes panics unless every slice in ss holds planes [lo, hi) of p.
func checkPlanes(what string, p planes, lo, hi int, ss ...[]float32) {
	if lo < 0 || hi > p.n*p.c || lo > hi {
		panic(fmt.Sprintf("nn: %s: planes [%d, %d) of %+v", what, lo, hi, p))
	}
	for _, s := range ss {
		if len(s) < hi*p.hw {
			panic(fmt.Sprintf("nn: %s: %d values, planes [%d, %d) of %+v need %d", what, len(s), lo, hi, p, hi*p.hw))
		}
	}
}

// checkChannels panics unless every slice in cs holds p.c values (nil is
// allowed).
func checkChannels(what string, p planes, cs ...[]float32) {
	for _, s := range cs {
		if s != nil && len(s) < p.c {
			panic(fmt.Sprintf("nn: %s: %d per-channel values for %d channels", what, len(s), p.c))
		}
	}
}

// affineAct sets y = act(a[c]·x + b[c]) over planes [lo, hi) of p, for
// Identity, ReLU and LeakyReLU; a nil a is all ones, a nil b all zeros.
func affineAct(p planes, lo, hi int, x, y, a, b []float32, act Act, alpha float32) {
	if lo >= hi {
		return
	}
	if act > LeakyReLU {
		panic(fmt.Sprintf("nn: affineAct: %v", act))
	}
	checkPlanes("affineAct", p, lo, hi, x, y)
	checkChannels("affineAct", p, a, b)
	C.anogo_affine_act(fptr(x), fptr(y), C.long(lo), C.long(hi), C.long(p.c), C.long(p.hw),
		fptr(a), fptr(b), C.int(act), C.float(alpha))
}

// actGrad sets gx = a[c]·act'(y)·g over planes [lo, hi) of p, act' read
// from the output y; a nil a is all ones.
func actGrad(p planes, lo, hi int, y, g, gx, a []float32, act Act, alpha float32) {
	if lo >= hi {
		return
	}
	checkPlanes("actGrad", p, lo, hi, y, g, gx)
	checkChannels("actGrad", p, a)
	C.anogo_act_grad(fptr(y), fptr(g), fptr(gx), C.long(lo), C.long(hi), C.long(p.c), C.long(p.hw),
		fptr(a), C.int(act), C.float(alpha))
}

// moments sets s1[c] = Σx and s2[c] = Σx² (in float64) for channels
// [c0, c1) of p.
func moments(p planes, c0, c1 int, x []float32, s1, s2 []float64) {
	if c0 >= c1 {
		return
	}
	checkPlanes("moments", p, 0, p.n*p.c, x)
	if len(s1) < p.c || len(s2) < p.c || c0 < 0 || c1 > p.c {
		panic(fmt.Sprintf("nn: moments: channels [%d, %d) of %+v", c0, c1, p))
	}
	C.anogo_moments(fptr(x), C.long(p.n), C.long(p.c), C.long(p.hw), C.long(c0), C.long(c1),
		(*C.double)(unsafe.Pointer(&s1[0])), (*C.double)(unsafe.Pointer(&s2[0])))
}

// bnSums sets r[c] = Σ gp·x̂ and r[C+c] = Σ gp for channels [c0, c1) of p,
// gp = act'(y)·g (y is not read for Identity), x̂ = (x - mean)·inv. tmp
// holds p.hw values.
func bnSums(p planes, c0, c1 int, x, y, g, tmp, mean, inv, r []float32, act Act, alpha float32) {
	if c0 >= c1 {
		return
	}
	checkPlanes("bnSums", p, 0, p.n*p.c, x, g)
	if act != Identity {
		checkPlanes("bnSums", p, 0, p.n*p.c, y)
	}
	checkChannels("bnSums", p, mean, inv)
	if len(r) < 2*p.c || len(tmp) < p.hw || c0 < 0 || c1 > p.c {
		panic(fmt.Sprintf("nn: bnSums: channels [%d, %d) of %+v", c0, c1, p))
	}
	C.anogo_bn_sums(fptr(x), fptr(y), fptr(g), fptr(tmp), C.long(p.n), C.long(p.c), C.long(p.hw),
		C.long(c0), C.long(c1), fptr(mean), fptr(inv), C.int(act), C.float(alpha), fptr(r))
}

// bnGradX sets gx = a·(gp - b1 - (x - mean)·b2) over planes [lo, hi) of p,
// gp = act'(y)·g, the per-channel values from the caller. tmp holds p.hw
// values.
func bnGradX(p planes, lo, hi int, x, y, g, gx, tmp, mean, a, b1, b2 []float32, act Act, alpha float32) {
	if lo >= hi {
		return
	}
	checkPlanes("bnGradX", p, lo, hi, x, g, gx)
	if act != Identity {
		checkPlanes("bnGradX", p, lo, hi, y)
	}
	checkChannels("bnGradX", p, mean, a, b1, b2)
	if len(tmp) < p.hw || mean == nil || a == nil || b1 == nil || b2 == nil {
		panic(fmt.Sprintf("nn: bnGradX: scratch or per-channel values missing for %+v", p))
	}
	C.anogo_bn_gradx(fptr(x), fptr(y), fptr(g), fptr(gx), fptr(tmp), C.long(lo), C.long(hi),
		C.long(p.c), C.long(p.hw), fptr(mean), fptr(a), fptr(b1), fptr(b2), C.int(act), C.float(alpha))
}
