package fanogan

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/score"
)

func tinySamples(n, size int) []data.Sample {
	x := randomBatch(n, size, 21)
	out := make([]data.Sample, n)
	for i := range out {
		im := data.NewImage(size, size)
		copy(im.Pix, x[i*size*size:])
		out[i] = data.Sample{ID: fmt.Sprint("q", i), Image: im}
	}
	return out
}

// TestMapperOnePassAndRefined: without steps the codes are E(x) and R is
// Σ|x - G(E(x))|; twenty steps of AnoGAN's mapping from E(x) lower Eq. 5
// for every query; a query's result does not depend on its batch.
func TestMapperOnePassAndRefined(t *testing.T) {
	ctx := context.Background()
	m := tinyModel(t, 28)
	qs := tinySamples(5, 28)
	enc, err := (&Scorer{Model: m}).Map(ctx, qs)
	if err != nil {
		t.Fatal(err)
	}
	zero, err := (&Mapper{Model: m}).Map(ctx, qs)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range zero {
		if !slices.Equal(l.Z, enc.Z[i]) {
			t.Fatalf("query %d: code %v, E(x) %v", i, l.Z[:3], enc.Z[i][:3])
		}
		r := 0.0
		for j, v := range qs[i].Image.Pix {
			r += math.Abs(float64(v - l.Recon.Pix[j]))
		}
		if math.Abs(r-l.Residual) > 1e-3*r {
			t.Fatalf("query %d: R %v, Σ|x - G(z)| %v", i, l.Residual, r)
		}
	}
	ref := &Mapper{Model: m, Steps: 20, LR: 0.05, Batch: 2}
	refined, err := ref.Map(ctx, qs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range refined {
		if refined[i].Loss >= zero[i].Loss {
			t.Errorf("query %d: loss %v after 20 steps, %v at E(x)", i, refined[i].Loss, zero[i].Loss)
		}
	}
	alone, err := (&Mapper{Model: m, Steps: 20, LR: 0.05, Batch: 1}).Map(ctx, qs[3:4])
	if err != nil {
		t.Fatal(err)
	}
	for j, v := range alone[0].Z {
		if math.Abs(float64(v-refined[3].Z[j])) > 1e-4 {
			t.Fatalf("query 3 alone: z[%d] %v, in a batch %v", j, v, refined[3].Z[j])
		}
	}
	res, err := ref.Score(ctx, qs)
	if err != nil || res[0].Scores[score.A] != refined[0].Loss || res[0].Residual == nil {
		t.Fatalf("Score: %v, %v", err, res[0].Scores)
	}
}
