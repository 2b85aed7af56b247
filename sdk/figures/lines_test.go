package figures

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestLines(t *testing.T) {
	x := []float64{1, 2, 3, 4}
	fig, err := Lines([]Series{{Name: "a", X: x, Y: []float64{1, 0.5, math.NaN(), 0.2}}, {Name: "b", X: x, Y: []float64{0, 1, 2, 3}}}, "t", "step", "loss")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := fig.Save(dir, "lines"); err != nil {
		t.Fatal(err)
	}
	for _, f := range Formats {
		if st, err := os.Stat(filepath.Join(dir, "lines."+f)); err != nil || st.Size() == 0 {
			t.Fatalf("lines.%s: %v", f, err)
		}
	}
	for _, bad := range [][]Series{nil, {{Name: "short", X: x, Y: []float64{1}}}, {{Name: "nan", X: []float64{1}, Y: []float64{math.NaN()}}}} {
		if _, err := Lines(bad, "", "", ""); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
