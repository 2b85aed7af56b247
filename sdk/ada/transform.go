package ada

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Transform names one augmentation of the pipeline, in the order the
// pipeline applies them (Karras et al. 2020, Appendix B.1-B.2).
type Transform uint8

// The transforms for grey images: the 'bgc' set of stylegan2-ada-pytorch
// without hue rotation and saturation, which do not exist with one channel.
const (
	XFlip      Transform = iota // mirror x with probability 1/2
	Rotate90                    // rotate by 0, 90, 180 or 270 degrees, uniformly
	XInt                        // integer translation, uniform in ±XIntMax of the size
	Scale                       // isotropic scaling by 2^N(0, ScaleStd²)
	Rotate                      // rotation, uniform in ±RotateMax half turns
	Aniso                       // anisotropic scaling by 2^N(0, AnisoStd²) in x, its inverse in y
	XFrac                       // fractional translation by N(0, XFracStd²) of the size
	Brightness                  // add N(0, BrightnessStd²)
	Contrast                    // multiply by 2^N(0, ContrastStd²)
	LumaFlip                    // negate with probability 1/2
	NumTransforms
)

var transformNames = [NumTransforms]string{
	"xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
	"brightness", "contrast", "lumaflip",
}

// String returns the transform's name in stylegan2-ada-pytorch
// ("xflip", "rotate90", ...).
func (t Transform) String() string {
	if t < NumTransforms {
		return transformNames[t]
	}
	return fmt.Sprintf("Transform(%d)", uint8(t))
}

// Set is a set of transforms, bit t for Transform t.
type Set uint16

// Has reports whether t is in s.
func (s Set) Has(t Transform) bool { return t < NumTransforms && s&(1<<t) != 0 }

// params holds the values drawn for one sample; the zero of each field
// but scale, aniso and contrast (1) is "not applied".
type params struct {
	xflip      int        // 0 or 1
	rot90      int        // quarter turns, 0..3
	xint       [2]float64 // integer translation in pixels (x, y)
	scale      float64    // isotropic scale factor
	preRot     float64    // rotation before the anisotropic scaling, radians
	aniso      float64    // anisotropic scale factor (x; y gets its inverse)
	postRot    float64    // rotation after the anisotropic scaling, radians
	xfrac      [2]float64 // fractional translation in pixels (x, y)
	brightness float64    // added to the values
	contrast   float64    // multiplies the values
	lumaflip   int        // 0 or 1
	applied    Set
}

func identityParams() params { return params{scale: 1, aniso: 1, contrast: 1} }

// drawParams draws one sample's parameters at probability p. Every
// transform is selected independently with probability p·multiplier (the
// rotation twice, before and after the anisotropic scaling, each with
// 1 - sqrt(1 - p·multiplier), so that one of them happens with
// p·multiplier); a transform's values are drawn only when it is selected,
// and a transform whose probability is 0 draws nothing.
func drawParams(r *rand.Rand, o *Options, mult *[NumTransforms]float64, p float64, h, w int) params {
	d := identityParams()
	hit := func(t Transform) bool {
		q := p * mult[t]
		if q <= 0 {
			return false
		}
		if r.Float64() < q {
			d.applied |= 1 << t
			return true
		}
		return false
	}
	if hit(XFlip) {
		d.xflip = r.IntN(2)
	}
	if hit(Rotate90) {
		d.rot90 = r.IntN(4)
	}
	if hit(XInt) {
		tx := (2*r.Float64() - 1) * o.XIntMax
		ty := (2*r.Float64() - 1) * o.XIntMax
		d.xint = [2]float64{math.RoundToEven(tx * float64(w)), math.RoundToEven(ty * float64(h))}
	}
	if hit(Scale) {
		d.scale = math.Exp2(r.NormFloat64() * o.ScaleStd)
	}
	// P(pre or post) = 1 - (1 - pRot)² = p·multiplier.
	pRot := 1 - math.Sqrt(min(max(1-p*mult[Rotate], 0), 1))
	rot := func() float64 {
		if pRot <= 0 || r.Float64() >= pRot {
			return 0
		}
		d.applied |= 1 << Rotate
		return (2*r.Float64() - 1) * math.Pi * o.RotateMax
	}
	d.preRot = rot()
	if hit(Aniso) {
		d.aniso = math.Exp2(r.NormFloat64() * o.AnisoStd)
	}
	d.postRot = rot()
	if hit(XFrac) {
		d.xfrac = [2]float64{r.NormFloat64() * o.XFracStd * float64(w), r.NormFloat64() * o.XFracStd * float64(h)}
	}
	if hit(Brightness) {
		d.brightness = r.NormFloat64() * o.BrightnessStd
	}
	if hit(Contrast) {
		d.contrast = math.Exp2(r.NormFloat64() * o.ContrastStd)
	}
	if hit(LumaFlip) {
		d.lumaflip = r.IntN(2)
	}
	return d
}

