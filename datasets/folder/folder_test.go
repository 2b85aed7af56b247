package folder

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/anogo/anogo/datasets/internal/fuzzseed"
	"github.com/anogo/anogo/sdk/data"
)

const tol = 1e-6

// grey8 returns an h x w grey image whose pixel (y, x) is f(y, x).
func grey8(h, w int, f func(y, x int) uint8) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetGray(x, y, color.Gray{f(y, x)})
		}
	}
	return m
}

func encodePNG(t testing.TB, m image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= tol }

func TestDecodeFormats(t *testing.T) {
	g16 := image.NewGray16(image.Rect(0, 0, 3, 1))
	g16.SetGray16(0, 0, color.Gray16{0})
	g16.SetGray16(1, 0, color.Gray16{1000})
	g16.SetGray16(2, 0, color.Gray16{65535})
	rgb := image.NewNRGBA(image.Rect(0, 0, 4, 1))
	rgb.Set(0, 0, color.NRGBA{255, 0, 0, 255})
	rgb.Set(1, 0, color.NRGBA{0, 255, 0, 255})
	rgb.Set(2, 0, color.NRGBA{0, 0, 255, 128}) // alpha is ignored
	rgb.Set(3, 0, color.NRGBA{255, 255, 255, 255})
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.Gray{0}, color.Gray{51}})
	pal.SetColorIndex(1, 0, 1)
	g8 := grey8(1, 3, func(y, x int) uint8 { return []uint8{0, 51, 255}[x] })
	var tif, tif16, bm bytes.Buffer
	if err := tiff.Encode(&tif, g8, nil); err != nil {
		t.Fatal(err)
	}
	if err := tiff.Encode(&tif16, g16, nil); err != nil {
		t.Fatal(err)
	}
	if err := bmp.Encode(&bm, g8); err != nil {
		t.Fatal(err)
	}
	luma := []float64{0.299 * 255, 0.587 * 255, 0.114 * 255, 255}
	for i, c := range []struct {
		name string
		b    []byte
		want []float64
	}{
		{"png 8-bit", encodePNG(t, g8), []float64{-1, 51/127.5 - 1, 1}},
		{"png 16-bit", encodePNG(t, g16), []float64{-1, 1000/32767.5 - 1, 1}},
		{"png colour", encodePNG(t, rgb), []float64{luma[0]/127.5 - 1, luma[1]/127.5 - 1, luma[2]/127.5 - 1, 1}},
		{"png palette", encodePNG(t, pal), []float64{-1, 51/127.5 - 1}},
		{"tiff 8-bit", tif.Bytes(), []float64{-1, 51/127.5 - 1, 1}},
		{"tiff 16-bit", tif16.Bytes(), []float64{-1, 1000/32767.5 - 1, 1}},
		{"bmp", bm.Bytes(), []float64{-1, 51/127.5 - 1, 1}},
	} {
		im, err := Decode(c.b)
		if err != nil {
			t.Fatalf("%d %s: %v", i, c.name, err)
		}
		if im.H != 1 || im.W != len(c.want) {
			t.Fatalf("%d %s: size %dx%d", i, c.name, im.H, im.W)
		}
		for p, want := range c.want {
			// 16-bit paths compute luma in 16-bit units: allow float32 rounding.
			if got := float64(im.Pix[p]); math.Abs(got-want) > 1e-5 {
				t.Errorf("%d %s: pixel %d = %v, want %v", i, c.name, p, got, want)
			}
		}
	}
	// JPEG is lossy: a flat grey image stays close to its value.
	var jb bytes.Buffer
	jpeg.Encode(&jb, grey8(8, 8, func(y, x int) uint8 { return 200 }), &jpeg.Options{Quality: 95})
	im, err := Decode(jb.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(im.At(4, 4))-(200/127.5-1)) > 0.02 {
		t.Errorf("jpeg pixel %v, want about %v", im.At(4, 4), 200/127.5-1)
	}
}

// hugePNG returns a valid 1x1 PNG whose header claims w x h pixels.
func hugePNG(t testing.TB, w, h uint32) []byte {
	b := encodePNG(t, grey8(1, 1, func(y, x int) uint8 { return 0 }))
	i := bytes.Index(b, []byte("IHDR"))
	binary.BigEndian.PutUint32(b[i+4:], w)
	binary.BigEndian.PutUint32(b[i+8:], h)
	binary.BigEndian.PutUint32(b[i+4+13:], crc32.ChecksumIEEE(b[i:i+4+13]))
	return b
}

