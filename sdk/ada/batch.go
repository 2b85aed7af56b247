package ada

import (
	"fmt"
	"math"
)

// Augmentation is one draw of augmentations for a batch of NCHW images.
// It is an alias of an interface literal, so that a trainer that declares
// the same alias accepts Pipeline.Draw's result as its own type.
type Augmentation = interface {
	// Apply sets dst to the augmented batch; len(dst) == len(x).
	Apply(dst, x []float32)
	// Backward sets dst to the gradient with respect to Apply's input,
	// given g, the gradient with respect to its output.
	Backward(dst, g []float32)
}

// Sample is the augmentation of one image: a geometric map, then a colour
// map applied to every channel.
type Sample struct {
	// Geom maps an output pixel's coordinates (u, v) to the input
	// coordinates it is sampled at, both about the image centre
	// ((W-1)/2, (H-1)/2), x to the right and y down:
	//
	//	u' = Geom[0]·u + Geom[1]·v + Geom[2]
	//	v' = Geom[3]·u + Geom[4]·v + Geom[5]
	Geom [6]float64
	// Scale and Offset are the colour map, y = Scale·x + Offset.
	Scale, Offset float64
	// Applied holds the transforms that were selected for this sample (a
	// selected x-flip, quarter turn or luma flip may still have drawn 0).
	Applied Set
}

// Identity returns the sample that leaves an image as it is.
func Identity() Sample { return Sample{Geom: identityAffine, Scale: 1} }

// colourIdentity reports whether s's colour map is the identity.
func (s *Sample) colourIdentity() bool { return s.Scale == 1 && s.Offset == 0 }

// How one sample's geometric map is carried out.
const (
	kindIdentity = iota // a copy
	kindGather          // every output pixel is one input pixel
	kindBilinear        // bilinear from four input pixels
)

// Batch is one draw of augmentations for n images of c×h×w. It implements
// Augmentation. Apply and Backward compute the sampling positions as they
// go (a batch holds no per-pixel tables) and only read the batch, so a
// Batch may be used by several goroutines at once.
type Batch struct {
	N, C, H, W int
	// Samples holds the n samples' transforms; read only.
	Samples []Sample
	kinds   []uint8
}

// NewBatch returns the batch that augments sample i of an n×c×h×w batch
// with samples[i]. It panics if n < 0, c, h or w < 1, h·w ≥ 2³¹, or
// len(samples) != n.
func NewBatch(n, c, h, w int, samples []Sample) *Batch {
	if n < 0 || c < 1 || h < 1 || w < 1 {
		panic(fmt.Sprintf("ada: batch of %dx%dx%dx%d", n, c, h, w))
	}
	if h > math.MaxInt32/w {
		panic(fmt.Sprintf("ada: images of %dx%d pixels are too large", h, w))
	}
	if len(samples) != n {
		panic(fmt.Sprintf("ada: %d samples for a batch of %d", len(samples), n))
	}
	b := &Batch{N: n, C: c, H: h, W: w, Samples: samples, kinds: make([]uint8, n)}
	for i := range samples {
		b.kinds[i] = kindOf(&samples[i].Geom, h, w)
	}
	return b
}

// Identity reports whether the batch leaves every image as it is.
func (b *Batch) Identity() bool {
	for i := range b.Samples {
		if b.kinds[i] != kindIdentity || !b.Samples[i].colourIdentity() {
			return false
		}
	}
	return true
}

// kindOf tells how g is carried out on h×w images. The map is affine, so
// it sends every pixel to a pixel (and reflection keeps it there) if it
// sends pixels (0, 0), (1, 0) and (0, 1) to pixels, and it is the identity
// if it sends them to themselves.
func kindOf(g *[6]float64, h, w int) uint8 {
	if affine(*g) == identityAffine {
		return kindIdentity
	}
	cx, cy := float64(w-1)/2, float64(h-1)/2
	ident := true
	for _, p := range [3][2]float64{{0, 0}, {1, 0}, {0, 1}} {
		u, v := p[0]-cx, p[1]-cy
		x, y := g[0]*u+g[1]*v+g[2]+cx, g[3]*u+g[4]*v+g[5]+cy
		if x != math.Floor(x) || y != math.Floor(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
			return kindBilinear
		}
		ident = ident && x == p[0] && y == p[1]
	}
	if ident {
		return kindIdentity
	}
	return kindGather
}

