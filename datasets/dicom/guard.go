package dicom

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"

	"github.com/anogo/anogo/sdk/data"
)

// maxDepth bounds the nesting of sequences and items; deeper files are
// refused (the library recurses once per level).
const maxDepth = 64

// maxInflated bounds the dataset of a deflated file after decompression:
// a quarter of MaxPixelBytes (the stored pixels take at most that share of
// the memory their decoding needs) and 16 MiB for the other elements. The
// library inflates the dataset a second time, so the bound counts twice.
func maxInflated() int64 { return int64(MaxPixelBytes/4) + 16<<20 }

// checkLengths walks the elements of a DICOM file the way
// github.com/suyashkumar/dicom v1.1.0 reads them and returns an error if a
// value length exceeds the bytes left in the file, if sequences nest deeper
// than maxDepth, or if the structure cannot be followed. The library
// allocates each value's claimed length before reading it, so without this
// check a corrupt length field in a small file could claim gigabytes.
func checkLengths(b []byte) error {
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		return errors.New("not a DICOM file (no DICM marker after the 128-byte preamble)")
	}
	w := &walker{b: b, off: 132, bo: binary.LittleEndian}
	// File meta information: explicit VR little endian, led by its group
	// length (0002,0000).
	t, err := w.element(len(b), 0)
	if err != nil {
		return fmt.Errorf("file meta information: %w", err)
	}
	if t != tag.FileMetaInformationGroupLength || w.last.vl != 4 {
		return errors.New("file meta information does not start with its group length (0002,0000)")
	}
	metaLen := int(w.bo.Uint32(b[w.last.at:]))
	end := w.off + metaLen
	if metaLen < 0 || end > len(b) {
		return fmt.Errorf("file meta information claims %d bytes, %d left", metaLen, len(b)-w.off)
	}
	ts := ""
	for w.off < end {
		t, err := w.element(end, 0)
		if err != nil {
			return fmt.Errorf("file meta information: %w", err)
		}
		if t == tag.TransferSyntaxUID {
			ts = strings.Trim(string(b[w.last.at:w.last.at+w.last.vl]), " \x00")
		}
	}
	if ts == "" {
		return errors.New("file meta information has no transfer syntax UID (0002,0010)")
	}
	switch ts {
	case uid.ImplicitVRLittleEndian:
		w.implicit = true
	case uid.ExplicitVRBigEndian:
		w.bo = binary.BigEndian
	case uid.DeflatedExplicitVRLittleEndian:
		limit := maxInflated()
		rest, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b[w.off:])), limit+1))
		if err != nil {
			return fmt.Errorf("inflating the deflated dataset: %w", err)
		}
		if int64(len(rest)) > limit {
			return &data.LimitError{What: fmt.Sprintf("deflated dataset of %d bytes inflates to", len(b)-w.off), N: int64(len(rest)), Limit: limit,
				Unit: "bytes or more", Env: "ANOGO_MAX_DICOM_BYTES", Var: "dicom.MaxPixelBytes (a quarter of it, plus 16 MiB)"}
		}
		w.b, w.off = rest, 0
	}
	var sz imageSize
	for w.off < len(w.b) {
		t, err := w.element(len(w.b), 0)
		if err != nil {
			return err
		}
		sz.note(w, t)
	}
	return sz.check()
}

// MaxPixelBytes bounds the memory that decoding the pixel data a DICOM
// header claims would take: rows x columns x frames x samples, computed in
// 64 bits before the library decodes anything, times the bytes the library
// holds per sample (16 for 1-bit data, which it unpacks into two slices of
// int; the allocated bytes otherwise) plus the 4 of anogo's float32 image.
// The default is 1 GiB (a 16-bit 8192 x 8192 image needs 384 MiB), or the
// environment variable ANOGO_MAX_DICOM_BYTES; raise it for larger scans.
var MaxPixelBytes = uint64(data.EnvLimit("ANOGO_MAX_DICOM_BYTES", 1<<30))

