package nn

import (
	"bytes"
	"fmt"
	"sync"
	"unsafe"

	"github.com/anogo/anogo/sdk/blas"
)

// Winograd form of the DCGAN's stride-2 convolutions.
//
// Space to depth: split the input x [c, H, W] into its four stride phases,
// X[4c'+2p+q][m, n] = x[c', 2m+p, 2n+q]. A kernel tap u of a stride-2
// convolution with padding pad reads input row 2i+u-pad = 2(i+a)+p with
// u-pad = 2a+p, so when every tap has a in {-1, 0, 1} (k = 5, pad = 2, the
// DCGAN of AnoGAN Sec. 2.1; also k = 4, pad = 1) and the output has
// ceil(H/2) rows, the convolution is a stride-1, pad-1 3×3 correlation of X
// with 4c input channels, whose kernel W'[o, 4c'+2p+q][a+1, b+1] =
// w[o, c', 2a+p+pad, 2b+q+pad] is zero where that tap does not exist
// (25 of its 36 taps are w's for k = 5). Its data gradient (the forward
// pass of the generator's transposed convolutions) is the same kind of
// correlation of the output gradient with W' turned by 180°, from co to 4c
// channels, written back through the phases; its weight gradient is that of W',
// read back into the taps of w that exist.
//
// A stride-1 3×3 correlation is what Winograd's minimal filtering
// algorithm F(4×4, 3×3) computes with 36 multiplications per 4×4 output
// tile and input channel instead of 144 (Lavin & Gray 2016, Sec. 4): per
// tile point ξ of the 6×6 transformed tiles, one matrix product of the
// transformed kernels U[ξ] (cout × cin) and the transformed input tiles
// V[ξ] (cin × tiles). Against the direct convolution's 25 taps per input
// channel, the matrix products do 9·4/25 = 0.36 of the multiply-adds. The
// transforms are in winograd_c.go; the transformed kernels are cached
// (winoCache) while the weights stay the same, as they do while mapping.

// winogradMinC is the least number of channels (c and co, conv sense) for
// the Winograd path; a variable so that tests can turn the path off.
var winogradMinC = 16

// useWinograd says whether the forward and data kernels of g take the
// Winograd path.
func useWinograd(g *geom) bool {
	if g.s != 2 || g.c < winogradMinC || g.co < winogradMinC {
		return false
	}
	// Every tap u must fall in a = floor((u-p)/2) in {-1, 0, 1}.
	if g.p < 1 || g.p > 2 || g.k-1-g.p < 2 || g.k-1-g.p > 3 {
		return false
	}
	return g.ho == (g.h+1)/2 && g.wo == (g.w+1)/2
}

// winoPlanes describes one side of the 3×3 correlation: planes of hh×ww
// values, size values per sample, either plain or (s2d) the stride phases
// of h×w images.
type winoPlanes struct {
	s2d          bool
	h, w, hh, ww int
	size         int
}

// tiles is the number of 4×4 output tiles per plane.
func (p *winoPlanes) tiles() int { return ((p.hh + 3) / 4) * ((p.ww + 3) / 4) }

// winoMaxFloats bounds the transformed inputs and products of one chunk of
// samples (V and M together, 64 MB); a variable so that tests can shrink it.
var winoMaxFloats = 16 << 20

// winoSides returns the two sides of g's 3×3 correlation: the stride
// phases of the conv-sense input (4c planes) and the plain planes of its
// output (co planes), both ho×wo.
func winoSides(g *geom) (phases, plain winoPlanes) {
	return winoPlanes{s2d: true, h: g.h, w: g.w, hh: g.ho, ww: g.wo, size: g.inSize()},
		winoPlanes{hh: g.ho, ww: g.wo, size: g.outSize()}
}

// winoForward is convForward through the Winograd form.
func winoForward(g *geom, x, w, y []float32) {
	phases, plain := winoSides(g)
	e := winoCache.lookup(g, w, false)
	defer e.mu.Unlock()
	winoRun(g.n, &phases, 4*g.c, x, &plain, g.co, y, e.u)
}

// winoData is convBackwardData through the Winograd form.
func winoData(g *geom, gy, w, gx []float32) {
	phases, plain := winoSides(g)
	e := winoCache.lookup(g, w, true)
	defer e.mu.Unlock()
	winoRun(g.n, &plain, g.co, gy, &phases, 4*g.c, gx, e.u)
}

// winoRun computes the 3×3 correlation of n samples of cin planes in x
// with the transformed kernels u (36 × cout × cin) into cout planes of y, a
// chunk of samples at a time: transform the input tiles (workers split the
// channels), 36 matrix products (workers split the tile points), transform
// the products back (workers split the output channels).
func winoRun(n int, in *winoPlanes, cin int, x []float32, out *winoPlanes, cout int, y, u []float32) {
	if len(x) < n*in.size || len(y) < n*out.size || len(u) < 36*cout*cin {
		panic(fmt.Sprintf("nn: winograd: %d, %d, %d values too few for %d samples of %+v → %+v", len(x), len(y), len(u), n, *in, *out))
	}
	tpi := in.tiles()
	per := 36 * (cin + cout) * tpi
	b := max(1, min(n, winoMaxFloats/per))
	for n0 := 0; n0 < n; n0 += b {
		nb := min(b, n-n0)
		t := nb * tpi
		v, m := scratch.get(36*cin*t), scratch.get(36*cout*t)
		xs := x[n0*in.size:]
		parallelRange(cin, 1, func(c0, c1 int) {
			winoIn(in, xs, nb, c0, c1, v, t, cin*t)
		})
		parallel(36, func(_, xi int) {
			blas.Sgemm(false, false, cout, t, cin, 1, u[xi*cout*cin:], cin, v[xi*cin*t:], t, 0, m[xi*cout*t:], t)
		})
		ys := y[n0*out.size:]
		parallelRange(cout, 1, func(c0, c1 int) {
			winoOut(out, m, t, cout*t, nb, c0, c1, ys)
		})
		scratch.put(v)
		scratch.put(m)
	}
}

