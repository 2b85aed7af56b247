package prep

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"iter"
	"math"
	"slices"

	"github.com/anogo/anogo/datasets"
	"github.com/anogo/anogo/datasets/patch"
	"github.com/anogo/anogo/sdk/data"
)

// Config says how a source becomes training, validation and test data.
// The zero value of a field means its default where one is named.
type Config struct {
	// Only, when data.Train or data.Test, prepares that split alone (the
	// training images, or the validation and test samples): a training
	// needs no test split (one of a single class is then no error) and
	// scoring needs no training split (a dicom: source has none). It is
	// not part of the settings a model is saved with.
	Only string `json:"-"`
	// Data names the source (see package datasets), e.g. "phantom",
	// "medmnist:pneumoniamnist.npz" or "idx:DIR:class=3".
	Data string `json:"data"`
	// Size is the side of the images the model sees: 28, 32 or 64.
	Size int `json:"size"`
	// PatchSize, when positive, cuts patches of that many pixels,
	// PatchesPerImage per training image (0: 16), keeping their centres
	// inside the source's region of interest when it has one, and shrinks
	// them to Size; 0 uses whole images resized to Size.
	PatchSize       int `json:"patch_size,omitempty"`
	PatchesPerImage int `json:"patches_per_image,omitempty"`
	// MaxTrain caps the number of training images or patches (0: all).
	MaxTrain int `json:"max_train,omitempty"`
	// TestPerClass, when positive, takes a balanced test set of that many
	// normal and as many anomalous test samples (patches: drawn at random
	// from TestPatchesPerImage patches of every test image, 0: 16);
	// otherwise MaxTest caps the test set (0: all).
	TestPerClass        int `json:"test_per_class,omitempty"`
	MaxTest             int `json:"max_test,omitempty"`
	TestPatchesPerImage int `json:"test_patches_per_image,omitempty"`
	// TrainScored is the number of normal training samples kept in
	// Data.TrainSamples' head for scoring (the "normal (train)" groups of
	// AnoGAN's Figs. 3 and 4c, 4d); all training samples are kept anyway.
	TrainScored int `json:"train_scored,omitempty"`
	// ValNormal and ValAnomalous size the validation split: at most that
	// many normal and anomalous samples (defaults 64 and 16; -1: none of
	// that class).
	ValNormal    int `json:"val_normal,omitempty"`
	ValAnomalous int `json:"val_anomalous,omitempty"`
	// Scans, in patch-based runs, is the number of whole test images of
	// each class cut into a grid of patches for stitched anomaly maps and
	// pixel-level metrics (0: 4; -1: none).
	Scans int `json:"scans,omitempty"`
	// Flatten flattens the retina before cutting patches, as the AnoGAN
	// paper does (Sec. 3): every column is shifted so that the region of
	// interest's top edge lies on one row (patch.Flattened). Only for
	// sources with a region of interest (the phantom).
	Flatten bool `json:"flatten,omitempty"`
	// Contaminated keeps every anomalous image of the training split in
	// the training set. Contamination, when positive, instead adds
	// n_anom = γ·N_normal/(1-γ) of them (γ = Contamination < 1), so that
	// anomalies make up the fraction γ of the training set.
	Contaminated  bool    `json:"contaminated,omitempty"`
	Contamination float64 `json:"contamination,omitempty"`
	// Seed seeds the patch positions and the balanced draws.
	Seed uint64 `json:"seed"`
}

// Defaults of Config.
const (
	DefaultValNormal    = 64
	DefaultValAnomalous = 16
	DefaultScans        = 4
	defaultTestPatches  = 16
)

// Scan is a whole test image cut into a grid of patches (patch-based runs
// only): Patches are the grid's positions and Samples the patches at the
// model's size, in the same order, for a detector to score; Stitch puts
// their maps back together.
type Scan struct {
	Sample  data.Sample
	Patches []patch.Patch
	Samples []data.Sample
}

