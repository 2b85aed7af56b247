package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// naiveSgemm is the textbook triple loop that Sgemm must agree with.
func naiveSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
			}
			c[i*ldc+j] = alpha*float32(s) + beta*c[i*ldc+j]
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func TestSgemmMatchesNaive(t *testing.T) {
	const tol = 1e-4
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		m, n, k        int
		transA, transB bool
		alpha, beta    float32
		pad            int // extra columns in every leading dimension
	}{
		0: {m: 3, n: 4, k: 5, alpha: 1},
		1: {m: 7, n: 2, k: 9, transA: true, alpha: 2, beta: 0.5},
		2: {m: 5, n: 6, k: 3, transB: true, alpha: -1, beta: 1},
		3: {m: 33, n: 17, k: 65, transA: true, transB: true, alpha: 0.5, beta: -2, pad: 3},
		4: {m: 64, n: 100, k: 128, alpha: 1, pad: 1},
		5: {m: 4, n: 4, k: 0, alpha: 1, beta: 3},
	}
	for i, tc := range cases {
		rowsA, colsA := tc.m, tc.k
		if tc.transA {
			rowsA, colsA = tc.k, tc.m
		}
		rowsB, colsB := tc.k, tc.n
		if tc.transB {
			rowsB, colsB = tc.n, tc.k
		}
		lda, ldb, ldc := max(colsA, 1)+tc.pad, colsB+tc.pad, tc.n+tc.pad
		a := randSlice(rng, rowsA*lda)
		b := randSlice(rng, rowsB*ldb)
		c := randSlice(rng, tc.m*ldc)
		want := append([]float32(nil), c...)
		naiveSgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
		Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
		for j := range c {
			if d := math.Abs(float64(c[j] - want[j])); d > tol*(1+math.Abs(float64(want[j]))) {
				t.Fatalf("case %d: c[%d] = %v, want %v", i, j, c[j], want[j])
			}
		}
	}
}

func TestSgemmBetaZeroIgnoresNaN(t *testing.T) {
	a := []float32{1, 2}
	b := []float32{3, 4}
	c := []float32{float32(math.NaN())}
	Sgemm(false, false, 1, 1, 2, 1, a, 2, b, 1, 0, c, 1)
	if c[0] != 11 {
		t.Fatalf("c = %v, want 11", c[0])
	}
}

func TestSgemmPanicsOnCallerMistakes(t *testing.T) {
	a := make([]float32, 6)
	cases := []struct {
		name string
		call func()
	}{
		0: {"short a", func() { Sgemm(false, false, 3, 2, 3, 1, a, 3, a, 2, 0, a, 2) }},
		1: {"small lda", func() { Sgemm(false, false, 2, 2, 3, 1, a, 2, a, 2, 0, a, 2) }},
		2: {"negative size", func() { Sgemm(false, false, -1, 2, 3, 1, a, 3, a, 2, 0, a, 2) }},
		3: {"short c", func() { Sgemm(false, false, 2, 4, 1, 1, a, 1, a, 4, 0, a, 4) }},
	}
	for i, tc := range cases {
		func() {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.HasPrefix(msg, "blas: ") {
					t.Errorf("case %d (%s): recovered %v, want a \"blas: \" panic", i, tc.name, r)
				}
			}()
			tc.call()
		}()
	}
}

func TestThreads(t *testing.T) {
	old := Threads()
	defer SetThreads(old)
	SetThreads(1)
	if got := Threads(); got != 1 {
		t.Fatalf("Threads() = %d after SetThreads(1)", got)
	}
}

// BenchmarkSgemm2048 multiplies two 2048×2048 matrices and reports GFLOP/s
// (2·n³ floating-point operations per call).
func BenchmarkSgemm2048(b *testing.B) { benchmarkSgemm(b, 2048) }

func benchmarkSgemm(b *testing.B, n int) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := randSlice(rng, n*n)
	y := randSlice(rng, n*n)
	z := make([]float32, n*n)
	b.ResetTimer()
	for range b.N {
		Sgemm(false, false, n, n, n, 1, x, n, y, n, 0, z, n)
	}
	flops := 2 * float64(n) * float64(n) * float64(n) * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func ExampleSgemm() {
	// [1 2; 3 4] × [5; 6]
	a := []float32{1, 2, 3, 4}
	x := []float32{5, 6}
	y := make([]float32, 2)
	Sgemm(false, false, 2, 1, 2, 1, a, 2, x, 1, 0, y, 1)
	fmt.Println(y)
	// Output: [17 39]
}
