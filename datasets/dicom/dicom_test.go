package dicom

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"flag"
	"go/build"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	lib "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/frame"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"

	"github.com/anogo/anogo/datasets/internal/fuzzseed"
	"github.com/anogo/anogo/sdk/data"
)

const tol = 1e-6

// image describes a test file.
type image struct {
	ts          string // transfer syntax UID
	rows, cols  int
	bits        int // allocated: 8 or 16
	stored      int // 0: leave BitsStored out
	signed      bool
	photometric string
	frames      int
	spp         int
	values      []int // rows*cols*spp*frames stored values
}

func must(t testing.TB, e *lib.Element, err error) *lib.Element {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// encode writes a DICOM file with the library's writer.
func encode(t testing.TB, im image) []byte {
	t.Helper()
	if im.frames == 0 {
		im.frames = 1
	}
	if im.spp == 0 {
		im.spp = 1
	}
	if im.photometric == "" {
		im.photometric = "MONOCHROME2"
	}
	el := func(tg tag.Tag, v any) *lib.Element {
		e, err := lib.NewElement(tg, v)
		return must(t, e, err)
	}
	n := im.rows * im.cols
	var frames []*frame.Frame
	for f := range im.frames {
		vals := im.values[f*n*im.spp : (f+1)*n*im.spp]
		var nf frame.INativeFrame
		if im.bits == 8 {
			d := make([]uint8, len(vals))
			for i, v := range vals {
				d[i] = uint8(v)
			}
			nf = &frame.NativeFrame[uint8]{RawData: d, InternalBitsPerSample: 8, InternalRows: im.rows, InternalCols: im.cols, InternalSamplesPerPixel: im.spp}
		} else {
			d := make([]uint16, len(vals))
			for i, v := range vals {
				d[i] = uint16(v)
			}
			nf = &frame.NativeFrame[uint16]{RawData: d, InternalBitsPerSample: 16, InternalRows: im.rows, InternalCols: im.cols, InternalSamplesPerPixel: im.spp}
		}
		frames = append(frames, &frame.Frame{NativeData: nf})
	}
	signed := 0
	if im.signed {
		signed = 1
	}
	elems := []*lib.Element{
		el(tag.MediaStorageSOPClassUID, []string{"1.2.840.10008.5.1.4.1.1.7"}),
		el(tag.MediaStorageSOPInstanceUID, []string{"1.2.3.4.5.6.7"}),
		el(tag.TransferSyntaxUID, []string{im.ts}),
		el(tag.PatientName, []string{"Phantom^Test"}),
		el(tag.SamplesPerPixel, []int{im.spp}),
		el(tag.PhotometricInterpretation, []string{im.photometric}),
		el(tag.NumberOfFrames, []string{string(rune('0' + im.frames))}),
		el(tag.Rows, []int{im.rows}),
		el(tag.Columns, []int{im.cols}),
		el(tag.BitsAllocated, []int{im.bits}),
		el(tag.PixelRepresentation, []int{signed}),
	}
	if im.stored > 0 {
		elems = append(elems, el(tag.BitsStored, []int{im.stored}))
	}
	elems = append(elems, el(tag.PixelData, lib.PixelDataInfo{Frames: frames}))
	var buf bytes.Buffer
	if err := lib.Write(&buf, lib.Dataset{Elements: elems}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecode(t *testing.T) {
	for i, c := range []struct {
		im   image
		want []float64
	}{
		0: {image{ts: uid.ExplicitVRLittleEndian, rows: 2, cols: 3, bits: 16, stored: 12, values: []int{0, 1, 2048, 4095, 100, 4000}},
			[]float64{-1, 2.0/4095 - 1, 2*2048.0/4095 - 1, 1, 200.0/4095 - 1, 8000.0/4095 - 1}},
		1: {image{ts: uid.ImplicitVRLittleEndian, rows: 1, cols: 4, bits: 8, values: []int{0, 51, 128, 255}},
			[]float64{-1, 51/127.5 - 1, 128/127.5 - 1, 1}},
		// 16 bits with no BitsStored: v/32767.5 - 1.
		2: {image{ts: uid.ExplicitVRLittleEndian, rows: 1, cols: 3, bits: 16, values: []int{0, 1000, 65535}},
			[]float64{-1, 1000/32767.5 - 1, 1}},
		// Signed 12-bit: -2048 -> -1, 0 -> 2048/4095*2-1, 2047 -> 1;
		// 0xF800 is -2048 in 12 bits (the high nibble is sign extension).
		3: {image{ts: uid.ExplicitVRLittleEndian, rows: 1, cols: 3, bits: 16, stored: 12, signed: true, values: []int{0xF800, 0, 2047}},
			[]float64{-1, 2*2048.0/4095 - 1, 1}},
		// MONOCHROME1: 0 is white.
		4: {image{ts: uid.ExplicitVRLittleEndian, rows: 1, cols: 2, bits: 8, photometric: "MONOCHROME1", values: []int{0, 255}},
			[]float64{1, -1}},
		// Overlay bits above BitsStored are ignored.
		5: {image{ts: uid.ExplicitVRLittleEndian, rows: 1, cols: 1, bits: 16, stored: 12, values: []int{0x8000 | 4095}},
			[]float64{1}},
	} {
		im, err := Decode(encode(t, c.im))
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if im.H != c.im.rows || im.W != c.im.cols {
			t.Fatalf("%d: size %dx%d, want %dx%d", i, im.H, im.W, c.im.rows, c.im.cols)
		}
		for p, want := range c.want {
			if got := float64(im.Pix[p]); math.Abs(got-want) > tol {
				t.Errorf("%d: pixel %d = %v, want %v", i, p, got, want)
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good := encode(t, image{ts: uid.ExplicitVRLittleEndian, rows: 2, cols: 2, bits: 8, values: []int{1, 2, 3, 4}})
	// Patch the pixel data length to claim 4 GB - 2 bytes.
	huge := bytes.Clone(good)
	pd := bytes.LastIndex(huge, []byte{0xe0, 0x7f, 0x10, 0x00, 'O', 'W', 0, 0})
	if pd < 0 {
		t.Fatal("pixel data element not found")
	}
	binary.LittleEndian.PutUint32(huge[pd+8:], 0xfffffffe)
	// Patch the patient name length (a 2-byte VL in explicit VR).
	name := bytes.Clone(good)
	pn := bytes.Index(name, []byte("PN"))
	binary.LittleEndian.PutUint16(name[pn+2:], 60000)
	// Claim 3 rows: the pixel data no longer matches the image size.
	rows := bytes.Clone(good)
	r := bytes.Index(rows, []byte{0x28, 0, 0x10, 0, 'U', 'S', 2, 0, 2, 0})
	if r < 0 {
		t.Fatal("rows element not found")
	}
	rows[r+8] = 3
	for i, c := range []struct {
		b    []byte
		want string
	}{
		0: {encode(t, image{ts: uid.ExplicitVRLittleEndian, rows: 1, cols: 2, bits: 8, frames: 2, values: []int{1, 2, 3, 4}}), "multi-frame image (2 frames)"},
		1: {encode(t, image{ts: uid.ExplicitVRLittleEndian, rows: 1, cols: 1, bits: 8, spp: 3, photometric: "RGB", values: []int{1, 2, 3}}), "colour image (3 samples per pixel, RGB)"},
		2: {good[:len(good)-3], "pixel data (7FE0,0010) is cut short: it claims 4 bytes, the file holds 1 more"},
		3: {[]byte("just some text, not a DICOM file"), "not a DICOM file"},
		4: {huge, "claims 4294967294 bytes"},
		5: {name, "claims 60000 bytes"},
		6: {good[:135], "ends inside an element header"},
		7: {rows, "parsing"},
	} {
		_, err := Decode(c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d: got %v, want an error containing %q", i, err, c.want)
		}
	}
}

func TestSource(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"b.dcm":      encode(t, image{ts: uid.ExplicitVRLittleEndian, rows: 2, cols: 2, bits: 8, values: []int{0, 0, 0, 0}}),
		"a.dcm":      encode(t, image{ts: uid.ImplicitVRLittleEndian, rows: 1, cols: 3, bits: 16, stored: 12, values: []int{4095, 4095, 4095}}),
		"README.txt": []byte("not an image"),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != "dicom:"+dir || len(s.Splits()) != 1 || s.Splits()[0] != "test" || s.Len("test") != 2 {
		t.Errorf("name %q splits %v len %d", s.Name(), s.Splits(), s.Len("test"))
	}
	ss, err := data.Collect(s, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 2 || !strings.HasSuffix(ss[0].ID, "/a.dcm") || ss[0].Label != data.Unknown || ss[0].Image.W != 3 || ss[0].Image.Pix[0] != 1 || ss[1].Image.Pix[0] != -1 {
		t.Errorf("samples %+v", ss)
	}
	if _, err := data.Collect(s, "train", 0); err == nil || !strings.Contains(err.Error(), `no split "train"`) {
		t.Errorf("train split: %v", err)
	}
	// A broken file stops the iteration with an error naming it.
	os.WriteFile(filepath.Join(dir, "c.dcm"), []byte("broken"), 0o644)
	s, _ = Open(dir)
	if _, err := data.Collect(s, "test", 0); err == nil || !strings.Contains(err.Error(), "c.dcm") {
		t.Errorf("broken file: %v", err)
	}
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no DICOM files") {
		t.Errorf("empty dir: %v", err)
	}
}

// TestSourceSkipsREADME: a file without extension that is not DICOM (a
// README beside the scans) is skipped with a notice; it aborted the whole
// folder.
func TestSourceSkipsREADME(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "scan1"), encode(t, image{ts: uid.ExplicitVRLittleEndian, rows: 2, cols: 2, bits: 8, values: []int{0, 1, 2, 3}}), 0o644)
	os.WriteFile(filepath.Join(dir, "README"), []byte("scans of 2024"), 0o644)
	var notes bytes.Buffer
	old := Notices
	defer func() { Notices = old }()
	Notices = &notes
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := data.Collect(s, "test", 0)
	if err != nil || len(ss) != 1 || !strings.HasSuffix(ss[0].ID, "/scan1") {
		t.Fatalf("samples %v, %v; want scan1 alone", ss, err)
	}
	if !slices.Equal(s.Skipped(), []string{"README"}) || !strings.Contains(notes.String(), "README") {
		t.Errorf("skipped %v, notice %q", s.Skipped(), notes.String())
	}
}

// TestLibraryFiles decodes the real scans shipped with the library's module
// (PET, MRI, X-ray, a deflated file and a multi-frame CT) when the module
// cache holds them.
func TestLibraryFiles(t *testing.T) {
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		cache = filepath.Join(build.Default.GOPATH, "pkg", "mod")
	}
	dir := filepath.Join(cache, "github.com", "suyashkumar", "dicom@v1.1.0", "testdata")
	if _, err := os.Stat(filepath.Join(dir, "1.dcm")); err != nil {
		t.Skipf("library test files not in the module cache: %v", err)
	}
	for _, c := range []struct {
		file       string
		rows, cols int
		err        string
	}{
		{"1.dcm", 168, 168, ""},
		{"3.dcm", 176, 176, ""},
		{"4.dcm", 2140, 1760, ""},
		{"5.dcm", 0, 0, "multi-frame image (2 frames)"},
		{"6.dcm", 512, 512, ""},
	} {
		im, err := DecodeFile(filepath.Join(dir, c.file))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: got %v, want %q", c.file, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if im.H != c.rows || im.W != c.cols || im.Check(c.file) != nil {
			t.Errorf("%s: %dx%d, want %dx%d", c.file, im.H, im.W, c.rows, c.cols)
		}
		for _, v := range im.Pix {
			if v < -1 || v > 1 {
				t.Fatalf("%s: value %v outside [-1, 1]", c.file, v)
			}
		}
	}
}

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the fuzz seed corpus in testdata/fuzz")

func fuzzSeeds(t testing.TB) [][]byte {
	a := encode(t, image{ts: uid.ExplicitVRLittleEndian, rows: 2, cols: 2, bits: 16, stored: 12, values: []int{1, 2, 3, 4}})
	b := encode(t, image{ts: uid.ImplicitVRLittleEndian, rows: 1, cols: 2, bits: 8, values: []int{1, 2}})
	return [][]byte{a, b, a[:len(a)-5]}
}

// FuzzDICOM decodes arbitrary bytes; it must never panic or allocate more
// than the file can hold.
func FuzzDICOM(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		im, err := Decode(b)
		if err == nil && len(im.Pix) != im.H*im.W {
			t.Fatalf("image %dx%d with %d values", im.H, im.W, len(im.Pix))
		}
	})
}

func TestWriteSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -write-seeds to rewrite testdata/fuzz/FuzzDICOM")
	}
	fuzzseed.Write(t, "FuzzDICOM", fuzzSeeds(t))
}

// TestHeaderSizeBound: a header claiming more pixel data than
// MaxPixelBytes (Rows = Columns = 65535, 9 frames in a file of a few
// hundred bytes) is refused before the library decodes it; the library's
// own size computation wrapped and it allocated 34 GB.
func TestHeaderSizeBound(t *testing.T) {
	b := encode(t, image{ts: uid.ExplicitVRLittleEndian, rows: 2, cols: 2, bits: 8, values: []int{1, 2, 3, 4}})
	if _, err := Decode(b); err != nil {
		t.Fatal(err)
	}
	patched := bytes.Clone(b)
	for _, tg := range [][]byte{{0x28, 0x00, 0x10, 0x00, 'U', 'S', 2, 0}, {0x28, 0x00, 0x11, 0x00, 'U', 'S', 2, 0}} {
		i := bytes.Index(patched, tg)
		if i < 0 {
			t.Fatalf("no element % x in the test file", tg[:4])
		}
		patched[i+8], patched[i+9] = 0xff, 0xff
	}
	_, err := Decode(patched)
	if err == nil || !strings.Contains(err.Error(), "MaxPixelBytes") {
		t.Errorf("65535 x 65535 pixels: %v", err)
	}
	old := MaxPixelBytes
	defer func() { MaxPixelBytes = old }()
	// 4 pixels of 1 + 4 bytes and the frame's 64 bytes: 84.
	MaxPixelBytes = 83
	if _, err := Decode(b); !errors.Is(err, data.ErrLimit) || !strings.Contains(err.Error(), "84 bytes") || !strings.Contains(err.Error(), "ANOGO_MAX_DICOM_BYTES") {
		t.Errorf("4 pixels (84 bytes to decode) with MaxPixelBytes 83: %v", err)
	}
	MaxPixelBytes = 84
	if _, err := Decode(b); err != nil {
		t.Errorf("4 pixels (84 bytes to decode) with MaxPixelBytes 84: %v", err)
	}
}

