package npy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Limits that a header must respect.
const (
	// MaxHeaderLen bounds the dict literal (NumPy writes fewer than 200
	// bytes for ordinary arrays).
	MaxHeaderLen = 1 << 16
	// MaxElements bounds the element count a shape may claim (2^40,
	// about 10^12); callers apply tighter, data-specific limits.
	MaxElements = 1 << 40
)

var magic = []byte("\x93NUMPY")

// Header describes one array.
type Header struct {
	// Descr is the dtype as written, e.g. "|u1" or "<f4".
	Descr string
	// Kind is 'b' (bool), 'u' (unsigned), 'i' (signed) or 'f' (float).
	Kind byte
	// ItemSize is the size of one element in bytes.
	ItemSize int
	// BigEndian is true for '>' dtypes.
	BigEndian bool
	// FortranOrder is true when the elements are stored column-major.
	FortranOrder bool
	// Shape lists the dimensions; an empty shape is a scalar.
	Shape []int
}

// Len returns the number of elements, the product of Shape.
func (h Header) Len() int64 {
	n := int64(1)
	for _, d := range h.Shape {
		n *= int64(d)
	}
	return n
}

// DataSize returns the number of bytes the elements occupy.
func (h Header) DataSize() int64 { return h.Len() * int64(h.ItemSize) }

// ShapeString formats the shape as NumPy prints it, e.g. "(4708, 28, 28)".
func (h Header) ShapeString() string {
	var b strings.Builder
	b.WriteByte('(')
	for i, d := range h.Shape {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(d))
	}
	if len(h.Shape) == 1 {
		b.WriteByte(',')
	}
	b.WriteByte(')')
	return b.String()
}

// ReadHeader reads the preamble and header of an .npy stream and returns the
// header and the number of bytes read, so that a complete file holds exactly
// n + h.DataSize() bytes.
func ReadHeader(r io.Reader) (h Header, n int64, err error) {
	pre := make([]byte, 8)
	if _, err := io.ReadFull(r, pre); err != nil {
		return h, 0, fmt.Errorf("npy: reading preamble: %w", unexpected(err))
	}
	if string(pre[:6]) != string(magic) {
		return h, 0, errors.New("npy: not an .npy stream (bad magic string)")
	}
	major, minor := pre[6], pre[7]
	var hlen int
	switch major {
	case 1:
		b := make([]byte, 2)
		if _, err := io.ReadFull(r, b); err != nil {
			return h, 0, fmt.Errorf("npy: reading header length: %w", unexpected(err))
		}
		hlen, n = int(binary.LittleEndian.Uint16(b)), 10
	case 2, 3:
		b := make([]byte, 4)
		if _, err := io.ReadFull(r, b); err != nil {
			return h, 0, fmt.Errorf("npy: reading header length: %w", unexpected(err))
		}
		l := binary.LittleEndian.Uint32(b)
		if l > MaxHeaderLen {
			return h, 0, fmt.Errorf("npy: header length %d exceeds %d", l, MaxHeaderLen)
		}
		hlen, n = int(l), 12
	default:
		return h, 0, fmt.Errorf("npy: unsupported format version %d.%d", major, minor)
	}
	if minor != 0 {
		return h, 0, fmt.Errorf("npy: unsupported format version %d.%d", major, minor)
	}
	text := make([]byte, hlen)
	if _, err := io.ReadFull(r, text); err != nil {
		return h, 0, fmt.Errorf("npy: reading %d-byte header: %w", hlen, unexpected(err))
	}
	h, err = ParseHeader(string(text))
	return h, n + int64(hlen), err
}