// reflectCoord maps a source coordinate into [0, n-1] the way grid_sample
// does with padding_mode='reflection' and align_corners=False: reflect
// about the image borders -0.5 and n-0.5 until inside (a period of 2n),
// then clip to the outermost pixel centres. A coordinate that is not a
// number, or infinite, goes to 0.
func reflectCoord(x float64, n int) float64 {
	if x >= 0 && x <= float64(n-1) {
		return x
	}
	return reflectOutside(x, n)
}

// reflectOutside is reflectCoord for x outside [0, n-1]; kept out of line
// so that the common case inlines.
//
//go:noinline
func reflectOutside(x float64, n int) float64 {
	span := float64(n)
	a := x + 0.5 // the borders at 0 and n
	a -= 2 * span * math.Floor(a/(2*span))
	if a < 0 {
		a += 2 * span
	} else if a >= 2*span {
		a -= 2 * span
	}
	if a > span {
		a = 2*span - a
	}
	x = a - 0.5
	if !(x >= 0) { // also NaN, from an infinite coordinate
		return 0
	}
	return min(x, float64(n-1))
}

// rowPlan holds the sampling positions of one output row: the input
// pixel index k (the top left of the four for bilinear sampling) and the
// fractions fx, fy towards the right and lower neighbours, which are
// k+sx and k+sy.
type rowPlan struct {
	k      []int32
	fx, fy []float32
	sx, sy int
}

func newRowPlan(h, w int) *rowPlan {
	r := &rowPlan{k: make([]int32, w), fx: make([]float32, w), fy: make([]float32, w)}
	if w > 1 {
		r.sx = 1
	}
	if h > 1 {
		r.sy = w
	}
	return r
}

// fill computes the positions of output row i under g. A position on the
// last column (fraction 0) becomes the right neighbour of the column
// before it with fraction 1, and likewise for the last row, so that all
// four neighbours are inside the image.
func (r *rowPlan) fill(g *[6]float64, i, h, w int) {
	cx, cy := float64(w-1)/2, float64(h-1)/2
	v := float64(i) - cy
	rx, ry := g[1]*v+g[2]+cx, g[4]*v+g[5]+cy
	ks, fxs, fys := r.k[:w], r.fx[:w], r.fy[:w]
	for j := range ks {
		u := float64(j) - cx
		ix := reflectCoord(g[0]*u+rx, w)
		iy := reflectCoord(g[3]*u+ry, h)
		fx0, fy0 := math.Floor(ix), math.Floor(iy)
		x0, y0 := int(fx0), int(fy0)
		fx, fy := ix-fx0, iy-fy0
		if x0 == w-1 && w > 1 {
			x0, fx = w-2, 1
		}
		if y0 == h-1 && h > 1 {
			y0, fy = h-2, 1
		}
		ks[j], fxs[j], fys[j] = int32(y0*w+x0), float32(fx), float32(fy)
	}
}

// gather turns the row's positions, all on pixels, into the pixels' indices.
func (r *rowPlan) gather() {
	for j, k := range r.k {
		if r.fx[j] == 1 {
			k += int32(r.sx)
		}
		if r.fy[j] == 1 {
			k += int32(r.sy)
		}
		r.k[j] = k
	}
}

func (b *Batch) check(op string, dst, x []float32) {
	want := b.N * b.C * b.H * b.W
	if len(x) != want || len(dst) != want {
		panic(fmt.Sprintf("ada: %s of a %dx%dx%dx%d batch: len(dst) = %d, len(src) = %d, want %d",
			op, b.N, b.C, b.H, b.W, len(dst), len(x), want))
	}
}

// same reports whether a and b start at the same element.
func same(a, b []float32) bool { return len(a) > 0 && len(b) > 0 && &a[0] == &b[0] }