// affine is the top two rows of a homogeneous 2-D transform.
type affine [6]float64

var identityAffine = affine{1, 0, 0, 0, 1, 0}

// mul returns a·b.
func (a affine) mul(b affine) affine {
	return affine{
		a[0]*b[0] + a[1]*b[3], a[0]*b[1] + a[1]*b[4], a[0]*b[2] + a[1]*b[5] + a[2],
		a[3]*b[0] + a[4]*b[3], a[3]*b[1] + a[4]*b[4], a[3]*b[2] + a[4]*b[5] + a[5],
	}
}

func scaling(sx, sy float64) affine     { return affine{sx, 0, 0, 0, sy, 0} }
func translation(tx, ty float64) affine { return affine{1, 0, tx, 0, 1, ty} }
func rotation(theta float64) affine {
	s, c := math.Sincos(theta)
	return affine{c, -s, 0, s, c, 0}
}

// quarterTurns is rotation(k·π/2) with exact entries.
var quarterTurns = [4]affine{
	{1, 0, 0, 0, 1, 0},
	{0, -1, 0, 1, 0, 0},
	{-1, 0, 0, 0, -1, 0},
	{0, 1, 0, -1, 0, 0},
}

// sample composes the parameters into the inverse geometric map (output
// pixel coordinates to input ones, about the image centre) and the colour
// map. The forward transform applies the x-flip first and the fractional
// translation last, so the inverse is the product of the inverses in that
// order: G⁻¹ = F⁻¹ R90⁻¹ T⁻¹ S⁻¹ R⁻¹ A⁻¹ R⁻¹ Tf⁻¹. Factors that were not
// drawn are skipped, so integer transforms keep exact integer entries.
func (d *params) sample() Sample {
	g := identityAffine
	if d.xflip == 1 {
		g = g.mul(scaling(-1, 1))
	}
	if d.rot90 != 0 {
		// The inverse of a rotation by -k·π/2.
		g = g.mul(quarterTurns[d.rot90&3])
	}
	if d.xint != [2]float64{} {
		g = g.mul(translation(-d.xint[0], -d.xint[1]))
	}
	if d.scale != 1 {
		g = g.mul(scaling(1/d.scale, 1/d.scale))
	}
	if d.preRot != 0 {
		g = g.mul(rotation(d.preRot))
	}
	if d.aniso != 1 {
		g = g.mul(scaling(1/d.aniso, d.aniso))
	}
	if d.postRot != 0 {
		g = g.mul(rotation(d.postRot))
	}
	if d.xfrac != [2]float64{} {
		g = g.mul(translation(-d.xfrac[0], -d.xfrac[1]))
	}
	// Colour: brightness, then contrast, then the luma flip, which for grey
	// values is a negation: y = s·c·(x + b).
	s := 1.0
	if d.lumaflip == 1 {
		s = -1
	}
	return Sample{
		Geom:    g,
		Scale:   s * d.contrast,
		Offset:  s * (d.contrast * d.brightness),
		Applied: d.applied,
	}
}
