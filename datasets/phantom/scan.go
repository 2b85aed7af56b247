package phantom

import (
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/anogo/anogo/sdk/data"
)

// Scan is one generated B-scan with what the generator knows about it.
type Scan struct {
	// Sample holds the image, its label (1 when Kinds is not empty) and its
	// mask (1 on the pixels of the anomalies; all zero for a normal scan).
	data.Sample
	// Kinds lists the anomalies drawn, in drawing order; nil for a normal
	// scan.
	Kinds []Kind
	// ROI is 1 on the retina, from the inner limiting membrane down to
	// Bruch's membrane (subretinal fluid and drusen included), and 0 on the
	// vitreous and the choroid. It plays the part of the paper's layer
	// segmentation (Sec. 3): patches are taken with their centre inside it.
	ROI *data.Image
}

// Generate draws scan i of split ("train", "val" or "test"). The scan is a
// pure function of (cfg.Seed, cfg.Width, cfg.Height, split, i) and of the
// split's anomaly fraction, which decides whether it is anomalous: scan i is
// anomalous when the count floor(n*f) of anomalous scans among the first n
// grows from n = i to n = i+1, f being cfg.Contamination for train and
// cfg.AnomalyFraction otherwise. An anomalous scan carries one to three
// anomalies of random kinds. i may exceed the split's size; a negative i, an
// unknown split or an invalid cfg is an error.
func Generate(cfg Config, split string, i int) (Scan, error) {
	return generate(cfg, split, i, nil, false)
}

// GenerateKinds draws scan i of split like Generate, with the same anatomy
// and speckle, but carrying exactly the anomalies listed (one anomaly per
// entry; none gives a normal scan). It serves figures and tests that need a
// given kind of anomaly.
func GenerateKinds(cfg Config, split string, i int, kinds ...Kind) (Scan, error) {
	for _, k := range kinds {
		if !k.valid() {
			return Scan{}, fmt.Errorf("phantom: unknown anomaly kind %d", int(k))
		}
	}
	return generate(cfg, split, i, kinds, true)
}

// Ideal returns the best reconstruction of scan i of split that a model of
// normal appearance could give under a residual score Σ|x - G(z)| (AnoGAN,
// Eq. 3): the scan as drawn by Generate, its layers where its lesions put
// them (the retina lifted by subretinal fluid, the RPE by drusen), with the
// lesions' material rendered as the tissue around it (fluid as the
// photoreceptor outer segments above it, druse material as RPE, no cysts
// or foci), and every speckle factor at its mean 1, then blurred and mapped
// to [-1, 1]. Each pixel of it is the centre of that pixel's distribution
// over the speckle (the mean; the median, which minimises the expected
// absolute residual, lies within about 0.01 of it, TestIdeal). No model can
// know the speckle of a scan it has not seen, so scoring test patches
// against Ideal shows what a residual score can reach on the phantom
// (anogan.Ideal, docs/results.md). For a normal scan it is the scan without
// its speckle.
func Ideal(cfg Config, split string, i int) (*data.Image, error) {
	anat, les, _, _, err := scene(cfg, split, i, nil, false)
	if err != nil {
		return nil, err
	}
	les.healed = true
	img, _, _ := render(anat, les, nil)
	return img, nil
}

func generate(cfg Config, split string, i int, kinds []Kind, force bool) (Scan, error) {
	anat, les, kinds, code, err := scene(cfg, split, i, kinds, force)
	if err != nil {
		return Scan{}, err
	}
	img, mask, roi := render(anat, les, stream(cfg.Seed, code, i, 2))
	label := data.Normal
	if len(kinds) > 0 {
		label = data.Anomalous
	}
	return Scan{
		Sample: data.Sample{ID: ID(split, i), Image: img, Label: label, Mask: mask},
		Kinds:  kinds,
		ROI:    roi,
	}, nil
}

