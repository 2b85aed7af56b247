package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// direct runs f with the Winograd path turned off.
func direct(f func()) {
	defer func(v int) { winogradMinC = v }(winogradMinC)
	winogradMinC = 1 << 30
	f()
}

// winoGeoms are stride-2 geometries that take the Winograd path: the
// DCGAN layers at small batches, odd and tiny images, k 4 with pad 1, and
// channel counts that split unevenly over the workers.
func winoGeoms() []geom {
	var gs []geom
	for _, l := range append(append([]dcganLayer(nil), dcganLayers28...), dcganLayers...) {
		if l.c >= 16 {
			gs = append(gs, l.geom(3))
		}
	}
	for _, c := range []struct{ n, c, co, h, w, k, p int }{
		{2, 16, 16, 8, 8, 5, 2}, {3, 17, 19, 7, 7, 5, 2}, {1, 16, 33, 5, 9, 5, 2}, {2, 20, 16, 3, 3, 5, 2},
		{1, 16, 16, 1, 1, 5, 2}, {2, 18, 16, 2, 6, 5, 2}, {4, 16, 24, 13, 11, 5, 2},
		{2, 16, 16, 8, 8, 4, 1}, {3, 21, 17, 10, 6, 4, 1}, {1, 16, 16, 12, 12, 6, 2},
	} {
		gs = append(gs, withOut(geom{n: c.n, c: c.c, h: c.h, w: c.w, co: c.co, k: c.k, s: 2, p: c.p}))
	}
	return gs
}

// TestWinogradMatchesDirect checks the Winograd forward, data and filter
// kernels against the im2col/sub-pixel kernels on every geometry in winoGeoms, for
// 1 to 3 workers and with chunks of a single sample, and that outputs are
// overwritten, not accumulated.
func TestWinogradMatchesDirect(t *testing.T) {
	defer func(v int) { winoMaxFloats = v }(winoMaxFloats)
	defer SetWorkers(Workers())
	rng := rand.New(rand.NewPCG(41, 42))
	for gi, g := range winoGeoms() {
		if !useWinograd(&g) {
			t.Fatalf("geometry %d %+v does not take the Winograd path", gi, g)
		}
		x := randn(rng, g.n*g.inSize())
		w := randn(rng, g.co*g.rows())
		gy := randn(rng, g.n*g.outSize())
		wantY, wantX, wantW := make([]float32, len(gy)), make([]float32, len(x)), make([]float32, len(w))
		direct(func() {
			convForward(&g, x, w, wantY)
			convBackwardData(&g, gy, w, wantX)
			convBackwardFilter(&g, x, gy, wantW)
		})
		for _, nw := range []int{1, 2, 3} {
			SetWorkers(nw)
			for _, maxF := range []int{16 << 20, 1} {
				winoMaxFloats = maxF
				what := fmt.Sprintf("geometry %d %+v, workers %d, chunk bound %d", gi, g, nw, maxF)
				y := randn(rng, len(wantY)) // garbage that must be overwritten
				convForward(&g, x, w, y)
				if d := maxRelDiff(y, wantY); d > 2e-5 {
					t.Errorf("%s: forward differs from the direct kernel by %g", what, d)
				}
				gx := randn(rng, len(wantX))
				convBackwardData(&g, gy, w, gx)
				if d := maxRelDiff(gx, wantX); d > 2e-5 {
					t.Errorf("%s: data gradient differs from the direct kernel by %g", what, d)
				}
				gw := randn(rng, len(wantW))
				convBackwardFilter(&g, x, gy, gw)
				if d := maxRelDiff(gw, wantW); d > 2e-5 {
					t.Errorf("%s: weight gradient differs from the direct kernel by %g", what, d)
				}
			}
		}
	}
}