// imageSize collects the header fields that size the pixel data, from the
// top-level dataset.
type imageSize struct {
	rows, cols, bits, samples uint64
	frames                    uint64
	seen                      bool
}

func (s *imageSize) note(w *walker, t tag.Tag) {
	v := w.b[w.last.at : w.last.at+w.last.vl]
	us := func() uint64 {
		if len(v) < 2 {
			return 0
		}
		return uint64(w.bo.Uint16(v))
	}
	switch t {
	case tag.Rows:
		s.rows, s.seen = us(), true
	case tag.Columns:
		s.cols, s.seen = us(), true
	case tag.BitsAllocated:
		s.bits = us()
	case tag.SamplesPerPixel:
		s.samples = us()
	case tag.NumberOfFrames:
		var n uint64
		for _, c := range strings.TrimSpace(strings.Trim(string(v), "\x00 ")) {
			if c < '0' || c > '9' {
				n = 0
				break
			}
			if n = n*10 + uint64(c-'0'); n > 1<<32 {
				break
			}
		}
		s.frames = n
	}
}

// check refuses a header whose pixel data would take more than
// MaxPixelBytes to decode; the product saturates instead of overflowing.
func (s *imageSize) check() error {
	if !s.seen {
		return nil
	}
	frames, samples, bits := max(s.frames, 1), max(s.samples, 1), max(s.bits, 1)
	per := (bits+7)/8 + 4
	if bits == 1 {
		per = 16 + 4
	}
	// Every frame costs the library a frame record even when it holds no
	// pixel (rows or columns 0: 6666666660 empty frames took 53 GB), so
	// every frame counts frameOverhead bytes beside its pixels.
	const frameOverhead = 64
	perFrame := uint64(1)
	for _, f := range []uint64{s.rows, s.cols, samples, per} {
		if f != 0 && perFrame > (1<<62)/f {
			perFrame = 1 << 62
			break
		}
		perFrame *= f
	}
	perFrame += frameOverhead
	bytes := uint64(1 << 63)
	if frames <= (1<<63)/perFrame {
		bytes = frames * perFrame
	}
	if bytes > MaxPixelBytes {
		return &data.LimitError{What: fmt.Sprintf("header claims %d x %d pixels x %d frames x %d samples of %d bits, which would take", s.rows, s.cols, frames, samples, bits),
			N: int64(min(bytes, 1<<62)), Limit: int64(MaxPixelBytes), Unit: "bytes to decode", Env: "ANOGO_MAX_DICOM_BYTES", Var: "dicom.MaxPixelBytes"}
	}
	return nil
}

type walker struct {
	b        []byte
	off      int
	bo       binary.ByteOrder
	implicit bool
	// last is the value of the element read last: its offset and length.
	last struct{ at, vl int }
}

var errShort = errors.New("file ends inside an element header")

func (w *walker) u16() (uint16, error) {
	if len(w.b)-w.off < 2 {
		return 0, errShort
	}
	v := w.bo.Uint16(w.b[w.off:])
	w.off += 2
	return v, nil
}

func (w *walker) u32() (uint32, error) {
	if len(w.b)-w.off < 4 {
		return 0, errShort
	}
	v := w.bo.Uint32(w.b[w.off:])
	w.off += 4
	return v, nil
}

func (w *walker) tag() (tag.Tag, error) {
	g, err := w.u16()
	if err != nil {
		return tag.Tag{}, err
	}
	e, err := w.u16()
	return tag.Tag{Group: g, Element: e}, err
}

// longVL lists the explicit VRs with a 4-byte length, as the library reads
// them.
var longVL = map[string]bool{"NA": true, "OB": true, "OD": true, "OF": true, "OL": true, "OW": true,
	"SQ": true, "UN": true, "UC": true, "UR": true, "UT": true}

