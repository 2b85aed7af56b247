package datasets

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anogo/anogo/datasets/internal/npy"
	"github.com/anogo/anogo/sdk/data"
)

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tinyNPZ writes a pneumoniamnist-shaped npz: 2x2 images, train labels
// 0 1 1, val 0, test 1 0.
func tinyNPZ(t *testing.T, path string) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(key string, shape []int, b []byte) {
		w, err := zw.Create(key + ".npy")
		if err != nil {
			t.Fatal(err)
		}
		if err := npy.Write(w, "|u1", shape, b); err != nil {
			t.Fatal(err)
		}
	}
	for _, sp := range []struct {
		name   string
		labels []byte
	}{{"train", []byte{0, 1, 1}}, {"val", []byte{0}}, {"test", []byte{1, 0}}} {
		n := len(sp.labels)
		img := make([]byte, 4*n)
		for i := range img {
			img[i] = byte(i * 20)
		}
		add(sp.name+"_images", []int{n, 2, 2}, img)
		add(sp.name+"_labels", []int{n, 1}, sp.labels)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	write(t, path, buf.Bytes())
}

func idxFile(dims []int, payload []byte) []byte {
	b := []byte{0, 0, 8, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, payload...)
}

func pngGrey(t *testing.T, h, w int, v uint8) []byte {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = v
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fixtures writes one small source of each file kind and returns their
// specs.
func fixtures(t *testing.T) map[string]string {
	root := t.TempDir()
	tinyNPZ(t, filepath.Join(root, "pneumoniamnist.npz"))
	write(t, filepath.Join(root, "mnist", "train-images-idx3-ubyte"), idxFile([]int{3, 2, 2}, make([]byte, 12)))
	write(t, filepath.Join(root, "mnist", "train-labels-idx1-ubyte"), idxFile([]int{3}, []byte{4, 4, 1}))
	write(t, filepath.Join(root, "mnist", "t10k-images-idx3-ubyte"), idxFile([]int{2, 2, 2}, make([]byte, 8)))
	write(t, filepath.Join(root, "mnist", "t10k-labels-idx1-ubyte"), idxFile([]int{2}, []byte{4, 7}))
	write(t, filepath.Join(root, "good", "a.png"), pngGrey(t, 4, 4, 0))
	write(t, filepath.Join(root, "good", "b.png"), pngGrey(t, 6, 3, 255))
	write(t, filepath.Join(root, "bad", "c.png"), pngGrey(t, 4, 4, 51))
	os.Mkdir(filepath.Join(root, "empty"), 0o755)
	return map[string]string{
		"root":     root,
		"medmnist": "medmnist:" + filepath.Join(root, "pneumoniamnist.npz"),
		"idx":      "idx:" + filepath.Join(root, "mnist") + ":class=4",
		"folder":   "folder:normal=" + filepath.Join(root, "good") + ",abnormal=" + filepath.Join(root, "bad"),
	}
}

func TestOpen(t *testing.T) {
	fx := fixtures(t)
	for i, c := range []struct {
		spec   string
		splits string
		counts map[string]int
	}{
		{fx["medmnist"], "train,val,test", map[string]int{"train": 3, "val": 1, "test": 2}},
		{fx["medmnist"] + ":normal=1", "train,val,test", map[string]int{"train": 3}},
		{fx["idx"], "train,test", map[string]int{"train": 2, "test": 2}},
		{fx["folder"], "train,test", map[string]int{"train": 2, "test": 3}},
		{fx["folder"] + ",size=8,holdout=0.5", "train,test", map[string]int{"train": 1, "test": 2}},
		{"  " + fx["idx"] + " ", "train,test", map[string]int{"train": 2}},
	} {
		src, err := Open(c.spec)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if got := strings.Join(src.Splits(), ","); got != c.splits {
			t.Errorf("%d: splits %s, want %s", i, got, c.splits)
		}
		for split, n := range c.counts {
			ss, err := data.Collect(src, split, 0)
			if err != nil || len(ss) != n {
				t.Errorf("%d %s: %d samples (%v), want %d", i, split, len(ss), err, n)
			}
		}
		// The name is a spec that opens the same source.
		again, err := Open(src.Name())
		if err != nil || again.Name() != src.Name() {
			t.Errorf("%d: reopening %q: %v", i, src.Name(), err)
		}
		if strings.TrimSpace(c.spec) != src.Name() && !strings.Contains(c.spec, "holdout") {
			t.Errorf("%d: Name %q, want the spec %q", i, src.Name(), c.spec)
		}
	}
	// normal=1 swaps the tiny file's train labels 0 1 1.
	src, _ := Open(fx["medmnist"] + ":normal=1")
	ss, _ := data.Collect(src, "train", 0)
	if got := data.Labels(ss); got[0] != 1 || got[1] != 0 || got[2] != 0 {
		t.Errorf("normal=1 labels %v, want [1 0 0]", got)
	}
}

func TestOpenPhantom(t *testing.T) {
	for _, spec := range []string{"phantom", "phantom:seed=3,train=5"} {
		src, err := Open(spec)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		ss, err := data.Collect(src, src.Splits()[0], 2)
		if err != nil || len(ss) == 0 {
			t.Fatalf("%s: %d samples, %v", spec, len(ss), err)
		}
		if err := ss[0].Image.Check(ss[0].ID); err != nil {
			t.Error(err)
		}
	}
	if _, err := Open("phantom:nosuchkey=1"); err == nil || !strings.Contains(err.Error(), `"phantom:nosuchkey=1"`) {
		t.Errorf("bad phantom option: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	fx := fixtures(t)
	root := fx["root"]
	for i, c := range []struct {
		spec, want string
	}{
		{"", "empty source name"},
		{"mnist:/data", `unknown source "mnist"`},
		{"medmnist:", "no file"},
		{fx["medmnist"] + ":normal=a", `"a" is not a label`},
		{fx["medmnist"] + ":normal=0,class=1", `unknown option "class"`},
		{fx["medmnist"] + ":normal=5", "normal label 5 out of range"},
		{"medmnist:" + filepath.Join(root, "missing.npz"), "missing.npz"},
		{"idx:" + filepath.Join(root, "mnist"), "no normal class"},
		{"idx:" + filepath.Join(root, "mnist") + ":class=x", "class=x is not an integer"},
		{"idx:" + filepath.Join(root, "mnist") + ":class=9", "no train image has class 9"},
		{"folder:normal=" + filepath.Join(root, "empty"), "no images"},
		{"folder:abnormal=" + filepath.Join(root, "bad"), "no normal folder"},
		{fx["folder"] + ",size=0", "size=0 is not a positive integer"},
		{fx["folder"] + ",colour=1", `unknown option "colour"`},
		{fx["folder"] + ",normal=x", `option "normal" given twice`},
		{fx["folder"] + ",masks", `option "masks" is not key=value`},
		{"dicom:", "no directory"},
		{"dicom:" + filepath.Join(root, "empty"), "no DICOM files"},
	} {
		_, err := Open(c.spec)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "datasets: \""+c.spec) {
			t.Errorf("%d: Open(%q) = %v, want an error naming the spec and containing %q", i, c.spec, err, c.want)
		}
	}
}

func TestSplitOptions(t *testing.T) {
	for i, c := range []struct{ in, path, opts string }{
		{"a/b.npz", "a/b.npz", ""},
		{"a/b.npz:normal=1|2", "a/b.npz", "normal=1|2"},
		{`C:\data\b.npz:normal=1`, `C:\data\b.npz`, "normal=1"},
		{`C:\data\b.npz`, `C:\data\b.npz`, ""},
	} {
		if p, o := splitOptions(c.in); p != c.path || o != c.opts {
			t.Errorf("%d: splitOptions(%q) = %q, %q", i, c.in, p, o)
		}
	}
}

func TestDescribe(t *testing.T) {
	fx := fixtures(t)
	src, err := Open(fx["folder"])
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Describe(&b, src); err != nil {
		t.Fatal(err)
	}
	want := "source: " + fx["folder"] + `
split  label      count  size              min     max     masks
train  normal     2      4x4 (1), 6x3 (1)  -1.000  1.000   0
test   normal     2      4x4 (1), 6x3 (1)  -1.000  1.000   0
test   anomalous  1      4x4               -0.600  -0.600  0
`
	if b.String() != want {
		t.Errorf("Describe wrote\n%s\nwant\n%s", b.String(), want)
	}

	src, err = Open(fx["medmnist"])
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := Describe(&b, src); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "md5 ") || !strings.Contains(out, "not the official file") || !strings.Contains(out, "split sizes differ") {
		t.Errorf("Describe of a tiny pneumoniamnist.npz:\n%s", out)
	}
}

// TestDescribePneumoniaMNIST describes the shared test copy of
// PneumoniaMNIST, which is not the official file.
func TestDescribePneumoniaMNIST(t *testing.T) {
	p := os.Getenv("ANOGO_PNEUMONIAMNIST")
	if p == "" {
		p = filepath.Join("..", "..", "shared", "datasets", "pneumoniamnist", "pneumoniamnist.npz")
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("PneumoniaMNIST not found at %s (set ANOGO_PNEUMONIAMNIST to the .npz file): %v", p, err)
	}
	src, err := Open("medmnist:" + p)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Describe(&b, src); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, s := range []string{
		"md5 176536e36a50791ae640f2e16bf19bbf: not the official file (official 28209eda62fecd6e6a2d98b1501bb15f)",
		"split sizes match",
		"train  normal     1214   28x28  -1.000  1.000  0",
		"train  anomalous  3494   28x28",
		"val    normal     135 ",
		"val    anomalous  389 ",
		"test   normal     234 ",
		"test   anomalous  390 ",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("Describe output lacks %q:\n%s", s, out)
		}
	}
}

// TestSpecialFilesInSources: a *.png link to /dev/zero in a folder source
// and an IDX or npz path that is a FIFO are errors naming the file, at once.
func TestSpecialFilesInSources(t *testing.T) {
	dir := t.TempDir()
	normal := filepath.Join(dir, "normal")
	if err := os.MkdirAll(normal, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(normal, "a.png")); err != nil {
		t.Skip(err)
	}
	fifo := filepath.Join(dir, "pneumoniamnist.npz")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, spec := range []string{"folder:normal=" + normal, "medmnist:" + fifo} {
			src, err := Open(spec)
			if err == nil {
				_, err = data.Collect(src, data.Train, 0)
			}
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s: %v, want an error saying the file is not a regular file", spec, err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a special file blocked the loader")
	}
}
