package npy

import (
	"bytes"
	"encoding/hex"
	"flag"
	"math"
	"strings"
	"testing"

	"github.com/anogo/anogo/datasets/internal/fuzzseed"
)

// Files written by NumPy 1.24 (np.lib.format.write_array).
var numpyFiles = []struct {
	name  string
	hex   string
	descr string
	shape []int
	want  []float64
}{
	{"u1", "934e554d5059010076007b276465736372273a20277c7531272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a000102030405",
		"|u1", []int{2, 3}, []float64{0, 1, 2, 3, 4, 5}},
	{"f8 big-endian", "934e554d5059010076007b276465736372273a20273e6638272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a3ff8000000000000c000000000000000",
		">f8", []int{2}, []float64{1.5, -2}},
	{"i2 scalar", "934e554d5059010076007b276465736372273a20273c6932272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200af9ff",
		"<i2", []int{}, []float64{-7}},
	{"u2 version 2", "934e554d50590200740000007b276465736372273a20273c7532272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028332c292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a000001000200",
		"<u2", []int{3}, []float64{0, 1, 2}},
}

const numpyNaN = "934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a0000003f0000c07f"

func mustHex(t testing.TB, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadNumPyFiles(t *testing.T) {
	for i, c := range numpyFiles {
		r, err := NewReader(bytes.NewReader(mustHex(t, c.hex)))
		if err != nil {
			t.Fatalf("%d %s: %v", i, c.name, err)
		}
		h := r.Header()
		if h.Descr != c.descr || h.FortranOrder || h.ShapeString() != (Header{Shape: c.shape}).ShapeString() {
			t.Errorf("%d %s: header %+v", i, c.name, h)
		}
		got := make([]float64, r.Remaining())
		if err := r.Read(got); err != nil {
			t.Fatalf("%d %s: %v", i, c.name, err)
		}
		for j := range got {
			if got[j] != c.want[j] {
				t.Errorf("%d %s: element %d = %v, want %v", i, c.name, j, got[j], c.want[j])
			}
		}
		if err := r.Read(make([]float64, 1)); err == nil {
			t.Errorf("%d %s: reading past the end gave no error", i, c.name)
		}
	}
}

func TestWriteRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "<i4", []int{2, 1}, []byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%64 != 8 {
		t.Errorf("header not padded to 64 bytes: total %d", buf.Len())
	}
	r, err := NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float64, 2)
	if err := r.Read(got); err != nil {
		t.Fatal(err)
	}
	if got[0] != 1 || got[1] != -1 {
		t.Errorf("got %v, want [1 -1]", got)
	}
	if err := Write(&buf, "<i4", []int{3}, make([]byte, 8)); err == nil {
		t.Error("Write accepted 8 bytes for 3 int32")
	}
}

func TestNaN(t *testing.T) {
	r, err := NewReader(bytes.NewReader(mustHex(t, numpyNaN)))
	if err != nil {
		t.Fatal(err)
	}
	err = r.Read(make([]float64, 2))
	if err == nil || !strings.Contains(err.Error(), "element 1 is NaN") {
		t.Errorf("got %v, want an error naming element 1 as NaN", err)
	}
}

func TestInfinite(t *testing.T) {
	var buf bytes.Buffer
	b := make([]byte, 8)
	bits := math.Float64bits(math.Inf(-1))
	for i := range 8 {
		b[i] = byte(bits >> (8 * i))
	}
	if err := Write(&buf, "<f8", []int{1}, b); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Read(make([]float64, 1)); err == nil || !strings.Contains(err.Error(), "element 0 is -Inf") {
		t.Errorf("got %v, want an error naming element 0 as -Inf", err)
	}
}

func header(dict string) []byte {
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(dict)), byte(len(dict)>>8))
	return append(b, dict...)
}