// header reads a tag, VR and value length as the library's readElement does.
func (w *walker) header() (t tag.Tag, vr string, vl uint32, err error) {
	if t, err = w.tag(); err != nil {
		return
	}
	implicit := w.implicit || t == tag.Item
	if implicit {
		vr = tag.UnknownVR
		if info, err := tag.Find(t); err == nil {
			vr = info.VRs[0]
			if t == tag.PixelData || t == tag.OverlayData {
				vr = "OW"
			}
		}
		vl, err = w.u32()
		return
	}
	if len(w.b)-w.off < 2 {
		return t, "", 0, errShort
	}
	vr = string(w.b[w.off : w.off+2])
	w.off += 2
	if longVL[vr] {
		w.off += 2 // reserved
		vl, err = w.u32()
		return
	}
	v, err := w.u16()
	vl = uint32(v)
	if v == 0xffff {
		vl = tag.VLUndefinedLength
	}
	return
}

// skip checks that vl bytes are left before end and skips them.
func (w *walker) skip(t tag.Tag, vl uint32, end int) error {
	if int64(vl) > int64(end-w.off) && t == tag.PixelData {
		return fmt.Errorf("the pixel data (7FE0,0010) is cut short: it claims %d bytes, the file holds %d more (a truncated file?)", vl, end-w.off)
	}
	if int64(vl) > int64(end-w.off) {
		return fmt.Errorf("element %s claims %d bytes, %d left", t, vl, end-w.off)
	}
	w.last.at, w.last.vl = w.off, int(vl)
	w.off += int(vl)
	return nil
}

// element walks one element that must end by end.
func (w *walker) element(end, depth int) (tag.Tag, error) {
	if depth > maxDepth {
		return tag.Tag{}, fmt.Errorf("sequences nest deeper than %d levels", maxDepth)
	}
	t, vr, vl, err := w.header()
	if err != nil {
		return t, err
	}
	if w.off > end {
		return t, fmt.Errorf("element %s crosses the end of its sequence or item", t)
	}
	undefined := vl == tag.VLUndefinedLength
	switch tag.GetVRKind(t, vr) {
	case tag.VRBytes:
		if undefined {
			return t, w.rawItems(end)
		}
	case tag.VRPixelData:
		if undefined {
			return t, w.rawItems(end)
		}
	case tag.VRItem, tag.VRSequence:
		return t, w.nested(t, vl, end, depth)
	case tag.VRUnknown:
		if undefined {
			return t, w.nested(t, vl, end, depth)
		}
	}
	return t, w.skip(t, vl, end)
}

// nested walks the elements of a sequence or an item: up to a delimiter when
// its length is undefined, else through its vl bytes.
func (w *walker) nested(t tag.Tag, vl uint32, end, depth int) error {
	if vl != tag.VLUndefinedLength {
		if int64(vl) > int64(end-w.off) {
			return fmt.Errorf("element %s claims %d bytes, %d left", t, vl, end-w.off)
		}
		stop := w.off + int(vl)
		for w.off < stop {
			if _, err := w.element(stop, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	delim := tag.SequenceDelimitationItem
	if t == tag.Item {
		delim = tag.ItemDelimitationItem
	}
	for {
		if w.off >= end {
			return fmt.Errorf("element %s has no delimiter", t)
		}
		st, err := w.element(end, depth+1)
		if err != nil {
			return err
		}
		if st == delim {
			return nil
		}
	}
}

// rawItems walks the items of encapsulated pixel data or of an OB/OW value
// of undefined length, up to the sequence delimiter.
func (w *walker) rawItems(end int) error {
	for w.off < end {
		t, err := w.tag()
		if err != nil {
			return err
		}
		vl, err := w.u32()
		if err != nil {
			return err
		}
		if t == tag.SequenceDelimitationItem {
			return nil
		}
		if t != tag.Item || vl == tag.VLUndefinedLength {
			continue // the library skips the 8 bytes and goes on
		}
		if err := w.skip(t, vl, end); err != nil {
			return err
		}
	}
	return nil
}
