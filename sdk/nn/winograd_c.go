package nn

/*
#cgo CFLAGS: -O3

// Winograd F(4×4, 3×3) transforms (Lavin & Gray 2016, "Fast algorithms for
// convolutional neural networks", Sec. 4.2, points 0, ±1, ±2, ∞) for
// stride-1, pad-1 3×3 correlations: a plain 3×3 convolution of stride 1 and
// padding 1, or the correlation that a stride-2 convolution becomes after
// space-to-depth (see winograd.go). A 6×6 input tile d and a 3×3 kernel g
// give the 4×4 output tile Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A.
//
// A plane is one channel of one sample: either a plain h'×w' plane or, with
// s2d set, the stride phase (p, q) of channel c of an H×W image: channel
// index 4c+2p+q, element (m, n) at x[c, 2m+p, 2n+q], present for
// 2m+p < H and 2n+q < W and zero beyond.

static inline void anogo_wino_plane(int ch, int s2d, int H, int W, int hh, int ww,
		long *off, int *rs, int *cs, int *vr, int *vc) {
	if (s2d) {
		int c = ch >> 2, p = (ch >> 1) & 1, q = ch & 1;
		*off = (long)c * H * W + (long)p * W + q;
		*rs = 2 * W;
		*cs = 2;
		*vr = (H - p + 1) / 2;
		*vc = (W - q + 1) / 2;
	} else {
		*off = (long)ch * hh * ww;
		*rs = ww;
		*cs = 1;
		*vr = hh;
		*vc = ww;
	}
}

// t = Bᵀ d for a column of 6 values d[0], d[st], ...
#define ANOGO_BT(d0, d1, d2, d3, d4, d5, t0, t1, t2, t3, t4, t5) do { \
	t0 = 4.0f * d0 - 5.0f * d2 + d4; \
	t1 = -4.0f * d1 - 4.0f * d2 + d3 + d4; \
	t2 = 4.0f * d1 - 4.0f * d2 - d3 + d4; \
	t3 = -2.0f * d1 - d2 + 2.0f * d3 + d4; \
	t4 = 2.0f * d1 - d2 - 2.0f * d3 + d4; \
	t5 = 4.0f * d1 - 5.0f * d3 + d5; \
} while (0)

// The transforms work on groups of 8 consecutive tile columns (lanes), so
// that the arithmetic and the stores to V (or loads from M) are 8-wide
// vector operations; the tiles' pixels are gathered into (or scattered
// from) a local [36][8] block one lane at a time. Each is compiled twice,
// for the baseline x86-64 and for AVX2 (no FMA, so both give the same
// floats), and picked at run time.
typedef float anogo_v8 __attribute__((vector_size(32)));
typedef float anogo_v8u __attribute__((vector_size(32), aligned(4)));

// The tile in column col of a chunk: sample s, tile row ti, tile column tj.
#define ANOGO_TILE(col, tpi, tw, s, ti, tj) do { \
	s = (col) / (tpi); int tt_ = (col) % (tpi); ti = tt_ / (tw); tj = tt_ % (tw); \
} while (0)

// ANOGO_NEXT steps (s, ti, tj) to the next column's tile.
#define ANOGO_NEXT(s, ti, tj, th, tw) \
	(++tj == (tw) ? (tj = 0, ++ti == (th) ? (ti = 0, s++) : 0) : 0)

// anogo_wino_in transforms the tiles of channels [c0, c1) of nb samples
// (sample stride sstride) into V: value ξ = 6i+j of the tile in column col
// of channel ch goes to V[ξ·xs + ch·ldv + col], col = s·th·tw + ti·tw + tj.
static inline __attribute__((always_inline)) void anogo_wino_in_body(const float *x, long sstride, int nb, int c0, int c1,
		int s2d, int H, int W, int hh, int ww, float *V, long ldv, long xs) {
	int th = (hh + 3) / 4, tw = (ww + 3) / 4, tpi = th * tw, T = nb * tpi;
	for (int ch = c0; ch < c1; ch++) {
		long off;
		int rs, cs, vr, vc;
		anogo_wino_plane(ch, s2d, H, W, hh, ww, &off, &rs, &cs, &vr, &vc);
		float *vrow = V + (long)ch * ldv;
		for (int col0 = 0; col0 < T; col0 += 8) {
			int nl = T - col0 < 8 ? T - col0 : 8;
			anogo_v8 d[36];
			float *df = (float *)d;
			int s, ti, tj;
			ANOGO_TILE(col0, tpi, tw, s, ti, tj);
			for (int l = 0; l < nl; l++, ANOGO_NEXT(s, ti, tj, th, tw)) {
				const float *pl = x + s * sstride + off;
				int r0 = 4 * ti - 1, q0 = 4 * tj - 1;
				if (r0 >= 0 && q0 >= 0 && r0 + 6 <= vr && q0 + 6 <= vc) {
					for (int r = 0; r < 6; r++) {
						const float *src = pl + (long)(r0 + r) * rs + (long)q0 * cs;
						for (int c = 0; c < 6; c++) df[(6 * r + c) * 8 + l] = src[c * cs];
					}
				} else {
					for (int r = 0; r < 6; r++) {
						int y = r0 + r;
						for (int c = 0; c < 6; c++) {
							int xx = q0 + c;
							df[(6 * r + c) * 8 + l] = (y >= 0 && y < vr && xx >= 0 && xx < vc) ? pl[(long)y * rs + (long)xx * cs] : 0.0f;
						}
					}
				}
			}
			for (int l = nl; l < 8; l++) {
				for (int e = 0; e < 36; e++) df[e * 8 + l] = 0.0f;
			}
			anogo_v8 t[36];
			for (int c = 0; c < 6; c++) {
				ANOGO_BT(d[c], d[6 + c], d[12 + c], d[18 + c], d[24 + c], d[30 + c],
					t[c], t[6 + c], t[12 + c], t[18 + c], t[24 + c], t[30 + c]);
			}
			float *dst = vrow + col0;
			for (int i = 0; i < 6; i++) {
				anogo_v8 u[6];
				ANOGO_BT(t[6 * i], t[6 * i + 1], t[6 * i + 2], t[6 * i + 3], t[6 * i + 4], t[6 * i + 5],
					u[0], u[1], u[2], u[3], u[4], u[5]);
				for (int j = 0; j < 6; j++) {
					float *di = dst + (long)(6 * i + j) * xs;
					if (nl == 8) {
						*(anogo_v8u *)di = u[j];
					} else {
						for (int l = 0; l < nl; l++) di[l] = u[j][l];
					}
				}
			}
		}
	}
}

// o = Aᵀ m for 6 values.
#define ANOGO_AT(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3) do { \
	o0 = m0 + m1 + m2 + m3 + m4; \
	o1 = m1 - m2 + 2.0f * m3 - 2.0f * m4; \
	o2 = m1 + m2 + 4.0f * m3 + 4.0f * m4; \
	o3 = m1 - m2 + 8.0f * m3 - 8.0f * m4 + m5; \
} while (0)

// anogo_wino_out is the inverse of anogo_wino_in for the products M (laid
// out like V, ldm values per channel) and the 4×4 output tiles: it writes
// the output channels [c0, c1) of nb samples into y, only where the plane
// has values.
static inline __attribute__((always_inline)) void anogo_wino_out_body(const float *M, long ldm, long xs, int nb, int c0, int c1,
		int s2d, int H, int W, int hh, int ww, float *y, long sstride) {
	int th = (hh + 3) / 4, tw = (ww + 3) / 4, tpi = th * tw, T = nb * tpi;
	for (int ch = c0; ch < c1; ch++) {
		long off;
		int rs, cs, vr, vc;
		anogo_wino_plane(ch, s2d, H, W, hh, ww, &off, &rs, &cs, &vr, &vc);
		const float *mrow = M + (long)ch * ldm;
		for (int col0 = 0; col0 < T; col0 += 8) {
			int nl = T - col0 < 8 ? T - col0 : 8;
			anogo_v8 m[36];
			for (int e = 0; e < 36; e++) {
				const float *src = mrow + (long)e * xs + col0;
				if (nl == 8) {
					m[e] = *(const anogo_v8u *)src;
				} else {
					for (int l = 0; l < 8; l++) m[e][l] = l < nl ? src[l] : 0.0f;
				}
			}
			anogo_v8 t[24], o[16];
			for (int j = 0; j < 6; j++) {
				ANOGO_AT(m[j], m[6 + j], m[12 + j], m[18 + j], m[24 + j], m[30 + j], t[j], t[6 + j], t[12 + j], t[18 + j]);
			}
			for (int i = 0; i < 4; i++) {
				ANOGO_AT(t[6 * i], t[6 * i + 1], t[6 * i + 2], t[6 * i + 3], t[6 * i + 4], t[6 * i + 5],
					o[4 * i], o[4 * i + 1], o[4 * i + 2], o[4 * i + 3]);
			}
			const float *of = (const float *)o;
			int s, ti, tj;
			ANOGO_TILE(col0, tpi, tw, s, ti, tj);
			for (int l = 0; l < nl; l++, ANOGO_NEXT(s, ti, tj, th, tw)) {
				float *pl = y + s * sstride + off;
				int r0 = 4 * ti, q0 = 4 * tj;
				int nr = vr - r0 < 4 ? vr - r0 : 4, nc = vc - q0 < 4 ? vc - q0 : 4;
				if (cs == 1 && nc == 4) {
					for (int r = 0; r < nr; r++) {
						float *dst = pl + (long)(r0 + r) * rs + q0;
						for (int c = 0; c < 4; c++) dst[c] = of[(4 * r + c) * 8 + l];
					}
				} else {
					for (int r = 0; r < nr; r++) {
						float *dst = pl + (long)(r0 + r) * rs + (long)q0 * cs;
						for (int c = 0; c < nc; c++) dst[c * cs] = of[(4 * r + c) * 8 + l];
					}
				}
			}
		}
	}
}

#define ANOGO_IN_ARGS const float *x, long sstride, int nb, int c0, int c1, int s2d, int H, int W, int hh, int ww, \
	float *V, long ldv, long xs
#define ANOGO_OUT_ARGS const float *M, long ldm, long xs, int nb, int c0, int c1, int s2d, int H, int W, int hh, int ww, \
	float *y, long sstride

__attribute__((target("avx2"))) static void anogo_wino_in_avx2(ANOGO_IN_ARGS) {
	anogo_wino_in_body(x, sstride, nb, c0, c1, s2d, H, W, hh, ww, V, ldv, xs);
}
static void anogo_wino_in_base(ANOGO_IN_ARGS) {
	anogo_wino_in_body(x, sstride, nb, c0, c1, s2d, H, W, hh, ww, V, ldv, xs);
}
__attribute__((target("avx2"))) static void anogo_wino_out_avx2(ANOGO_OUT_ARGS) {
	anogo_wino_out_body(M, ldm, xs, nb, c0, c1, s2d, H, W, hh, ww, y, sstride);
}
static void anogo_wino_out_base(ANOGO_OUT_ARGS) {
	anogo_wino_out_body(M, ldm, xs, nb, c0, c1, s2d, H, W, hh, ww, y, sstride);
}

// anogo_wino_avx2 says whether the AVX2 versions run here (0 turns them off).
static int anogo_wino_avx2 = -1;

static void anogo_wino_in(ANOGO_IN_ARGS) {
	if (anogo_wino_avx2 < 0) anogo_wino_avx2 = __builtin_cpu_supports("avx2");
	if (anogo_wino_avx2) anogo_wino_in_avx2(x, sstride, nb, c0, c1, s2d, H, W, hh, ww, V, ldv, xs);
	else anogo_wino_in_base(x, sstride, nb, c0, c1, s2d, H, W, hh, ww, V, ldv, xs);
}

static void anogo_wino_out(ANOGO_OUT_ARGS) {
	if (anogo_wino_avx2 < 0) anogo_wino_avx2 = __builtin_cpu_supports("avx2");
	if (anogo_wino_avx2) anogo_wino_out_avx2(M, ldm, xs, nb, c0, c1, s2d, H, W, hh, ww, y, sstride);
	else anogo_wino_out_base(M, ldm, xs, nb, c0, c1, s2d, H, W, hh, ww, y, sstride);
}

static void anogo_wino_set_avx2(int on) {
	anogo_wino_avx2 = on ? __builtin_cpu_supports("avx2") : 0;
}

// anogo_wino_weights builds the 3×3 kernels of the correlation of w
// [co, c, k, k] with padding pad and stores their transforms G g Gᵀ as 36
// matrices of rows × cols. With s2d set, w is a stride-2 convolution and the
// kernels are those of its space-to-depth form, cin = 4c of them per output
// channel (see winograd.go); otherwise w is a stride-1 3×3 convolution with
// padding 1, whose kernels are w's own, cin = c. Forward: rows o < co, cols
// cc < cin, kernel (o, cc); transposed (the data gradient): rows cc, cols o,
// the kernel turned by 180°. It does rows [r0, r1), 8 columns at a time.
#define ANOGO_G(g0, g1, g2, r0, r1, r2, r3, r4, r5) do { \
	r0 = g0 / 4.0f; \
	r1 = -(g0 + g1 + g2) / 6.0f; \
	r2 = -(g0 - g1 + g2) / 6.0f; \
	r3 = g0 / 24.0f + g1 / 12.0f + g2 / 6.0f; \
	r4 = g0 / 24.0f - g1 / 12.0f + g2 / 6.0f; \
	r5 = g2; \
} while (0)

static inline __attribute__((always_inline)) void anogo_wino_weights_body(const float *w, int co, int c, int k, int pad,
		int s2d, int transposed, float *U, int r0, int r1) {
	long cc4 = s2d ? 4L * c : (long)c, plane = (long)co * cc4;
	int cols = transposed ? co : (int)cc4;
	for (int r = r0; r < r1; r++) {
		for (int q0 = 0; q0 < cols; q0 += 8) {
			int nl = cols - q0 < 8 ? cols - q0 : 8;
			anogo_v8 g[9];
			float *gf = (float *)g;
			for (int l = 0; l < 8; l++) {
				int o, cc;
				if (l >= nl) {
					for (int e = 0; e < 9; e++) gf[e * 8 + l] = 0.0f;
					continue;
				}
				if (transposed) { cc = r; o = q0 + l; } else { o = r; cc = q0 + l; }
				int ci = cc, p = 0, q = 0;
				if (s2d) { ci = cc >> 2; p = (cc >> 1) & 1; q = cc & 1; }
				for (int a = 0; a < 3; a++) {
					for (int b = 0; b < 3; b++) {
						int u = s2d ? 2 * (a - 1) + p + pad : a, v = s2d ? 2 * (b - 1) + q + pad : b;
						float val = (u >= 0 && u < k && v >= 0 && v < k) ? w[(((long)o * c + ci) * k + u) * k + v] : 0.0f;
						int e = transposed ? (2 - a) * 3 + (2 - b) : a * 3 + b;
						gf[e * 8 + l] = val;
					}
				}
			}
			anogo_v8 t[18];
			for (int b = 0; b < 3; b++) {
				ANOGO_G(g[b], g[3 + b], g[6 + b], t[b], t[3 + b], t[6 + b], t[9 + b], t[12 + b], t[15 + b]);
			}
			float *dst = U + (long)r * cols + q0;
			for (int i = 0; i < 6; i++) {
				anogo_v8 u[6];
				ANOGO_G(t[3 * i], t[3 * i + 1], t[3 * i + 2], u[0], u[1], u[2], u[3], u[4], u[5]);
				for (int j = 0; j < 6; j++) {
					float *di = dst + (6 * i + j) * plane;
					if (nl == 8) {
						*(anogo_v8u *)di = u[j];
					} else {
						for (int l = 0; l < nl; l++) di[l] = u[j][l];
					}
				}
			}
		}
	}
}

#define ANOGO_W_ARGS const float *w, int co, int c, int k, int pad, int s2d, int transposed, float *U, int r0, int r1

__attribute__((target("avx2"))) static void anogo_wino_weights_avx2(ANOGO_W_ARGS) {
	anogo_wino_weights_body(w, co, c, k, pad, s2d, transposed, U, r0, r1);
}
static void anogo_wino_weights_base(ANOGO_W_ARGS) {
	anogo_wino_weights_body(w, co, c, k, pad, s2d, transposed, U, r0, r1);
}
static void anogo_wino_weights(ANOGO_W_ARGS) {
	if (anogo_wino_avx2) anogo_wino_weights_avx2(w, co, c, k, pad, s2d, transposed, U, r0, r1);
	else anogo_wino_weights_base(w, co, c, k, pad, s2d, transposed, U, r0, r1);
}
// Weight gradient. With Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A per tile, the
// gradient of a kernel g is Σ over tiles of Gᵀ[(A dY Aᵀ) ⊙ (Bᵀ d B)]G: the
// input tiles are transformed as for the forward pass (anogo_wino_in), the
// 4×4 output-gradient tiles by A·Aᵀ (anogo_wino_gout), the 36 products are
// summed over the tiles by sgemm, and Gᵀ·G takes each 6×6 sum back to a 3×3
// kernel, whose taps go back to w (anogo_wino_wgrad).

// f = A e: 6 values from 4.
#define ANOGO_A(e0, e1, e2, e3, f0, f1, f2, f3, f4, f5) do { \
	f0 = e0; \
	f1 = e0 + e1 + e2 + e3; \
	f2 = e0 - e1 + e2 - e3; \
	f3 = e0 + 2.0f * e1 + 4.0f * e2 + 8.0f * e3; \
	f4 = e0 - 2.0f * e1 + 4.0f * e2 - 8.0f * e3; \
	f5 = e3; \
} while (0)

// h = Gᵀ m: 3 values from 6.
#define ANOGO_GT(m0, m1, m2, m3, m4, m5, h0, h1, h2) do { \
	h0 = m0 / 4.0f - m1 / 6.0f - m2 / 6.0f + m3 / 24.0f + m4 / 24.0f; \
	h1 = -m1 / 6.0f + m2 / 6.0f + m3 / 12.0f - m4 / 12.0f; \
	h2 = -m1 / 6.0f - m2 / 6.0f + m3 / 6.0f + m4 / 6.0f + m5; \
} while (0)

// anogo_wino_gout transforms the 4×4 tiles of the plain hh×ww planes
// [c0, c1) of nb samples of gy (zero past the plane's edge) by A·Aᵀ into
// G, laid out like V in anogo_wino_in.
static inline __attribute__((always_inline)) void anogo_wino_gout_body(const float *gy, long sstride, int nb, int c0, int c1,
		int hh, int ww, float *G, long ldg, long xs) {
	int th = (hh + 3) / 4, tw = (ww + 3) / 4, tpi = th * tw, T = nb * tpi;
	long plane = (long)hh * ww;
	for (int ch = c0; ch < c1; ch++) {
		float *grow = G + (long)ch * ldg;
		for (int col0 = 0; col0 < T; col0 += 8) {
			int nl = T - col0 < 8 ? T - col0 : 8;
			anogo_v8 d[16];
			float *df = (float *)d;
			int s, ti, tj;
			ANOGO_TILE(col0, tpi, tw, s, ti, tj);
			for (int l = 0; l < 8; l++, ANOGO_NEXT(s, ti, tj, th, tw)) {
				if (l >= nl) {
					for (int e = 0; e < 16; e++) df[e * 8 + l] = 0.0f;
					continue;
				}
				const float *pl = gy + s * sstride + (long)ch * plane;
				int r0 = 4 * ti, q0 = 4 * tj;
				if (r0 + 4 <= hh && q0 + 4 <= ww) {
					for (int r = 0; r < 4; r++) {
						const float *src = pl + (long)(r0 + r) * ww + q0;
						for (int c = 0; c < 4; c++) df[(4 * r + c) * 8 + l] = src[c];
					}
					continue;
				}
				for (int r = 0; r < 4; r++) {
					for (int c = 0; c < 4; c++) {
						int y = r0 + r, x = q0 + c;
						df[(4 * r + c) * 8 + l] = (y < hh && x < ww) ? pl[(long)y * ww + x] : 0.0f;
					}
				}
			}
			anogo_v8 t[24];
			for (int c = 0; c < 4; c++) {
				ANOGO_A(d[c], d[4 + c], d[8 + c], d[12 + c], t[c], t[4 + c], t[8 + c], t[12 + c], t[16 + c], t[20 + c]);
			}
			float *dst = grow + col0;
			for (int i = 0; i < 6; i++) {
				anogo_v8 u[6];
				ANOGO_A(t[4 * i], t[4 * i + 1], t[4 * i + 2], t[4 * i + 3], u[0], u[1], u[2], u[3], u[4], u[5]);
				for (int j = 0; j < 6; j++) {
					float *di = dst + (long)(6 * i + j) * xs;
					if (nl == 8) {
						*(anogo_v8u *)di = u[j];
					} else {
						for (int l = 0; l < nl; l++) di[l] = u[j][l];
					}
				}
			}
		}
	}
}

// anogo_wino_wgrad takes the summed products Mg (36 matrices co × cin,
// rows [r0, r1)) back through Gᵀ·G to 3×3 kernels and writes their
// existing taps into gw [co, c, k, k] (every tap of w is one tap of exactly
// one kernel, see anogo_wino_weights; without s2d the kernels are w's).
static inline __attribute__((always_inline)) void anogo_wino_wgrad_body(const float *Mg, int co, int c, int k, int pad,
		int s2d, float *gw, int r0, int r1) {
	long cc4 = s2d ? 4L * c : (long)c, plane = (long)co * cc4;
	for (int o = r0; o < r1; o++) {
		for (int q0 = 0; q0 < cc4; q0 += 8) {
			int nl = cc4 - q0 < 8 ? (int)(cc4 - q0) : 8;
			anogo_v8 m[36];
			const float *src = Mg + (long)o * cc4 + q0;
			for (int e = 0; e < 36; e++) {
				const float *se = src + e * plane;
				if (nl == 8) {
					m[e] = *(const anogo_v8u *)se;
				} else {
					for (int l = 0; l < 8; l++) m[e][l] = l < nl ? se[l] : 0.0f;
				}
			}
			anogo_v8 t[18], h[9];
			for (int j = 0; j < 6; j++) {
				ANOGO_GT(m[j], m[6 + j], m[12 + j], m[18 + j], m[24 + j], m[30 + j], t[j], t[6 + j], t[12 + j]);
			}
			for (int a = 0; a < 3; a++) {
				ANOGO_GT(t[6 * a], t[6 * a + 1], t[6 * a + 2], t[6 * a + 3], t[6 * a + 4], t[6 * a + 5],
					h[3 * a], h[3 * a + 1], h[3 * a + 2]);
			}
			const float *hf = (const float *)h;
			if (!s2d) {
				for (int l = 0; l < nl; l++) {
					float *dst = gw + ((long)o * c + q0 + l) * 9;
					for (int e = 0; e < 9; e++) dst[e] = hf[e * 8 + l];
				}
				continue;
			}
			for (int l = 0; l < nl; l++) {
				int cc = q0 + l, ci = cc >> 2, p = (cc >> 1) & 1, q = cc & 1;
				for (int a = 0; a < 3; a++) {
					for (int b = 0; b < 3; b++) {
						int u = 2 * (a - 1) + p + pad, v = 2 * (b - 1) + q + pad;
						if (u >= 0 && u < k && v >= 0 && v < k) {
							gw[(((long)o * c + ci) * k + u) * k + v] = hf[(3 * a + b) * 8 + l];
						}
					}
				}
			}
		}
	}
}

#define ANOGO_GOUT_ARGS const float *gy, long sstride, int nb, int c0, int c1, int hh, int ww, float *G, long ldg, long xs
#define ANOGO_WGRAD_ARGS const float *Mg, int co, int c, int k, int pad, int s2d, float *gw, int r0, int r1

__attribute__((target("avx2"))) static void anogo_wino_gout_avx2(ANOGO_GOUT_ARGS) {
	anogo_wino_gout_body(gy, sstride, nb, c0, c1, hh, ww, G, ldg, xs);
}
static void anogo_wino_gout_base(ANOGO_GOUT_ARGS) {
	anogo_wino_gout_body(gy, sstride, nb, c0, c1, hh, ww, G, ldg, xs);
}
static void anogo_wino_gout(ANOGO_GOUT_ARGS) {
	if (anogo_wino_avx2) anogo_wino_gout_avx2(gy, sstride, nb, c0, c1, hh, ww, G, ldg, xs);
	else anogo_wino_gout_base(gy, sstride, nb, c0, c1, hh, ww, G, ldg, xs);
}

__attribute__((target("avx2"))) static void anogo_wino_wgrad_avx2(ANOGO_WGRAD_ARGS) {
	anogo_wino_wgrad_body(Mg, co, c, k, pad, s2d, gw, r0, r1);
}
static void anogo_wino_wgrad_base(ANOGO_WGRAD_ARGS) {
	anogo_wino_wgrad_body(Mg, co, c, k, pad, s2d, gw, r0, r1);
}
static void anogo_wino_wgrad(ANOGO_WGRAD_ARGS) {
	if (anogo_wino_avx2) anogo_wino_wgrad_avx2(Mg, co, c, k, pad, s2d, gw, r0, r1);
	else anogo_wino_wgrad_base(Mg, co, c, k, pad, s2d, gw, r0, r1);
}
*/
import "C"

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func init() { winoSetAVX2(true) }