// scene draws the anatomy and lesions of scan i of split: the kinds given
// when force is set, else those the split's anomaly fraction decides. It
// returns the kinds drawn (nil for a normal scan) and the split's code.
func scene(cfg Config, split string, i int, kinds []Kind, force bool) (*anatomy, *lesions, []Kind, uint64, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, nil, 0, err
	}
	code, err := splitCode(split)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	if i < 0 {
		return nil, nil, nil, 0, fmt.Errorf("phantom: negative scan index %d", i)
	}
	anat := drawAnatomy(cfg.Width, cfg.Height, stream(cfg.Seed, code, i, 0))
	rngA := stream(cfg.Seed, code, i, 1)
	if !force {
		kinds = nil
		if f := cfg.fraction(split); anomalousCount(i+1, f) > anomalousCount(i, f) {
			kinds = drawKinds(rngA)
		}
	}
	kinds = append([]Kind(nil), kinds...)
	if len(kinds) == 0 {
		kinds = nil
	}
	return anat, drawLesions(anat, kinds, rngA), kinds, code, nil
}

// stream returns the random source for part sub (0 anatomy, 1 anomalies,
// 2 speckle) of scan i of the split numbered code. Keeping the parts on
// separate streams lets GenerateKinds change the anomalies of a scan while
// keeping its anatomy and speckle.
func stream(seed, code uint64, i int, sub uint64) *rand.Rand {
	a := splitmix(seed + 0x9e3779b97f4a7c15*code)
	b := splitmix(a ^ splitmix(uint64(i)<<2|sub))
	return rand.New(rand.NewPCG(a, b))
}

// splitmix is the finaliser of the SplitMix64 generator, used to spread
// seeds over 64 bits.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// The retina's bands from the inner limiting membrane down: relative
// thickness (summing to 1) and reflectivity (mean intensity before speckle,
// in [0, 1]). Reflective layers (fibres, plexiform layers, ellipsoid zone,
// RPE) are bright; the nuclear layers are dark, as in SD-OCT.
const nLayers = 9

var layers = [nLayers]struct {
	name       string
	frac, refl float64
}{
	{"nerve fibre layer", 0.12, 0.90},
	{"ganglion cell layer", 0.11, 0.54},
	{"inner plexiform layer", 0.10, 0.72},
	{"inner nuclear layer", 0.09, 0.40},
	{"outer plexiform layer", 0.07, 0.70},
	{"outer nuclear layer", 0.27, 0.40},
	{"ellipsoid zone", 0.05, 0.82},
	{"photoreceptor outer segments", 0.09, 0.46},
	{"retinal pigment epithelium", 0.10, 0.92},
}

// Layer indices used by the anomalies.
const (
	gcl = 1
	inl = 3
	onl = 5
	ez  = 6
	rpe = 8
)

// Reflectivities outside the layers.
const (
	reflVitreous = 0.03
	reflFluid    = 0.02 // cysts and subretinal fluid
	reflDruse    = 0.25 // druse material under the RPE
	reflFocus    = 1.10 // hyperreflective foci (saturate after speckle)
	reflVessel   = 0.88
)

// Speckle: intensity speckle of L looks follows a Gamma(L, 1/L) law of mean
// 1; the blur that follows makes the grains a little wider than a pixel,
// wider across (x) than along the beam (y), as in SD-OCT.
const (
	speckleLooks = 16
	blurSigmaX   = 0.9
	blurSigmaY   = 0.6
)

// quantileTable holds the quantile function of a distribution at the
// levels j/(len-1); the last entry stands for the top level 1 - 1/(2(len-1))
// so the table stays finite.
type quantileTable []float64

// draw returns a sample by inverse-CDF sampling with linear interpolation
// between table entries.
func (q quantileTable) draw(r *rand.Rand) float64 {
	u := r.Float64() * float64(len(q)-1)
	j := int(u)
	f := u - float64(j)
	return q[j] + f*(q[j+1]-q[j])
}

