package score

import (
	"bytes"
	"math"
	"testing"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dcgan"
)

func TestAnomalyAndResidual(t *testing.T) {
	if got := Anomaly(10, 20, 0.1); math.Abs(got-11) > 1e-12 {
		t.Errorf("Anomaly(10, 20, 0.1) = %v, want 11 (Eq. 6)", got)
	}
	x := &data.Image{H: 1, W: 3, Pix: []float32{-1, 0, 0.5}}
	g := &data.Image{H: 1, W: 3, Pix: []float32{1, 0, -0.5}}
	r := ResidualImage(x, g)
	for i, want := range []float32{2, 0, 1} {
		if r.Pix[i] != want {
			t.Errorf("residual pixel %d = %v, want %v", i, r.Pix[i], want)
		}
	}
}

func TestTableRoundTrip(t *testing.T) {
	res := []Result{
		{ID: "a", Label: 0, Scores: map[string]float64{R: 1.5, A: 2}},
		{ID: "b:test/1#patch(y=1,x=2)", Label: 1, Scores: map[string]float64{R: 3, A: 4.25}},
	}
	df := Table(res, R, A)
	if got := df.Names(); len(got) != 4 || got[0] != "id" || got[1] != "label" || got[2] != R || got[3] != A {
		t.Fatalf("columns %v", got)
	}
	var buf bytes.Buffer
	if err := df.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadTable(dataframe.ReadCSV(&buf, dataframe.WithTypes(map[string]series.Type{"id": series.String})))
	if err != nil {
		t.Fatal(err)
	}
	for i := range res {
		if back[i].ID != res[i].ID || back[i].Label != res[i].Label || back[i].Scores[A] != res[i].Scores[A] {
			t.Errorf("row %d: read back %+v, wrote %+v", i, back[i], res[i])
		}
	}
	if got := Column(back, A); got[1] != 4.25 {
		t.Errorf("Column: %v", got)
	}
	if _, err := ReadTable(dataframe.LoadRecords([][]string{{"x"}, {"1"}})); err == nil {
		t.Error("read a table without id and label")
	}
}

func TestDiscriminatorScores(t *testing.T) {
	m, err := dcgan.New(dcgan.Config{Size: 28, Width: 4, Latent: 8}, 1)
	if err != nil {
		t.Fatal(err)
	}
	ss := []data.Sample{{ID: "a", Image: data.NewImage(28, 28)}, {ID: "b", Image: data.NewImage(28, 28)}}
	pd, err := DiscriminatorScores(m, ss)
	if err != nil {
		t.Fatal(err)
	}
	if len(pd) != 2 || pd[0] <= 0 || pd[0] >= 1 || pd[0] != pd[1] {
		t.Errorf("P_D of two equal images: %v, want one value in (0, 1)", pd)
	}
}