// TestWinogradGeometries checks which geometries take the Winograd path.
func TestWinogradGeometries(t *testing.T) {
	for _, c := range []struct {
		g    geom
		want bool
	}{
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 128, k: 5, s: 2, p: 2}), true},
		{withOut(geom{n: 1, c: 64, h: 31, w: 32, co: 128, k: 5, s: 2, p: 2}), true},
		{withOut(geom{n: 1, c: 1, h: 64, w: 64, co: 64, k: 5, s: 2, p: 2}), false},  // too few channels
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 8, k: 5, s: 2, p: 2}), false},  // too few channels
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 64, k: 5, s: 1, p: 2}), false}, // stride 1
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 64, k: 3, s: 2, p: 1}), false}, // two taps
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 64, k: 5, s: 2, p: 1}), false}, // output too small
		{withOut(geom{n: 1, c: 64, h: 31, w: 31, co: 64, k: 4, s: 2, p: 1}), false}, // odd input, k 4
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 64, k: 7, s: 2, p: 3}), false}, // five taps
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 64, k: 4, s: 2, p: 1}), true},  // k 4
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 64, k: 5, s: 3, p: 2}), false}, // stride 3
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 64, k: 6, s: 2, p: 2}), true},  // k 6, pad 2
		{withOut(geom{n: 1, c: 64, h: 32, w: 32, co: 64, k: 5, s: 2, p: 0}), false}, // no padding
	} {
		if got := useWinograd(&c.g); got != c.want {
			t.Errorf("useWinograd(%+v) = %v, want %v", c.g, got, c.want)
		}
	}
}

// TestWinogradCache checks that the cached kernels follow the weights when
// they change in place (an optimizer step) and survive eviction.
func TestWinogradCache(t *testing.T) {
	defer func(v int) { winoCacheMaxFloats = v }(winoCacheMaxFloats)
	rng := rand.New(rand.NewPCG(43, 44))
	g := withOut(geom{n: 2, c: 16, h: 8, w: 8, co: 16, k: 5, s: 2, p: 2})
	x := randn(rng, g.n*g.inSize())
	w := randn(rng, g.co*g.rows())
	for _, bound := range []int{256 << 20, 1} {
		winoCacheMaxFloats = bound
		for step := range 3 {
			y, want := make([]float32, g.n*g.outSize()), make([]float32, g.n*g.outSize())
			convForward(&g, x, w, y)
			direct(func() { convForward(&g, x, w, want) })
			if d := maxRelDiff(y, want); d > 2e-5 {
				t.Fatalf("cache bound %d, step %d: differs from the direct kernel by %g", bound, step, d)
			}
			w[rng.IntN(len(w))] += 0.5 // one weight changes, as after an update
			// Another tensor's kernels come and go in between.
			other := randn(rng, len(w))
			convForward(&g, x, other, y)
		}
	}
	winoCache.mu.Lock()
	if winoCache.floats > max(winoCacheMaxFloats, 36*g.co*4*g.c+len(w)) {
		t.Errorf("cache holds %d values, bound %d", winoCache.floats, winoCacheMaxFloats)
	}
	winoCache.mu.Unlock()
	ReleaseKernelCache()
	if n, f := len(winoCache.m), winoCache.floats; n != 0 || f != 0 {
		t.Errorf("after ReleaseKernelCache: %d entries, %d values", n, f)
	}
	y, want := make([]float32, g.n*g.outSize()), make([]float32, g.n*g.outSize())
	convForward(&g, x, w, y)
	direct(func() { convForward(&g, x, w, want) })
	if d := maxRelDiff(y, want); d > 2e-5 {
		t.Errorf("after ReleaseKernelCache: differs from the direct kernel by %g", d)
	}
}

// TestWinogradBaselineSameAsAVX2 checks that the baseline transforms give
// the same floats as the AVX2 ones (where the processor has AVX2), for the
// stride-2 geometries and the stride-1 ones (the Winograd kernels called
// directly, as some of winoGeoms1 do not take the path).
func TestWinogradBaselineSameAsAVX2(t *testing.T) {
	defer winoSetAVX2(true)
	rng := rand.New(rand.NewPCG(45, 46))
	for gi, g := range append(winoGeoms(), winoGeoms1()...) {
		x := randn(rng, g.n*g.inSize())
		w := randn(rng, g.co*g.rows())
		gy := randn(rng, g.n*g.outSize())
		var y, gx, gw [2][]float32
		for i, on := range []bool{true, false} {
			winoSetAVX2(on)
			y[i], gx[i], gw[i] = make([]float32, len(gy)), make([]float32, len(x)), make([]float32, len(w))
			winoForward(&g, x, w, y[i], nil)
			winoData(&g, gy, w, gx[i])
			winoFilter(&g, x, gy, gw[i], nil)
		}
		if !slices.Equal(gw[0], gw[1]) {
			t.Errorf("geometry %d %+v: weight gradient: the two versions differ", gi, g)
		}
		if !slices.Equal(y[0], y[1]) {
			t.Errorf("geometry %d %+v: forward: the two versions differ", gi, g)
		}
		if !slices.Equal(gx[0], gx[1]) {
			t.Errorf("geometry %d %+v: data gradient: the two versions differ", gi, g)
		}
	}
}