// speckleQuantiles tabulates the quantiles of Gamma(L, 1/L), L =
// speckleLooks, whose CDF for integer L is
// F(g) = 1 - exp(-Lg) sum_{n<L} (Lg)^n / n!. Drawing from the table costs one
// uniform number per pixel instead of L uniforms and a logarithm.
var speckleQuantiles = sync.OnceValue(func() quantileTable {
	const steps = 4096
	cdf := func(g float64) float64 {
		lg := speckleLooks * g
		term, sum := 1.0, 1.0
		for n := 1; n < speckleLooks; n++ {
			term *= lg / float64(n)
			sum += term
		}
		return 1 - math.Exp(-lg)*sum
	}
	q := make(quantileTable, steps+1)
	for j := 1; j <= steps; j++ {
		p := float64(j) / steps
		if j == steps {
			p = 1 - 0.5/steps
		}
		lo, hi := 0.0, 20.0
		for range 60 {
			if mid := (lo + hi) / 2; cdf(mid) < p {
				lo = mid
			} else {
				hi = mid
			}
		}
		q[j] = (lo + hi) / 2
	}
	return q
})

// ellipse is a soft-edged ellipse drawn over the layers.
type ellipse struct {
	cy, cx, ry, rx, refl float64
	anomalous            bool
}

// vessel is a retinal vessel: a bright ellipse in the ganglion cell layer
// that shades the columns below it.
type vessel struct {
	x, rx, ry, shade float64
}

// anatomy is the normal part of a scan, drawn from the anatomy stream.
type anatomy struct {
	h, w    int
	u       float64            // scale: Height / 128
	bruch   []float64          // Bruch's membrane, row per column
	thick   [nLayers][]float64 // layer thickness per column
	gain    []float64          // A-scan brightness per column
	vessels []vessel           // retinal vessels
	lumens  []ellipse          // choroidal vessel lumens; cy is depth below Bruch's
}

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// drawAnatomy draws the curved, layered retina of one normal scan.
func drawAnatomy(w, h int, r *rand.Rand) *anatomy {
	H, W := float64(h), float64(w)
	a := &anatomy{h: h, w: w, u: H / 128, bruch: make([]float64, w), gain: make([]float64, w)}
	// Bruch's membrane: a seeded parabola (curvature and tilt of the eye
	// wall) plus low-order sines.
	base := uniform(r, 0.66, 0.74)
	curv := uniform(r, -0.10, 0.03)
	tilt := uniform(r, -0.06, 0.06)
	var amp, phase [3]float64
	for k := range amp {
		amp[k] = 0.012 * H * r.Float64() / float64(k+1)
		phase[k] = uniform(r, 0, 2*math.Pi)
	}
	// Thickness: a mean, a slow variation along the width, the nerve fibre
	// layer thickening towards one side (the optic disc) and, in most scans,
	// a foveal pit where the inner layers thin out.
	t0 := 0.36 * H * uniform(r, 0.92, 1.08)
	var tAmp, tPhase [2]float64
	for k := range tAmp {
		tAmp[k] = 0.05 * r.Float64() / float64(k+1)
		tPhase[k] = uniform(r, 0, 2*math.Pi)
	}
	nflSlope := uniform(r, -0.6, 0.6)
	fovea := r.Float64() < 0.6
	xf, sf, pit := uniform(r, 0.3, 0.7)*W, uniform(r, 0.04, 0.08)*W, uniform(r, 0.4, 0.9)
	for k := range a.thick {
		a.thick[k] = make([]float64, w)
	}
	minILM, maxBruch := math.Inf(1), math.Inf(-1)
	for x := range w {
		xc := float64(x) + 0.5
		s := 2*xc/W - 1
		b := H * (base + curv*s*s + tilt*s)
		t := t0
		for k := range amp {
			b += amp[k] * math.Sin(2*math.Pi*float64(k+1)*xc/W+phase[k])
		}
		for k := range tAmp {
			t *= 1 + tAmp[k]*math.Sin(2*math.Pi*float64(k+1)*xc/W+tPhase[k])
		}
		g := 0.0
		if fovea {
			d := (xc - xf) / sf
			g = math.Exp(-0.5 * d * d)
		}
		sum := 0.0
		for k := range layers {
			m := 1.0
			switch {
			case k == 0:
				m = (1 + nflSlope*s) * (1 - min(1, 1.1*pit)*g)
			case k <= 4:
				m = 1 - pit*g
			case k == onl:
				m = 1 + 0.4*pit*g
			}
			a.thick[k][x] = t * layers[k].frac * m
			sum += a.thick[k][x]
		}
		a.bruch[x] = b
		minILM = min(minILM, b-sum)
		maxBruch = max(maxBruch, b)
	}
	// Keep room for the vitreous above (and for subretinal fluid lifting
	// the retina) and for the choroid below.
	shift := 0.0
	if minILM < 0.14*H {
		shift = 0.14*H - minILM
	} else if maxBruch > 0.86*H {
		shift = 0.86*H - maxBruch
	}
	for x := range a.bruch {
		a.bruch[x] += shift
	}
	// A-scan brightness: a slow wave and a little jitter per column.
	gAmp, gFreq, gPhase := uniform(r, 0, 0.06), uniform(r, 0.5, 2), uniform(r, 0, 2*math.Pi)
	for x := range a.gain {
		a.gain[x] = 1 + gAmp*math.Sin(2*math.Pi*gFreq*float64(x)/W+gPhase) + 0.03*r.NormFloat64()
	}
	for range r.IntN(4) {
		a.vessels = append(a.vessels, vessel{
			x:     uniform(r, 0.05, 0.95) * W,
			rx:    uniform(r, 1.5, 3) * a.u,
			ry:    uniform(r, 1.2, 2) * a.u,
			shade: uniform(r, 0.2, 0.4),
		})
	}
	for range 4 + r.IntN(5) {
		a.lumens = append(a.lumens, ellipse{
			cx: uniform(r, 0, W),
			cy: uniform(r, 0.05, 0.13) * H,
			rx: uniform(r, 3, 8) * a.u,
			ry: uniform(r, 1.5, 3.5) * a.u,
		})
	}
	return a
}

