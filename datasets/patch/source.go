package patch

import (
	"fmt"
	"hash/fnv"
	"iter"
	"math/rand/v2"

	"github.com/anogo/anogo/sdk/data"
)

// Defaults of Options.
const (
	DefaultSize = 64 // the paper's patch side (Sec. 3)
	DefaultK    = 16
	// MaxK bounds Options.K: the positions of an image's patches are
	// drawn at once, so K = 10^9 allocated 16 GB before a patch was cut.
	MaxK = 1 << 16
)

// Options choose how NewSource and Balanced cut patches. The zero value
// gives 16 patches of 64x64 per image anywhere in the image, seed 0.
type Options struct {
	// Size is the side of the square region cut from the image, in image
	// pixels; 0 means DefaultSize.
	Size int
	// Resize is the side of the patches handed out; 0 keeps Size. Resize
	// below Size shrinks each region (area averaging for the image, nearest
	// neighbour for the mask), e.g. Size 64, Resize 32 for small CPU runs
	// that still see 64x64 pixels of context.
	Resize int
	// K is the number of patches per image; 0 means DefaultK.
	K int
	// Seed fixes the positions: the patches of an image are a function of
	// (Seed, split, sample ID).
	Seed uint64
	// InROI restricts patch centres to the region of interest: the centre
	// (Y+Size/2, X+Size/2) of every patch is a pixel where the ROI is 1.
	InROI bool
	// ROI returns the region of interest of an image sample (1 inside, 0
	// outside, the size of the image). When InROI is set and ROI is nil,
	// the source's own ROI method is used (see ROIer).
	ROI func(data.Sample) (*data.Image, error)
}

// ROIer is implemented by sources that know the region of interest of their
// samples, such as the retina of a phantom OCT scan.
type ROIer interface {
	ROI(data.Sample) (*data.Image, error)
}

// withDefaults returns o with zero fields set to their defaults, or an
// error for a negative field.
func (o Options) withDefaults() (Options, error) {
	if o.Size < 0 || o.Resize < 0 || o.K < 0 {
		return o, fmt.Errorf("patch: negative option (size=%d, resize=%d, k=%d)", o.Size, o.Resize, o.K)
	}
	if o.K > MaxK {
		return o, fmt.Errorf("patch: %w", &data.LimitError{What: "k", N: int64(o.K), Limit: MaxK, Unit: "patches per image"})
	}
	if o.Size == 0 {
		o.Size = DefaultSize
	}
	if o.Resize == 0 {
		o.Resize = o.Size
	}
	if o.K == 0 {
		o.K = DefaultK
	}
	return o, nil
}

// Source is a data.Source of patches cut from the images of another source.
type Source struct {
	src data.Source
	opt Options
}

// NewSource returns a source whose splits are those of src and whose
// samples are patches: for each image of a split, opt.K patches at random
// positions (see Options), each cut by Cut, so labelled by the paper's rule
// and named like "phantom:test/17#patch(y=12,x=80)". Train, val and test are
// all cut this way; their positions are seeded differently because the seed
// includes the split. Bad options, an image smaller than the patch size or a
// missing ROI are reported as an error by Samples.
func NewSource(src data.Source, opt Options) *Source {
	return &Source{src: src, opt: opt}
}

// Name returns the name of the underlying source followed by the patch
// options.
func (s *Source) Name() string {
	o, _ := s.opt.withDefaults()
	return fmt.Sprintf("%s#patches(size=%d,resize=%d,k=%d,seed=%d,roi=%t)", s.src.Name(), o.Size, o.Resize, o.K, o.Seed, o.InROI)
}

// Splits returns the splits of the underlying source.
func (s *Source) Splits() []string { return s.src.Splits() }

// Samples iterates the patches of split, image after image.
func (s *Source) Samples(split string) iter.Seq2[data.Sample, error] {
	return func(yield func(data.Sample, error) bool) {
		opt, err := s.opt.withDefaults()
		if err != nil {
			yield(data.Sample{}, err)
			return
		}
		roiOf := opt.ROI
		if opt.InROI && roiOf == nil {
			r, ok := s.src.(ROIer)
			if !ok {
				yield(data.Sample{}, fmt.Errorf("patch: InROI is set, but source %s has no ROI method and Options.ROI is nil", s.src.Name()))
				return
			}
			roiOf = r.ROI
		}
		for img, err := range s.src.Samples(split) {
			if err != nil {
				yield(data.Sample{}, err)
				return
			}
			var roi *data.Image
			if opt.InROI {
				if roi, err = roiOf(img); err != nil {
					yield(data.Sample{}, err)
					return
				}
			}
			pos, err := Positions(img, roi, opt.Size, opt.K, Rand(opt.Seed, split, img.ID))
			if err != nil {
				yield(data.Sample{}, err)
				return
			}
			for _, p := range pos {
				ps, err := Cut(img, p[0], p[1], opt.Size, opt.Resize)
				if !yield(ps, err) || err != nil {
					return
				}
			}
		}
	}
}