func TestBadHeaders(t *testing.T) {
	for i, c := range []struct {
		in   []byte
		want string
	}{
		0:  {[]byte(""), "reading preamble"},
		1:  {[]byte("\x93NUMPX\x01\x00"), "bad magic"},
		2:  {[]byte("\x93NUMPY\x04\x00\x00\x00"), "version 4.0"},
		3:  {[]byte("\x93NUMPY\x01\x01\x00\x00"), "version 1.1"},
		4:  {[]byte("\x93NUMPY\x01\x00\x40\x00{'descr'"), "reading 64-byte header"},
		5:  {[]byte("\x93NUMPY\x02\x00\xff\xff\xff\x7f"), "exceeds"},
		6:  {header("{'descr': '<u1', 'fortran_order': False, }\n"), "lacks key \"shape\""},
		7:  {header("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n"), "unsupported dtype"},
		8:  {header("{'descr': [('a', '<u1')], 'fortran_order': False, 'shape': (1,), }\n"), "structured"},
		9:  {header("{'descr': '<u1', 'fortran_order': Maybe, 'shape': (1,), }\n"), "True or False"},
		10: {header("{'descr': '<u1', 'fortran_order': False, 'shape': (1), }\n"), "trailing comma"},
		11: {header("{'descr': '<u1', 'fortran_order': False, 'shape': (-1,), }\n"), "bad dimension"},
		12: {header("{'descr': '<u1', 'fortran_order': False, 'shape': (1000000, 1000000, 1000000), }\n"), "claims more than"},
		13: {header("{'descr': '<u1', 'descr': '<u1', 'fortran_order': False, 'shape': (1,), }\n"), "repeated"},
		14: {header("{'descr': '<u1', 'fortran_order': False, 'shape': (1,), 'extra': 1}\n"), "unknown key"},
		15: {header("{'descr': '<u1', 'fortran_order': False, 'shape': (1,), } x\n"), "after '}'"},
		16: {header("{'descr' '<u1', 'fortran_order': False, 'shape': (1,), }\n"), "want ':'"},
		17: {header("{'descr': '<f16', 'fortran_order': False, 'shape': (1,), }\n"), "unsupported dtype"},
		18: {header("{'descr': '<u1', 'fortran_order': False, 'shape': (99999999999999,), }\n"), "bad dimension"},
	} {
		_, _, err := ReadHeader(bytes.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d: got error %v, want one containing %q", i, err, c.want)
		}
	}
}

func TestTruncatedData(t *testing.T) {
	b := mustHex(t, numpyFiles[0].hex)
	r, err := NewReader(bytes.NewReader(b[:len(b)-2]))
	if err != nil {
		t.Fatal(err)
	}
	err = r.Read(make([]float64, 6))
	if err == nil || !strings.Contains(err.Error(), "data ends after element 4 of 6") {
		t.Errorf("got %v, want a truncation error after element 4", err)
	}
}

// FuzzNPY reads a whole .npy stream in chunks of up to 1000 elements; it
// must never panic, and a stream it accepts must hold exactly the data its
// header claims.
func FuzzNPY(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		br := bytes.NewReader(b)
		h, n, err := ReadHeader(br)
		if err != nil {
			return
		}
		if h.Len() > MaxElements || h.Len() < 0 {
			t.Fatalf("accepted shape %v", h.Shape)
		}
		r := &Reader{h: h, r: br}
		dst := make([]float64, 1000)
		for r.Remaining() > 0 {
			k := min(int64(len(dst)), r.Remaining())
			if err := r.Read(dst[:k]); err != nil {
				return
			}
		}
		if n+h.DataSize() > int64(len(b)) {
			t.Fatalf("read %d elements of %d bytes from a %d-byte stream with a %d-byte header", h.Len(), h.ItemSize, len(b), n)
		}
	})
}

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the fuzz seed corpus in testdata/fuzz")

// fuzzSeeds are NumPy's own files, one with a NaN, a truncated one and one
// whose shape claims 10^12 elements.
func fuzzSeeds(t testing.TB) [][]byte {
	var out [][]byte
	for _, c := range numpyFiles {
		out = append(out, mustHex(t, c.hex))
	}
	first := mustHex(t, numpyFiles[0].hex)
	out = append(out, mustHex(t, numpyNaN), first[:len(first)-3],
		header("{'descr': '<u1', 'fortran_order': False, 'shape': (1000000, 1000000), }\n"))
	return out
}

func TestWriteSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -write-seeds to rewrite testdata/fuzz/FuzzNPY")
	}
	fuzzseed.Write(t, "FuzzNPY", fuzzSeeds(t))
}