// drawKinds draws the anomalies of an anomalous scan: one to three, of
// random kinds.
func drawKinds(r *rand.Rand) []Kind {
	n := 1 + r.IntN(3)
	out := make([]Kind, n)
	for j := range out {
		out[j] = Kinds[r.IntN(len(Kinds))]
	}
	return out
}

// lesions are the anomalies of a scan: two displacement fields, which
// change the layer geometry, and ellipses placed in the displaced layers.
type lesions struct {
	fluid []float64 // subretinal fluid thickness per column
	druse []float64 // druse thickness per column
	spots []spot    // cysts and foci, placed once the layers are known
	// healed renders the lesions' material as the tissue around it (Ideal):
	// fluid as the photoreceptor outer segments above it, druse material as
	// RPE, no cysts or foci; the layers stay where the lesions put them.
	healed bool
}

// spot is a cyst or focus in layer coordinates: its centre lies at fraction
// depth between the top of layer top and the bottom of layer bottom.
type spot struct {
	cx, rx, ry, depth float64
	top, bottom       int
	refl              float64
}

// dome is the profile of a fluid lens or druse: 1 at the centre, falling
// smoothly to 0 at |r| = 1.
func dome(r float64) float64 {
	if r <= -1 || r >= 1 {
		return 0
	}
	q := 1 - r*r
	return q * math.Sqrt(q)
}

