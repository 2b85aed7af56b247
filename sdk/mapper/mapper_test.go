package mapper

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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
	type variant struct {
		loss     Loss
		tol      float64
		restarts int
	}
	// The last two variants stop queries early and start each query from
	// two codes, so that slots are refilled mid-batch and the batch
	// shrinks at the end.
	for _, v := range []variant{{FeatureMatching, 0, 1}, {Reference, 0, 1}, {FeatureMatching, 0.01, 2}, {Reference, 0.01, 3}} {
		loss := v.loss
		batched := &Iterative{Model: m, Steps: 20, Batch: 4, Loss: loss, Seed: 7, LR: 0.05, Tol: v.tol, Patience: 2, Restarts: v.restarts}
		got, err := batched.Map(context.Background(), qs)
		if err != nil {
			t.Fatal(err)
		}
		single := &Iterative{Model: m, Steps: 20, Batch: 1, Loss: loss, Seed: 7, LR: 0.05, Tol: v.tol, Patience: 2, Restarts: v.restarts}
		if v.tol > 0 && !slices.ContainsFunc(got, func(l Latent) bool { return l.Steps < 20 }) {
			t.Errorf("%v: no query stopped early; the refill is not exercised", loss)
		}
		for i, q := range qs {
			one, err := single.Map(context.Background(), []data.Sample{q})
			if err != nil {
				t.Fatal(err)
			}
			if one[0].Steps != got[i].Steps || one[0].Restart != got[i].Restart {
				t.Errorf("%v query %d: batched took %d steps from start %d, alone %d from start %d", loss, i, got[i].Steps, got[i].Restart, one[0].Steps, one[0].Restart)
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

// TestRestarts checks that more starts never give a higher loss than the
// first start alone, and that the first start is the single-start mapping.
func TestRestarts(t *testing.T) {
	m := model(t)
	qs := queries(6)
	one, err := (&Iterative{Model: m, Steps: 15, Seed: 3, LR: 0.05}).Map(context.Background(), qs)
	if err != nil {
		t.Fatal(err)
	}
	three, err := (&Iterative{Model: m, Steps: 15, Seed: 3, LR: 0.05, Restarts: 3, Batch: 5}).Map(context.Background(), qs)
	if err != nil {
		t.Fatal(err)
	}
	better := 0
	for i := range qs {
		if three[i].ID != qs[i].ID {
			t.Fatalf("result %d is for %s, want %s", i, three[i].ID, qs[i].ID)
		}
		if three[i].Loss > one[i].Loss*(1+tol) {
			t.Errorf("query %d: loss %v with 3 starts, %v with 1", i, three[i].Loss, one[i].Loss)
		}
		if three[i].Restart == 0 && math.Abs(three[i].Loss-one[i].Loss) > tol*math.Max(1, one[i].Loss) {
			t.Errorf("query %d: start 0 gave loss %v, the single start %v", i, three[i].Loss, one[i].Loss)
		}
		if three[i].Restart > 0 {
			better++
		}
	}
	if better == 0 {
		t.Error("no query was improved by another start; the starts are not independent")
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

// TestProgress checks that Progress is called once per step and ends at the
// total, with and without early stops.
func TestProgress(t *testing.T) {
	m := model(t)
	for _, tol := range []float64{0, 0.5} {
		var calls, last, total int
		it := &Iterative{Model: m, Steps: 12, Batch: 2, Seed: 1, Tol: tol, Patience: 2, Restarts: 2,
			Progress: func(d, n int) {
				if d < last || d > n {
					t.Errorf("tol %v: progress %d of %d after %d", tol, d, n, last)
				}
				calls, last, total = calls+1, d, n
			}}
		if _, err := it.Map(context.Background(), queries(3)); err != nil {
			t.Fatal(err)
		}
		if total != 3*2*12 || last != total {
			t.Errorf("tol %v: progress ended at %d of %d, want %d of %d", tol, last, total, 72, 72)
		}
		if tol == 0 && calls != 3*12 {
			t.Errorf("%d progress calls, want one per step of the 3 batches of 2: 36", calls)
		}
	}
}

// TestReusedMapperFollowsItsSettings: a mapper reused after its Loss,
// Lambda or Model changed maps as a fresh mapper with the new settings
// does (its compiled graphs were once cached by batch size alone, so the
// reused one kept the old loss: 1.18 against 0.69).
func TestReusedMapperFollowsItsSettings(t *testing.T) {
	m := model(t)
	other, err := dcgan.New(m.Config, 2)
	if err != nil {
		t.Fatal(err)
	}
	qs := queries(3)
	reused := &Iterative{Model: m, Steps: 5, Batch: 4, Loss: FeatureMatching, Seed: 7, LR: 0.05}
	if _, err := reused.Map(context.Background(), qs); err != nil {
		t.Fatal(err)
	}
	for _, change := range []func(*Iterative){
		func(it *Iterative) { it.Loss = Reference },
		func(it *Iterative) { it.Loss, it.Lambda = FeatureMatching, 0.5 },
		func(it *Iterative) { it.NoLambda = true },
		func(it *Iterative) { it.Model = other },
	} {
		change(reused)
		fresh := &Iterative{Model: reused.Model, Steps: 5, Batch: 4, Loss: reused.Loss, Lambda: reused.Lambda, NoLambda: reused.NoLambda, Seed: 7, LR: 0.05}
		got, err := reused.Map(context.Background(), qs)
		if err != nil {
			t.Fatal(err)
		}
		want, err := fresh.Map(context.Background(), qs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i].Discrimination != want[i].Discrimination || !slices.Equal(got[i].Z, want[i].Z) {
				t.Fatalf("loss %v, λ %v (no λ %v): query %d: reused mapper gives D %v, a fresh one %v",
					reused.Loss, reused.Lambda, reused.NoLambda, i, got[i].Discrimination, want[i].Discrimination)
			}
		}
	}
}

func TestResolveLambda(t *testing.T) {
	for i, c := range []struct {
		lambda float64
		no     bool
		want   float64
	}{{0, false, DefaultLambda}, {0.3, false, 0.3}, {0.3, true, 0}, {0, true, 0}} {
		if got := ResolveLambda(c.lambda, c.no); got != c.want {
			t.Errorf("%d: ResolveLambda(%v, %v) = %v, want %v", i, c.lambda, c.no, got, c.want)
		}
	}
}