// TestEmptyFramesBound: a header of 0 rows and 6666666660 frames (found by
// FuzzHeaderSizes) claims no pixel, but the library still allocated a
// record per frame, 53 GB, and the process died; every frame now counts.
func TestEmptyFramesBound(t *testing.T) {
	if err := (&imageSize{rows: 0, cols: 87, bits: 56, samples: 11, frames: 6666666660, seen: true}).check(); !errors.Is(err, data.ErrLimit) {
		t.Errorf("6666666660 empty frames: %v", err)
	}
}

// TestHeaderSizeBoundOneBit: 1-bit pixel data is counted at what the
// library holds for it (an int per pixel, twice), not at a byte per pixel:
// 64 pixels take 64 x (16 + 4) bytes and the frame 64, more than a bound
// of 1000.
func TestHeaderSizeBoundOneBit(t *testing.T) {
	b := encode(t, image{ts: uid.ExplicitVRLittleEndian, rows: 8, cols: 8, bits: 8, values: make([]int, 64)})
	i := bytes.Index(b, []byte{0x28, 0x00, 0x00, 0x01, 'U', 'S', 2, 0}) // BitsAllocated
	if i < 0 {
		t.Fatal("no BitsAllocated in the test file")
	}
	b[i+8], b[i+9] = 1, 0
	old := MaxPixelBytes
	defer func() { MaxPixelBytes = old }()
	MaxPixelBytes = 1000
	if _, err := Decode(b); !errors.Is(err, data.ErrLimit) || !strings.Contains(err.Error(), "1344 bytes") {
		t.Errorf("64 1-bit pixels with MaxPixelBytes 1000: %v", err)
	}
}