// drawLesions draws the size and place of each anomaly of kinds. Centres of
// different anomalies are kept apart where the width allows.
func drawLesions(a *anatomy, kinds []Kind, r *rand.Rand) *lesions {
	W, u := float64(a.w), a.u
	l := &lesions{fluid: make([]float64, a.w), druse: make([]float64, a.w)}
	var centres []float64
	centre := func(lo, hi float64) float64 {
		var c float64
		for range 20 {
			c = uniform(r, lo, hi) * W
			ok := true
			for _, p := range centres {
				ok = ok && math.Abs(c-p) >= 0.18*W
			}
			if ok {
				break
			}
		}
		centres = append(centres, c)
		return c
	}
	for _, k := range kinds {
		switch k {
		case Cysts:
			cx := centre(0.1, 0.9)
			for j := range 1 + r.IntN(3) {
				s := spot{cx: cx, top: onl, bottom: onl, refl: reflFluid}
				if j > 0 {
					s.cx += uniform(r, -14, 14) * u
				}
				s.rx = uniform(r, 5, 12) * u
				s.ry = uniform(r, 3, 6) * u
				if r.Float64() < 0.3 {
					s.top, s.bottom = inl, inl
					s.ry = uniform(r, 2, 3.5) * u
				}
				s.depth = uniform(r, 0.3, 0.7)
				l.spots = append(l.spots, s)
			}
		case SubretinalFluid:
			cx := centre(0.15, 0.85)
			hw, h := uniform(r, 14, 32)*u, uniform(r, 4, 9)*u
			for x := range l.fluid {
				l.fluid[x] += h * dome((float64(x)+0.5-cx)/hw)
			}
		case Drusen:
			cx := centre(0.1, 0.9)
			for j := range 1 + r.IntN(3) {
				c := cx
				if j > 0 {
					c += uniform(r, -20, 20) * u
				}
				hw, h := uniform(r, 6, 13)*u, uniform(r, 4, 7)*u
				for x := range l.druse {
					l.druse[x] = max(l.druse[x], h*dome((float64(x)+0.5-c)/hw))
				}
			}
		case Foci:
			cx := centre(0.1, 0.9)
			for j := range 2 + r.IntN(3) {
				s := spot{cx: cx, top: onl, bottom: onl, refl: reflFocus}
				if j > 0 {
					s.cx += uniform(r, -10, 10) * u
				}
				if r.Float64() < 0.3 {
					s.top, s.bottom = inl, inl
				}
				s.ry = uniform(r, 2.2, 3.5) * u
				s.rx = s.ry * uniform(r, 1, 1.3)
				s.depth = uniform(r, 0.2, 0.8)
				l.spots = append(l.spots, s)
			}
		}
	}
	return l
}

// Segments of a column, top to bottom: the eight layers above the RPE,
// subretinal fluid, the RPE, druse material. edges[j] and edges[j+1] bound
// segment j; edges[0] is the inner limiting membrane, edges[nSeg] Bruch's
// membrane.
const (
	segFluid = 8
	segRPE   = 9
	segDruse = 10
	nSeg     = 11
)

var segRefl = func() (out [nSeg]float64) {
	for k := range rpe {
		out[k] = layers[k].refl
	}
	out[segFluid] = reflFluid
	out[segRPE] = layers[rpe].refl
	out[segDruse] = reflDruse
	return out
}()

// refl returns the reflectivity of segment j, the host tissue's for a
// lesion segment when l is healed.
func (l *lesions) refl(j int) float64 {
	if l.healed {
		switch j {
		case segFluid:
			return layers[rpe-1].refl
		case segDruse:
			return layers[rpe].refl
		}
	}
	return segRefl[j]
}

// layerTop returns the row of the top of layer k (0..8) in a column.
func layerTop(e *[nSeg + 1]float64, k int) float64 {
	if k == rpe {
		return e[segRPE]
	}
	return e[k]
}

// layerBottom returns the row of the bottom of layer k (0..8) in a column.
func layerBottom(e *[nSeg + 1]float64, k int) float64 {
	if k == rpe {
		return e[segDruse]
	}
	return e[k+1]
}