// Apply sets dst to the augmented batch: for every sample its geometric
// map by bilinear sampling with reflection, then its colour map. dst may
// be x itself but must not otherwise overlap it. It panics if len(x) or
// len(dst) is not N·C·H·W.
func (b *Batch) Apply(dst, x []float32) {
	b.check("Apply", dst, x)
	h, w := b.H, b.W
	hw := h * w
	chw := b.C * hw
	var tmp []float32
	var r *rowPlan
	for i := range b.Samples {
		s, kind := &b.Samples[i], b.kinds[i]
		ds, xs := dst[i*chw:(i+1)*chw], x[i*chw:(i+1)*chw]
		if kind == kindIdentity {
			copy(ds, xs)
		} else {
			if same(ds, xs) {
				if tmp == nil {
					tmp = make([]float32, chw)
				}
				copy(tmp, xs)
				xs = tmp
			}
			if r == nil {
				r = newRowPlan(h, w)
			}
			for y := range h {
				r.fill(&s.Geom, y, h, w)
				if kind == kindGather {
					r.gather()
				}
				for c := range b.C {
					d, src := ds[c*hw+y*w:c*hw+(y+1)*w], xs[c*hw:(c+1)*hw]
					if kind == kindGather {
						for j, k := range r.k {
							d[j] = src[k]
						}
					} else {
						r.sample(d, src)
					}
				}
			}
		}
		if !s.colourIdentity() {
			a, off := float32(s.Scale), float32(s.Offset)
			for k, v := range ds {
				ds[k] = a*v + off
			}
		}
	}
}

func (r *rowPlan) sample(d, src []float32) {
	sx, sy := r.sx, r.sy
	fxs, fys := r.fx[:len(d)], r.fy[:len(d)]
	for j, k32 := range r.k[:len(d)] {
		k := int(k32)
		fx, fy := fxs[j], fys[j]
		gx, gy := 1-fx, 1-fy
		d[j] = gy*(gx*src[k]+fx*src[k+sx]) + fy*(gx*src[k+sy]+fx*src[k+sy+sx])
	}
}

func (r *rowPlan) scatter(d, g []float32, a float32) {
	sx, sy := r.sx, r.sy
	fxs, fys := r.fx[:len(g)], r.fy[:len(g)]
	for j, k32 := range r.k[:len(g)] {
		k := int(k32)
		fx, fy := fxs[j], fys[j]
		gx, gy := 1-fx, 1-fy
		v := a * g[j]
		top, bot := gy*v, fy*v
		d[k] += gx * top
		d[k+sx] += fx * top
		d[k+sy] += gx * bot
		d[k+sy+sx] += fx * bot
	}
}

// Backward sets dst to the gradient with respect to Apply's input given
// g, the gradient with respect to its output: the transpose of Apply's
// linear part, the colour scale and then the bilinear weights scattered
// back to the pixels they were read from. dst may be g itself but must
// not otherwise overlap it. It panics if len(g) or len(dst) is not
// N·C·H·W.
func (b *Batch) Backward(dst, g []float32) {
	b.check("Backward", dst, g)
	h, w := b.H, b.W
	hw := h * w
	chw := b.C * hw
	var tmp []float32
	var r *rowPlan
	for i := range b.Samples {
		s, kind := &b.Samples[i], b.kinds[i]
		ds, gs := dst[i*chw:(i+1)*chw], g[i*chw:(i+1)*chw]
		a := float32(s.Scale)
		if kind == kindIdentity {
			if a == 1 {
				copy(ds, gs)
			} else {
				for k, v := range gs {
					ds[k] = a * v
				}
			}
			continue
		}
		if same(ds, gs) {
			if tmp == nil {
				tmp = make([]float32, chw)
			}
			copy(tmp, gs)
			gs = tmp
		}
		if r == nil {
			r = newRowPlan(h, w)
		}
		clear(ds)
		for y := range h {
			r.fill(&s.Geom, y, h, w)
			if kind == kindGather {
				r.gather()
			}
			for c := range b.C {
				d, gr := ds[c*hw:(c+1)*hw], gs[c*hw+y*w:c*hw+(y+1)*w]
				if kind == kindGather {
					for j, k := range r.k {
						d[k] += a * gr[j]
					}
				} else {
					r.scatter(d, gr, a)
				}
			}
		}
	}
}