// Stitch returns the whole-image anomaly map of s from the maps of its
// patches (maps[j] belongs to s.Samples[j]): every pixel is the mean of the
// patch maps that cover it, each resized back to the patch's size
// (patch.Stitch).
func (s *Scan) Stitch(maps []*data.Image) *data.Image {
	return patch.Stitch(s.Sample.Image.H, s.Sample.Image.W, s.Patches, maps)
}

// Data is what Prepare returns.
type Data struct {
	Config Config
	// Source is the source the data came from (flattened when
	// Config.Flatten), for methods that ask it more (type assertion).
	Source data.Source
	// Train holds the training images at Config.Size; TrainSamples the
	// same as samples, in the same order.
	Train        []*data.Image
	TrainSamples []data.Sample
	// Val is the validation split, Test the test samples, Scans the whole
	// test images of a patch-based run (nil otherwise).
	Val, Test []data.Sample
	Scans     []Scan
	// Digest identifies the training images (FNV-64a of their values).
	Digest uint64
}

// Patched reports whether d's samples are patches of the source's images.
func (d *Data) Patched() bool { return d.Config.PatchSize > 0 }

// Prepare opens cfg.Data and prepares it (PrepareSource).
func Prepare(cfg Config) (*Data, error) { return PrepareContext(context.Background(), cfg) }

// PrepareContext is Prepare that stops with ctx's error, between two
// samples, when ctx is cancelled (Ctrl-C while a large source loads).
func PrepareContext(ctx context.Context, cfg Config) (*Data, error) {
	src, err := datasets.Open(cfg.Data)
	if err != nil {
		return nil, err
	}
	return PrepareSourceContext(ctx, src, cfg)
}

// PrepareSource prepares src with cfg: training images, validation and test
// samples at cfg.Size and, for patches, the scans of Data.Scans. Errors name
// the source and the problem.
func PrepareSource(src data.Source, cfg Config) (*Data, error) {
	return PrepareSourceContext(context.Background(), src, cfg)
}

// ctxSource stops its iterators with ctx's error between two samples.
type ctxSource struct {
	data.Source
	ctx context.Context
}

func (s ctxSource) Samples(split string) iter.Seq2[data.Sample, error] {
	return func(yield func(data.Sample, error) bool) {
		if err := s.ctx.Err(); err != nil {
			yield(data.Sample{}, fmt.Errorf("prep: %s: %w", s.Name(), err))
			return
		}
		for smp, err := range s.Source.Samples(split) {
			if !yield(smp, err) {
				return
			}
			if err := s.ctx.Err(); err != nil {
				yield(data.Sample{}, fmt.Errorf("prep: %s: %w", s.Name(), err))
				return
			}
		}
	}
}

// ctxROISource is a ctxSource of a source with regions of interest.
type ctxROISource struct {
	ctxSource
	roi patch.ROIer
}

func (s ctxROISource) ROI(smp data.Sample) (*data.Image, error) { return s.roi.ROI(smp) }

// WithContext wraps src so that its iterators stop with ctx's error, naming
// the source, between two samples once ctx is cancelled; it keeps src's
// regions of interest (patch.ROIer) and no other optional method.
func WithContext(ctx context.Context, src data.Source) data.Source {
	if ctx == nil || ctx.Done() == nil {
		return src
	}
	c := ctxSource{Source: src, ctx: ctx}
	if r, ok := src.(patch.ROIer); ok {
		return ctxROISource{ctxSource: c, roi: r}
	}
	return c
}

