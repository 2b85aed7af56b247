package idx

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anogo/anogo/datasets/internal/fuzzseed"
	"github.com/anogo/anogo/sdk/data"
)

const tol = 1e-6

// idxBytes encodes an unsigned-byte IDX file.
func idxBytes(dims []int, payload []byte) []byte {
	b := []byte{0, 0, UnsignedByte, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, payload...)
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// images returns n 2x2 images; image i has pixels 10*i + p.
func images(n int) []byte {
	var b []byte
	for i := range n {
		for p := range 4 {
			b = append(b, byte(10*i+p))
		}
	}
	return b
}

// writeSet writes a tiny data set: train 4 images with labels 3 1 3 0,
// test 3 images with labels 3 0 5. gz picks which files are gzipped.
func writeSet(t *testing.T, gz [4]bool, edit func(name string, b []byte) []byte) string {
	dir := t.TempDir()
	files := []struct {
		name string
		b    []byte
	}{
		{TrainImages, idxBytes([]int{4, 2, 2}, images(4))},
		{TrainLabels, idxBytes([]int{4}, []byte{3, 1, 3, 0})},
		{TestImages, idxBytes([]int{3, 2, 2}, images(3))},
		{TestLabels, idxBytes([]int{3}, []byte{3, 0, 5})},
	}
	for i, f := range files {
		b, name := f.b, f.name
		if gz[i] {
			b, name = gzipped(b), name+".gz"
		}
		if edit != nil {
			b = edit(f.name, b)
		}
		if b == nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestOneClass(t *testing.T) {
	for _, gz := range [][4]bool{{}, {true, true, true, true}, {true, false, false, true}} {
		dir := writeSet(t, gz, nil)
		s, err := Open(dir, 3)
		if err != nil {
			t.Fatalf("gz %v: %v", gz, err)
		}
		if s.Name() != "idx:"+dir+":class=3" || strings.Join(s.Splits(), ",") != "train,test" {
			t.Errorf("name %q splits %v", s.Name(), s.Splits())
		}
		suffix := ""
		if gz[0] {
			suffix = ".gz"
		}
		train, err := data.Collect(s, "train", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(train) != 2 || s.Len("train") != 2 {
			t.Fatalf("gz %v: %d train samples, want 2", gz, len(train))
		}
		for j, i := range []int{0, 2} {
			smp := train[j]
			if want := TrainImages + suffix + ":" + string(rune('0'+i)); smp.ID != want || smp.Label != data.Normal {
				t.Errorf("train %d: id %q label %d, want %q label 0", j, smp.ID, smp.Label, want)
			}
			for p, v := range smp.Image.Pix {
				if want := float64(10*i+p)/127.5 - 1; math.Abs(float64(v)-want) > tol {
					t.Errorf("%s: pixel %d = %v, want %v", smp.ID, p, v, want)
				}
			}
		}
		test, err := data.Collect(s, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := data.Labels(test); len(got) != 3 || got[0] != 0 || got[1] != 1 || got[2] != 1 {
			t.Errorf("gz %v: test labels %v, want [0 1 1]", gz, got)
		}
	}
}

func TestBadSets(t *testing.T) {
	all := [4]bool{true, true, true, true}
	for i, c := range []struct {
		gz    [4]bool
		class int
		edit  func(name string, b []byte) []byte
		want  string
	}{
		0: {class: 3, edit: func(n string, b []byte) []byte {
			if n == TrainImages {
				return b[:len(b)-1]
			}
			return b
		}, want: "header claims [4 2 2] (32 bytes) but the file holds 31 bytes"},
		1: {gz: all, class: 3, edit: func(n string, b []byte) []byte {
			if n == TestImages {
				binary.LittleEndian.PutUint32(b[len(b)-4:], 99)
			}
			return b
		}, want: "gzip trailer records 99 bytes"},
		2: {class: 3, edit: func(n string, b []byte) []byte {
			if n == TestLabels {
				b[0] = 1
			}
			return b
		}, want: "bad magic number"},
		3: {class: 3, edit: func(n string, b []byte) []byte {
			if n == TrainImages {
				b[2] = 0x0d
			}
			return b
		}, want: "data type 0x0d is not supported"},
		4: {class: 3, edit: func(n string, b []byte) []byte {
			if n == TestLabels {
				return idxBytes([]int{2}, []byte{0, 1})
			}
			return b
		}, want: "2 labels for 3 images"},
		5: {class: 3, edit: func(n string, b []byte) []byte {
			if n == TrainLabels {
				return nil
			}
			return b
		}, want: "no train-labels-idx1-ubyte or train-labels-idx1-ubyte.gz"},
		6: {class: 7, want: "no train image has class 7"},
		7: {class: 3, edit: func(n string, b []byte) []byte {
			if n == TestImages {
				return idxBytes([]int{3, 1, 4}, images(3))
			}
			return b
		}, want: "train images are 2x2, test images 1x4"},
		8: {class: 3, edit: func(n string, b []byte) []byte {
			if n == TrainImages {
				// Claims 10^12 bytes of images in a 32-byte file.
				return idxBytes([]int{1000000, 1000, 1000}, images(4))
			}
			return b
		}, want: "header claims [1000000 1000 1000] (1000000000016 bytes) but the file holds 32 bytes"},
		9: {gz: all, class: 3, edit: func(n string, b []byte) []byte {
			if n == TrainImages {
				raw := idxBytes([]int{1000000, 1000, 1000}, images(4))
				g := gzipped(raw)
				binary.LittleEndian.PutUint32(g[len(g)-4:], uint32(1000000000016&0xffffffff))
				return g
			}
			return b
		}, want: "more than a"},
		10: {class: 3, edit: func(n string, b []byte) []byte {
			if n == TrainImages {
				return idxBytes([]int{4, 2, 2, 1}, images(4))
			}
			return b
		}, want: "4 dimensions, want 3"},
		11: {class: 300, want: "class 300 out of range"},
		12: {gz: all, class: 3, edit: func(n string, b []byte) []byte {
			if n == TrainLabels {
				return []byte("not gzip at all, just text")
			}
			return b
		}, want: "gzip"},
	} {
		dir := writeSet(t, c.gz, c.edit)
		_, err := Open(dir, c.class)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), dir) {
			t.Errorf("%d: got %v, want an error naming %s and containing %q", i, err, dir, c.want)
		}
	}
}

// TestTruncatedGzip cuts the gzip stream of the test images: the header
// still reads, iteration stops with an error naming the file.
func TestTruncatedGzip(t *testing.T) {
	dir := writeSet(t, [4]bool{true, true, true, true}, func(n string, b []byte) []byte {
		if n == TestImages {
			return append(b[:len(b)-12], b[len(b)-4:]...) // keep the size trailer
		}
		return b
	})
	s, err := Open(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	_, err = data.Collect(s, "test", 0)
	if err == nil || !strings.Contains(err.Error(), TestImages+".gz") {
		t.Errorf("got %v, want an error naming %s.gz", err, TestImages)
	}
}

func TestReaderTrailingBytes(t *testing.T) {
	b := idxBytes([]int{2}, []byte{1, 2, 3})
	r, err := NewReader(bytes.NewReader(b), -1)
	if err != nil {
		t.Fatal(err)
	}
	r.Next()
	r.Next()
	if _, err := r.Next(); err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "bytes after the 2 items") {
		t.Errorf("got %v, want an error about trailing bytes", err)
	}
}

const fashionDir = "/usr/share/datasets/fashion-mnist"

func TestFashionMNIST(t *testing.T) {
	if _, err := os.Stat(filepath.Join(fashionDir, TrainImages+".gz")); err != nil {
		t.Skipf("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist puts it in %s): %v", fashionDir, err)
	}
	s, err := Open(fashionDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for smp, err := range s.Samples("train") {
		if err != nil {
			t.Fatal(err)
		}
		if smp.Label != data.Normal || smp.Image.H != 28 || smp.Image.W != 28 {
			t.Fatalf("%s: label %d size %dx%d", smp.ID, smp.Label, smp.Image.H, smp.Image.W)
		}
		n++
	}
	if n != 6000 {
		t.Errorf("%d train images of class 0, want 6000", n)
	}
	var count [2]int
	for smp, err := range s.Samples("test") {
		if err != nil {
			t.Fatal(err)
		}
		count[smp.Label]++
		if smp.ID == TestImages+".gz:0" {
			// Read with NumPy: t10k image 0 is an ankle boot (label 9),
			// pixel (14,14) = 110 and (20,10) = 126.
			if smp.Label != data.Anomalous {
				t.Errorf("test image 0 label %d, want 1", smp.Label)
			}
			for _, c := range []struct{ y, x, v int }{{14, 14, 110}, {20, 10, 126}} {
				if got, want := float64(smp.Image.At(c.y, c.x)), float64(c.v)/127.5-1; math.Abs(got-want) > tol {
					t.Errorf("test image 0 (%d,%d) = %v, want %v", c.y, c.x, got, want)
				}
			}
		}
	}
	if count != [2]int{1000, 9000} {
		t.Errorf("test normal/anomalous %v, want [1000 9000]", count)
	}
}

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the fuzz seed corpus in testdata/fuzz")

// fuzzSeeds are valid and broken IDX files.
func fuzzSeeds() [][]byte {
	good := idxBytes([]int{3, 2, 2}, images(3))
	return [][]byte{
		good,
		idxBytes([]int{4}, []byte{3, 1, 3, 0}),
		good[:len(good)-1],
		idxBytes([]int{1000000, 1000, 1000}, images(1)),
		{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0},
		// Found by the fuzzer: 808,464,432 items of zero bytes each.
		[]byte("\x00\x00\b\x030000\x00\x00\x00\x000000"),
	}
}

// FuzzIDX reads arbitrary bytes as an IDX file of known size; it must never
// panic, and every accepted file must hold exactly its items.
func FuzzIDX(f *testing.F) {
	for _, b := range fuzzSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("item %d of an accepted file: %v", n, err)
			}
			n++
		}
		if n != r.Header().Items() {
			t.Fatalf("read %d items, header claims %d", n, r.Header().Items())
		}
	})
}

func TestWriteSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -write-seeds to rewrite testdata/fuzz/FuzzIDX")
	}
	fuzzseed.Write(t, "FuzzIDX", fuzzSeeds())
}