func TestDecodeErrors(t *testing.T) {
	good := encodePNG(t, grey8(4, 4, func(y, x int) uint8 { return 9 }))
	for i, c := range []struct {
		b    []byte
		want string
	}{
		{[]byte("hello"), "not a readable PNG, JPEG, TIFF or BMP image"},
		{good[:len(good)-20], "decoding png"},
		{hugePNG(t, 100000, 100000), "png header claims an image of 100000 x 100000"},
	} {
		if _, err := Decode(c.b); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d: got %v, want %q", i, err, c.want)
		}
	}
}

// TestPixelBound: a header of 6000 x 6000 pixels (36 M, a 0.5 MB PNG made
// anogo allocate 1.6 GB at the old bound of 67 M) is refused with the limit
// and the variable that raises it, and passes the check once MaxPixels is
// raised; size=16384 (1 GiB per image) is refused the same way.
func TestPixelBound(t *testing.T) {
	b := hugePNG(t, 6000, 6000)
	_, err := Decode(b)
	if !errors.Is(err, data.ErrLimit) || !strings.Contains(err.Error(), "6000 x 6000") || !strings.Contains(err.Error(), "ANOGO_MAX_PIXELS") {
		t.Errorf("6000 x 6000: %v", err)
	}
	old := MaxPixels
	defer func() { MaxPixels = old }()
	MaxPixels = 6000 * 6000
	if _, err := Decode(b); errors.Is(err, data.ErrLimit) {
		t.Errorf("6000 x 6000 with MaxPixels raised: %v", err)
	}
	MaxPixels = old
	dir := t.TempDir()
	_, err = Open(Options{Normal: dir, Size: 16384})
	if !errors.Is(err, data.ErrLimit) || !strings.Contains(err.Error(), "size=16384") {
		t.Errorf("size=16384: %v", err)
	}
}

func TestResize(t *testing.T) {
	im := &data.Image{H: 2, W: 2, Pix: []float32{0, 1, 2, 3}}
	// Half-pixel centres: output (y, x) of 4x4 reads source ((y+0.5)/2-0.5, ...).
	want := []float32{
		0, 0.25, 0.75, 1,
		0.5, 0.75, 1.25, 1.5,
		1.5, 1.75, 2.25, 2.5,
		2, 2.25, 2.75, 3,
	}
	got := Resize(im, 4, 4)
	for i := range want {
		if !near(float64(got.Pix[i]), float64(want[i])) {
			t.Errorf("bilinear pixel %d = %v, want %v", i, got.Pix[i], want[i])
		}
	}
	if id := Resize(im, 2, 2); !near(float64(id.Pix[3]), 3) || !near(float64(id.Pix[1]), 1) {
		t.Errorf("same-size resize changed values: %v", id.Pix)
	}
	nn := ResizeNearest(im, 4, 4)
	for i, w := range []float32{0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3} {
		if nn.Pix[i] != w {
			t.Errorf("nearest pixel %d = %v, want %v", i, nn.Pix[i], w)
		}
	}
	down := ResizeNearest(&data.Image{H: 4, W: 4, Pix: want}, 2, 2)
	if down.Pix[0] != 0.75 || down.Pix[3] != 3 { // source (1,1) and (3,3)
		t.Errorf("nearest 4x4 -> 2x2: %v", down.Pix)
	}
}

// makeFolders writes normal a..d (4x4, a 6x5), abnormal x and y, masks for
// x (x.png) and y (y_mask.png) and a README that must be skipped.
func makeFolders(t *testing.T) string {
	root := t.TempDir()
	for i, n := range []string{"a", "b", "c", "d"} {
		h, w := 4, 4
		if n == "a" {
			h, w = 6, 5
		}
		v := uint8(10 * (i + 1))
		write(t, filepath.Join(root, "normal", n+".png"), encodePNG(t, grey8(h, w, func(y, x int) uint8 { return v })))
	}
	for _, n := range []string{"x", "y"} {
		write(t, filepath.Join(root, "abnormal", n+".png"), encodePNG(t, grey8(4, 4, func(y, x int) uint8 { return 200 })))
	}
	write(t, filepath.Join(root, "masks", "x.png"), encodePNG(t, grey8(4, 4, func(y, x int) uint8 {
		if y == 1 && x == 2 {
			return 255
		}
		return 0
	})))
	write(t, filepath.Join(root, "masks", "y_mask.png"), encodePNG(t, grey8(4, 4, func(y, x int) uint8 { return 1 })))
	write(t, filepath.Join(root, "normal", "README.txt"), []byte("skipped"))
	return root
}

