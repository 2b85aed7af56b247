package pixel

// Scale maps a stored integer v of the given bit depth, 0 <= v <= 2^bits-1,
// linearly onto [-1, 1]:
//
//	s = 2v / (2^bits - 1) - 1
//
// so 8-bit values become v/127.5 - 1 and 16-bit values v/32767.5 - 1. The
// AnoGAN paper normalises grey values to range from -1 to 1 (Schlegl et al.
// 2017, Sec. 3, "Data, Data Selection and Preprocessing"), the range of the
// generator's tanh output. bits must be in [1, 32]; v is not clamped.
func Scale(v float64, bits int) float32 {
	return float32(2*v/Max(bits) - 1)
}

// Max returns the largest stored value of the given bit depth, 2^bits - 1.
func Max(bits int) float64 {
	return float64(uint64(1)<<uint(bits) - 1)
}

// Scale8 is Scale(v, 8): v/127.5 - 1.
func Scale8(v uint8) float32 { return scale8[v] }

// Scale16 is Scale(v, 16): v/32767.5 - 1.
func Scale16(v uint16) float32 { return float32(float64(v)/32767.5 - 1) }

var scale8 = func() (t [256]float32) {
	for i := range t {
		t[i] = Scale(float64(i), 8)
	}
	return t
}()

// Luma returns the ITU-R BT.601 luma of a colour,
//
//	Y = 0.299 R + 0.587 G + 0.114 B,
//
// in the units of r, g and b (the weights sum to 1, so 8-bit channels give
// an 8-bit grey value and 16-bit channels a 16-bit one).
func Luma(r, g, b float64) float64 {
	return 0.299*r + 0.587*g + 0.114*b
}