// PrepareSourceContext is PrepareSource that stops with ctx's error, between
// two samples, when ctx is cancelled. Data.Source is src (flattened with
// cfg.Flatten), without the context.
func PrepareSourceContext(ctx context.Context, src data.Source, cfg Config) (*Data, error) {
	if cfg.Size <= 0 {
		return nil, fmt.Errorf("prep: %s: image size %d", src.Name(), cfg.Size)
	}
	if cfg.Contamination < 0 || cfg.Contamination >= 1 || math.IsNaN(cfg.Contamination) {
		return nil, fmt.Errorf("prep: contamination %v outside [0, 1)", cfg.Contamination)
	}
	if cfg.Flatten {
		f, err := patch.NewFlattened(src, 4)
		if err != nil {
			return nil, fmt.Errorf("prep: %w", err)
		}
		src = f
	}
	p := newPreparer(WithContext(ctx, src), cfg)
	d := &Data{Config: cfg, Source: src}
	if cfg.Only != data.Test {
		if err := p.train(d); err != nil {
			return nil, err
		}
	}
	if cfg.Only != data.Train {
		if err := p.valTest(d); err != nil {
			return nil, err
		}
	}
	d.Digest = Digest(d.Train)
	return d, nil
}

// MaxValues bounds the pixel values Prepare holds in memory, training and
// test samples together: 2^28 float32 (1 GiB) by default, or the
// environment variable ANOGO_MAX_DATA_VALUES. A small compressed file (a
// 4 MB gzipped IDX file, a 230 KB npz) can expand to gigabytes; it is then
// refused with the source's name and the limit, not read until memory runs
// out.
var MaxValues = data.EnvLimit("ANOGO_MAX_DATA_VALUES", 1<<28)

type preparer struct {
	cfg  Config
	src  data.Source
	popt patch.Options
	held int64 // pixel values held, for MaxValues
}

// hold counts the values of a sample kept in memory against MaxValues.
func (p *preparer) hold(s data.Sample, split string) error {
	if s.Image != nil {
		p.held += int64(len(s.Image.Pix))
	}
	if s.Mask != nil {
		p.held += int64(len(s.Mask.Pix))
	}
	if p.held > MaxValues {
		return fmt.Errorf("prep: %w", &data.LimitError{What: fmt.Sprintf("%s: the samples held up to its %s split take", p.src.Name(), split),
			N: p.held, Limit: MaxValues, Unit: "pixel values or more", Env: "ANOGO_MAX_DATA_VALUES", Var: "prep.MaxValues"})
	}
	return nil
}

// newPreparer sets up the patch options of cfg for src: patch centres
// inside the source's region of interest, narrowed by BelowTop, when it has
// one.
func newPreparer(src data.Source, cfg Config) *preparer {
	p := &preparer{cfg: cfg, src: src}
	if cfg.PatchSize > 0 {
		p.popt = patch.Options{Size: cfg.PatchSize, Resize: cfg.Size, K: cfg.PatchesPerImage, Seed: cfg.Seed}
		if r, ok := src.(patch.ROIer); ok {
			p.popt.InROI = true
			p.popt.ROI = func(s data.Sample) (*data.Image, error) {
				roi, err := r.ROI(s)
				if err != nil {
					return nil, err
				}
				return BelowTop(roi, cfg.PatchSize), nil
			}
		}
	}
	return p
}

func (p *preparer) patched() bool { return p.cfg.PatchSize > 0 }

// fit resizes a sample to the model's size.
func (p *preparer) fit(s data.Sample) data.Sample {
	size := p.cfg.Size
	if s.Image.H == size && s.Image.W == size {
		return s
	}
	out := s
	out.Image = patch.Resize(s.Image, size, size)
	if s.Mask != nil {
		out.Mask = patch.ResizeNearest(s.Mask, size, size)
	}
	return out
}

func (p *preparer) samples(split string) iter.Seq2[data.Sample, error] {
	if p.patched() {
		return patch.NewSource(p.src, p.popt).Samples(split)
	}
	return p.src.Samples(split)
}

