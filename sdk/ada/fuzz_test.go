package ada

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// FuzzUnmarshal checks that UnmarshalBinary never panics, that a state it
// accepts marshals back to the same bytes, and that the pipeline it
// gives can draw, apply and observe.
func FuzzUnmarshal(f *testing.F) {
	a := New(Options{P: 0.4, Seed: 31})
	r := rand.New(rand.NewPCG(32, 32))
	for range 6 {
		step(a, r)
		s, _ := a.MarshalBinary()
		f.Add(s)
	}
	s, _ := New(Options{Multipliers: map[Transform]float64{XFlip: 1, Contrast: 3}, Fixed: true, P: 1, Interval: 7}).MarshalBinary()
	f.Add(s)
	f.Add(s[:len(s)/2])
	f.Add([]byte("ADA\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a := New(Options{Seed: 1})
		if err := a.UnmarshalBinary(data); err != nil {
			return
		}
		back, err := a.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back, data) {
			t.Fatalf("state does not marshal back to itself")
		}
		b := a.DrawBatch(2, 1, 5, 4)
		x := make([]float32, 2*5*4)
		b.Apply(x, x)
		b.Backward(x, x)
		a.Observe([]float32{1, -1, 0})
		if p := a.P(); !(p >= 0 && p <= 1) {
			t.Fatalf("p = %v", p)
		}
	})
}
