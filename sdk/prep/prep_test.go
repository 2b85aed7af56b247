package prep

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/anogo/anogo/sdk/data"
)

// TestValidationFromTheTestSplit: a source without a val split (IDX) lends
// its validation split from the test split, and no image is in both.
func TestValidationFromTheTestSplit(t *testing.T) {
	dir := "/usr/share/datasets/fashion-mnist"
	if _, err := os.Stat(filepath.Join(dir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): %v", err)
	}
	d, err := Prepare(Config{Data: "idx:" + dir + ":class=0", Size: 28, MaxTrain: 100, TestPerClass: 50, ValNormal: 20, ValAnomalous: 5})
	if err != nil {
		t.Fatal(err)
	}
	if n, a := len(data.Filter(d.Val, data.Normal)), len(data.Filter(d.Val, data.Anomalous)); n != 20 || a != 5 {
		t.Errorf("validation split: %d normal, %d anomalous; want 20 and 5", n, a)
	}
	val := map[string]bool{}
	for _, s := range d.Val {
		val[s.ID] = true
	}
	for _, s := range d.Test {
		if val[s.ID] {
			t.Fatalf("%s is in both the validation and the test set", s.ID)
		}
	}
	if len(d.Test) != 100 {
		t.Errorf("%d test samples, want 50 + 50", len(d.Test))
	}
}