// Rand returns the random source for the patches of the sample named id in
// split: PCG seeded with seed and the FNV-1a hash of split and id.
func Rand(seed uint64, split, id string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(split))
	h.Write([]byte{0})
	h.Write([]byte(id))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// Positions draws k top-left corners [y, x] of size x size patches inside
// the image of s, uniformly and with replacement. When roi is not nil, only
// positions whose centre (y+size/2, x+size/2) lies where roi > 0.5 are
// drawn. An image smaller than size, an roi of another size than the image
// or an roi with no admissible centre is an error.
func Positions(s data.Sample, roi *data.Image, size, k int, r *rand.Rand) ([][2]int, error) {
	if s.Image == nil {
		return nil, fmt.Errorf("patch: %s: no image", s.ID)
	}
	if k < 0 || k > MaxK {
		return nil, fmt.Errorf("patch: %s: %w", s.ID, &data.LimitError{What: "k", N: int64(k), Limit: MaxK, Unit: "patches per image"})
	}
	h, w := s.Image.H, s.Image.W
	if h < size || w < size {
		return nil, fmt.Errorf("patch: %s: image %dx%d is smaller than a %dx%d patch", s.ID, w, h, size, size)
	}
	out := make([][2]int, k)
	if roi == nil {
		for j := range out {
			out[j] = [2]int{r.IntN(h - size + 1), r.IntN(w - size + 1)}
		}
		return out, nil
	}
	if roi.H != h || roi.W != w {
		return nil, fmt.Errorf("patch: %s: ROI is %dx%d, image %dx%d", s.ID, roi.W, roi.H, w, h)
	}
	half := size / 2
	var ok [][2]int
	for y := 0; y+size <= h; y++ {
		for x := 0; x+size <= w; x++ {
			if roi.Pix[(y+half)*w+x+half] > 0.5 {
				ok = append(ok, [2]int{y, x})
			}
		}
	}
	if len(ok) == 0 {
		return nil, fmt.Errorf("patch: %s: no ROI pixel can be the centre of a %dx%d patch", s.ID, size, size)
	}
	for j := range out {
		out[j] = ok[r.IntN(len(ok))]
	}
	return out, nil
}

// Balanced returns a test set of perClass normal and perClass anomalous
// patches of split, alternating normal and anomalous. It cuts the patches
// NewSource(src, opt) yields from every image of the split and draws
// perClass of each class uniformly at random (seeded by opt.Seed), so the
// set spreads over the whole split instead of its first images; the drawn
// patches keep the split's order. If a class has fewer than perClass
// patches, it returns those found with an error that gives the counts
// (raise opt.K or use more images).
func Balanced(src data.Source, split string, perClass int, opt Options) ([]data.Sample, error) {
	if perClass <= 0 {
		return nil, fmt.Errorf("patch: balanced set of %d patches per class", perClass)
	}
	var normal, anomalous []data.Sample
	for p, err := range NewSource(src, opt).Samples(split) {
		if err != nil {
			return nil, err
		}
		if p.Label == data.Anomalous {
			anomalous = append(anomalous, p)
		} else {
			normal = append(normal, p)
		}
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0xba1a9ced))
	normal = draw(rng, normal, perClass)
	anomalous = draw(rng, anomalous, perClass)
	out := make([]data.Sample, 0, len(normal)+len(anomalous))
	for j := range max(len(normal), len(anomalous)) {
		if j < len(normal) {
			out = append(out, normal[j])
		}
		if j < len(anomalous) {
			out = append(out, anomalous[j])
		}
	}
	if len(normal) < perClass || len(anomalous) < perClass {
		return out, fmt.Errorf("patch: split %s of %s gave %d normal and %d anomalous patches, %d of each asked",
			split, src.Name(), len(normal), len(anomalous), perClass)
	}
	return out, nil
}

// draw returns n of ps chosen uniformly at random without replacement, in
// their order in ps (all of ps if it has n or fewer).
func draw(rng *rand.Rand, ps []data.Sample, n int) []data.Sample {
	if len(ps) <= n {
		return ps
	}
	keep := make([]bool, len(ps))
	for _, i := range rng.Perm(len(ps))[:n] {
		keep[i] = true
	}
	out := make([]data.Sample, 0, n)
	for i, p := range ps {
		if keep[i] {
			out = append(out, p)
		}
	}
	return out
}
