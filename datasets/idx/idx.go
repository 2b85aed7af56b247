package idx

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/anogo/anogo/sdk/data"
)

// UnsignedByte is the IDX data type code of MNIST and Fashion-MNIST files,
// the only one this package reads.
const UnsignedByte = 0x08

// Limits on what a header may claim.
const (
	maxItems    = 1 << 31
	maxItemSize = 1 << 24
	maxDims     = 8
	// maxDeflateRatio bounds what a gzip stream can expand to (DEFLATE
	// cannot expand data more than about 1032 times).
	maxDeflateRatio = 1032
)

// Header is the header of an IDX file: the data type code and the
// dimensions, the first of which counts the items (images or labels).
type Header struct {
	Type byte
	Dims []int
}

// Items returns the number of items, Dims[0].
func (h Header) Items() int { return h.Dims[0] }

// ItemSize returns the number of bytes of one item: the product of
// Dims[1:] (1 for a label file).
func (h Header) ItemSize() int {
	n := 1
	for _, d := range h.Dims[1:] {
		n *= d
	}
	return n
}

// Size returns the size of a complete file with this header in bytes.
func (h Header) Size() int64 {
	return int64(4+4*len(h.Dims)) + int64(h.Items())*int64(h.ItemSize())
}

// ReadHeader reads and checks the magic number (two zero bytes, the data
// type, the number of dimensions) and the dimensions.
func ReadHeader(r io.Reader) (Header, error) {
	var h Header
	var m [4]byte
	if _, err := io.ReadFull(r, m[:]); err != nil {
		return h, fmt.Errorf("reading magic number: %w", unexpected(err))
	}
	if m[0] != 0 || m[1] != 0 {
		return h, fmt.Errorf("bad magic number %#x (an IDX file starts with two zero bytes)", m[:])
	}
	if m[2] != UnsignedByte {
		return h, fmt.Errorf("data type %#02x is not supported (want %#02x, unsigned byte, as in MNIST)", m[2], UnsignedByte)
	}
	nd := int(m[3])
	if nd < 1 || nd > maxDims {
		return h, fmt.Errorf("%d dimensions (want 1 to %d)", nd, maxDims)
	}
	b := make([]byte, 4*nd)
	if _, err := io.ReadFull(r, b); err != nil {
		return h, fmt.Errorf("reading %d dimensions: %w", nd, unexpected(err))
	}
	h.Type = m[2]
	size := int64(1)
	for i := range nd {
		d := binary.BigEndian.Uint32(b[4*i:])
		if d > maxItems {
			return h, fmt.Errorf("dimension %d is %d (more than %d)", i, d, int64(maxItems))
		}
		h.Dims = append(h.Dims, int(d))
		if i > 0 && d == 0 {
			return h, fmt.Errorf("dimension %d is 0 (items would be empty)", i)
		}
		if i > 0 {
			size *= int64(d)
			if size > maxItemSize {
				return h, fmt.Errorf("items of %v exceed %d bytes", h.Dims[1:], maxItemSize)
			}
		}
	}
	return h, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Reader reads the items of one IDX file in order.
type Reader struct {
	h    Header
	r    io.Reader
	next int
	buf  []byte
}

// NewReader reads the header from r. size is the number of bytes the whole
// stream holds, or -1 when it is not known (a gzip stream); a known size
// must be exactly what the header claims, so a header that does not match
// its file is refused before anything is allocated.
func NewReader(r io.Reader, size int64) (*Reader, error) {
	h, err := ReadHeader(r)
	if err != nil {
		return nil, err
	}
	if size >= 0 && size != h.Size() {
		return nil, fmt.Errorf("header claims %v (%d bytes) but the file holds %d bytes", h.Dims, h.Size(), size)
	}
	return &Reader{h: h, r: r}, nil
}

// Header returns the file's header.
func (r *Reader) Header() Header { return r.h }

// Next returns the bytes of the next item, or io.EOF after the last item.
// The slice is reused by the next call. After the last item Next checks that
// the stream has no bytes left.
func (r *Reader) Next() ([]byte, error) {
	if r.next == r.h.Items() {
		var b [1]byte
		n, err := io.ReadFull(r.r, b[:])
		switch {
		case n > 0:
			return nil, fmt.Errorf("bytes after the %d items the header claims", r.h.Items())
		case err == io.EOF:
			return nil, io.EOF
		default:
			return nil, err
		}
	}
	if r.buf == nil {
		r.buf = make([]byte, r.h.ItemSize())
	}
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		return nil, fmt.Errorf("data ends in item %d of %d: %w", r.next, r.h.Items(), unexpected(err))
	}
	r.next++
	return r.buf, nil
}

// File is an open IDX file, plain or gzipped.
type File struct {
	*Reader
	// Name is the file's base name, e.g. "t10k-images-idx3-ubyte.gz".
	Name string
	path string
	f    *os.File
}

// OpenFile opens an IDX file; a file whose name ends in .gz or whose
// content starts with the gzip magic is decompressed on the fly. For a
// plain file the header must match the file size; for a gzipped one it must
// match the size recorded in the gzip trailer (modulo 2^32) and be no more
// than DEFLATE can expand the file to. Errors name the file.
func OpenFile(path string) (*File, error) {
	name := filepath.Base(path)
	f, err := data.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*File, error) {
		f.Close()
		return nil, fmt.Errorf("idx: %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	var magic [2]byte
	n, _ := f.ReadAt(magic[:], 0)
	if !(strings.HasSuffix(name, ".gz") || n == 2 && magic == [2]byte{0x1f, 0x8b}) {
		r, err := NewReader(bufio.NewReaderSize(f, 1<<16), st.Size())
		if err != nil {
			return fail(err)
		}
		return &File{Reader: r, Name: name, path: path, f: f}, nil
	}
	var trailer [4]byte
	if st.Size() < 18 {
		return fail(errors.New("gzip file too short"))
	}
	if _, err := f.ReadAt(trailer[:], st.Size()-4); err != nil {
		return fail(err)
	}
	gz, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		return fail(fmt.Errorf("gzip: %w", err))
	}
	r, err := NewReader(gz, -1)
	if err != nil {
		return fail(err)
	}
	want := r.h.Size()
	if isize := binary.LittleEndian.Uint32(trailer[:]); uint32(want) != isize {
		return fail(fmt.Errorf("header claims %v (%d bytes) but the gzip trailer records %d bytes", r.h.Dims, want, isize))
	}
	if want/maxDeflateRatio > st.Size() {
		return fail(fmt.Errorf("header claims %v (%d bytes), more than a %d-byte gzip file can hold", r.h.Dims, want, st.Size()))
	}
	return &File{Reader: r, Name: name, path: path, f: f}, nil
}

// Next is Reader.Next with the file name in errors.
func (f *File) Next() ([]byte, error) {
	b, err := f.Reader.Next()
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("idx: %s: %w", f.path, err)
	}
	return b, err
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }
