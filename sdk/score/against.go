package score

import (
	"fmt"
	"math"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dcgan"
)

// Residual is Eq. (3) evaluated for a given reconstruction:
// R = Σ|x - recon| over the pixels. The mapper computes the same sum inside
// its graph for recon = G(z).
func Residual(x, recon *data.Image) float64 {
	var s float64
	for i, v := range x.Pix {
		s += math.Abs(float64(v - recon.Pix[i]))
	}
	return s
}

// Against scores each sample against a reconstruction that does not come
// from a mapping, such as the phantom's ideal one (phantom.Ideal): R by
// Eq. (3), D by Eq. (4) with the features f of m's discriminator in eval
// mode, A by Eq. (6) with λ = lambda. It answers "what would AnoGAN's
// scores be if G reproduced x's normal appearance as recon does".
// recons[i] must have the size of samples[i].Image and of the model.
func Against(m *dcgan.Model, samples []data.Sample, recons []*data.Image, lambda float64) ([]Result, error) {
	if m == nil {
		return nil, fmt.Errorf("score: no model")
	}
	if len(recons) != len(samples) {
		return nil, fmt.Errorf("score: %d reconstructions for %d samples", len(recons), len(samples))
	}
	xs := make([]*data.Image, len(samples))
	for i, s := range samples {
		if s.Image == nil || recons[i] == nil || s.Image.H != recons[i].H || s.Image.W != recons[i].W {
			return nil, fmt.Errorf("score: %s: reconstruction missing or of another size than the image", s.ID)
		}
		xs[i] = s.Image
	}
	_, fx, err := m.DiscriminateImages(xs)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	_, fr, err := m.DiscriminateImages(recons)
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	out := make([]Result, len(samples))
	for i, s := range samples {
		var d float64
		for k, v := range fx[i] {
			d += math.Abs(float64(v - fr[i][k]))
		}
		r := Residual(s.Image, recons[i])
		out[i] = Result{
			ID: s.ID, Label: s.Label,
			Scores: map[string]float64{R: r, D: d, A: Anomaly(r, d, lambda)},
			Recon:  recons[i], Residual: ResidualImage(s.Image, recons[i]),
			Query: s.Image, Mask: s.Mask,
		}
	}
	return out, nil
}
