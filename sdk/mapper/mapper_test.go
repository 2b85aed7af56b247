package mapper

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dcgan"
)

const tol = 1e-3

func model(t *testing.T) *dcgan.Model {
	t.Helper()
	m, err := dcgan.New(dcgan.Config{Size: 28, Width: 4, Latent: 8}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func queries(n int) []data.Sample {
	rng := rand.New(rand.NewPCG(3, 3))
	out := make([]data.Sample, n)
	for i := range out {
		im := data.NewImage(28, 28)
		for j := range im.Pix {
			im.Pix[j] = float32(rng.Float64()*2 - 1)
		}
		out[i] = data.Sample{ID: fmt.Sprintf("q%d", i), Image: im}
	}
	return out
}

// TestBatchedEqualsOneByOne maps five queries in batches of 4 and one at a
// time: codes and losses must agree.
func TestBatchedEqualsOneByOne(t *testing.T) {
	m := model(t)
	qs := queries(5)
	for _, loss := range []Loss{FeatureMatching, Reference} {
		batched := &Iterative{Model: m, Steps: 20, Batch: 4, Loss: loss, Seed: 7, LR: 0.05}
		got, err := batched.Map(context.Background(), qs)
		if err != nil {
			t.Fatal(err)
		}
		single := &Iterative{Model: m, Steps: 20, Batch: 1, Loss: loss, Seed: 7, LR: 0.05}
		for i, q := range qs {
			one, err := single.Map(context.Background(), []data.Sample{q})
			if err != nil {
				t.Fatal(err)
			}
			if d := math.Abs(one[0].Loss - got[i].Loss); d > tol*math.Max(1, one[0].Loss) {
				t.Errorf("%v query %d: loss batched %v, alone %v", loss, i, got[i].Loss, one[0].Loss)
			}
			for j := range one[0].Z {
				if d := math.Abs(float64(one[0].Z[j] - got[i].Z[j])); d > tol {
					t.Fatalf("%v query %d: z[%d] batched %v, alone %v", loss, i, j, got[i].Z[j], one[0].Z[j])
				}
			}
		}
	}
}

// TestMappingLowersLoss checks that Γ steps lower Eq. (5) from its value
// at the initial code, keep z in [-1, 1], and report consistent numbers.
func TestMappingLowersLoss(t *testing.T) {
	m := model(t)
	qs := queries(3)
	start, err := (&Iterative{Model: m, Seed: 1}).mapNoSteps(qs)
	if err != nil {
		t.Fatal(err)
	}
	it := &Iterative{Model: m, Steps: 60, Seed: 1, LR: 0.05}
	got, err := it.Map(context.Background(), qs)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range got {
		if !(l.Loss < start[i].Loss) {
			t.Errorf("query %d: loss %v after mapping, %v before", i, l.Loss, start[i].Loss)
		}
		if want := 0.9*l.Residual + 0.1*l.Discrimination; math.Abs(want-l.Loss) > 1e-9*math.Max(1, want) {
			t.Errorf("query %d: loss %v, (1-λ)R+λD = %v", i, l.Loss, want)
		}
		r := 0.0
		for j, v := range qs[i].Image.Pix {
			r += math.Abs(float64(v - l.Recon.Pix[j]))
		}
		if math.Abs(r-l.Residual) > 1e-3*r {
			t.Errorf("query %d: residual %v, Σ|x-G(z)| of Recon %v", i, l.Residual, r)
		}
		for _, v := range l.Z {
			if v < -1 || v > 1 {
				t.Fatalf("query %d: z value %v outside [-1, 1]", i, v)
			}
		}
		if l.Steps != 60 {
			t.Errorf("query %d took %d steps, want 60", i, l.Steps)
		}
	}
}

// mapNoSteps evaluates the loss at the initial codes.
func (it *Iterative) mapNoSteps(qs []data.Sample) ([]Latent, error) {
	c := *it
	c.Steps, c.LR = 1, 1e-12 // one step that does not move z
	c.graphs = nil
	return c.Map(context.Background(), qs)
}

func TestEarlyStop(t *testing.T) {
	m := model(t)
	it := &Iterative{Model: m, Steps: 200, Tol: 0.5, Patience: 2, Seed: 1}
	got, err := it.Map(context.Background(), queries(2))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range got {
		if l.Steps >= 200 || l.Steps == 0 {
			t.Errorf("query %d took %d steps; early stop should end it well before 200", i, l.Steps)
		}
	}
}

func TestCancelAndBadInput(t *testing.T) {
	m := model(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&Iterative{Model: m, Steps: 5}).Map(ctx, queries(2)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled map: %v", err)
	}
	q := queries(1)
	q[0].Image = data.NewImage(32, 32)
	if _, err := (&Iterative{Model: m, Steps: 5}).Map(context.Background(), q); err == nil {
		t.Error("mapped a 32x32 query with a 28x28 model")
	}
}
