package npy

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// Write writes an .npy version 1.0 stream: the header for a C-order array
// of the given dtype and shape, then data, which must hold the raw elements
// (len(data) == product(shape) * item size). Tests and tools use it to build
// small arrays; the loaders only read.
func Write(w io.Writer, descr string, shape []int, data []byte) error {
	h, err := setDescr(Header{}, descr)
	if err != nil {
		return err
	}
	h.Shape = shape
	if h.DataSize() != int64(len(data)) {
		return fmt.Errorf("npy: shape %s of %s needs %d bytes, got %d", h.ShapeString(), descr, h.DataSize(), len(data))
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, h.ShapeString())
	// Pad with spaces so that preamble + header is a multiple of 64 and
	// ends in a newline, as NumPy does.
	total := 10 + len(dict) + 1
	pad := (64 - total%64) % 64
	text := dict + strings.Repeat(" ", pad) + "\n"
	if len(text) > 0xffff {
		return fmt.Errorf("npy: header of %d bytes too long for version 1.0", len(text))
	}
	pre := append([]byte{}, magic...)
	pre = append(pre, 1, 0)
	pre = binary.LittleEndian.AppendUint16(pre, uint16(len(text)))
	if _, err := w.Write(pre); err != nil {
		return err
	}
	if _, err := io.WriteString(w, text); err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}
