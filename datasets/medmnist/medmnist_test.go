package medmnist

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anogo/anogo/datasets/internal/fuzzseed"
	"github.com/anogo/anogo/datasets/internal/npy"
	"github.com/anogo/anogo/sdk/data"
)

const tol = 1e-6

// member is one array of a test npz.
type member struct {
	key   string // without .npy
	descr string
	shape []int
	data  []byte
}

func npyBytes(t testing.TB, m member) []byte {
	var b bytes.Buffer
	if err := npy.Write(&b, m.descr, m.shape, m.data); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// buildNPZ writes the members as an npz (zip) archive with the given
// compression method.
func buildNPZ(t testing.TB, method uint16, ms ...member) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range ms {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.key + ".npy", Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(npyBytes(t, m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// tiny returns the six arrays of a small grey dataset: train 3 images of
// 2x3 with labels 0 1 0, val 1 image (label 1), test 2 images (1 0).
// Image i of a split has pixel values 10*i + p (p = 0..5).
func tiny() []member {
	imgs := func(n int) []byte {
		var b []byte
		for i := range n {
			for p := range 6 {
				b = append(b, byte(10*i+p))
			}
		}
		return b
	}
	return []member{
		{"train_images", "|u1", []int{3, 2, 3}, imgs(3)},
		{"train_labels", "|u1", []int{3, 1}, []byte{0, 1, 0}},
		{"val_images", "|u1", []int{1, 2, 3}, imgs(1)},
		{"val_labels", "|u1", []int{1, 1}, []byte{1}},
		{"test_images", "|u1", []int{2, 2, 3}, imgs(2)},
		{"test_labels", "|u1", []int{2, 1}, []byte{1, 0}},
	}
}

func replace(ms []member, m member) []member {
	out := append([]member{}, ms...)
	for i := range out {
		if out[i].key == m.key {
			out[i] = m
			return out
		}
	}
	return append(out, m)
}

func without(ms []member, key string) []member {
	var out []member
	for _, m := range ms {
		if m.key != key {
			out = append(out, m)
		}
	}
	return out
}

func newFrom(t testing.TB, name string, b []byte, normal []int) (*Source, error) {
	t.Helper()
	return New(name, bytes.NewReader(b), int64(len(b)), normal)
}

func collect(t testing.TB, s *Source, split string) []data.Sample {
	t.Helper()
	ss, err := data.Collect(s, split, 0)
	if err != nil {
		t.Fatalf("%s: %v", split, err)
	}
	return ss
}

func TestTinyStoredAndDeflated(t *testing.T) {
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		s, err := newFrom(t, "pneumoniamnist.npz", buildNPZ(t, method, tiny()...), nil)
		if err != nil {
			t.Fatalf("method %d: %v", method, err)
		}
		if got := strings.Join(s.Splits(), ","); got != "train,val,test" {
			t.Errorf("splits %s", got)
		}
		for _, c := range []struct {
			split  string
			labels []int
		}{{"train", []int{0, 1, 0}}, {"val", []int{1}}, {"test", []int{1, 0}}} {
			ss := collect(t, s, c.split)
			if len(ss) != len(c.labels) || s.Len(c.split) != len(c.labels) {
				t.Fatalf("method %d %s: %d samples, want %d", method, c.split, len(ss), len(c.labels))
			}
			for i, smp := range ss {
				if smp.Label != c.labels[i] {
					t.Errorf("method %d %s/%d: label %d, want %d", method, c.split, i, smp.Label, c.labels[i])
				}
				if want := "pneumoniamnist.npz:" + c.split + "/" + string(rune('0'+i)); smp.ID != want {
					t.Errorf("id %q, want %q", smp.ID, want)
				}
				if smp.Image.H != 2 || smp.Image.W != 3 || smp.Mask != nil {
					t.Errorf("%s: image %dx%d, mask %v", smp.ID, smp.Image.H, smp.Image.W, smp.Mask)
				}
				for p, v := range smp.Image.Pix {
					want := float64(10*i+p)/127.5 - 1
					if math.Abs(float64(v)-want) > tol {
						t.Errorf("%s: pixel %d = %v, want %v", smp.ID, p, v, want)
					}
				}
			}
		}
	}
}

func TestColourToLuma(t *testing.T) {
	ms := tiny()
	rgb := []byte{255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255}
	ms = replace(ms, member{"test_images", "|u1", []int{1, 2, 2, 3}, rgb})
	ms = replace(ms, member{"test_labels", "|u1", []int{1, 1}, []byte{0}})
	s, err := newFrom(t, "pneumoniamnist.npz", buildNPZ(t, zip.Deflate, ms...), nil)
	if err != nil {
		t.Fatal(err)
	}
	ss := collect(t, s, "test")
	for p, y := range []float64{0.299 * 255, 0.587 * 255, 0.114 * 255, 255} {
		if got, want := float64(ss[0].Image.Pix[p]), y/127.5-1; math.Abs(got-want) > tol {
			t.Errorf("pixel %d = %v, want %v", p, got, want)
		}
	}
}

func TestNormalLabels(t *testing.T) {
	b := buildNPZ(t, zip.Store, tiny()...)
	// normal=1 swaps the labels.
	s, err := newFrom(t, "pneumoniamnist.npz", b, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	if got := data.Labels(collect(t, s, "train")); got[0] != 1 || got[1] != 0 || got[2] != 1 {
		t.Errorf("labels with normal=1: %v", got)
	}
	if !strings.HasSuffix(s.Name(), ":normal=1") {
		t.Errorf("Name %q does not record normal=1", s.Name())
	}
	// breastmnist: label 1 "normal, benign" is normal by default.
	s, err = newFrom(t, "breastmnist_64.npz", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := data.Labels(collect(t, s, "train")); got[0] != 1 || got[1] != 0 {
		t.Errorf("breastmnist labels: %v", got)
	}
	if s.Dataset().Name != "breastmnist" || s.size != 64 || s.Name() != "medmnist:breastmnist_64.npz" {
		t.Errorf("dataset %q size %d name %q", s.Dataset().Name, s.size, s.Name())
	}
	// An unknown name needs normal=.
	if _, err := newFrom(t, "mine.npz", b, nil); err == nil || !strings.Contains(err.Error(), "normal=") {
		t.Errorf("unknown dataset without normal: %v", err)
	}
	if s, err := newFrom(t, "mine.npz", b, []int{0}); err != nil || s.Name() != "medmnist:mine.npz:normal=0" {
		t.Errorf("unknown dataset with normal=0: %v", err)
	}
	// Out of range for pneumoniamnist (labels 0 and 1).
	if _, err := newFrom(t, "pneumoniamnist.npz", b, []int{2}); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("normal=2: %v", err)
	}
}

func TestMultiLabel(t *testing.T) {
	ms := tiny()
	labels := make([]byte, 3*14)
	labels[14+5] = 1    // image 1: nodule
	labels[2*14+13] = 1 // image 2: hernia
	ms = replace(ms, member{"train_labels", "|u1", []int{3, 14}, labels})
	ms = replace(ms, member{"val_labels", "|u1", []int{1, 14}, make([]byte, 14)})
	ms = replace(ms, member{"test_labels", "|u1", []int{2, 14}, make([]byte, 28)})
	b := buildNPZ(t, zip.Deflate, ms...)
	s, err := newFrom(t, "chestmnist.npz", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := data.Labels(collect(t, s, "train")); got[0] != 0 || got[1] != 1 || got[2] != 1 {
		t.Errorf("chestmnist labels %v, want [0 1 1]", got)
	}
	// Tolerating hernia (13) makes image 2 normal.
	s, err = newFrom(t, "chestmnist.npz", b, []int{13})
	if err != nil {
		t.Fatal(err)
	}
	if got := data.Labels(collect(t, s, "train")); got[0] != 0 || got[1] != 1 || got[2] != 0 {
		t.Errorf("chestmnist labels with normal=13: %v, want [0 1 0]", got)
	}
	// Multi-label rows in a single-label dataset are an error.
	if _, err := newFrom(t, "pneumoniamnist.npz", b, nil); err == nil || !strings.Contains(err.Error(), "one label per image") {
		t.Errorf("multi-label pneumoniamnist: %v", err)
	}
}

func TestFloatImages(t *testing.T) {
	f32 := func(v ...float32) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
		return b
	}
	ms := replace(tiny(), member{"val_images", "<f4", []int{1, 2, 3}, f32(0, 0.25, 0.5, 0.75, 1, 0.5)})
	s, err := newFrom(t, "pneumoniamnist.npz", buildNPZ(t, zip.Store, ms...), nil)
	if err != nil {
		t.Fatal(err)
	}
	ss := collect(t, s, "val")
	for p, want := range []float32{-1, -0.5, 0, 0.5, 1, 0} {
		if ss[0].Image.Pix[p] != want {
			t.Errorf("pixel %d = %v, want %v", p, ss[0].Image.Pix[p], want)
		}
	}
	for i, c := range []struct {
		vals []float32
		want string
	}{
		{[]float32{0, 0, float32(math.NaN()), 0, 0, 0}, "val_images.npy: image 0: npy: element 2 is NaN"},
		{[]float32{0, 0, 0, 0, 2, 0}, "float value 2 at row 1, column 1 outside [0, 1]"},
	} {
		ms := replace(tiny(), member{"val_images", "<f4", []int{1, 2, 3}, f32(c.vals...)})
		s, err := newFrom(t, "pneumoniamnist.npz", buildNPZ(t, zip.Store, ms...), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = data.Collect(s, "val", 0)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "pneumoniamnist.npz") {
			t.Errorf("%d: got %v, want an error naming the file and containing %q", i, err, c.want)
		}
	}
}

// TestBadFiles checks that each kind of damage gives an error at Open that
// names the file and the problem.
func TestBadFiles(t *testing.T) {
	good := buildNPZ(t, zip.Deflate, tiny()...)
	huge := npyBytes(t, member{"x", "|u1", []int{1}, []byte{0}})
	huge = bytes.Replace(huge, []byte("(1,)"), []byte("(1000000000000,)"), 1)
	var hugeZip bytes.Buffer
	zw := zip.NewWriter(&hugeZip)
	for _, m := range tiny() {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: m.key + ".npy", Method: zip.Deflate})
		if m.key == "train_labels" {
			w.Write(huge)
			continue
		}
		w.Write(npyBytes(t, m))
	}
	zw.Close()
	for i, c := range []struct {
		b    []byte
		want string
	}{
		0:  {good[:len(good)/2], "not a readable npz"},
		1:  {[]byte("hello"), "not a readable npz"},
		2:  {buildNPZ(t, zip.Store, without(tiny(), "val_labels")...), `no array "val_labels"`},
		3:  {buildNPZ(t, zip.Store, replace(tiny(), member{"train_images", "<i4", []int{3, 1, 2}, make([]byte, 24)})...), "dtype <i4, want uint8"},
		4:  {buildNPZ(t, zip.Store, replace(tiny(), member{"train_images", "|u1", []int{3, 6}, make([]byte, 18)})...), "shape (3, 6), want (N, H, W)"},
		5:  {buildNPZ(t, zip.Store, replace(tiny(), member{"train_images", "|u1", []int{3, 1, 2, 2}, make([]byte, 12)})...), "shape (3, 1, 2, 2)"},
		6:  {buildNPZ(t, zip.Store, replace(tiny(), member{"train_labels", "|u1", []int{2, 1}, []byte{0, 1}})...), "2 labels for 3 images"},
		7:  {buildNPZ(t, zip.Store, replace(tiny(), member{"train_labels", "<f4", []int{3, 1}, make([]byte, 12)})...), "want integers"},
		8:  {buildNPZ(t, zip.Store, replace(tiny(), member{"train_labels", "|u1", []int{3, 1}, []byte{0, 7, 0}})...), "image 1: label 7 out of range"},
		9:  {buildNPZ(t, zip.Store, replace(tiny(), member{"train_labels", "|i1", []int{3, 1}, []byte{0, 0xff, 0}})...), "label -1 is not a non-negative integer"},
		10: {hugeZip.Bytes(), "header claims |u1 (1000000000000,)"},
		11: {buildNPZ(t, zip.Store, replace(tiny(), member{"test_labels", "|u1", []int{2, 1, 1}, []byte{0, 0}})...), "labels have shape (2, 1, 1)"},
		// Two members of one name: numpy reads the last, anogo read the first.
		12: {buildNPZ(t, zip.Store, append(tiny(), member{"train_labels", "|u1", []int{3, 1}, []byte{1, 1, 1}})...), "two members named train_labels.npy"},
	} {
		_, err := newFrom(t, "pneumoniamnist.npz", c.b, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "pneumoniamnist.npz") {
			t.Errorf("%d: got %v, want an error naming the file and containing %q", i, err, c.want)
		}
	}
}

// TestLabelRowBound: a label array of shape (3, 2000) in a file of no
// known data set is refused before a row is allocated (a 1.5 MB file with
// one huge row made anogo allocate 2 GB).
func TestLabelRowBound(t *testing.T) {
	b := buildNPZ(t, zip.Deflate, replace(tiny(), member{"train_labels", "|u1", []int{3, 2000}, make([]byte, 6000)})...)
	_, err := newFrom(t, "custom.npz", b, []int{0})
	if !errors.Is(err, data.ErrLimit) || !strings.Contains(err.Error(), "2000 labels per image") || !strings.Contains(err.Error(), "custom.npz") {
		t.Errorf("3 x 2000 labels: %v", err)
	}
}

// TestCorruptImages flips a byte inside the stored image data: the labels
// still load, and iteration stops with a CRC error naming the member.
func TestCorruptImages(t *testing.T) {
	b := buildNPZ(t, zip.Store, tiny()...)
	i := bytes.Index(b, []byte{10, 11, 12, 13, 14, 15, 20, 21}) // train image 1 onwards
	if i < 0 {
		t.Fatal("image bytes not found")
	}
	b[i] ^= 0xff
	s, err := newFrom(t, "pneumoniamnist.npz", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = data.Collect(s, "train", 0)
	if err == nil || !strings.Contains(err.Error(), "train_images.npy") || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("got %v, want a checksum error naming train_images.npy", err)
	}
}

func TestUnknownSplitAndEarlyStop(t *testing.T) {
	s, err := newFrom(t, "pneumoniamnist.npz", buildNPZ(t, zip.Deflate, tiny()...), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := data.Collect(s, "validation", 0); err == nil || !strings.Contains(err.Error(), `no split "validation"`) {
		t.Errorf("unknown split: %v", err)
	}
	ss, err := data.Collect(s, "train", 2)
	if err != nil || len(ss) != 2 {
		t.Errorf("early stop: %d samples, %v", len(ss), err)
	}
}

func TestChecksumVerdict(t *testing.T) {
	b := buildNPZ(t, zip.Store, tiny()...)
	s, err := newFrom(t, "pneumoniamnist.npz", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, v, err := s.Checksum(); err != nil || v != NotOfficial {
		t.Errorf("verdict %v, %v; want %v", v, err, NotOfficial)
	}
	s, err = newFrom(t, "octmnist.npz", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, v, _ := s.Checksum(); v != UnknownFile {
		t.Errorf("octmnist verdict %v, want %v", v, UnknownFile)
	}
	if p := s.Provenance(); !strings.Contains(p, "unknown file") || !strings.Contains(p, `3 "normal"`) || !strings.Contains(p, "split sizes differ") {
		t.Errorf("provenance:\n%s", p)
	}
}

func TestParseName(t *testing.T) {
	for i, c := range []struct {
		file string
		name string
		size int
	}{
		{"pneumoniamnist.npz", "pneumoniamnist", 28},
		{"PneumoniaMNIST_64.npz", "pneumoniamnist", 64},
		{"chestmnist_224.npz", "chestmnist", 224},
		{"chestmnist_32.npz", "chestmnist_32", 28},
		{"mine", "mine", 28},
	} {
		if n, s := parseName(c.file); n != c.name || s != c.size {
			t.Errorf("%d: parseName(%q) = %q, %d; want %q, %d", i, c.file, n, s, c.name, c.size)
		}
	}
}

func TestTable(t *testing.T) {
	if len(Datasets) != 12 {
		t.Errorf("%d datasets, want the 12 MedMNIST 2D ones", len(Datasets))
	}
	for _, in := range Datasets {
		for _, l := range in.Normal {
			if l < 0 || l >= len(in.Labels) {
				t.Errorf("%s: normal label %d out of range", in.Name, l)
			}
		}
		if in.Why == "" || (len(in.Normal) == 0) != in.MultiLabel() {
			t.Errorf("%s: normal %v, why %q", in.Name, in.Normal, in.Why)
		}
	}
	for name, want := range map[string]int{"octmnist": 3, "pneumoniamnist": 0, "breastmnist": 1} {
		if in, _ := Lookup(name); len(in.Normal) != 1 || in.Normal[0] != want {
			t.Errorf("%s: normal %v, want [%d]", name, in.Normal, want)
		}
	}
}

// pneumoniaPath is the shared test copy of PneumoniaMNIST (not the official
// file; see its README).
func pneumoniaPath(t *testing.T) string {
	p := os.Getenv("ANOGO_PNEUMONIAMNIST")
	if p == "" {
		p = filepath.Join("..", "..", "..", "shared", "datasets", "pneumoniamnist", "pneumoniamnist.npz")
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("PneumoniaMNIST not found at %s (set ANOGO_PNEUMONIAMNIST to the .npz file): %v", p, err)
	}
	return p
}

func TestPneumoniaMNIST(t *testing.T) {
	s, err := Open(pneumoniaPath(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int{"train": {1214, 3494}, "val": {135, 389}, "test": {234, 390}}
	for _, split := range s.Splits() {
		var n [2]int
		for smp, err := range s.Samples(split) {
			if err != nil {
				t.Fatal(err)
			}
			n[smp.Label]++
			if err := smp.Image.Check(smp.ID); err != nil || smp.Image.H != 28 || smp.Image.W != 28 {
				t.Fatalf("%s: %dx%d %v", smp.ID, smp.Image.H, smp.Image.W, err)
			}
			if split == "test" && smp.ID == "pneumoniamnist.npz:test/17" {
				// Values read with NumPy: test_images[17] at (0,0), (14,14), (27,3)
				// is 18, 191, 183; test_labels[17] is 1.
				for _, c := range []struct{ y, x, v int }{{0, 0, 18}, {14, 14, 191}, {27, 3, 183}} {
					if got, want := float64(smp.Image.At(c.y, c.x)), float64(c.v)/127.5-1; math.Abs(got-want) > tol {
						t.Errorf("test/17 (%d,%d) = %v, want %v", c.y, c.x, got, want)
					}
				}
				if smp.Label != data.Anomalous {
					t.Errorf("test/17 label %d, want 1", smp.Label)
				}
			}
		}
		if n != want[split] {
			t.Errorf("%s: normal/anomalous %v, want %v", split, n, want[split])
		}
	}
	sum, v, err := s.Checksum()
	if err != nil || v != NotOfficial || sum != "176536e36a50791ae640f2e16bf19bbf" {
		t.Errorf("checksum %s %v %v; want 176536e3... %v", sum, v, err, NotOfficial)
	}
	if p := s.Provenance(); !strings.Contains(p, "not the official file") || !strings.Contains(p, "split sizes match") {
		t.Errorf("provenance:\n%s", p)
	}
}

// FuzzNPZ opens arbitrary bytes as pneumoniamnist.npz and reads every split;
// it must never panic.
func FuzzNPZ(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := New("pneumoniamnist.npz", bytes.NewReader(b), int64(len(b)), nil)
		if err != nil {
			return
		}
		for _, split := range s.Splits() {
			for smp, err := range s.Samples(split) {
				if err != nil {
					break
				}
				if smp.Image == nil || len(smp.Image.Pix) != smp.Image.H*smp.Image.W {
					t.Fatalf("%s: bad image", smp.ID)
				}
			}
		}
	})
}

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the fuzz seed corpus in testdata/fuzz")

// fuzzSeeds are small npz files: stored, deflated, colour, truncated and
// with a wrong dtype.
func fuzzSeeds(t testing.TB) [][]byte {
	stored := buildNPZ(t, zip.Store, tiny()...)
	colour := replace(tiny(), member{"test_images", "|u1", []int{2, 1, 1, 3}, []byte{1, 2, 3, 4, 5, 6}})
	return [][]byte{
		stored,
		buildNPZ(t, zip.Deflate, tiny()...),
		buildNPZ(t, zip.Deflate, colour...),
		stored[:len(stored)-40],
		buildNPZ(t, zip.Store, replace(tiny(), member{"val_labels", "<f8", []int{1, 1}, make([]byte, 8)})...),
	}
}

func TestWriteSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -write-seeds to rewrite testdata/fuzz/FuzzNPZ")
	}
	fuzzseed.Write(t, "FuzzNPZ", fuzzSeeds(t))
}
