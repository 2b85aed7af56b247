// Package npy provides a strict reader for NumPy .npy arrays (format
// versions 1.0, 2.0 and 3.0): the magic string, a version, a header length
// and a Python dict literal naming the dtype, the memory order and the shape,
// followed by the raw elements.
//
// The header parser accepts exactly the dict that NumPy writes (the keys
// 'descr', 'fortran_order' and 'shape', each once) and nothing else, so a
// damaged or hostile header is an error, never a panic or a huge allocation:
// the element count is checked against MaxElements before anything is
// allocated, and elements are read in chunks whose size the caller chooses.
// Supported dtypes are bool, signed and unsigned integers of 1, 2, 4 and 8
// bytes, and float32/float64, in either byte order.
package npy