// unexpected turns io.EOF into io.ErrUnexpectedEOF: a stream that ends
// inside a header or an element is truncated.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ParseHeader parses the dict literal of an .npy header, e.g.
// "{'descr': '|u1', 'fortran_order': False, 'shape': (4708, 28, 28), }"
// followed by padding spaces and a newline.
func ParseHeader(text string) (Header, error) {
	var h Header
	p := &parser{s: text}
	seen := map[string]bool{}
	p.space()
	if !p.eat('{') {
		return h, p.errorf("want '{'")
	}
	for {
		p.space()
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return h, err
		}
		if seen[key] {
			return h, p.errorf("key %q repeated", key)
		}
		seen[key] = true
		p.space()
		if !p.eat(':') {
			return h, p.errorf("want ':' after %q", key)
		}
		p.space()
		switch key {
		case "descr":
			if p.peek() == '[' {
				return h, errors.New("npy: structured dtypes are not supported")
			}
			d, err := p.str()
			if err != nil {
				return h, err
			}
			if h, err = setDescr(h, d); err != nil {
				return h, err
			}
		case "fortran_order":
			switch {
			case p.word("True"):
				h.FortranOrder = true
			case p.word("False"):
				h.FortranOrder = false
			default:
				return h, p.errorf("fortran_order must be True or False")
			}
		case "shape":
			s, err := p.tuple()
			if err != nil {
				return h, err
			}
			h.Shape = s
		default:
			return h, p.errorf("unknown key %q", key)
		}
		p.space()
		if p.eat(',') {
			continue
		}
		p.space()
		if !p.eat('}') {
			return h, p.errorf("want ',' or '}'")
		}
		break
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return h, fmt.Errorf("npy: header lacks key %q", k)
		}
	}
	if rest := strings.TrimRight(p.s[p.i:], " \t\r\n\x00"); rest != "" {
		return h, p.errorf("unexpected text after '}'")
	}
	n := int64(1)
	for _, d := range h.Shape {
		if d != 0 && n > MaxElements/int64(d) {
			return h, fmt.Errorf("npy: shape %s claims more than %d elements", h.ShapeString(), int64(MaxElements))
		}
		n *= int64(d)
	}
	return h, nil
}

// setDescr fills the dtype fields of h from a descr such as "<f4".
func setDescr(h Header, d string) (Header, error) {
	bad := fmt.Errorf("npy: unsupported dtype %q (want bool, u1..u8, i1..i8, f4 or f8)", d)
	if len(d) < 3 {
		return h, bad
	}
	switch d[0] {
	case '<', '|', '=':
	case '>':
		h.BigEndian = true
	default:
		return h, bad
	}
	size, err := strconv.Atoi(d[2:])
	if err != nil {
		return h, bad
	}
	ok := false
	switch d[1] {
	case 'b':
		ok = size == 1
	case 'u', 'i':
		ok = size == 1 || size == 2 || size == 4 || size == 8
	case 'f':
		ok = size == 4 || size == 8
	}
	if !ok {
		return h, bad
	}
	h.Descr, h.Kind, h.ItemSize = d, d[1], size
	return h, nil
}

type parser struct {
	s string
	i int
}

func (p *parser) errorf(format string, a ...any) error {
	return fmt.Errorf("npy: bad header at byte %d: %s", p.i, fmt.Sprintf(format, a...))
}

func (p *parser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *parser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *parser) eat(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

func (p *parser) word(w string) bool {
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

// str reads a quoted string without escapes.
func (p *parser) str() (string, error) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", p.errorf("want a quoted string")
	}
	j := strings.IndexByte(p.s[p.i+1:], q)
	if j < 0 {
		return "", p.errorf("unterminated string")
	}
	s := p.s[p.i+1 : p.i+1+j]
	if strings.ContainsAny(s, "\\\n") {
		return "", p.errorf("escapes are not supported in strings")
	}
	p.i += j + 2
	return s, nil
}

// tuple reads a Python tuple of non-negative integers: (), (5,), (5, 6).
func (p *parser) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, p.errorf("shape must be a tuple")
	}
	dims := []int{}
	for {
		p.space()
		if p.eat(')') {
			if len(dims) == 1 {
				return nil, p.errorf("a one-element shape needs a trailing comma")
			}
			return dims, nil
		}
		j := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if j == p.i || p.i-j > 13 {
			return nil, p.errorf("bad dimension")
		}
		d, _ := strconv.Atoi(p.s[j:p.i])
		if d > MaxElements {
			return nil, p.errorf("dimension %d exceeds %d", d, int64(MaxElements))
		}
		p.eat('L') // Python 2 long literals, e.g. (10L,)
		dims = append(dims, d)
		if len(dims) > 32 {
			return nil, p.errorf("more than 32 dimensions")
		}
		p.space()
		if p.eat(',') {
			p.space()
			if p.eat(')') {
				return dims, nil
			}
			continue
		}
		if !p.eat(')') {
			return nil, p.errorf("want ',' or ')' in shape")
		}
		if len(dims) == 1 {
			return nil, p.errorf("a one-element shape needs a trailing comma")
		}
		return dims, nil
	}
}