func ids(ss []data.Sample) string {
	var out []string
	for _, s := range ss {
		out = append(out, fmt.Sprintf("%s:%d", filepath.Base(s.ID), s.Label))
	}
	return strings.Join(out, " ")
}

func TestSplits(t *testing.T) {
	root := makeFolders(t)
	n, ab := filepath.Join(root, "normal"), filepath.Join(root, "abnormal")
	for i, c := range []struct {
		o           Options
		train, test string
	}{
		{Options{Normal: n, Abnormal: ab}, "a.png:0 b.png:0 c.png:0 d.png:0", "a.png:0 b.png:0 c.png:0 d.png:0 x.png:1 y.png:1"},
		{Options{Normal: n, Abnormal: ab, Holdout: 0.5}, "a.png:0 c.png:0", "b.png:0 d.png:0 x.png:1 y.png:1"},
		{Options{Normal: n, TestNormal: ab, TestAbnormal: ab}, "a.png:0 b.png:0 c.png:0 d.png:0", "x.png:0 y.png:0 x.png:1 y.png:1"},
		{Options{Normal: n}, "a.png:0 b.png:0 c.png:0 d.png:0", "a.png:0 b.png:0 c.png:0 d.png:0"},
	} {
		s, err := Open(c.o)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		train, err := data.Collect(s, "train", 0)
		if err != nil {
			t.Fatal(err)
		}
		test, err := data.Collect(s, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		if ids(train) != c.train || ids(test) != c.test || s.Len("train") != len(train) || s.Len("test") != len(test) {
			t.Errorf("%d: train %q test %q\nwant train %q test %q", i, ids(train), ids(test), c.train, c.test)
		}
	}
	s, _ := Open(Options{Normal: n, Abnormal: ab})
	train, _ := data.Collect(s, "train", 0)
	if want := filepath.ToSlash(filepath.Join(n, "a.png")); train[0].ID != want {
		t.Errorf("id %q, want %q", train[0].ID, want)
	}
	if a := train[0].Image; a.H != 6 || a.W != 5 || !near(float64(a.Pix[0]), 10/127.5-1) || train[0].Mask != nil {
		t.Errorf("a.png: %dx%d %v mask %v", a.H, a.W, a.Pix[0], train[0].Mask)
	}
	if train[1].Image.H != 4 {
		t.Errorf("b.png: %dx%d, want 4x4 (sizes may differ within a folder)", train[1].Image.H, train[1].Image.W)
	}
	if got := s.Name(); got != "folder:normal="+n+",abnormal="+ab {
		t.Errorf("Name %q", got)
	}
}

func TestMasksAndSize(t *testing.T) {
	root := makeFolders(t)
	s, err := Open(Options{Normal: filepath.Join(root, "normal"), Abnormal: filepath.Join(root, "abnormal"), Masks: filepath.Join(root, "masks"), Size: 8})
	if err != nil {
		t.Fatal(err)
	}
	test, err := data.Collect(s, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, smp := range test {
		if smp.Image.H != 8 || smp.Image.W != 8 || smp.Mask == nil || smp.Mask.H != 8 {
			t.Fatalf("%s: image %dx%d mask %v", smp.ID, smp.Image.H, smp.Image.W, smp.Mask)
		}
		sum := 0
		for _, v := range smp.Mask.Pix {
			if v != 0 && v != 1 {
				t.Fatalf("%s: mask value %v", smp.ID, v)
			}
			sum += int(v)
		}
		want := map[string]int{"x.png": 4, "y.png": 64}[filepath.Base(smp.ID)] // x: one source pixel -> 2x2
		if sum != want {
			t.Errorf("%s: %d mask pixels, want %d", smp.ID, sum, want)
		}
		if strings.HasSuffix(smp.ID, "x.png") && (smp.Mask.At(2, 4) != 1 || smp.Mask.At(3, 5) != 1) {
			t.Errorf("x.png: mask not at rows 2-3, columns 4-5")
		}
	}
}

func TestBadFolders(t *testing.T) {
	root := makeFolders(t)
	n, ab, masks := filepath.Join(root, "normal"), filepath.Join(root, "abnormal"), filepath.Join(root, "masks")
	empty := filepath.Join(root, "empty")
	os.Mkdir(empty, 0o755)
	write(t, filepath.Join(empty, "notes.txt"), []byte("no images"))
	for i, c := range []struct {
		o    Options
		want string
	}{
		{Options{Normal: empty}, empty + ": no images"},
		{Options{Normal: filepath.Join(root, "missing")}, "missing"},
		{Options{}, "no normal folder"},
		{Options{Normal: n, Abnormal: ab, TestAbnormal: ab}, "not both"},
		{Options{Normal: n, Holdout: 1}, "holdout=1 out of range"},
		{Options{Normal: n, Size: -1}, "size=-1"},
		{Options{Normal: n, TestNormal: ab, Holdout: 0.2}, "not both"},
	} {
		if _, err := Open(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d: got %v, want %q", i, err, c.want)
		}
	}
	// Errors met while iterating name the file.
	write(t, filepath.Join(masks, "c.png"), encodePNG(t, grey8(3, 3, func(y, x int) uint8 { return 0 })))
	write(t, filepath.Join(root, "bad", "z.png"), []byte("not a png"))
	write(t, filepath.Join(root, "dup", "x.png"), encodePNG(t, grey8(4, 4, func(y, x int) uint8 { return 0 })))
	write(t, filepath.Join(root, "dup", "x_mask.tif"), encodePNG(t, grey8(4, 4, func(y, x int) uint8 { return 0 })))
	for i, c := range []struct {
		o     Options
		split string
		want  string
	}{
		{Options{Normal: n, Masks: masks}, "train", "mask " + filepath.Join(masks, "c.png") + " is 3x3, image " + filepath.Join(n, "c.png") + " 4x4"},
		{Options{Normal: filepath.Join(root, "bad")}, "train", filepath.Join(root, "bad", "z.png") + ": not a readable"},
		{Options{Normal: n}, "val", `no split "val"`},
	} {
		s, err := Open(c.o)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if _, err := data.Collect(s, c.split, 0); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d: got %v, want %q", i, err, c.want)
		}
	}
	if _, err := Open(Options{Normal: n, Masks: filepath.Join(root, "dup")}); err == nil || !strings.Contains(err.Error(), "both match images named x") {
		t.Errorf("ambiguous masks: %v", err)
	}
}

// TestStreaming iterates a folder of 2000 small images and checks that the
// heap does not grow with the number of images read.
func TestStreaming(t *testing.T) {
	const n = 2000
	dir := t.TempDir()
	b := encodePNG(t, grey8(16, 16, func(y, x int) uint8 { return uint8(y * x) }))
	for i := range n {
		write(t, filepath.Join(dir, fmt.Sprintf("%05d.png", i)), b)
	}
	s, err := Open(Options{Normal: dir})
	if err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var start uint64
	count := 0
	for smp, err := range s.Samples("train") {
		if err != nil {
			t.Fatal(err)
		}
		if smp.Image.W != 16 {
			t.Fatalf("%s: width %d", smp.ID, smp.Image.W)
		}
		count++
		if count == 100 {
			start = heap()
		}
	}
	end := heap()
	t.Logf("heap %d -> %d", start, end)
	// Keeping every image would add 1900 x 1 KiB of pixels alone.
	if count != n || end > start+256<<10 {
		t.Errorf("read %d images; heap grew from %d to %d bytes", count, start, end)
	}
}

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the fuzz seed corpus in testdata/fuzz")

func fuzzSeeds(t testing.TB) [][]byte {
	g := grey8(3, 2, func(y, x int) uint8 { return uint8(40 * (y + x)) })
	g16 := image.NewGray16(image.Rect(0, 0, 2, 2))
	g16.SetGray16(1, 1, color.Gray16{40000})
	var tif, jb, bm bytes.Buffer
	tiff.Encode(&tif, g16, nil)
	jpeg.Encode(&jb, g, nil)
	bmp.Encode(&bm, g)
	p := encodePNG(t, g)
	return [][]byte{p, encodePNG(t, g16), tif.Bytes(), jb.Bytes(), bm.Bytes(), p[:len(p)/2], hugePNG(t, 1<<20, 1<<20)}
}

// FuzzFolderImage decodes a single file's bytes as an image and as a mask;
// neither may panic, and every decoded value must lie in [-1, 1].
func FuzzFolderImage(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if im, err := Decode(b); err == nil {
			for _, v := range im.Pix {
				if !(v >= -1 && v <= 1) {
					t.Fatalf("value %v outside [-1, 1]", v)
				}
			}
		}
		if m, err := DecodeMask(b); err == nil {
			for _, v := range m.Pix {
				if v != 0 && v != 1 {
					t.Fatalf("mask value %v", v)
				}
			}
		}
	})
}

func TestWriteSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -write-seeds to rewrite testdata/fuzz/FuzzFolderImage")
	}
	fuzzseed.Write(t, "FuzzFolderImage", fuzzSeeds(t))
}
