package train

import (
	"math"
	"slices"
	"testing"

	"github.com/anogo/anogo/sdk/checkpoint"
)

// TestHistoryRoundTrip: losses recorded step by step (one every other
// step, a NaN left out) come back from a checkpoint as they were, and a
// step outside the record is refused.
func TestHistoryRoundTrip(t *testing.T) {
	var h History
	for i := 1; i <= 4; i++ {
		l := map[string]float64{"loss_d": float64(i)}
		if i%2 == 0 {
			l["loss_g"] = -float64(i)
		}
		if i == 3 {
			l["loss_d"] = math.NaN()
		}
		h.Add(l)
	}
	if h.Steps != 4 || !slices.Equal(h.Losses["loss_g"].Step, []int{2, 4}) || !slices.Equal(h.Losses["loss_d"].Step, []int{1, 2, 4}) {
		t.Fatalf("history %+v", h)
	}
	c := &checkpoint.Checkpoint{}
	h.AddTo(c, "h.")
	got, err := RestoreHistory(c, "h.")
	if err != nil {
		t.Fatal(err)
	}
	for name, cv := range h.Losses {
		if !slices.Equal(got.Losses[name].Step, cv.Step) || !slices.Equal(got.Losses[name].Value, cv.Value) {
			t.Fatalf("%s: %+v, want %+v", name, got.Losses[name], cv)
		}
	}
	if df := h.Table(); df.Nrow() != 4 || df.Ncol() != 3 {
		t.Fatalf("table %dx%d", df.Nrow(), df.Ncol())
	}
	bad := &checkpoint.Checkpoint{}
	bad.Add("h.steps", []float32{2}, 1)
	bad.Add("h.value.x", []float32{1}, 1)
	bad.Add("h.step.x", []float32{3}, 1)
	if _, err := RestoreHistory(bad, "h."); err == nil {
		t.Fatal("a step past the step count was accepted")
	}
}
