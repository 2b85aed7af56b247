package pixel

import (
	"math"
	"testing"
)

const tol = 1e-6

func TestScale(t *testing.T) {
	for i, c := range []struct {
		v    float64
		bits int
		want float64
	}{
		{0, 8, -1},
		{255, 8, 1},
		{127.5, 8, 0},
		{51, 8, 51/127.5 - 1},
		{0, 16, -1},
		{65535, 16, 1},
		{1000, 16, 1000/32767.5 - 1},
		{4095, 12, 1},
		{0, 1, -1},
		{1, 1, 1},
	} {
		if got := Scale(c.v, c.bits); math.Abs(float64(got)-c.want) > tol {
			t.Errorf("%d: Scale(%v, %d) = %v, want %v", i, c.v, c.bits, got, c.want)
		}
	}
	for v := 0; v < 256; v++ {
		if got, want := Scale8(uint8(v)), float32(float64(v)/127.5-1); got != want {
			t.Errorf("Scale8(%d) = %v, want %v", v, got, want)
		}
	}
	if got := Scale16(32768); math.Abs(float64(got)-(32768/32767.5-1)) > tol {
		t.Errorf("Scale16(32768) = %v", got)
	}
}

func TestLuma(t *testing.T) {
	for i, c := range []struct{ r, g, b, want float64 }{
		{255, 255, 255, 255},
		{0, 0, 0, 0},
		{255, 0, 0, 76.245},
		{0, 255, 0, 149.685},
		{0, 0, 255, 29.07},
	} {
		if got := Luma(c.r, c.g, c.b); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%d: Luma(%v, %v, %v) = %v, want %v", i, c.r, c.g, c.b, got, c.want)
		}
	}
}
