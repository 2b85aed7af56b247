package ada

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
)

// Defaults of Options (Karras et al. 2020, Sec. 3 and Appendix B;
// stylegan2-ada-pytorch).
const (
	DefaultXIntMax       = 0.125 // integer translation, fraction of the size
	DefaultScaleStd      = 0.2   // log2 standard deviation of isotropic scaling
	DefaultRotateMax     = 1.0   // rotation range in half turns: the full circle
	DefaultAnisoStd      = 0.2   // log2 standard deviation of anisotropic scaling
	DefaultXFracStd      = 0.125 // fractional translation, fraction of the size
	DefaultBrightnessStd = 0.2   // standard deviation of the brightness offset
	DefaultContrastStd   = 0.5   // log2 standard deviation of contrast
	DefaultTarget        = 0.6   // target of r_t
	DefaultInterval      = 4     // minibatches per adjustment of p
	DefaultKimg          = 500   // thousands of images for p to go from 0 to 1
)

// Options are the settings of a Pipeline. A zero strength, Target,
// Interval or Kimg means its default; turn a transform off with a zero
// multiplier.
type Options struct {
	// Multipliers holds each transform's probability multiplier: transform
	// t is applied to a sample with probability P()·Multipliers[t] (the
	// rotation as either of two rotations, see Rotate). Missing
	// transforms are off. nil means Grey: 1 for every transform.
	Multipliers map[Transform]float64

	// Strengths.
	XIntMax       float64 // integer translation: uniform in ±XIntMax·size, rounded
	ScaleStd      float64 // isotropic scale factor 2^N(0, ScaleStd²)
	RotateMax     float64 // rotation angle uniform in ±RotateMax·π
	AnisoStd      float64 // anisotropic scale factor 2^N(0, AnisoStd²)
	XFracStd      float64 // fractional translation N(0, XFracStd²)·size
	BrightnessStd float64 // brightness offset N(0, BrightnessStd²)
	ContrastStd   float64 // contrast factor 2^N(0, ContrastStd²)

	// Target is the value of r_t = E[sign(D(x_real))] that the tuning
	// keeps p at.
	Target float64
	// Interval is the number of minibatches (Observe calls) per
	// adjustment of p.
	Interval int
	// Kimg is the speed of the tuning: an adjustment moves p by
	// batch·Interval/(Kimg·1000), so p can go from 0 to 1 in Kimg
	// thousand real images.
	Kimg float64
	// P is the initial augmentation probability, in [0, 1].
	P float64
	// Fixed keeps p at P: Observe only records r_t.
	Fixed bool
	// Seed seeds the pipeline's random source (PCG).
	Seed uint64
}

// Grey returns the multipliers of the 'bgc' pipeline for grey images: 1
// for xflip, rotate90, xint, scale, rotate, aniso, xfrac, brightness,
// contrast and lumaflip.
func Grey() map[Transform]float64 {
	m := make(map[Transform]float64, NumTransforms)
	for t := range NumTransforms {
		m[t] = 1
	}
	return m
}

// withDefaults returns o with its zero fields set to their defaults and a
// copy of its multipliers.
func (o Options) withDefaults() Options {
	if o.Multipliers == nil {
		o.Multipliers = Grey()
	} else {
		o.Multipliers = maps.Clone(o.Multipliers)
	}
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.XIntMax, DefaultXIntMax)
	def(&o.ScaleStd, DefaultScaleStd)
	def(&o.RotateMax, DefaultRotateMax)
	def(&o.AnisoStd, DefaultAnisoStd)
	def(&o.XFracStd, DefaultXFracStd)
	def(&o.BrightnessStd, DefaultBrightnessStd)
	def(&o.ContrastStd, DefaultContrastStd)
	def(&o.Target, DefaultTarget)
	def(&o.Kimg, DefaultKimg)
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	return o
}

// maxInterval bounds Options.Interval (it is stored in 32 bits).
const maxInterval = 1 << 30

// Validate reports whether o, with its defaults filled in, is usable: the
// multipliers and strengths finite and not negative, Target finite,
// Interval in [1, 2^30], Kimg positive and finite, P in [0, 1].
func (o Options) Validate() error {
	o = o.withDefaults()
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	for t, m := range o.Multipliers {
		if t >= NumTransforms {
			return fmt.Errorf("ada: unknown transform %v", t)
		}
		if !finite(m) || m < 0 {
			return fmt.Errorf("ada: multiplier of %v is %v", t, m)
		}
	}
	for _, s := range []struct {
		name string
		v    float64
	}{
		{"XIntMax", o.XIntMax}, {"ScaleStd", o.ScaleStd}, {"RotateMax", o.RotateMax},
		{"AnisoStd", o.AnisoStd}, {"XFracStd", o.XFracStd},
		{"BrightnessStd", o.BrightnessStd}, {"ContrastStd", o.ContrastStd},
	} {
		if !finite(s.v) || s.v < 0 {
			return fmt.Errorf("ada: %s is %v", s.name, s.v)
		}
	}
	switch {
	case !finite(o.Target):
		return fmt.Errorf("ada: Target is %v", o.Target)
	case o.Interval < 1 || o.Interval > maxInterval:
		return fmt.Errorf("ada: Interval is %d, want 1 to %d", o.Interval, maxInterval)
	case !finite(o.Kimg) || o.Kimg <= 0:
		return fmt.Errorf("ada: Kimg is %v", o.Kimg)
	case !(o.P >= 0 && o.P <= 1):
		return fmt.Errorf("ada: P is %v, want it in [0, 1]", o.P)
	}
	return nil
}