// deflated returns a DICOM file in the deflated transfer syntax whose
// dataset is n zero bytes, deflated.
func deflated(t testing.TB, n int) []byte {
	t.Helper()
	var meta bytes.Buffer
	ts := uid.DeflatedExplicitVRLittleEndian
	if len(ts)%2 == 1 {
		ts += "\x00"
	}
	meta.Write([]byte{0x02, 0x00, 0x10, 0x00, 'U', 'I', byte(len(ts)), 0})
	meta.WriteString(ts)
	var out bytes.Buffer
	out.Write(make([]byte, 128))
	out.WriteString("DICM")
	out.Write([]byte{0x02, 0x00, 0x00, 0x00, 'U', 'L', 4, 0})
	binary.Write(&out, binary.LittleEndian, uint32(meta.Len()))
	out.Write(meta.Bytes())
	fw, _ := flate.NewWriter(&out, flate.BestCompression)
	fw.Write(make([]byte, n))
	fw.Close()
	return out.Bytes()
}

// TestInflateBound: a deflated dataset that inflates beyond a quarter of
// MaxPixelBytes plus 16 MiB is refused while it is inflated (a 0.9 MB file
// made anogo allocate 2.9 GB).
func TestInflateBound(t *testing.T) {
	old := MaxPixelBytes
	defer func() { MaxPixelBytes = old }()
	MaxPixelBytes = 0
	b := deflated(t, 17<<20)
	if len(b) > 100<<10 {
		t.Fatalf("test file of %d bytes", len(b))
	}
	if err := checkLengths(b); !errors.Is(err, data.ErrLimit) || !strings.Contains(err.Error(), "inflates") {
		t.Errorf("17 MiB inflated with a 16 MiB bound: %v", err)
	}
}

