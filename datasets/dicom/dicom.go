package dicom

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	lib "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/anogo/anogo/datasets/internal/pixel"
	"github.com/anogo/anogo/sdk/data"
)

// MaxFileSize bounds the files Decode reads (the whole file is held in
// memory while it is parsed).
const MaxFileSize = 1 << 30

// Decode reads a single-frame grey DICOM image from b, the bytes of a whole
// file, and scales its stored values to [-1, 1] by their bit depth
// (pixel.Scale with BitsStored): unsigned values 0..2^b-1, signed ones
// -2^(b-1)..2^(b-1)-1, both onto [-1, 1]. MONOCHROME1 images (where 0 is
// white) are inverted so that larger values are always brighter. No
// modality (rescale slope/intercept) or window transform is applied.
// Multi-frame, colour and compressed (encapsulated) images are errors.
func Decode(b []byte) (im *data.Image, err error) {
	if err := checkLengths(b); err != nil {
		return nil, err
	}
	// The library indexes values without checking them in a few places
	// (MustGetInts, type assertions); turn such a panic into an error.
	defer func() {
		if r := recover(); r != nil {
			im, err = nil, fmt.Errorf("malformed DICOM (%v)", r)
		}
	}()
	ds, err := lib.Parse(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	return decodeDataset(ds)
}

// ints returns the first integer of an element, or def when it is absent.
func ints(ds lib.Dataset, t tag.Tag, def int) (int, error) {
	e, err := ds.FindElementByTag(t)
	if err != nil {
		return def, nil
	}
	switch v := e.Value.GetValue().(type) {
	case []int:
		if len(v) > 0 {
			return v[0], nil
		}
	case []string: // IS values such as NumberOfFrames
		if len(v) > 0 {
			n, err := strconv.Atoi(strings.TrimSpace(v[0]))
			if err == nil {
				return n, nil
			}
		}
	}
	return 0, fmt.Errorf("element %s has no integer value", t)
}

func str(ds lib.Dataset, t tag.Tag) string {
	e, err := ds.FindElementByTag(t)
	if err != nil {
		return ""
	}
	if v, ok := e.Value.GetValue().([]string); ok && len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

func decodeDataset(ds lib.Dataset) (*data.Image, error) {
	spp, err := ints(ds, tag.SamplesPerPixel, 1)
	if err != nil {
		return nil, err
	}
	if spp != 1 {
		return nil, fmt.Errorf("colour image (%d samples per pixel, %s); only grey images are supported", spp, str(ds, tag.PhotometricInterpretation))
	}
	frames, err := ints(ds, tag.NumberOfFrames, 1)
	if err != nil {
		return nil, err
	}
	if frames != 1 {
		return nil, fmt.Errorf("multi-frame image (%d frames); only single-frame images are supported", frames)
	}
	pe, err := ds.FindElementByTag(tag.PixelData)
	if err != nil {
		return nil, errors.New("no pixel data (7FE0,0010)")
	}
	info, ok := pe.Value.GetValue().(lib.PixelDataInfo)
	if !ok {
		return nil, errors.New("pixel data has an unexpected value type")
	}
	if info.IsEncapsulated {
		return nil, errors.New("compressed (encapsulated) pixel data is not supported; convert the file to an uncompressed transfer syntax")
	}
	if len(info.Frames) != 1 {
		return nil, fmt.Errorf("pixel data holds %d frames; only single-frame images are supported", len(info.Frames))
	}
	nf, err := info.Frames[0].GetNativeFrame()
	if err != nil {
		return nil, err
	}
	rows, cols := nf.Rows(), nf.Cols()
	if rows <= 0 || cols <= 0 {
		return nil, fmt.Errorf("bad image size %dx%d", rows, cols)
	}
	allocated := nf.BitsPerSample()
	stored, err := ints(ds, tag.BitsStored, allocated)
	if err != nil {
		return nil, err
	}
	if stored < 1 || stored > allocated || stored > 32 {
		return nil, fmt.Errorf("bits stored %d with %d bits allocated", stored, allocated)
	}
	signed, err := ints(ds, tag.PixelRepresentation, 0)
	if err != nil {
		return nil, err
	}
	photometric := str(ds, tag.PhotometricInterpretation)
	if photometric != "" && photometric != "MONOCHROME1" && photometric != "MONOCHROME2" {
		return nil, fmt.Errorf("photometric interpretation %s; only grey (MONOCHROME1/2) images are supported", photometric)
	}
	var raw []uint32
	switch v := nf.RawDataSlice().(type) {
	case []uint8:
		raw = make([]uint32, len(v))
		for i, x := range v {
			raw[i] = uint32(x)
		}
	case []uint16:
		raw = make([]uint32, len(v))
		for i, x := range v {
			raw[i] = uint32(x)
		}
	case []uint32:
		raw = v
	case []int: // 1 bit allocated
		raw = make([]uint32, len(v))
		for i, x := range v {
			raw[i] = uint32(x)
		}
	default:
		return nil, fmt.Errorf("unsupported pixel data type %T", v)
	}
	if len(raw) != rows*cols {
		return nil, fmt.Errorf("pixel data holds %d values for %dx%d pixels", len(raw), rows, cols)
	}
	im := data.NewImage(rows, cols)
	mask := uint32(pixel.Max(stored))
	half := uint32(1) << uint(stored-1)
	top := pixel.Max(stored)
	for i, x := range raw {
		x &= mask // bits above BitsStored may hold overlays
		v := float64(x)
		if signed == 1 {
			// Two's complement in `stored` bits, shifted by 2^(b-1) so that
			// the most negative value maps to 0.
			v = float64(x ^ half)
		}
		if photometric == "MONOCHROME1" {
			v = top - v
		}
		im.Pix[i] = pixel.Scale(v, stored)
	}
	return im, nil
}

// DecodeFile reads and decodes one file; errors name the file.
func DecodeFile(path string) (*data.Image, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	im, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("dicom: %s: %w", path, err)
	}
	return im, nil
}

func readFile(path string) ([]byte, error) {
	f, err := data.OpenRegular(path)
	if err != nil {
		return nil, fmt.Errorf("dicom: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("dicom: %w", err)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("dicom: %s: %d bytes, more than the %d this loader reads", path, st.Size(), MaxFileSize)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("dicom: %s: %w", path, err)
	}
	return b, nil
}

// Source is a directory of DICOM files whose labels are unknown: one split,
// "test", with Label -1 for every image, for scoring new scans.
type Source struct {
	dir     string
	files   []string
	skipped []string
}

// IsDICOMName reports whether a file name is taken for a DICOM file: an
// extension .dcm or .dicom (any case), or no extension at all; DICOMDIR
// index files are left out.
func IsDICOMName(name string) bool {
	if strings.HasPrefix(name, ".") || strings.EqualFold(name, "DICOMDIR") {
		return false
	}
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".dcm" || ext == ".dicom" || ext == ""
}

// Open lists the DICOM files of dir (see IsDICOMName), sorted by name. A
// file without extension that lacks the DICM marker (a README) is skipped
// with a notice on Notices (see Skipped); a .dcm or .dicom file is taken
// as DICOM and an error when it is not. The files are read one at a time as
// the split is iterated.
func Open(dir string) (*Source, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dicom: %w", err)
	}
	s := &Source{dir: dir}
	for _, e := range entries {
		if !e.Type().IsRegular() || !IsDICOMName(e.Name()) {
			continue
		}
		if filepath.Ext(e.Name()) == "" && !hasMarker(filepath.Join(dir, e.Name())) {
			// A README or LICENSE beside the scans, not a DICOM file.
			s.skipped = append(s.skipped, e.Name())
			continue
		}
		s.files = append(s.files, e.Name())
	}
	if len(s.skipped) > 0 && Notices != nil {
		fmt.Fprintf(Notices, "dicom: %s: skipping %d file(s) without the DICM marker: %s\n", dir, len(s.skipped), strings.Join(s.skipped, ", "))
	}
	if len(s.files) == 0 {
		return nil, fmt.Errorf("dicom: %s: no DICOM files (*.dcm, *.dicom or files without extension)", dir)
	}
	slices.Sort(s.files)
	return s, nil
}

// Notices receives the notice Open gives when it skips files of a folder
// (nil: none).
var Notices io.Writer = os.Stderr

// Skipped returns the files without extension that Open skipped because
// they lack the DICM marker after the 128-byte preamble.
func (s *Source) Skipped() []string { return s.skipped }

// hasMarker reports whether the file at path starts with a 128-byte
// preamble and "DICM".
func hasMarker(path string) bool {
	f, err := data.OpenRegular(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [132]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	return string(b[128:]) == "DICM"
}

// Name returns the spec "dicom:DIR".
func (s *Source) Name() string { return "dicom:" + s.dir }

// Splits returns the one split, test.
func (s *Source) Splits() []string { return []string{data.Test} }

// Len returns the number of files of a split (all of them for test).
func (s *Source) Len(split string) int {
	if split == data.Test {
		return len(s.files)
	}
	return 0
}

// Samples decodes the files in name order. Sample IDs are the file paths
// as given (DIR/NAME); labels are Unknown.
func (s *Source) Samples(split string) iter.Seq2[data.Sample, error] {
	return func(yield func(data.Sample, error) bool) {
		if split != data.Test {
			yield(data.Sample{}, fmt.Errorf("dicom: %s: no split %q (have test)", s.dir, split))
			return
		}
		for _, name := range s.files {
			path := filepath.Join(s.dir, name)
			im, err := DecodeFile(path)
			if err != nil {
				yield(data.Sample{}, err)
				return
			}
			if !yield(data.Sample{ID: filepath.ToSlash(path), Image: im, Label: data.Unknown}, nil) {
				return
			}
		}
	}
}
