package nn

import (
	"bytes"
	"fmt"
	"sync"
	"unsafe"

	"github.com/anogo/anogo/sdk/blas"
)

// Winograd form of the 3×3 stride-1 convolutions (f-AnoGAN's residual
// blocks) and of the DCGAN's stride-2 convolutions. Both come down to a
// stride-1, pad-1 3×3 correlation, the one convolution that the core
// below computes; useWinograd says which convolutions take the path, and
// the others keep im2col (conv.go) and the sub-pixel data kernel
// (subpixel_c.go).
//
// Stride 1: a 3×3 convolution with padding 1 (the resolution kept, as in
// ResBlockUp and ResBlockDown) is that correlation as it stands, from c
// plain planes of h×w to co planes of h×w, with w's kernels as they are.
// Its data gradient is the same kind of correlation of the output gradient
// with the kernels turned by 180°, from co to c planes, and its weight
// gradient is the gradient of the kernels.
//
// Stride 2, space to depth: split the input x [c, H, W] into its four
// stride phases, X[4c'+2p+q][m, n] = x[c', 2m+p, 2n+q]. A kernel tap u of a
// stride-2 convolution with padding pad reads input row 2i+u-pad =
// 2(i+a)+p with u-pad = 2a+p, so when every tap has a in {-1, 0, 1} (k = 5,
// pad = 2, the DCGAN of AnoGAN Sec. 2.1; also k = 4, pad = 1) and the
// output has ceil(H/2) rows, the convolution is a stride-1, pad-1 3×3
// correlation of X with 4c input channels, whose kernel
// W'[o, 4c'+2p+q][a+1, b+1] = w[o, c', 2a+p+pad, 2b+q+pad] is zero where
// that tap does not exist (25 of its 36 taps are w's for k = 5). Its data
// gradient (the forward pass of the generator's transposed convolutions) is
// the same kind of correlation of the output gradient with W' turned by
// 180°, from co to 4c channels, written back through the phases; its weight
// gradient is that of W', read back into the taps of w that exist.
//
// A stride-1 3×3 correlation is what Winograd's minimal filtering
// algorithm F(4×4, 3×3) computes with 36 multiplications per 4×4 output
// tile and input channel instead of 144 (Lavin & Gray 2016, Sec. 4): per
// tile point ξ of the 6×6 transformed tiles, one matrix product of the
// transformed kernels U[ξ] (cout × cin) and the transformed input tiles
// V[ξ] (cin × tiles). The matrix products thus do 36/144 = 0.25 of a 3×3
// convolution's multiply-adds, and 4·36/(16·25) = 0.36 of a 5×5 stride-2
// convolution's (tiles that overhang the plane's edge count in full, which
// is why small planes of stride-1 convolutions keep im2col). The transforms
// are in winograd_c.go; the transformed kernels are cached (winoCache)
// while the weights stay the same, as they do while mapping.

// winogradMinC is the least number of channels (c and co, conv sense) for
// the Winograd path; a variable so that tests can turn the path off.
var winogradMinC = 16

// winogradMinC1 is the least number of channels for the stride-1 form: at
// 16 channels its transforms cost as much as they save (the forward kernel
// measured 10% slower than im2col, and f-AnoGAN's WGAN-GP step at width 16
// and 64x64 spent a quarter of its time transforming 16-channel inputs);
// from 32 channels on it wins. A variable so that tests can lower it.
var winogradMinC1 = 32