// sized returns an explicit VR little endian DICOM file whose header
// states the given sizes and whose pixel data holds n bytes.
func sized(rows, cols, bits, spp uint16, frames string, n int) []byte {
	var ds bytes.Buffer
	us := func(el uint16, v uint16) {
		binary.Write(&ds, binary.LittleEndian, []uint16{0x0028, el})
		ds.WriteString("US")
		binary.Write(&ds, binary.LittleEndian, []uint16{2, v})
	}
	us(0x0002, spp)
	if len(frames)%2 == 1 {
		frames += " "
	}
	binary.Write(&ds, binary.LittleEndian, []uint16{0x0028, 0x0008})
	ds.WriteString("IS")
	binary.Write(&ds, binary.LittleEndian, uint16(len(frames)))
	ds.WriteString(frames)
	us(0x0010, rows)
	us(0x0011, cols)
	us(0x0100, bits)
	us(0x0101, bits)
	us(0x0103, 0)
	binary.Write(&ds, binary.LittleEndian, []uint16{0x7fe0, 0x0010})
	ds.WriteString("OW")
	binary.Write(&ds, binary.LittleEndian, uint16(0)) // reserved
	binary.Write(&ds, binary.LittleEndian, uint32(n))
	ds.Write(make([]byte, n))

	var meta bytes.Buffer
	ts := uid.ExplicitVRLittleEndian
	if len(ts)%2 == 1 {
		ts += "\x00"
	}
	meta.Write([]byte{0x02, 0x00, 0x10, 0x00, 'U', 'I', byte(len(ts)), 0})
	meta.WriteString(ts)
	var out bytes.Buffer
	out.Write(make([]byte, 128))
	out.WriteString("DICM")
	out.Write([]byte{0x02, 0x00, 0x00, 0x00, 'U', 'L', 4, 0})
	binary.Write(&out, binary.LittleEndian, uint32(meta.Len()))
	out.Write(meta.Bytes())
	out.Write(ds.Bytes())
	return out.Bytes()
}

