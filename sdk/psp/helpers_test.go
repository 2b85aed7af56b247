package psp

import (
	"fmt"
	"math/rand/v2"

	"github.com/anogo/anogo/sdk/data"
)

// samplesOf cuts n images of s×s values from x into samples with label.
func samplesOf(x []float32, n, s, label int) []data.Sample {
	out := make([]data.Sample, n)
	for i := range out {
		im := data.NewImage(s, s)
		copy(im.Pix, x[i*s*s:(i+1)*s*s])
		out[i] = data.Sample{ID: fmt.Sprint("img", i), Image: im, Label: label}
	}
	return out
}

func randn(rng *rand.Rand, n int, std float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(std * rng.NormFloat64())
	}
	return v
}
