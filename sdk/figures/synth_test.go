package figures

import (
	"math"
	"math/rand/v2"

	"github.com/anogo/anogo/sdk/data"
)

// scores returns n normal and n anomalous scores, the anomalous ones
// shifted by shift standard deviations, with their labels.
func scores(rnd *rand.Rand, n int, shift float64) ([]float64, []int) {
	s := make([]float64, 2*n)
	l := make([]int, 2*n)
	for i := range s {
		l[i] = i / n
		s[i] = rnd.NormFloat64() + shift*float64(l[i])
	}
	return s, l
}

// patch returns an h×w image of horizontal layers, like a flattened
// retina, and, if lesion, a dark round blob with its mask.
func patch(rnd *rand.Rand, h, w int, lesion bool) (x, mask *data.Image) {
	x, mask = data.NewImage(h, w), data.NewImage(h, w)
	phase := rnd.Float64() * 2 * math.Pi
	cy, cx, r := float64(h)*(0.3+0.4*rnd.Float64()), float64(w)*(0.3+0.4*rnd.Float64()), float64(h)/7
	for y := range h {
		for c := range w {
			v := 0.6*math.Sin(float64(y)/3+phase+0.2*math.Sin(float64(c)/9)) - 0.2 + 0.08*rnd.NormFloat64()
			if lesion && math.Hypot(float64(y)-cy, float64(c)-cx) < r {
				v, mask.Pix[y*w+c] = -0.95, 1
			}
			x.Set(y, c, float32(max(-1, min(1, v))))
		}
	}
	return x, mask
}

// fig3Column makes a column whose generated image is the query without
// its lesion, plus noise.
func fig3Column(rnd *rand.Rand, lesion bool) Fig3Column {
	x, mask := patch(rnd, 32, 32, lesion)
	g, res := data.NewImage(32, 32), data.NewImage(32, 32)
	for i, v := range x.Pix {
		gv := v
		if mask.Pix[i] > 0 {
			gv = 0.3
		}
		gv += float32(0.05 * rnd.NormFloat64())
		g.Pix[i] = gv
		res.Pix[i] = float32(math.Abs(float64(v - gv)))
	}
	var r float64
	for _, v := range res.Pix {
		r += float64(v)
	}
	col := Fig3Column{Query: x, Generated: g, Residual: res, R: r, D: r / 10}
	if lesion {
		col.Mask = mask
	}
	return col
}