// FuzzHeaderSizes decodes files whose header states arbitrary rows,
// columns, bits, samples and frames over a small pixel block: the sizes are
// checked before the library decodes, so it never allocates for them (the
// fuzzer would run out of memory), and an image that decodes has the size
// its header states. Seeds: the 66 KB file that made the library allocate
// 34 GB (65535 x 65535, 1 bit, 131068 frames), 1-bit and 16-bit images,
// and sizes that do not fit the pixel block.
func FuzzHeaderSizes(f *testing.F) {
	f.Add(uint16(65535), uint16(65535), uint16(1), uint16(1), "131068", 66000)
	f.Add(uint16(2), uint16(2), uint16(8), uint16(1), "1", 4)
	f.Add(uint16(4), uint16(4), uint16(1), uint16(1), "1", 2)
	f.Add(uint16(3), uint16(3), uint16(16), uint16(1), "1", 18)
	f.Add(uint16(3), uint16(3), uint16(16), uint16(3), "2", 108)
	f.Add(uint16(65535), uint16(65535), uint16(16), uint16(1), "1", 10)
	f.Add(uint16(100), uint16(100), uint16(32), uint16(1), "-1", 40000)
	f.Fuzz(func(t *testing.T, rows, cols, bits, spp uint16, frames string, n int) {
		if n < 0 || n > 1<<17 || len(frames) > 16 {
			return
		}
		old := MaxPixelBytes
		defer func() { MaxPixelBytes = old }()
		MaxPixelBytes = 8 << 20
		im, err := Decode(sized(rows, cols, bits, spp, frames, n))
		if err != nil {
			return
		}
		if im.H != int(rows) || im.W != int(cols) || len(im.Pix) != im.H*im.W {
			t.Fatalf("header %d x %d, image %d x %d with %d values", rows, cols, im.H, im.W, len(im.Pix))
		}
	})
}

// TestSized: the fuzz builder makes files that decode.
func TestSized(t *testing.T) {
	im, err := Decode(sized(2, 3, 16, 1, "1", 12))
	if err != nil || im.H != 2 || im.W != 3 {
		t.Fatalf("%v %v", im, err)
	}
	if _, err := Decode(sized(65535, 65535, 1, 1, "131068", 66000)); !errors.Is(err, data.ErrLimit) {
		t.Errorf("the 34 GB header: %v", err)
	}
}

// TestCutShortPixelData: a file whose pixel block is cut short says so (it
// was reported as a length error or as "no pixel data").
func TestCutShortPixelData(t *testing.T) {
	b := encode(t, image{ts: uid.ExplicitVRLittleEndian, rows: 4, cols: 4, bits: 16, values: make([]int, 16)})
	if _, err := Decode(b[:len(b)-10]); err == nil || !strings.Contains(err.Error(), "pixel data (7FE0,0010) is cut short: it claims 32 bytes, the file holds 22") {
		t.Errorf("cut short: %v", err)
	}
}