// useWinograd says whether the three kernels of g take the Winograd path:
// 3×3 convolutions of stride 1 and padding 1, and stride-2 convolutions
// whose taps fit the space-to-depth form, with winogradMinC channels or
// more on both sides.
func useWinograd(g *geom) bool {
	if g.c < winogradMinC || g.co < winogradMinC {
		return false
	}
	if g.s == 1 {
		if g.c < winogradMinC1 || g.co < winogradMinC1 {
			return false
		}
		// The tiles must not waste too much at the borders: the products'
		// 36 multiply-adds per tile are at most half of the direct
		// convolution's 9 per pixel (planes of 3×3, 4×4, 6×6 and more
		// qualify; 1×1, 2×2, 5×5 and single rows do not).
		tiles := ((g.h + 3) / 4) * ((g.w + 3) / 4)
		return g.k == 3 && g.p == 1 && g.ho == g.h && g.wo == g.w && 8*tiles <= g.h*g.w
	}
	if g.s != 2 {
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

// Stride-1 convolutions take smaller chunks: V and M of up to
// winoMaxFloats1 values (2 MB), so that they stay near the cache between
// the transforms and the matrix products, but at least winoMinTiles1 tiles
// (columns of the products) where winoMaxFloats allows, so that the
// products stay wide enough for OpenBLAS. Against chunks bounded by
// winoMaxFloats alone, this ran 10 to 30% faster on f-AnoGAN's layers of 32
// to 128 channels at 14×14 to 32×32 (batch 16 and 64, 2 workers); the
// minimum keeps the layers of 256 and 512 channels at 8×8 and 4×4, where
// one sample is 4 or 1 tiles, at their speed (a sample at a time ran them
// about 2 times slower). Variables so that benchmarks can sweep them.
var (
	winoMaxFloats1 = 512 << 10
	winoMinTiles1  = 128
)

// winoBatch is the number of samples per chunk for g.
func winoBatch(g *geom) int {
	tpi := ((g.ho + 3) / 4) * ((g.wo + 3) / 4)
	per := 36 * (winoCin(g) + g.co) * tpi
	b := winoMaxFloats / per
	if g.s == 1 {
		b = min(b, max(winoMaxFloats1/per, (winoMinTiles1+tpi-1)/tpi))
	}
	return max(1, min(g.n, b))
}

// winoCin is the number of input planes of g's 3×3 correlation: c for a
// stride-1 convolution, 4c (the stride phases) for a stride-2 one.
func winoCin(g *geom) int {
	if g.s == 1 {
		return g.c
	}
	return 4 * g.c
}

// winoSides returns the two sides of g's 3×3 correlation, both ho×wo: the
// conv-sense input (winoCin(g) planes: the stride phases of a stride-2
// convolution's input, the plain planes of a stride-1 one's) and the plain
// planes of its output (co planes).
func winoSides(g *geom) (in, out winoPlanes) {
	in = winoPlanes{s2d: g.s == 2, h: g.h, w: g.w, hh: g.ho, ww: g.wo, size: g.inSize()}
	return in, winoPlanes{hh: g.ho, ww: g.wo, size: g.outSize()}
}

// winoForward is convForward through the Winograd form. With keep set, it
// leaves the transformed input tiles of the whole batch in keep for the
// filter gradient of the same convolution (winoFilter).
func winoForward(g *geom, x, w, y []float32, keep *winoTiles) {
	in, out := winoSides(g)
	e := winoCache.lookup(g, w, false)
	defer e.mu.Unlock()
	b := winoBatch(g)
	if keep == nil {
		winoRun(g.n, b, &in, winoCin(g), x, &out, g.co, y, e.u, nil)
		return
	}
	keep.mu.Lock()
	defer keep.mu.Unlock()
	keep.ok = false
	size := 36 * winoCin(g) * g.n * in.tiles()
	if cap(keep.v) < size {
		winoTilePool.put(keep.v)
		keep.v = winoTilePool.get(size)
	}
	keep.v = keep.v[:size]
	winoRun(g.n, b, &in, winoCin(g), x, &out, g.co, y, e.u, keep.v)
	keep.x, keep.n, keep.b, keep.ok = unsafe.Pointer(&x[0]), g.n, b, true
}

// winoTiles carries the transformed input tiles V = Bᵀ d B of a Conv2d's
// forward pass to its filter-gradient op, which would otherwise transform
// the same input again. SymDiff gives both ops the same winoTiles and makes
// the forward op's output an input of the filter-gradient op, so that in
// every run of a graph the forward pass comes first; the filter gradient
// takes the tiles only when they were made from the same input buffer, for
// as many samples and in chunks of as many samples as it uses, and then
// gives the buffer back to winoTilePool (so that only the tiles between a
// forward pass and its filter gradient hold memory).
type winoTiles struct {
	mu   sync.Mutex
	v    []float32      // the chunks of V one after another, as winoRun makes them
	x    unsafe.Pointer // the input's first value
	n, b int            // samples, samples per chunk
	ok   bool           // v holds the tiles of x
}

// winoTilePool holds the buffers of winoTiles between a filter gradient and
// the next forward pass.
var winoTilePool bufPool

// take returns the kept tiles of x for g (nil if there are none) and
// clears keep; the caller gives the buffer back with done.
func (keep *winoTiles) take(g *geom, x []float32) []float32 {
	if keep == nil {
		return nil
	}
	keep.mu.Lock()
	defer keep.mu.Unlock()
	in, _ := winoSides(g)
	size := 36 * winoCin(g) * g.n * in.tiles()
	ok := keep.ok && keep.x == unsafe.Pointer(&x[0]) && keep.n == g.n && keep.b == winoBatch(g) && len(keep.v) == size
	keep.ok = false
	if !ok {
		return nil
	}
	v := keep.v
	keep.v = nil
	return v
}

// winoData is convBackwardData through the Winograd form.
func winoData(g *geom, gy, w, gx []float32) {
	in, out := winoSides(g)
	e := winoCache.lookup(g, w, true)
	defer e.mu.Unlock()
	winoRun(g.n, winoBatch(g), &out, g.co, gy, &in, winoCin(g), gx, e.u, nil)
}

// winoRun computes the 3×3 correlation of n samples of cin planes in x
// with the transformed kernels u (36 × cout × cin) into cout planes of y,
// b samples at a time: transform the input tiles (workers split the
// channels), 36 matrix products (workers split the tile points), transform
// the products back (workers split the output channels). With keep set
// (36·cin·n·tiles values), the chunks' transformed tiles stay there, one
// chunk after another.
func winoRun(n, b int, in *winoPlanes, cin int, x []float32, out *winoPlanes, cout int, y, u, keep []float32) {
	if len(x) < n*in.size || len(y) < n*out.size || len(u) < 36*cout*cin {
		panic(fmt.Sprintf("nn: winograd: %d, %d, %d values too few for %d samples of %+v → %+v", len(x), len(y), len(u), n, *in, *out))
	}
	tpi := in.tiles()
	for n0 := 0; n0 < n; n0 += b {
		nb := min(b, n-n0)
		t := nb * tpi
		var v []float32
		if keep != nil {
			v = keep[36*cin*n0*tpi : 36*cin*(n0+nb)*tpi]
		} else {
			v = scratch.get(36 * cin * t)
		}
		m := scratch.get(36 * cout * t)
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
		if keep == nil {
			scratch.put(v)
		}
		scratch.put(m)
	}
}

// winoFilter is convBackwardFilter through the Winograd form: the gradient
// of a kernel g of the 3×3 correlation is the sum over tiles of
// Gᵀ[(A dY Aᵀ) ⊙ (Bᵀ d B)]G, that is 36 products of the transformed
// output-gradient tiles (co × tiles) and the transformed input tiles
// (tiles × cin) summed over all chunks of samples, then each 6×6 sum taken
// back to a 3×3 kernel: w's gradient for a stride-1 convolution, and for a
// stride-2 one, the kernel whose existing taps are w's gradient. It takes
// the transformed input tiles from keep where the forward pass left them
// there (see winoTiles).
func winoFilter(g *geom, x, gy, gw []float32, keep *winoTiles) {
	in, out := winoSides(g)
	cin, cout := winoCin(g), g.co
	if len(x) < g.n*in.size || len(gy) < g.n*out.size || len(gw) < g.co*g.rows() {
		panic(fmt.Sprintf("nn: winograd filter: %d, %d, %d values too few for %+v", len(x), len(gy), len(gw), *g))
	}
	tpi := in.tiles()
	b := winoBatch(g)
	mg := scratch.get(36 * cout * cin)
	defer scratch.put(mg)
	kept := keep.take(g, x)
	if kept != nil {
		defer winoTilePool.put(kept)
	}
	for n0 := 0; n0 < g.n; n0 += b {
		nb := min(b, g.n-n0)
		t := nb * tpi
		var v []float32
		if kept != nil {
			v = kept[36*cin*n0*tpi : 36*cin*(n0+nb)*tpi]
		} else {
			v = scratch.get(36 * cin * t)
		}
		gt := scratch.get(36 * cout * t)
		xs, gys := x[n0*in.size:], gy[n0*out.size:]
		if kept == nil {
			parallelRange(cin, 1, func(c0, c1 int) {
				winoIn(&in, xs, nb, c0, c1, v, t, cin*t)
			})
		}
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
		if kept == nil {
			scratch.put(v)
		}
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
	w              unsafe.Pointer
	n              int
	k, s, p, c, co int
	transposed     bool
}

// floats is the size of the entry of key k: its transformed kernels
// (36 matrices of co × cin) and its copy of the weights.
func (k *winoKey) floats() int {
	cin := 4 * k.c
	if k.s == 1 {
		cin = k.c
	}
	return 36*k.co*cin + k.n
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
	key := winoKey{w: unsafe.Pointer(&w[0]), n: len(w), k: g.k, s: g.s, p: g.p, c: g.c, co: g.co, transposed: transposed}
	size := key.floats()
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
			e.u = make([]float32, 36*g.co*winoCin(g))
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
		c.floats -= old.floats()
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
