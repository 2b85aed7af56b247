package medmnist

import (
	"archive/zip"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/anogo/anogo/datasets/internal/npy"
	"github.com/anogo/anogo/datasets/internal/pixel"
	"github.com/anogo/anogo/sdk/data"
)

// Limits on what a header may claim; both are far above any MedMNIST file
// (the largest image is 224x224x3, the largest label array 112,120x14).
const (
	maxImageElements = 1 << 24
	maxLabelElements = 1 << 26
	// maxLabelsPerImage bounds a row of labels (ChestMNIST has 14): a
	// row is read at once, so a small file claiming (1, 2^26) labels made
	// anogo allocate gigabytes.
	maxLabelsPerImage = 1024
	// maxDeflateRatio bounds the uncompressed size of a deflated member
	// (DEFLATE cannot expand data more than about 1032 times).
	maxDeflateRatio = 1032
)

// Source is a MedMNIST npz file as a data.Source with the splits train, val
// and test. Open reads the labels and checks every header; Samples streams
// the images of one split from the file, one image per step.
type Source struct {
	name   string // the spec, e.g. "medmnist:data/pneumoniamnist.npz"
	path   string // the file as given, used in errors
	file   string // base name, used in IDs
	info   Info   // table entry; Name is "" for a dataset not in the table
	size   int    // resolution from the file name (28 without a suffix)
	normal []int
	open   func() (io.ReaderAt, int64, io.Closer, error)
	splits [3]split

	sumOnce sync.Once
	sum     string
	sumErr  error
}

type split struct {
	name    string
	images  npy.Header
	h, w, c int
	labels  []int8 // data.Normal or data.Anomalous
}

var splitNames = [3]string{data.Train, data.Val, data.Test}

// Open opens a MedMNIST (v2 or MedMNIST+) npz file. The dataset is named by
// the file: pneumoniamnist.npz, pneumoniamnist_64.npz, ... normal lists the
// labels that count as normal; nil takes the default from Datasets, and is
// an error for a dataset not in the table. For a multi-label dataset normal
// lists the findings a normal image may have.
func Open(path string, normal []int) (*Source, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("medmnist: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("medmnist: %s is a directory, want an .npz file", path)
	}
	open := func() (io.ReaderAt, int64, io.Closer, error) {
		f, err := data.OpenRegular(path)
		if err != nil {
			return nil, 0, nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, nil, err
		}
		return f, st.Size(), f, nil
	}
	return newSource(path, normal, open)
}

// New reads an npz held by r (size bytes); name is the file name that picks
// the dataset and appears in sample IDs. r must stay readable while the
// Source is used.
func New(name string, r io.ReaderAt, size int64, normal []int) (*Source, error) {
	open := func() (io.ReaderAt, int64, io.Closer, error) { return r, size, io.NopCloser(nil), nil }
	return newSource(name, normal, open)
}

var stemRE = regexp.MustCompile(`^(.*?)(?:_(28|64|128|224))?\.npz$`)

// parseName splits a file name such as "PneumoniaMNIST_64.npz" into the
// dataset name and resolution.
func parseName(file string) (string, int) {
	m := stemRE.FindStringSubmatch(strings.ToLower(file))
	if m == nil {
		return strings.ToLower(strings.TrimSuffix(file, filepath.Ext(file))), 28
	}
	size := 28
	if m[2] != "" {
		size, _ = strconv.Atoi(m[2])
	}
	return m[1], size
}