// winoSetAVX2 picks the AVX2 transforms where the processor has them (on)
// or the baseline ones.
func winoSetAVX2(on bool) { C.anogo_wino_set_avx2(cbool(on)) }

// winoIn, winoOut and winoWeights call the C transforms above.
func winoIn(p *winoPlanes, x []float32, nb, c0, c1 int, v []float32, ldv, xs int) {
	C.anogo_wino_in(fptr(x), C.long(p.size), C.int(nb), C.int(c0), C.int(c1), cbool(p.s2d), C.int(p.h), C.int(p.w),
		C.int(p.hh), C.int(p.ww), fptr(v), C.long(ldv), C.long(xs))
}

func winoOut(p *winoPlanes, m []float32, ldm, xs, nb, c0, c1 int, y []float32) {
	C.anogo_wino_out(fptr(m), C.long(ldm), C.long(xs), C.int(nb), C.int(c0), C.int(c1), cbool(p.s2d), C.int(p.h), C.int(p.w),
		C.int(p.hh), C.int(p.ww), fptr(y), C.long(p.size))
}

// winoWeights transforms w's kernels for g into u (36 matrices), the
// workers splitting the rows.
func winoWeights(g *geom, w []float32, transposed bool, u []float32) {
	rows := g.co
	if transposed {
		rows = winoCin(g)
	}
	parallelRange(rows, 1, func(r0, r1 int) {
		C.anogo_wino_weights(fptr(w), C.int(g.co), C.int(g.c), C.int(g.k), C.int(g.p), cbool(g.s == 2), cbool(transposed),
			fptr(u), C.int(r0), C.int(r1))
	})
}

// winoGout and winoWgrad call the weight-gradient transforms above.
func winoGout(p *winoPlanes, gy []float32, nb, c0, c1 int, g []float32, ldg, xs int) {
	C.anogo_wino_gout(fptr(gy), C.long(p.size), C.int(nb), C.int(c0), C.int(c1), C.int(p.hh), C.int(p.ww),
		fptr(g), C.long(ldg), C.long(xs))
}

func winoWgrad(g *geom, mg, gw []float32, r0, r1 int) {
	C.anogo_wino_wgrad(fptr(mg), C.int(g.co), C.int(g.c), C.int(g.k), C.int(g.p), cbool(g.s == 2), fptr(gw), C.int(r0), C.int(r1))
}