// TestPhantomSplits: the phantom's own val split, patches, whole scans.
func TestPhantomSplits(t *testing.T) {
	d, err := Prepare(Config{Data: "phantom:train=8,val=6,test=8", Size: 28, PatchSize: 32, PatchesPerImage: 4, TestPerClass: 10, ValNormal: 8, ValAnomalous: 4, Scans: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Train) != 32 || len(d.Val) != 12 || len(d.Test) != 20 {
		t.Errorf("train %d, val %d, test %d; want 32, 12, 20", len(d.Train), len(d.Val), len(d.Test))
	}
	if len(d.Scans) != 4 {
		t.Fatalf("%d scans, want 2 of each class", len(d.Scans))
	}
	for _, s := range d.Scans {
		if len(s.Samples) != len(s.Patches) || s.Samples[0].Image.H != 28 {
			t.Fatalf("%s: %d patches, %d samples of %d pixels", s.Sample.ID, len(s.Patches), len(s.Samples), s.Samples[0].Image.H)
		}
		// Stitching the patches' own images gives the scan back (within the
		// resampling to 28 and back).
		ims := make([]*data.Image, len(s.Samples))
		for j, p := range s.Samples {
			ims[j] = p.Image
		}
		m := s.Stitch(ims)
		diff := 0.0
		for j, v := range m.Pix {
			diff += float64(max(v-s.Sample.Image.Pix[j], s.Sample.Image.Pix[j]-v))
		}
		if diff /= float64(len(m.Pix)); diff > 0.1 {
			t.Errorf("%s: stitched patches differ from the scan by %v per pixel", s.Sample.ID, diff)
		}
	}
	if d.Digest == 0 {
		t.Error("no digest")
	}
	again, err := Prepare(d.Config)
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest != d.Digest {
		t.Error("the same preparation gave another digest")
	}
}

// TestMaxValues: the samples Prepare holds are counted against MaxValues
// and a source that expands beyond it is refused with the source's name and
// the limit (a 4 MB gzipped IDX file became 1.1 GB in memory).
func TestMaxValues(t *testing.T) {
	cfg := Config{Data: "phantom:train=8,val=2,test=4", Size: 28, ValNormal: 1, ValAnomalous: 1, Scans: -1}
	old := MaxValues
	defer func() { MaxValues = old }()
	MaxValues = 7*28*28 + 1
	_, err := Prepare(cfg)
	if !errors.Is(err, data.ErrLimit) || !strings.Contains(err.Error(), "phantom") || !strings.Contains(err.Error(), "ANOGO_MAX_DATA_VALUES") {
		t.Errorf("8 training images of 28 x 28 with room for 7: %v", err)
	}
	MaxValues = 2 * 12 * 28 * 28 // images and masks
	if _, err := Prepare(cfg); err != nil {
		t.Errorf("8 training and 4 test images with room for them and their masks: %v", err)
	}
}

// TestOnly: Only prepares one side: the training images without a test
// split, or the test samples of a source with no training split (dicom:
// failed with no split "train").
func TestOnly(t *testing.T) {
	d, err := Prepare(Config{Data: "phantom:train=8,val=2,test=4", Size: 28, Only: data.Train})
	if err != nil || len(d.Train) != 8 || len(d.Test) != 0 {
		t.Fatalf("Only train: %v", err)
	}
	src := testOnlySource{}
	d, err = PrepareSource(src, Config{Size: 4, Only: data.Test, Scans: -1})
	if err != nil || len(d.Test) != 3 || len(d.Train) != 0 {
		t.Fatalf("Only test of a source without a training split: %v", err)
	}
	if _, err := PrepareSource(src, Config{Size: 4, Scans: -1}); err == nil {
		t.Error("a source without a training split prepared for training")
	}
}

// testOnlySource has one split, test, of three unlabelled images.
type testOnlySource struct{}

func (testOnlySource) Name() string     { return "test-only" }
func (testOnlySource) Splits() []string { return []string{data.Test} }
func (testOnlySource) Samples(split string) iter.Seq2[data.Sample, error] {
	return func(yield func(data.Sample, error) bool) {
		if split != data.Test {
			yield(data.Sample{}, fmt.Errorf("no split %q", split))
			return
		}
		for i := range 3 {
			if !yield(data.Sample{ID: fmt.Sprint(i), Image: data.NewImage(4, 4), Label: data.Unknown}, nil) {
				return
			}
		}
	}
}

// TestPrepareContext: a cancelled context stops the preparation with its
// error, naming the source; a live one changes nothing.
func TestPrepareContext(t *testing.T) {
	cfg := Config{Data: "phantom:train=8,val=4,test=6", Size: 28, PatchSize: 32, PatchesPerImage: 4, TestPerClass: 4, Seed: 1}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := PrepareContext(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d.Digest != ref.Digest || len(d.Test) != len(ref.Test) {
		t.Fatalf("digest %x and %d test samples with a context, %x and %d without", d.Digest, len(d.Test), ref.Digest, len(ref.Test))
	}
	cancel()
	if _, err := PrepareContext(ctx, cfg); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "phantom") {
		t.Fatalf("cancelled: %v", err)
	}
}

// bigSource yields n images of side big, each a fresh allocation, and
// records how many of them are alive (not yet collected) at most: with
// streaming, one raw image at a time is needed.
type bigSource struct {
	n, big int
}

func (s bigSource) Name() string     { return "big" }
func (s bigSource) Splits() []string { return []string{data.Train, data.Test} }
func (s bigSource) Samples(split string) iter.Seq2[data.Sample, error] {
	return func(yield func(data.Sample, error) bool) {
		for i := 0; i < s.n; i++ {
			im := data.NewImage(s.big, s.big)
			for j := range im.Pix {
				im.Pix[j] = float32(j%7)/7 - 0.5
			}
			label := data.Normal
			if split == data.Test && i%2 == 1 {
				label = data.Anomalous
			}
			if !yield(data.Sample{ID: fmt.Sprintf("%s/%d", split, i), Image: im, Label: label}, nil) {
				return
			}
		}
	}
}

// TestTrainingSplitStreamed (issue: the training split held whole): a
// source's images are read one at a time and resized to the model's size
// before they are kept, so the memory bound counts model-size values: 40
// images of 1024x1024 (42 M values read) fit a bound of 40·28·28 values
// held, and the heap after preparing holds about that, not the raw images.
func TestTrainingSplitStreamed(t *testing.T) {
	old := MaxValues
	defer func() { MaxValues = old }()
	const n, big, size = 40, 1024, 28
	MaxValues = 2 * n * size * size // training and test images at 28x28
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d, err := PrepareSource(bigSource{n: n, big: big}, Config{Size: size, TestPerClass: n / 2, Seed: 1})
	if err != nil {
		t.Fatalf("%d images of %dx%d prepared at %d: %v", n, big, big, size, err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(d.Train) != n {
		t.Fatalf("%d training images, want %d", len(d.Train), n)
	}
	for _, im := range d.Train {
		if im.H != size || im.W != size {
			t.Fatalf("a training image of %dx%d held, want %dx%d", im.H, im.W, size, size)
		}
	}
	// The raw images were 4 MiB each, 160 MiB together; what stays alive
	// is the resized sets (a few hundred KiB) and bookkeeping.
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 16<<20 {
		t.Fatalf("the heap grew by %d MiB while preparing: raw images kept?", grown>>20)
	}
	runtime.KeepAlive(d)
}
