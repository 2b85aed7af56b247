package score

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dcgan"
	"github.com/anogo/anogo/sdk/mapper"
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

// Against evaluates Eqs. (3) and (4) outside the mapper's graph; given the
// mapper's own reconstruction it must give the mapper's R and D.
func TestAgainstMatchesMapper(t *testing.T) {
	m, err := dcgan.New(dcgan.Config{Size: 28, Width: 4, Latent: 8}, 1)
	if err != nil {
		t.Fatal(err)
	}
	var ss []data.Sample
	for i := range 3 {
		im := data.NewImage(28, 28)
		for j := range im.Pix {
			im.Pix[j] = float32(math.Sin(float64(j*(i+1)) * 0.37))
		}
		ss = append(ss, data.Sample{ID: fmt.Sprint("q", i), Image: im, Label: i % 2})
	}
	it := mapper.Iterative{Model: m, Steps: 5, LR: 0.05, Seed: 1}
	lat, err := it.Map(context.Background(), ss)
	if err != nil {
		t.Fatal(err)
	}
	recons := make([]*data.Image, len(lat))
	for i, l := range lat {
		recons[i] = l.Recon
	}
	res, err := Against(m, ss, recons, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range lat {
		got := res[i].Scores
		if math.Abs(got[R]-l.Residual) > 1e-4*l.Residual || math.Abs(got[D]-l.Discrimination) > 1e-4*l.Discrimination+1e-6 {
			t.Errorf("query %d: Against R %v D %v, mapper R %v D %v", i, got[R], got[D], l.Residual, l.Discrimination)
		}
		if want := Anomaly(got[R], got[D], 0.1); got[A] != want || res[i].Label != ss[i].Label {
			t.Errorf("query %d: A %v, want %v (Eq. 6); label %d", i, got[A], want, res[i].Label)
		}
	}
	if _, err := Against(m, ss, recons[:2], 0.1); err == nil {
		t.Error("two reconstructions for three samples: no error")
	}
	if _, err := Against(m, ss, []*data.Image{recons[0], data.NewImage(27, 28), recons[2]}, 0.1); err == nil || !strings.Contains(err.Error(), "q1") {
		t.Errorf("reconstruction of another size: error %v, want one naming q1", err)
	}
}

func TestFinite(t *testing.T) {
	ok := []Result{{ID: "a", Scores: map[string]float64{A: 1, PD: 0}}}
	if err := Finite(ok); err != nil {
		t.Error(err)
	}
	bad := append(ok, Result{ID: "b", Scores: map[string]float64{A: 1, PD: math.Inf(1)}}, Result{ID: "c", Scores: map[string]float64{A: math.NaN()}})
	if err := Finite(bad); err == nil || !strings.Contains(err.Error(), "sample 2 (b): score PD is +Inf") {
		t.Errorf("Finite: %v", err)
	}
}
