package optim

import (
	"math"
	"testing"
)

// TestRMSPropByHand checks two steps against the formulas computed in
// float64.
func TestRMSPropByHand(t *testing.T) {
	r := NewRMSProp(0.01)
	p := [][]float32{{1, -2}}
	g := [][]float32{{0.5, -3}}
	want := []float64{1, -2}
	s := []float64{1, 1}
	for step := 0; step < 2; step++ {
		if err := r.Update(p, g); err != nil {
			t.Fatal(err)
		}
		for j := range want {
			gj := float64(g[0][j])
			s[j] = 0.9*s[j] + 0.1*gj*gj
			want[j] -= 0.01 * gj / math.Sqrt(s[j]+1e-10)
			if d := math.Abs(float64(p[0][j]) - want[j]); d > 1e-6 {
				t.Fatalf("step %d value %d: %v, want %v", step+1, j, p[0][j], want[j])
			}
		}
	}
	if r.T != 2 {
		t.Fatalf("T = %d", r.T)
	}
	if err := r.Update([][]float32{{1}}, [][]float32{{1}}); err == nil {
		t.Fatal("a parameter list of another length was accepted")
	}
}