// winoFilter is convBackwardFilter through the Winograd form: the gradient
// of a kernel g of the 3×3 correlation is the sum over tiles of
// Gᵀ[(A dY Aᵀ) ⊙ (Bᵀ d B)]G, that is 36 products of the transformed
// output-gradient tiles (co × tiles) and the transformed input tiles
// (tiles × 4c) summed over all chunks of samples, then each 6×6 sum taken
// back to a 3×3 kernel whose existing taps are w's gradient.
func winoFilter(g *geom, x, gy, gw []float32) {
	in, out := winoSides(g)
	cin, cout := 4*g.c, g.co
	if len(x) < g.n*in.size || len(gy) < g.n*out.size || len(gw) < g.co*g.rows() {
		panic(fmt.Sprintf("nn: winograd filter: %d, %d, %d values too few for %+v", len(x), len(gy), len(gw), *g))
	}
	tpi := in.tiles()
	b := max(1, min(g.n, winoMaxFloats/(36*(cin+cout)*tpi)))
	mg := scratch.get(36 * cout * cin)
	defer scratch.put(mg)
	for n0 := 0; n0 < g.n; n0 += b {
		nb := min(b, g.n-n0)
		t := nb * tpi
		v, gt := scratch.get(36*cin*t), scratch.get(36*cout*t)
		xs, gys := x[n0*in.size:], gy[n0*out.size:]
		parallelRange(cin, 1, func(c0, c1 int) {
			winoIn(&in, xs, nb, c0, c1, v, t, cin*t)
		})
		parallelRange(cout, 1, func(c0, c1 int) {
			winoGout(&out, gys, nb, c0, c1, gt, t, cout*t)
		})
		beta := float32(1)
		if n0 == 0 {
			beta = 0
		}
		parallel(36, func(_, xi int) {
			blas.Sgemm(false, true, cout, cin, t, 1, gt[xi*cout*t:], t, v[xi*cin*t:], t, beta, mg[xi*cout*cin:], cin)
		})
		scratch.put(v)
		scratch.put(gt)
	}
	parallelRange(cout, 1, func(r0, r1 int) {
		winoWgrad(g, mg, gw, r0, r1)
	})
}

// winoCache keeps the transformed kernels of recently used weights, with a
// copy of the weights they were made from: a lookup compares the weights
// with that copy and transforms them again if they changed (an optimizer
// step), so the cache never serves stale kernels. It holds at most
// winoCacheMaxFloats values and drops the least recently used entries
// beyond that.
var winoCache = winoKernels{m: map[winoKey]*winoEntry{}}

// winoCacheMaxFloats bounds winoCache (1 GiB); a variable so that tests can
// shrink it.
var winoCacheMaxFloats = 256 << 20

type winoKey struct {
	w           unsafe.Pointer
	n           int
	k, p, c, co int
	transposed  bool
}

type winoEntry struct {
	mu   sync.Mutex
	w, u []float32
	used uint64
}

type winoKernels struct {
	mu     sync.Mutex
	m      map[winoKey]*winoEntry
	floats int
	clock  uint64
}

// lookup returns the entry of the transformed kernels of w for g, up to
// date and locked; the caller unlocks it when done with e.u.
func (c *winoKernels) lookup(g *geom, w []float32, transposed bool) *winoEntry {
	if len(w) < g.co*g.rows() {
		panic(fmt.Sprintf("nn: winograd: %d weights, want %d for %+v", len(w), g.co*g.rows(), *g))
	}
	w = w[:g.co*g.rows()]
	key := winoKey{w: unsafe.Pointer(&w[0]), n: len(w), k: g.k, p: g.p, c: g.c, co: g.co, transposed: transposed}
	size := 36*g.co*4*g.c + len(w)
	c.mu.Lock()
	c.clock++
	e := c.m[key]
	if e == nil {
		e = &winoEntry{}
		c.m[key] = e
		c.floats += size
		c.evict(key)
	}
	e.used = c.clock
	c.mu.Unlock()
	e.mu.Lock()
	if e.u == nil || !bytes.Equal(floatBytes(e.w), floatBytes(w)) {
		if e.u == nil {
			e.u = make([]float32, 36*g.co*4*g.c)
		}
		e.w = append(e.w[:0], w...)
		winoWeights(g, w, transposed, e.u)
	}
	return e
}

// ReleaseKernelCache drops the transformed convolution kernels that the
// Winograd path keeps for the weights it has seen (up to 1 GiB, with
// references that keep those weights alive). Call it after discarding a
// model, in a notebook that trains several; the next run of a layer
// transforms its kernels again.
func ReleaseKernelCache() {
	winoCache.mu.Lock()
	defer winoCache.mu.Unlock()
	clear(winoCache.m)
	winoCache.floats = 0
}

// evict drops least recently used entries other than keep until the cache
// is within its bound. c.mu is held.
func (c *winoKernels) evict(keep winoKey) {
	for c.floats > winoCacheMaxFloats && len(c.m) > 1 {
		var old winoKey
		var oldest *winoEntry
		for k, e := range c.m {
			if k != keep && (oldest == nil || e.used < oldest.used) {
				old, oldest = k, e
			}
		}
		delete(c.m, old)
		c.floats -= 36*old.co*4*old.c + old.n
	}
}

// floatBytes is s's memory as bytes (a bitwise comparison: -0 and NaN
// payloads count as changes).
func floatBytes(s []float32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 4*len(s))
}
