package tsne

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// blobs returns n points around -offset and n around +offset in d
// dimensions (unit Gaussian noise), with their blob labels.
func blobs(n, d int, offset float64, seed uint64) ([][]float64, []int) {
	rnd := rand.New(rand.NewPCG(seed, seed))
	var x [][]float64
	var labels []int
	for b := range 2 {
		for range n {
			row := make([]float64, d)
			for k := range row {
				row[k] = rnd.NormFloat64() + offset*float64(2*b-1)
			}
			x, labels = append(x, row), append(labels, b)
		}
	}
	return x, labels
}

var testOpts = Options{Perplexity: 10, Iterations: 300, Seed: 7}

func TestEmbedSeparatesBlobs(t *testing.T) {
	x, labels := blobs(40, 20, 3, 1)
	orig := slices.Clone(x[0])
	y, err := Embed(x, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x[0], orig) {
		t.Fatal("Embed modified its input")
	}
	if len(y) != len(x) {
		t.Fatalf("%d points out, %d in", len(y), len(x))
	}
	// Every point's nearest neighbour in the plane is from its own blob.
	for i := range y {
		best, bestD := -1, math.Inf(1)
		for j := range y {
			if j == i {
				continue
			}
			if d := dist2(y[i], y[j]); d < bestD {
				best, bestD = j, d
			}
		}
		if labels[best] != labels[i] {
			t.Errorf("point %d (blob %d): nearest neighbour %d is from blob %d", i, labels[i], best, labels[best])
		}
	}
	// The blobs are far apart compared with their spread.
	var c [2][2]float64
	var cnt [2]float64
	for i, p := range y {
		c[labels[i]][0] += p[0]
		c[labels[i]][1] += p[1]
		cnt[labels[i]]++
	}
	for b := range c {
		c[b][0] /= cnt[b]
		c[b][1] /= cnt[b]
	}
	var spread float64
	for i, p := range y {
		spread = max(spread, math.Sqrt(dist2(p, c[labels[i]])))
	}
	if gap := math.Sqrt(dist2(c[0], c[1])); gap < 2*spread {
		t.Errorf("centroids %.3g apart, but points lie up to %.3g from their centroid", gap, spread)
	}
}

func dist2(a, b [2]float64) float64 {
	d0, d1 := a[0]-b[0], a[1]-b[1]
	return d0*d0 + d1*d1
}

func TestEmbedSeed(t *testing.T) {
	x, _ := blobs(15, 5, 2, 2)
	opt := Options{Perplexity: 5, Iterations: 100, Seed: 3}
	a, err := Embed(x, opt)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Embed(x, opt)
	if !slices.Equal(a, b) {
		t.Error("the same seed gave different embeddings")
	}
	opt.Seed = 4
	c, _ := Embed(x, opt)
	if slices.Equal(a, c) {
		t.Error("different seeds gave the same embedding")
	}
}

// TestAffinitiesPerplexity checks that every row's conditional distribution
// has the requested perplexity and that P is a symmetric distribution.
func TestAffinitiesPerplexity(t *testing.T) {
	x, _ := blobs(20, 8, 1, 3)
	const perp = 7
	n := len(x)
	dist := sqDistances(x)
	row := make([]float64, n)
	for i := range n {
		conditional(dist[i*n:(i+1)*n], row, i, perp)
		var h float64
		for _, v := range row {
			if v > 0 {
				h -= v * math.Log(v)
			}
		}
		if got := math.Exp(h); math.Abs(got-perp) > 1e-3 {
			t.Errorf("row %d: perplexity %v, want %v", i, got, perp)
		}
	}
	p := affinities(dist, n, perp)
	var sum float64
	for i := range n {
		for j := range n {
			sum += p[i*n+j]
			if p[i*n+j] != p[j*n+i] {
				t.Fatalf("P is not symmetric at (%d, %d)", i, j)
			}
		}
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("P sums to %v, want 1", sum)
	}
	// Squared distances agree with a direct computation.
	var d float64
	for k := range x[0] {
		d += (x[3][k] - x[11][k]) * (x[3][k] - x[11][k])
	}
	if got := dist[3*n+11]; math.Abs(got-d) > 1e-9*d {
		t.Errorf("distance(3, 11) = %v, want %v", got, d)
	}
}

func TestEmbedErrors(t *testing.T) {
	ok := [][]float64{{0, 1}, {1, 0}, {2, 2}}
	for i, test := range []struct {
		x    [][]float64
		opt  Options
		want string
	}{
		0: {ok[:1], Options{}, "1 points, need at least 2"},
		1: {ok, Options{}, "perplexity 30 must be less than the number of points (3)"},
		2: {[][]float64{{0, 1}, {1}}, Options{Perplexity: 1}, "row 1 has 1 values, row 0 has 2"},
		3: {[][]float64{{0, 1}, {1, math.NaN()}}, Options{Perplexity: 1}, "row 1, column 1 is NaN"},
		4: {ok, Options{Perplexity: -1}, "perplexity -1 is negative"},
		5: {ok, Options{Perplexity: 1, Iterations: -5}, "iterations -5 is negative"},
		6: {[][]float64{{}, {}}, Options{Perplexity: 1}, "row 0 has no values"},
	} {
		_, err := Embed(test.x, test.opt)
		if err == nil || !strings.Contains(err.Error(), test.want) || !strings.HasPrefix(err.Error(), "tsne: ") {
			t.Errorf("case %d: error %v, want one containing %q", i, err, test.want)
		}
	}
}
