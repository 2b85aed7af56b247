package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	_ "go4.org/unsafe/assume-no-moving-gc"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

const tol = 1e-5

// TestAdamMatchesGorgonia checks that Adam takes the same steps as
// gorgonia's AdamSolver (v0.9.18, whose double-add bug is fixed) on the same
// gradients.
func TestAdamMatchesGorgonia(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n = 50
	w0 := make([]float32, n)
	for i := range w0 {
		w0[i] = float32(rng.NormFloat64())
	}
	ours := append([]float32(nil), w0...)
	theirs := tensor.New(tensor.WithShape(n), tensor.WithBacking(append([]float32(nil), w0...)))
	pair := &valueGrad{w: theirs}
	dv := []gorgonia.ValueGrad{pair}
	solver := gorgonia.NewAdamSolver(gorgonia.WithLearnRate(0.01), gorgonia.WithBeta1(0.5))
	a := NewAdam(0.01, 0.5)
	for step := 0; step < 20; step++ {
		g := make([]float32, n)
		for i := range g {
			g[i] = float32(rng.NormFloat64())
		}
		pair.g = tensor.New(tensor.WithShape(n), tensor.WithBacking(append([]float32(nil), g...)))
		if err := solver.Step(dv); err != nil {
			t.Fatal(err)
		}
		if err := a.Update([][]float32{ours}, [][]float32{g}); err != nil {
			t.Fatal(err)
		}
	}
	got := theirs.Data().([]float32)
	for i := range ours {
		if d := math.Abs(float64(ours[i] - got[i])); d > tol {
			t.Fatalf("weight %d: ours %v, gorgonia %v", i, ours[i], got[i])
		}
	}
}

// TestAdamFirstStep checks the first step against the closed form: with
// bias correction, the first step moves every weight by -lr·sign(g).
func TestAdamFirstStep(t *testing.T) {
	p := []float32{1, 1, 1}
	g := []float32{0.5, -2, 1e-3}
	a := NewAdam(0.1, 0.5)
	if err := a.Update([][]float32{p}, [][]float32{g}); err != nil {
		t.Fatal(err)
	}
	want := []float32{0.9, 1.1, 0.9}
	for i := range p {
		if math.Abs(float64(p[i]-want[i])) > 1e-4 {
			t.Errorf("weight %d: got %v, want %v", i, p[i], want[i])
		}
	}
}

// TestAdamBetas checks two steps with WGAN-GP's β1 = 0 and β2 = 0.9
// against Algorithm 1 computed by hand: with β1 = 0 the first moment is
// the last gradient.
func TestAdamBetas(t *testing.T) {
	a := NewAdamBetas(0.01, 0, 0.9)
	if a.Beta1 != 0 || a.Beta2 != 0.9 || a.Eps != 1e-8 {
		t.Fatalf("NewAdamBetas(0.01, 0, 0.9) = %+v", a)
	}
	p := []float32{1}
	g1, g2 := 0.5, -0.25
	for _, g := range []float64{g1, g2} {
		if err := a.Update([][]float32{p}, [][]float32{{float32(g)}}); err != nil {
			t.Fatal(err)
		}
	}
	// Step 1 moves by -lr·sign(g1); step 2 by -lr·g2/sqrt(v/(1-0.9²)).
	v := 0.9*0.1*g1*g1 + 0.1*g2*g2
	want := 1 - 0.01 - 0.01*g2/(math.Sqrt(v/(1-0.81))+1e-8)
	if math.Abs(float64(p[0])-want) > tol {
		t.Errorf("after two steps: %v, want %v", p[0], want)
	}
}

// TestUpdateRows checks that rows updated together take the same path as
// rows updated alone, that a row started later (after ResetRow) takes the
// path it would take alone from its own first step, and that rows with step
// 0 do not move.
func TestUpdateRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	const rows, rowLen, late = 3, 4, 4
	both := make([]float32, rows*rowLen)
	for i := range both {
		both[i] = float32(rng.Float64())
	}
	alone := append([]float32(nil), both[rowLen:2*rowLen]...)
	lateAlone := append([]float32(nil), both[:rowLen]...)
	frozen := append([]float32(nil), both[2*rowLen:]...)
	aBoth, aAlone, aLate := NewAdam(0.05, 0.9), NewAdam(0.05, 0.9), NewAdam(0.05, 0.9)
	for step := 1; step <= 10; step++ {
		g := make([]float32, rows*rowLen)
		for i := range g {
			g[i] = float32(rng.NormFloat64())
		}
		// Row 0 runs steps 1..late, then starts over from lateAlone's
		// values; row 1 runs throughout; row 2 never moves.
		steps := []int{step, step, 0}
		if step > late {
			steps[0] = step - late
		}
		if step == late+1 {
			copy(both[:rowLen], lateAlone)
			aBoth.ResetRow(0, rowLen)
		}
		if err := aBoth.UpdateRows(both, g, rowLen, steps); err != nil {
			t.Fatal(err)
		}
		if err := aAlone.UpdateRows(alone, append([]float32(nil), g[rowLen:2*rowLen]...), rowLen, []int{step}); err != nil {
			t.Fatal(err)
		}
		if step > late {
			if err := aLate.UpdateRows(lateAlone, append([]float32(nil), g[:rowLen]...), rowLen, []int{step - late}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range alone {
		if both[rowLen+i] != alone[i] {
			t.Fatalf("value %d: batched %v, alone %v", i, both[rowLen+i], alone[i])
		}
		if both[i] != lateAlone[i] {
			t.Fatalf("restarted row, value %d: batched %v, alone %v", i, both[i], lateAlone[i])
		}
	}
	for i := range frozen {
		if both[2*rowLen+i] != frozen[i] {
			t.Fatalf("row with step 0 moved at %d", i)
		}
	}
}

type valueGrad struct{ w, g *tensor.Dense }

func (p *valueGrad) Value() gorgonia.Value         { return p.w }
func (p *valueGrad) Grad() (gorgonia.Value, error) { return p.g, nil }
