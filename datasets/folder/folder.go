package folder

import (
	"fmt"
	"iter"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/anogo/anogo/sdk/data"
)

// Options name the folders of a Source.
type Options struct {
	// Normal holds normal images; required. They form the train split.
	Normal string
	// Abnormal holds anomalous images for the test split.
	Abnormal string
	// Masks holds pixel masks, matched to images by file name (see Open).
	Masks string
	// TestNormal and TestAbnormal, when set, hold the test split's normal
	// and anomalous images; TestAbnormal replaces Abnormal (give one).
	TestNormal, TestAbnormal string
	// Size, when positive, resizes every image to Size x Size (bilinear;
	// masks nearest-neighbour).
	Size int
	// Holdout, in [0, 1), moves that fraction of the Normal images, evenly
	// spread in name order, from the train split to the test split; it
	// cannot be combined with TestNormal.
	Holdout float64
}

// Source is a set of image folders as a data.Source with the splits train
// and test. Open lists the folders; Samples reads one file per step, so a
// folder of any size never sits in memory.
type Source struct {
	opts  Options
	train []entry
	test  []entry
	masks map[string]string // base name -> mask file name
}

type entry struct {
	dir, name string
	label     int
}

// Open lists the folders of o and checks that the normal and test folders
// hold images (files with one of Extensions; others are skipped).
//
// Splits: train holds the Normal images (less the Holdout fraction); test
// holds TestNormal's images if given, else the held-out Normal images, or,
// with Holdout 0, all Normal images again (then train and test share their
// normal images: use TestNormal or Holdout for an unbiased evaluation),
// followed by TestAbnormal's or Abnormal's images. Labels: 0 for normal,
// 1 for abnormal folders.
//
// Masks: the mask of image NAME.EXT is the file NAME.* or NAME_mask.* in
// Masks; non-zero mask pixels are anomalous (1). When Masks is set, a
// normal image without a mask file gets an all-zero mask and an anomalous
// one gets none (nil, unknown).
func Open(o Options) (*Source, error) {
	if o.Normal == "" {
		return nil, fmt.Errorf("folder: no normal folder given (normal=DIR)")
	}
	if o.Abnormal != "" && o.TestAbnormal != "" {
		return nil, fmt.Errorf("folder: give abnormal=%s or test_abnormal=%s, not both", o.Abnormal, o.TestAbnormal)
	}
	if o.Size < 0 || o.Size > 1<<14 {
		return nil, fmt.Errorf("folder: size=%d out of range (1 to %d)", o.Size, 1<<14)
	}
	if err := checkPixels(fmt.Sprintf("size=%d resizes every image to an image", o.Size), o.Size, o.Size); err != nil {
		return nil, fmt.Errorf("folder: %w", err)
	}
	if o.Holdout > 0 && o.TestNormal != "" {
		return nil, fmt.Errorf("folder: give test_normal=%s or holdout=%v, not both", o.TestNormal, o.Holdout)
	}
	if !(o.Holdout >= 0 && o.Holdout < 1) {
		return nil, fmt.Errorf("folder: holdout=%v out of range [0, 1)", o.Holdout)
	}
	s := &Source{opts: o}
	normal, err := list(o.Normal, data.Normal)
	if err != nil {
		return nil, err
	}
	switch {
	case o.TestNormal != "":
		s.train = normal
		if s.test, err = list(o.TestNormal, data.Normal); err != nil {
			return nil, err
		}
	case o.Holdout > 0:
		for i, e := range normal {
			if math.Floor(float64(i+1)*o.Holdout) > math.Floor(float64(i)*o.Holdout) {
				s.test = append(s.test, e)
			} else {
				s.train = append(s.train, e)
			}
		}
		if len(s.train) == 0 {
			return nil, fmt.Errorf("folder: holdout=%v leaves no train images of the %d in %s", o.Holdout, len(normal), o.Normal)
		}
	default:
		s.train, s.test = normal, normal
	}
	if ab := cmpOr(o.TestAbnormal, o.Abnormal); ab != "" {
		abnormal, err := list(ab, data.Anomalous)
		if err != nil {
			return nil, err
		}
		s.test = append(slices.Clip(s.test), abnormal...)
	}
	if o.Masks != "" {
		if s.masks, err = listMasks(o.Masks); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// list returns the image files of dir, sorted by name.
func list(dir string, label int) ([]entry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("folder: %w", err)
	}
	var out []entry
	for _, de := range des {
		if !de.IsDir() && isImageName(de.Name()) {
			out = append(out, entry{dir: dir, name: de.Name(), label: label})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("folder: %s: %w (want files ending in %s)", dir, errEmpty, strings.Join(Extensions, ", "))
	}
	return out, nil // os.ReadDir sorts by name
}

// listMasks maps the base name of each mask file (without extension and
// without a "_mask" suffix) to the file name.
func listMasks(dir string) (map[string]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("folder: %w", err)
	}
	m := map[string]string{}
	for _, de := range des {
		name := de.Name()
		if de.IsDir() || !isImageName(name) {
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(name, filepath.Ext(name)), "_mask")
		if prev, ok := m[base]; ok {
			return nil, fmt.Errorf("folder: %s: masks %s and %s both match images named %s", dir, prev, name, base)
		}
		m[base] = name
	}
	return m, nil
}

// Name returns the source as a spec, e.g. "folder:normal=a,abnormal=b".
func (s *Source) Name() string {
	var kv []string
	add := func(k, v string) {
		if v != "" {
			kv = append(kv, k+"="+v)
		}
	}
	o := s.opts
	add("normal", o.Normal)
	add("abnormal", o.Abnormal)
	add("masks", o.Masks)
	add("test_normal", o.TestNormal)
	add("test_abnormal", o.TestAbnormal)
	if o.Size > 0 {
		add("size", strconv.Itoa(o.Size))
	}
	if o.Holdout > 0 {
		add("holdout", strconv.FormatFloat(o.Holdout, 'g', -1, 64))
	}
	return "folder:" + strings.Join(kv, ",")
}

// Splits returns train and test.
func (s *Source) Splits() []string { return []string{data.Train, data.Test} }

// Len returns the number of images of a split.
func (s *Source) Len(split string) int {
	switch split {
	case data.Train:
		return len(s.train)
	case data.Test:
		return len(s.test)
	}
	return 0
}

// Samples reads the images of one split, one file per step, in the order
// of Open's documentation. Sample IDs are the file paths as given
// (DIR/NAME, with forward slashes).
func (s *Source) Samples(split string) iter.Seq2[data.Sample, error] {
	return func(yield func(data.Sample, error) bool) {
		var es []entry
		switch split {
		case data.Train:
			es = s.train
		case data.Test:
			es = s.test
		default:
			yield(data.Sample{}, fmt.Errorf("folder: %s: no split %q (have train, test)", s.Name(), split))
			return
		}
		for _, e := range es {
			smp, err := s.sample(e)
			if err != nil {
				yield(data.Sample{}, err)
				return
			}
			if !yield(smp, nil) {
				return
			}
		}
	}
}

func (s *Source) sample(e entry) (data.Sample, error) {
	path := filepath.Join(e.dir, e.name)
	im, err := readImage(path, false)
	if err != nil {
		return data.Sample{}, err
	}
	smp := data.Sample{ID: filepath.ToSlash(path), Image: im, Label: e.label}
	if s.masks != nil {
		base := strings.TrimSuffix(e.name, filepath.Ext(e.name))
		if mname, ok := s.masks[base]; ok {
			mpath := filepath.Join(s.opts.Masks, mname)
			m, err := readImage(mpath, true)
			if err != nil {
				return data.Sample{}, err
			}
			if m.H != im.H || m.W != im.W {
				return data.Sample{}, fmt.Errorf("folder: mask %s is %dx%d, image %s %dx%d", mpath, m.H, m.W, path, im.H, im.W)
			}
			smp.Mask = m
		} else if e.label == data.Normal {
			smp.Mask = data.NewImage(im.H, im.W)
		}
	}
	if n := s.opts.Size; n > 0 && (im.H != n || im.W != n) {
		smp.Image = Resize(im, n, n)
		if smp.Mask != nil {
			smp.Mask = ResizeNearest(smp.Mask, n, n)
		}
	}
	return smp, nil
}