func (p *preparer) train(d *Data) error {
	cfg := p.cfg
	var anomalies []data.Sample
	for s, err := range p.samples(data.Train) {
		if err != nil {
			return err
		}
		if s.Label == data.Anomalous && !cfg.Contaminated {
			if cfg.Contamination > 0 {
				s = p.fit(s)
				if err := p.hold(s, data.Train); err != nil {
					return err
				}
				anomalies = append(anomalies, s)
			}
			continue
		}
		s = p.fit(s)
		if err := p.hold(s, data.Train); err != nil {
			return err
		}
		d.Train = append(d.Train, s.Image)
		d.TrainSamples = append(d.TrainSamples, s)
		if cfg.MaxTrain > 0 && len(d.Train) >= cfg.MaxTrain {
			break
		}
	}
	if len(d.Train) == 0 {
		return fmt.Errorf("prep: %s has no normal training images", p.src.Name())
	}
	if cfg.Contamination > 0 {
		n := int(math.Round(cfg.Contamination * float64(len(d.Train)) / (1 - cfg.Contamination)))
		if n > len(anomalies) {
			return fmt.Errorf("prep: contamination %.3g of %d normal training images needs %d anomalous ones; %s's training split has %d",
				cfg.Contamination, len(d.Train), n, p.src.Name(), len(anomalies))
		}
		// Interleave them evenly, so a capped or batched read sees the same mix.
		step := float64(len(d.Train)+n) / float64(max(n, 1))
		var ims []*data.Image
		var ss []data.Sample
		k := 0
		for i, s := range d.TrainSamples {
			for k < n && float64(k)*step <= float64(i+k) {
				ims, ss = append(ims, anomalies[k].Image), append(ss, anomalies[k])
				k++
			}
			ims, ss = append(ims, s.Image), append(ss, s)
		}
		for ; k < n; k++ {
			ims, ss = append(ims, anomalies[k].Image), append(ss, anomalies[k])
		}
		d.Train, d.TrainSamples = ims, ss
	}
	return nil
}

func (p *preparer) valTest(d *Data) error {
	cfg := p.cfg
	nv, av := orDefault(cfg.ValNormal, DefaultValNormal), orDefault(cfg.ValAnomalous, DefaultValAnomalous)
	hasVal := slices.Contains(p.src.Splits(), data.Val)
	// The validation split: the source's own, or the head of the test split.
	var lent map[string]bool
	if hasVal {
		for s, err := range p.samples(data.Val) {
			if err != nil {
				return err
			}
			if take(&d.Val, p.fit(s), &nv, &av) && nv == 0 && av == 0 {
				break
			}
		}
	} else if nv > 0 || av > 0 {
		// Whole test images are lent (all patches of a lent image go to
		// validation), so no image is in both; at most a quarter of each
		// class, so that a small test split keeps most of its images.
		count := map[int]int{}
		for s, err := range p.src.Samples(data.Test) {
			if err != nil {
				return err
			}
			count[s.Label]++
		}
		nv, av = min(nv, count[data.Normal]/4), min(av, count[data.Anomalous]/4)
		lent = map[string]bool{}
		for s, err := range p.src.Samples(data.Test) {
			if err != nil {
				return err
			}
			if !take(&d.Val, p.fit(s), &nv, &av) {
				continue
			}
			lent[s.ID] = true
			if nv == 0 && av == 0 {
				break
			}
		}
		if p.patched() {
			// Validation patches of the lent images instead of the images.
			var val []data.Sample
			for _, s := range d.Val {
				ps, err := p.patchesOf(s, data.Val)
				if err != nil {
					return err
				}
				val = append(val, ps...)
			}
			d.Val = val
		}
	}
	test, err := p.test(lent)
	if err != nil {
		return err
	}
	d.Test = test
	if p.patched() {
		if d.Scans, err = p.scans(lent); err != nil {
			return err
		}
	}
	return nil
}

// take appends s to *val when its class still has room, counting down.
func take(val *[]data.Sample, s data.Sample, nv, av *int) bool {
	switch {
	case s.Label == data.Normal && *nv > 0:
		*nv--
	case s.Label == data.Anomalous && *av > 0:
		*av--
	default:
		return false
	}
	*val = append(*val, s)
	return true
}

func orDefault(v, def int) int {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}

// testSource is the test split without the images lent to validation.
type testSource struct {
	data.Source
	lent map[string]bool
}