// Reader reads the elements of one array in storage order.
type Reader struct {
	h    Header
	r    io.Reader
	next int64 // index of the next element
	buf  []byte
}

// NewReader reads the header from r and returns a Reader positioned at the
// first element.
func NewReader(r io.Reader) (*Reader, error) {
	h, _, err := ReadHeader(r)
	if err != nil {
		return nil, err
	}
	return &Reader{h: h, r: r}, nil
}

// Header returns the array's header.
func (r *Reader) Header() Header { return r.h }

// Remaining returns the number of elements not yet read.
func (r *Reader) Remaining() int64 { return r.h.Len() - r.next }

// Read reads the next len(dst) elements into dst, converted to float64
// (integers exactly up to 2^53). It returns an error if fewer than len(dst)
// elements remain, if the stream ends early, or if a float element is NaN
// or infinite; the error names the element's index.
func (r *Reader) Read(dst []float64) error {
	if int64(len(dst)) > r.Remaining() {
		return fmt.Errorf("npy: asked for %d elements, %d remain", len(dst), r.Remaining())
	}
	n := len(dst) * r.h.ItemSize
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	if got, err := io.ReadFull(r.r, b); err != nil {
		return fmt.Errorf("npy: data ends after element %d of %d: %w", r.next+int64(got/r.h.ItemSize), r.h.Len(), unexpected(err))
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if r.h.BigEndian {
		bo = binary.BigEndian
	}
	switch int(r.h.Kind)<<8 | r.h.ItemSize {
	case 'b'<<8 | 1:
		for i, v := range b {
			if v != 0 {
				dst[i] = 1
			} else {
				dst[i] = 0
			}
		}
	case 'u'<<8 | 1:
		for i, v := range b {
			dst[i] = float64(v)
		}
	case 'i'<<8 | 1:
		for i, v := range b {
			dst[i] = float64(int8(v))
		}
	case 'u'<<8 | 2:
		for i := range dst {
			dst[i] = float64(bo.Uint16(b[2*i:]))
		}
	case 'i'<<8 | 2:
		for i := range dst {
			dst[i] = float64(int16(bo.Uint16(b[2*i:])))
		}
	case 'u'<<8 | 4:
		for i := range dst {
			dst[i] = float64(bo.Uint32(b[4*i:]))
		}
	case 'i'<<8 | 4:
		for i := range dst {
			dst[i] = float64(int32(bo.Uint32(b[4*i:])))
		}
	case 'u'<<8 | 8:
		for i := range dst {
			dst[i] = float64(bo.Uint64(b[8*i:]))
		}
	case 'i'<<8 | 8:
		for i := range dst {
			dst[i] = float64(int64(bo.Uint64(b[8*i:])))
		}
	case 'f'<<8 | 4:
		for i := range dst {
			dst[i] = float64(math.Float32frombits(bo.Uint32(b[4*i:])))
		}
	case 'f'<<8 | 8:
		for i := range dst {
			dst[i] = math.Float64frombits(bo.Uint64(b[8*i:]))
		}
	default:
		return fmt.Errorf("npy: unsupported dtype %q", r.h.Descr)
	}
	if r.h.Kind == 'f' {
		for i, v := range dst {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("npy: element %d is %v", r.next+int64(i), v)
			}
		}
	}
	r.next += int64(len(dst))
	return nil
}

// ReaderAfterHeader returns a Reader for the elements of an array whose
// header h has already been read from r (with ReadHeader).
func ReaderAfterHeader(h Header, r io.Reader) *Reader {
	return &Reader{h: h, r: r}
}