func newSource(path string, normal []int, open func() (io.ReaderAt, int64, io.Closer, error)) (*Source, error) {
	s := &Source{name: "medmnist:" + path, path: path, file: filepath.Base(path), open: open}
	ds, size := parseName(s.file)
	s.size = size
	info, known := Lookup(ds)
	if known {
		s.info = info
	}
	switch {
	case normal != nil:
		s.normal = slices.Clone(normal)
	case known:
		s.normal = slices.Clone(info.Normal)
	default:
		return nil, fmt.Errorf("medmnist: %s: %q is not a MedMNIST dataset name (want one of %s); name the normal labels with normal=L1|L2", path, ds, names())
	}
	for _, l := range s.normal {
		if l < 0 || known && l >= len(info.Labels) {
			return nil, fmt.Errorf("medmnist: %s: normal label %d out of range (%s has labels 0..%d)", path, l, ds, len(info.Labels)-1)
		}
	}
	if known && !info.MultiLabel() && len(s.normal) == 0 {
		return nil, fmt.Errorf("medmnist: %s: no normal label given", path)
	}

	ra, n, c, err := open()
	if err != nil {
		return nil, fmt.Errorf("medmnist: %w", err)
	}
	defer c.Close()
	zr, err := zip.NewReader(ra, n)
	if err != nil {
		return nil, fmt.Errorf("medmnist: %s: not a readable npz (zip) file: %w", path, err)
	}
	for i, sp := range splitNames {
		if err := s.readSplit(zr, &s.splits[i], sp); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func names() string {
	var n []string
	for _, in := range Datasets {
		n = append(n, in.Name)
	}
	return strings.Join(n, ", ")
}

// member finds key.npy in the archive, opens it, reads its header and checks
// that the member's size is what the header claims.
func (s *Source) member(zr *zip.Reader, key string) (io.ReadCloser, npy.Header, error) {
	var f *zip.File
	for _, zf := range zr.File {
		if zf.Name == key+".npy" {
			if f != nil {
				// numpy.load keeps the last, a reader that stops early the
				// first: which one is meant is not known.
				return nil, npy.Header{}, fmt.Errorf("medmnist: %s: the archive holds two members named %s; rewrite it with one", s.path, zf.Name)
			}
			f = zf
		}
	}
	if f == nil {
		return nil, npy.Header{}, fmt.Errorf("medmnist: %s: no array %q (a MedMNIST npz has train_images, train_labels, val_images, val_labels, test_images and test_labels)", s.path, key)
	}
	switch f.Method {
	case zip.Store:
		if f.UncompressedSize64 != f.CompressedSize64 {
			return nil, npy.Header{}, fmt.Errorf("medmnist: %s: %s: stored member claims %d bytes but holds %d", s.path, f.Name, f.UncompressedSize64, f.CompressedSize64)
		}
	case zip.Deflate:
		if f.UncompressedSize64/maxDeflateRatio > f.CompressedSize64+1 {
			return nil, npy.Header{}, fmt.Errorf("medmnist: %s: %s: %d compressed bytes cannot hold the %d claimed", s.path, f.Name, f.CompressedSize64, f.UncompressedSize64)
		}
	default:
		return nil, npy.Header{}, fmt.Errorf("medmnist: %s: %s: unsupported zip compression method %d (want stored or deflated)", s.path, f.Name, f.Method)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, npy.Header{}, fmt.Errorf("medmnist: %s: %s: %w", s.path, f.Name, err)
	}
	h, n, err := npy.ReadHeader(rc)
	if err != nil {
		rc.Close()
		return nil, h, fmt.Errorf("medmnist: %s: %s: %w", s.path, f.Name, err)
	}
	if want := uint64(n + h.DataSize()); f.UncompressedSize64 != want {
		rc.Close()
		return nil, h, fmt.Errorf("medmnist: %s: %s: header claims %s %s (%d bytes with the header) but the member holds %d bytes", s.path, f.Name, h.Descr, h.ShapeString(), want, f.UncompressedSize64)
	}
	if h.FortranOrder && nonUnit(h.Shape) > 1 {
		rc.Close()
		return nil, h, fmt.Errorf("medmnist: %s: %s: Fortran-order arrays are not supported", s.path, f.Name)
	}
	return rc, h, nil
}

// nonUnit counts the dimensions larger than 1 (Fortran and C order agree
// when there is at most one).
func nonUnit(shape []int) int {
	n := 0
	for _, d := range shape {
		if d > 1 {
			n++
		}
	}
	return n
}

func (s *Source) readSplit(zr *zip.Reader, sp *split, name string) error {
	sp.name = name
	key := name + "_images"
	rc, h, err := s.member(zr, key)
	if err != nil {
		return err
	}
	rc.Close()
	switch {
	case h.Kind == 'u' && h.ItemSize == 1, h.Kind == 'f':
	default:
		return fmt.Errorf("medmnist: %s: %s.npy: images have dtype %s, want uint8 (or float32/float64 in [0, 1])", s.path, key, h.Descr)
	}
	switch {
	case len(h.Shape) == 3:
		sp.h, sp.w, sp.c = h.Shape[1], h.Shape[2], 1
	case len(h.Shape) == 4 && (h.Shape[3] == 1 || h.Shape[3] == 3):
		sp.h, sp.w, sp.c = h.Shape[1], h.Shape[2], h.Shape[3]
	default:
		return fmt.Errorf("medmnist: %s: %s.npy: images have shape %s, want (N, H, W) or (N, H, W, 3)", s.path, key, h.ShapeString())
	}
	if sp.h == 0 || sp.w == 0 || sp.h*sp.w*sp.c > maxImageElements {
		return fmt.Errorf("medmnist: %s: %s.npy: bad image size %dx%dx%d", s.path, key, sp.h, sp.w, sp.c)
	}
	sp.images = h
	nImages := h.Shape[0]

	key = name + "_labels"
	rc, h, err = s.member(zr, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	if h.Kind == 'f' {
		return fmt.Errorf("medmnist: %s: %s.npy: labels have dtype %s, want integers", s.path, key, h.Descr)
	}
	k := 1
	switch {
	case len(h.Shape) == 1:
	case len(h.Shape) == 2 && h.Shape[1] >= 1:
		k = h.Shape[1]
	default:
		return fmt.Errorf("medmnist: %s: %s.npy: labels have shape %s, want (N, 1) or (N, k)", s.path, key, h.ShapeString())
	}
	if k > maxLabelsPerImage {
		return fmt.Errorf("medmnist: %w", &data.LimitError{What: fmt.Sprintf("%s: %s.npy: shape %s claims", s.path, key, h.ShapeString()),
			N: int64(k), Limit: maxLabelsPerImage, Unit: "labels per image"})
	}
	if h.Shape[0] != nImages {
		return fmt.Errorf("medmnist: %s: %s.npy has %d labels for %d images", s.path, key, h.Shape[0], nImages)
	}
	multi := k > 1
	if s.info.Name != "" {
		switch {
		case s.info.MultiLabel() && k != len(s.info.Labels):
			return fmt.Errorf("medmnist: %s: %s.npy: %s has %d findings per image, the file %d", s.path, key, s.info.Name, len(s.info.Labels), k)
		case !s.info.MultiLabel() && multi:
			return fmt.Errorf("medmnist: %s: %s.npy: %s has one label per image, the file %d", s.path, key, s.info.Name, k)
		}
	}
	if h.Len() > maxLabelElements {
		return fmt.Errorf("medmnist: %s: %s.npy: %d labels exceed the limit of %d", s.path, key, h.Len(), maxLabelElements)
	}
	lr := npy.ReaderAfterHeader(h, rc)
	row := make([]float64, k)
	sp.labels = make([]int8, nImages)
	for i := range nImages {
		if err := lr.Read(row); err != nil {
			return fmt.Errorf("medmnist: %s: %s.npy: %w", s.path, key, err)
		}
		l, err := s.label(row)
		if err != nil {
			return fmt.Errorf("medmnist: %s: %s.npy: image %d: %w", s.path, key, i, err)
		}
		sp.labels[i] = l
	}
	if err := atEOF(rc); err != nil {
		return fmt.Errorf("medmnist: %s: %s.npy: %w", s.path, key, err)
	}
	return nil
}

// label turns one row of labels into data.Normal or data.Anomalous. A
// single label is normal when it is one of s.normal; a multi-label row is
// normal when every finding it has is one of s.normal (so with the default
// empty list, only an all-zero row is normal).
func (s *Source) label(row []float64) (int8, error) {
	for _, v := range row {
		if v != math.Trunc(v) || v < 0 || v > math.MaxInt32 {
			return 0, fmt.Errorf("label %v is not a non-negative integer", v)
		}
	}
	if len(row) == 1 {
		l := int(row[0])
		if s.info.Name != "" && l >= len(s.info.Labels) {
			return 0, fmt.Errorf("label %d out of range (%s has labels 0..%d)", l, s.info.Name, len(s.info.Labels)-1)
		}
		if slices.Contains(s.normal, l) {
			return data.Normal, nil
		}
		return data.Anomalous, nil
	}
	out := int8(data.Normal)
	for j, v := range row {
		if v > 1 {
			return 0, fmt.Errorf("multi-label entry %d is %v, want 0 or 1", j, v)
		}
		if v == 1 && !slices.Contains(s.normal, j) {
			out = data.Anomalous
		}
	}
	return out, nil
}

// atEOF checks that a zip member has no bytes left; reading to the end also
// makes archive/zip verify the member's CRC-32.
func atEOF(r io.Reader) error {
	var b [1]byte
	n, err := io.ReadFull(r, b[:])
	switch {
	case n > 0:
		return errors.New("extra bytes after the array")
	case err == io.EOF:
		return nil
	default:
		return err
	}
}

// Name returns the source as a spec, e.g. "medmnist:data/pneumoniamnist.npz".
func (s *Source) Name() string {
	if s.normalGiven() {
		return s.name + ":normal=" + joinInts(s.normal, "|")
	}
	return s.name
}

// normalGiven reports whether the normal labels differ from the default.
func (s *Source) normalGiven() bool {
	return s.info.Name == "" || !slices.Equal(s.normal, s.info.Normal)
}

func joinInts(v []int, sep string) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, sep)
}

// Splits returns train, val and test.
func (s *Source) Splits() []string { return splitNames[:] }

// Dataset returns the table entry of the file's dataset; its Name is empty
// when the file name is not a MedMNIST dataset.
func (s *Source) Dataset() Info { return s.info }

// Normal returns the labels that count as normal.
func (s *Source) Normal() []int { return slices.Clone(s.normal) }

// Len returns the number of images of a split (0 for an unknown split).
func (s *Source) Len(split string) int {
	if sp := s.split(split); sp != nil {
		return len(sp.labels)
	}
	return 0
}

func (s *Source) split(name string) *split {
	for i := range s.splits {
		if s.splits[i].name == name {
			return &s.splits[i]
		}
	}
	return nil
}

// Samples streams the images of one split in file order. Sample IDs are
// "FILE:SPLIT/INDEX", e.g. "pneumoniamnist.npz:test/17". Grey uint8 images
// are scaled with v/127.5 - 1, colour ones are first reduced to luma
// (pixel.Luma); float images must lie in [0, 1] and are scaled with 2v - 1.
func (s *Source) Samples(split string) iter.Seq2[data.Sample, error] {
	return func(yield func(data.Sample, error) bool) {
		sp := s.split(split)
		if sp == nil {
			yield(data.Sample{}, fmt.Errorf("medmnist: %s: no split %q (have train, val, test)", s.path, split))
			return
		}
		if err := s.stream(sp, yield); err != nil {
			yield(data.Sample{}, err)
		}
	}
}

// stream yields the images of sp; it returns the error that stops it, or nil
// when it ran to the end or yield asked it to stop.
func (s *Source) stream(sp *split, yield func(data.Sample, error) bool) error {
	ra, n, c, err := s.open()
	if err != nil {
		return fmt.Errorf("medmnist: %w", err)
	}
	defer c.Close()
	zr, err := zip.NewReader(ra, n)
	if err != nil {
		return fmt.Errorf("medmnist: %s: not a readable npz (zip) file: %w", s.path, err)
	}
	key := sp.name + "_images"
	rc, h, err := s.member(zr, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	if h.Descr != sp.images.Descr || !slices.Equal(h.Shape, sp.images.Shape) {
		return fmt.Errorf("medmnist: %s: %s.npy changed since the file was opened", s.path, key)
	}
	ir := npy.ReaderAfterHeader(h, rc)
	buf := make([]float64, sp.h*sp.w*sp.c)
	for i := range sp.labels {
		if err := ir.Read(buf); err != nil {
			return fmt.Errorf("medmnist: %s: %s.npy: image %d: %w", s.path, key, i, err)
		}
		im, err := toImage(buf, sp.h, sp.w, sp.c, h.Kind == 'f')
		if err != nil {
			return fmt.Errorf("medmnist: %s: %s.npy: image %d: %w", s.path, key, i, err)
		}
		smp := data.Sample{
			ID:    s.file + ":" + sp.name + "/" + strconv.Itoa(i),
			Image: im,
			Label: int(sp.labels[i]),
		}
		if !yield(smp, nil) {
			return nil
		}
	}
	if err := atEOF(rc); err != nil {
		return fmt.Errorf("medmnist: %s: %s.npy: %w", s.path, key, err)
	}
	return nil
}

// toImage converts one image of h*w*c stored values (c = 1 or 3, channels
// last) to a grey image in [-1, 1].
func toImage(v []float64, h, w, c int, float bool) (*data.Image, error) {
	im := data.NewImage(h, w)
	for p := range im.Pix {
		g := v[p*c]
		if c == 3 {
			g = pixel.Luma(v[p*c], v[p*c+1], v[p*c+2])
		}
		if float {
			if g < 0 || g > 1 {
				return nil, fmt.Errorf("float value %v at row %d, column %d outside [0, 1]", g, p/w, p%w)
			}
			im.Pix[p] = float32(2*g - 1)
			continue
		}
		if c == 1 {
			im.Pix[p] = pixel.Scale8(uint8(g))
		} else {
			im.Pix[p] = pixel.Scale(g, 8)
		}
	}
	return im, nil
}

// Checksum returns the md5 sum of the file and the verdict against
// OfficialMD5. It reads the whole file once; later calls reuse the result.
func (s *Source) Checksum() (sum string, v Verdict, err error) {
	s.sumOnce.Do(func() {
		ra, n, c, err := s.open()
		if err != nil {
			s.sumErr = err
			return
		}
		defer c.Close()
		h := md5.New()
		if _, err := io.Copy(h, io.NewSectionReader(ra, 0, n)); err != nil {
			s.sumErr = fmt.Errorf("medmnist: %s: %w", s.path, err)
			return
		}
		s.sum = hex.EncodeToString(h.Sum(nil))
	})
	if s.sumErr != nil {
		return "", UnknownFile, s.sumErr
	}
	want, ok := OfficialMD5[strings.ToLower(s.file)]
	switch {
	case !ok:
		return s.sum, UnknownFile, nil
	case want == s.sum:
		return s.sum, Official, nil
	default:
		return s.sum, NotOfficial, nil
	}
}

// Provenance describes the file in a few lines: the dataset, the normal
// labels, the md5 verdict and whether the split sizes match MedMNIST's.
func (s *Source) Provenance() string {
	var b strings.Builder
	if s.info.Name == "" {
		fmt.Fprintf(&b, "%s: not a MedMNIST dataset name; normal labels %s\n", s.file, joinInts(s.normal, "|"))
	} else {
		fmt.Fprintf(&b, "%s: MedMNIST %s (%s), %dx%d in the file name\n", s.file, s.info.Name, s.info.Task, s.size, s.size)
		var ls []string
		for _, l := range s.normal {
			ls = append(ls, fmt.Sprintf("%d %q", l, s.info.Labels[l]))
		}
		if s.info.MultiLabel() && len(ls) == 0 {
			ls = append(ls, "none of the findings")
		}
		fmt.Fprintf(&b, "normal: %s\n", strings.Join(ls, ", "))
	}
	sum, v, err := s.Checksum()
	switch {
	case err != nil:
		fmt.Fprintf(&b, "md5: unavailable (%v)\n", err)
	case v == NotOfficial:
		fmt.Fprintf(&b, "md5 %s: %s (official %s)\n", sum, v, OfficialMD5[strings.ToLower(s.file)])
	default:
		fmt.Fprintf(&b, "md5 %s: %s\n", sum, v)
	}
	if s.info.Name != "" {
		var diff []string
		for i := range s.splits {
			if n := len(s.splits[i].labels); n != s.info.Counts[i] {
				diff = append(diff, fmt.Sprintf("%s %d (published %d)", s.splits[i].name, n, s.info.Counts[i]))
			}
		}
		if len(diff) == 0 {
			b.WriteString("split sizes match MedMNIST's published ones\n")
		} else {
			fmt.Fprintf(&b, "split sizes differ from MedMNIST's: %s\n", strings.Join(diff, ", "))
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}