func (t testSource) Samples(split string) iter.Seq2[data.Sample, error] {
	return func(yield func(data.Sample, error) bool) {
		for s, err := range t.Source.Samples(split) {
			if err == nil && t.lent[s.ID] {
				continue
			}
			if !yield(s, err) || err != nil {
				return
			}
		}
	}
}

// ROI passes the region of interest through (patch.ROIer).
func (t testSource) ROI(s data.Sample) (*data.Image, error) {
	if r, ok := t.Source.(patch.ROIer); ok {
		return r.ROI(s)
	}
	return nil, fmt.Errorf("prep: %s has no region of interest", t.Source.Name())
}

func (p *preparer) test(lent map[string]bool) ([]data.Sample, error) {
	cfg := p.cfg
	var src data.Source = p.src
	if len(lent) > 0 {
		src = testSource{p.src, lent}
	}
	var out []data.Sample
	if cfg.TestPerClass > 0 {
		var test []data.Sample
		var err error
		if p.patched() {
			topt := p.popt
			topt.K = cfg.TestPatchesPerImage
			if topt.K <= 0 {
				topt.K = defaultTestPatches
			}
			test, err = patch.Balanced(src, data.Test, cfg.TestPerClass, topt)
		} else {
			test, err = balanced(src, cfg.TestPerClass)
		}
		if err != nil {
			return nil, err
		}
		for _, s := range test {
			out = append(out, p.fit(s))
		}
		return out, nil
	}
	var testSrc = src
	if p.patched() {
		testSrc = patch.NewSource(src, p.popt)
	}
	for s, err := range testSrc.Samples(data.Test) {
		if err != nil {
			return nil, err
		}
		s = p.fit(s)
		if err := p.hold(s, data.Test); err != nil {
			return nil, err
		}
		out = append(out, s)
		if cfg.MaxTest > 0 && len(out) >= cfg.MaxTest {
			break
		}
	}
	return out, nil
}

// patchesOf cuts the patches of one whole image at random positions, as
// the training and test patches are cut.
func (p *preparer) patchesOf(s data.Sample, split string) ([]data.Sample, error) {
	one := sliceSource{name: p.src.Name(), samples: []data.Sample{s}}
	var out []data.Sample
	for ps, err := range patch.NewSource(one, p.popt).Samples(split) {
		if err != nil {
			return nil, err
		}
		out = append(out, p.fit(ps))
	}
	return out, nil
}

// scans picks cfg.Scans whole test images of each class and cuts each into
// a grid of patches that do not overlap (patch.Grid at a stride of one
// patch; the last row and column flush with the border).
func (p *preparer) scans(lent map[string]bool) ([]Scan, error) {
	n := orDefault(p.cfg.Scans, DefaultScans)
	if n == 0 {
		return nil, nil
	}
	left := map[int]int{data.Normal: n, data.Anomalous: n}
	var out []Scan
	for s, err := range p.src.Samples(data.Test) {
		if err != nil {
			return nil, err
		}
		if lent[s.ID] || left[s.Label] == 0 || s.Label == data.Unknown {
			continue
		}
		left[s.Label]--
		size := p.cfg.PatchSize
		grid := patch.Grid(s.Image, size, size)
		if grid == nil {
			return nil, fmt.Errorf("prep: %s: %s is %dx%d, smaller than the %d-pixel patches", p.src.Name(), s.ID, s.Image.W, s.Image.H, size)
		}
		sc := Scan{Sample: s, Patches: grid}
		for _, g := range grid {
			ps, err := patch.Cut(s, g.Y, g.X, size, p.cfg.Size)
			if err != nil {
				return nil, err
			}
			sc.Samples = append(sc.Samples, ps)
		}
		out = append(out, sc)
		if left[data.Normal] == 0 && left[data.Anomalous] == 0 {
			break
		}
	}
	return out, nil
}