// stack builds the edges of every column from Bruch's membrane upwards:
// drusen lift the RPE, subretinal fluid lifts the retina above the RPE, and
// the outer nuclear layer absorbs half of a druse's height.
func stack(a *anatomy, l *lesions) [][nSeg + 1]float64 {
	cols := make([][nSeg + 1]float64, a.w)
	for x := range cols {
		e := &cols[x]
		y := a.bruch[x]
		e[nSeg] = y
		y -= l.druse[x]
		e[segDruse] = y
		y -= a.thick[rpe][x]
		e[segRPE] = y
		y -= l.fluid[x]
		e[segFluid] = y
		for k := rpe - 1; k >= 0; k-- {
			t := a.thick[k][x]
			if k == onl {
				t = max(0.4*t, t-0.5*l.druse[x])
			}
			y -= t
			e[k] = y
		}
	}
	return cols
}

// rows returns the rows that the span [top, bottom) of a column touches,
// clipped to [0, h).
func rows(top, bottom float64, h int) iter.Seq[int] {
	return func(yield func(int) bool) {
		y0 := max(0, int(math.Floor(top)))
		y1 := min(h, int(math.Ceil(bottom)))
		for y := y0; y < y1; y++ {
			if !yield(y) {
				return
			}
		}
	}
}

// cover returns the part of pixel row y that the span [top, bottom) covers.
func cover(y int, top, bottom float64) float64 {
	return max(0, min(bottom, float64(y+1))-max(top, float64(y)))
}

// render rasterises a scan: area-weighted reflectivity of the segments in
// each pixel, choroid, vessels, cysts and foci, vessel shadows, A-scan gain,
// speckle, blur, and the map to [-1, 1]. With r nil every speckle factor is
// its mean 1.
func render(a *anatomy, l *lesions, r *rand.Rand) (img, mask, roi *data.Image) {
	h, w, H := a.h, a.w, float64(a.h)
	cols := stack(a, l)
	refl := make([]float64, h*w)
	mask, roi = data.NewImage(h, w), data.NewImage(h, w)
	bad, inside := make([]float64, h), make([]float64, h)
	for x := range w {
		e := &cols[x]
		clear(bad)
		clear(inside)
		for y := range rows(0, e[0], h) {
			refl[y*w+x] += cover(y, 0, e[0]) * reflVitreous
		}
		for j := range nSeg {
			for y := range rows(e[j], e[j+1], h) {
				ov := cover(y, e[j], e[j+1])
				refl[y*w+x] += ov * l.refl(j)
				inside[y] += ov
				if j == segFluid || j == segDruse {
					bad[y] += ov
				}
			}
		}
		for y := range rows(e[nSeg], H, h) {
			ov := cover(y, e[nSeg], H)
			refl[y*w+x] += ov * choroid(a, float64(x)+0.5, float64(y)+0.5-e[nSeg], H)
		}
		for y := range h {
			if bad[y] >= 0.5 {
				mask.Pix[y*w+x] = 1
			}
			if inside[y] >= 0.5 {
				roi.Pix[y*w+x] = 1
			}
		}
	}
	at := func(x float64) *[nSeg + 1]float64 {
		return &cols[min(max(int(x), 0), w-1)]
	}
	// Retinal vessels in the upper ganglion cell layer.
	var vesselRows []float64
	for _, v := range a.vessels {
		e := at(v.x)
		cy := e[gcl] + 0.3*(e[gcl+1]-e[gcl])
		drawEllipse(refl, nil, h, w, ellipse{cy: cy, cx: v.x, ry: v.ry, rx: v.rx, refl: reflVessel})
		vesselRows = append(vesselRows, cy+v.ry)
	}
	// Cysts and foci, kept between the nerve fibre layer and the ellipsoid
	// zone.
	for _, s := range l.spots {
		e := at(s.cx)
		top, bottom := layerTop(e, s.top), layerBottom(e, s.bottom)
		cy := top + s.depth*(bottom-top)
		lo, hi := e[1]+1, e[ez]-1
		ry := min(s.ry, max(1, (hi-lo)/2))
		cy = min(max(cy, lo+ry), hi-ry)
		if l.healed {
			continue
		}
		drawEllipse(refl, mask, h, w, ellipse{cy: cy, cx: s.cx, ry: ry, rx: max(s.rx, ry), refl: s.refl, anomalous: true})
	}
	// Vessel shadows: the columns under a vessel lose part of their light.
	for j, v := range a.vessels {
		for x := max(0, int(v.x-v.rx-1)); x <= min(w-1, int(v.x+v.rx+1)); x++ {
			part := min(1, max(0, v.rx+0.5-math.Abs(float64(x)+0.5-v.x)))
			for y := max(0, int(vesselRows[j])+1); y < h; y++ {
				refl[y*w+x] *= 1 - v.shade*part
			}
		}
	}
	// Gain and speckle.
	q := speckleQuantiles()
	for y := range h {
		for x := range w {
			if r != nil {
				refl[y*w+x] *= a.gain[x] * q.draw(r)
			} else {
				refl[y*w+x] *= a.gain[x]
			}
		}
	}
	refl = blur(refl, h, w)
	img = data.NewImage(h, w)
	for j, v := range refl {
		img.Pix[j] = float32(min(1, max(-1, 2*v-1)))
	}
	return img, mask, roi
}