// Pipeline is the adaptive discriminator augmentation of Karras et al.
// (2020): it draws augmentations for batches of images (Draw) with a
// probability p that it tunes from the discriminator's outputs on real
// images (Observe). It has the methods of a trainer's Augmenter: Draw,
// Observe, P, MarshalBinary and UnmarshalBinary (Draw returns the
// Augmentation alias; see the package documentation). A Pipeline is not
// safe for concurrent use; the batches it draws are.
type Pipeline struct {
	o    Options // defaults filled in
	mult [NumTransforms]float64

	p     float64
	sum   int64   // sum of the signs of the logits observed in this interval
	count int64   // number of those logits
	calls int     // Observe calls in this interval
	rt    float64 // r_t of the last interval, NaN before the first

	pcg *rand.PCG
	rng *rand.Rand
}

// New returns a pipeline with options o at probability o.P. It panics if
// o is not valid (see Options.Validate).
func New(o Options) *Pipeline {
	if err := o.Validate(); err != nil {
		panic(err)
	}
	o = o.withDefaults()
	a := &Pipeline{o: o, p: o.P, rt: math.NaN(), pcg: rand.NewPCG(o.Seed, seedStream)}
	a.rng = rand.New(a.pcg)
	a.setMult()
	return a
}

// seedStream is the second word of the PCG seed.
const seedStream = 0x61646120_73747265 // "ada stre"

func (a *Pipeline) setMult() {
	a.mult = [NumTransforms]float64{}
	for t, m := range a.o.Multipliers {
		a.mult[t] = m
	}
}

// Options returns the pipeline's options with their defaults filled in.
func (a *Pipeline) Options() Options {
	o := a.o
	o.Multipliers = maps.Clone(o.Multipliers)
	return o
}

// P returns the current augmentation probability.
func (a *Pipeline) P() float64 { return a.p }

// RT returns r_t, the mean sign of the real logits of the last complete
// interval (for logging); NaN before the first.
func (a *Pipeline) RT() float64 { return a.rt }

// Draw draws the augmentations of a batch of n images of c×h×w; see
// DrawBatch.
func (a *Pipeline) Draw(n, c, h, w int) Augmentation { return a.DrawBatch(n, c, h, w) }

// DrawBatch draws the augmentations of a batch of n images of c×h×w: for
// each sample in turn, each transform with probability p times its
// multiplier. At p = 0 it draws no random numbers and returns a batch
// whose Apply copies. It panics if n < 0 or c, h or w < 1.
func (a *Pipeline) DrawBatch(n, c, h, w int) *Batch {
	if n < 0 || c < 1 || h < 1 || w < 1 {
		panic(fmt.Sprintf("ada: Draw of %dx%dx%dx%d", n, c, h, w))
	}
	samples := make([]Sample, n)
	for i := range samples {
		if a.p == 0 {
			samples[i] = Identity()
			continue
		}
		d := drawParams(a.rng, &a.o, &a.mult, a.p, h, w)
		samples[i] = d.sample()
	}
	return NewBatch(n, c, h, w, samples)
}

// Observe takes the discriminator's logits on the real images of one D
// step (call it once per minibatch). Every Interval calls it sets r_t to
// the mean sign of the logits of those calls (sign(0) = 0; a NaN counts
// as 0) and, unless the options are Fixed, moves p by
// sign(r_t - Target)·m/(Kimg·1000), m the number of those logits
// (batch·Interval), and clamps it to [0, 1]. An interval with no logits
// leaves r_t and p as they are.
func (a *Pipeline) Observe(realLogits []float32) {
	for _, v := range realLogits {
		switch {
		case v > 0:
			a.sum++
		case v < 0:
			a.sum--
		}
	}
	a.count += int64(len(realLogits))
	a.calls++
	if a.calls < a.o.Interval {
		return
	}
	sum, count := a.sum, a.count
	a.sum, a.count, a.calls = 0, 0, 0
	if count == 0 {
		return
	}
	a.rt = float64(sum) / float64(count)
	if a.o.Fixed {
		return
	}
	var sign float64
	switch {
	case a.rt > a.o.Target:
		sign = 1
	case a.rt < a.o.Target:
		sign = -1
	default:
		return
	}
	a.p = min(max(a.p+sign*(float64(count)/(a.o.Kimg*1000)), 0), 1)
}