// sliceSource is a source of given samples, in one split of any name.
type sliceSource struct {
	name    string
	samples []data.Sample
}

func (s sliceSource) Name() string     { return s.name }
func (s sliceSource) Splits() []string { return []string{data.Train, data.Val, data.Test} }
func (s sliceSource) Samples(string) iter.Seq2[data.Sample, error] {
	return func(yield func(data.Sample, error) bool) {
		for _, x := range s.samples {
			if !yield(x, nil) {
				return
			}
		}
	}
}

func balanced(src data.Source, perClass int) ([]data.Sample, error) {
	var normal, anomalous []data.Sample
	for s, err := range src.Samples(data.Test) {
		if err != nil {
			return nil, err
		}
		switch {
		case s.Label == data.Normal && len(normal) < perClass:
			normal = append(normal, s)
		case s.Label == data.Anomalous && len(anomalous) < perClass:
			anomalous = append(anomalous, s)
		}
		if len(normal) == perClass && len(anomalous) == perClass {
			break
		}
	}
	if len(normal) == 0 || len(anomalous) == 0 {
		return nil, fmt.Errorf("prep: test split of %s has %d normal and %d anomalous images; both are needed (or take the whole split: TestPerClass 0)", src.Name(), len(normal), len(anomalous))
	}
	return append(normal, anomalous...), nil
}

// BelowTop narrows a region of interest (the retina) to the centres of the
// size x size patches whose top row lies inside the region in every one of
// their columns and whose centre lies inside it, so that patches hold
// retina (and what lies below it) but no vitreous: the AnoGAN paper cuts its
// patches from the extracted retina (Sec. 3). A patch centred at (y, x)
// has its top-left corner at (y - size/2, x - size/2), as package patch
// places it. When no centre qualifies (a retina too curved or thin for the
// patch size), the region is returned unchanged.
func BelowTop(roi *data.Image, size int) *data.Image {
	out := data.NewImage(roi.H, roi.W)
	half := size / 2
	inside := make([]int, roi.W+1) // inside[x]: columns < x of row r in the region
	found := false
	for r := 0; r+size <= roi.H; r++ {
		for x := range roi.W {
			inside[x+1] = inside[x]
			if roi.At(r, x) > 0 {
				inside[x+1]++
			}
		}
		y := r + half
		for x := half; x-half+size <= roi.W; x++ {
			if inside[x-half+size]-inside[x-half] == size && roi.At(y, x) > 0 {
				out.Set(y, x, 1)
				found = true
			}
		}
	}
	if !found {
		return roi
	}
	return out
}

// Digest returns the FNV-64a digest of the images' values, in order.
func Digest(ims []*data.Image) uint64 {
	h := fnv.New64a()
	var b [4]byte
	for _, im := range ims {
		for _, v := range im.Pix {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			h.Write(b[:])
		}
	}
	return h.Sum64()
}

// Samples returns the samples of one split of cfg.Data to score, prepared
// as PrepareSource prepares test samples: patches at random positions
// (PatchesPerImage per image) or whole images, resized to cfg.Size; at most
// max of them (0: all). It needs no training split, so it also reads
// sources that hold only images to score.
func Samples(cfg Config, split string, max int) ([]data.Sample, error) {
	src, err := datasets.Open(cfg.Data)
	if err != nil {
		return nil, err
	}
	if cfg.Flatten {
		if src, err = patch.NewFlattened(src, 4); err != nil {
			return nil, fmt.Errorf("prep: %w", err)
		}
	}
	if !slices.Contains(src.Splits(), split) {
		return nil, fmt.Errorf("prep: %s has no split %q (have %v)", src.Name(), split, src.Splits())
	}
	p := newPreparer(src, cfg)
	var out []data.Sample
	for s, err := range p.samples(split) {
		if err != nil {
			return nil, err
		}
		out = append(out, p.fit(s))
		if max > 0 && len(out) >= max {
			break
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("prep: %s: split %q has no samples", src.Name(), split)
	}
	return out, nil
}