// choroid returns the reflectivity at depth d rows below Bruch's membrane in
// column x: bright under the membrane, fading into the sclera, with dark
// vessel lumens.
func choroid(a *anatomy, x, d, H float64) float64 {
	v := 0.08 + 0.40*math.Exp(-d/(0.10*H))
	for _, c := range a.lumens {
		dx, dy := (x-c.cx)/c.rx, (d-c.cy)/c.ry
		if q := dx*dx + dy*dy; q < 1 {
			v *= 1 - 0.6*(1-q)
		}
	}
	return v
}

// drawEllipse blends e into refl with a one-pixel soft edge and, when mask
// is not nil and e is anomalous, sets mask where the ellipse covers at least
// half a pixel.
func drawEllipse(refl []float64, mask *data.Image, h, w int, e ellipse) {
	for y := max(0, int(e.cy-e.ry-1)); y <= min(h-1, int(e.cy+e.ry+1)); y++ {
		for x := max(0, int(e.cx-e.rx-1)); x <= min(w-1, int(e.cx+e.rx+1)); x++ {
			dx, dy := (float64(x)+0.5-e.cx)/e.rx, (float64(y)+0.5-e.cy)/e.ry
			c := min(1, max(0, min(e.rx, e.ry)*(1-math.Hypot(dx, dy))+0.5))
			if c == 0 {
				continue
			}
			refl[y*w+x] = (1-c)*refl[y*w+x] + c*e.refl
			if mask != nil && e.anomalous && c >= 0.5 {
				mask.Pix[y*w+x] = 1
			}
		}
	}
}

// blur applies a separable Gaussian blur (blurSigmaX, blurSigmaY) with
// edge rows and columns repeated.
func blur(src []float64, h, w int) []float64 {
	kx, ky := gaussKernel(blurSigmaX), gaussKernel(blurSigmaY)
	tmp := make([]float64, len(src))
	rx := len(kx) / 2
	for y := range h {
		row := src[y*w : (y+1)*w]
		for x := range w {
			s := 0.0
			for j, k := range kx {
				s += k * row[min(max(x+j-rx, 0), w-1)]
			}
			tmp[y*w+x] = s
		}
	}
	out := make([]float64, len(src))
	ry := len(ky) / 2
	for y := range h {
		for j, k := range ky {
			yy := min(max(y+j-ry, 0), h-1)
			for x := range w {
				out[y*w+x] += k * tmp[yy*w+x]
			}
		}
	}
	return out
}

// gaussKernel returns normalised Gaussian weights over ±ceil(2 sigma).
func gaussKernel(sigma float64) []float64 {
	r := int(math.Ceil(2 * sigma))
	k := make([]float64, 2*r+1)
	sum := 0.0
	for j := range k {
		d := float64(j - r)
		k[j] = math.Exp(-0.5 * d * d / (sigma * sigma))
		sum += k[j]
	}
	for j := range k {
		k[j] /= sum
	}
	return k
}
