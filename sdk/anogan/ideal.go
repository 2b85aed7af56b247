package anogan

import (
	"errors"
	"fmt"

	"github.com/anogo/anogo/datasets/patch"
	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dcgan"
	"github.com/anogo/anogo/sdk/score"
)

// ErrNoIdeal is Ideal's error for data whose source has no ideal
// reconstructions (every source but the phantom, flattened scans too); Run
// then skips Config.Ideal.
var ErrNoIdeal = errors.New("anogan: the source knows no ideal reconstruction of its images (only the phantom, unflattened, does)")

// Idealer is implemented by sources that know the ideal reconstruction of
// their images: what a perfect model of normal appearance would give for
// them (the phantom's scan without speckle, its lesions healed:
// phantom.Ideal).
type Idealer interface {
	Ideal(data.Sample) (*data.Image, error)
}

// Ideal scores the test samples of d against their ideal reconstruction
// instead of G(z): R (Eq. 3), D (Eq. 4, with the features of m's
// discriminator) and A (Eq. 6, with the mapping's λ), as AnoGAN would score
// them if its generator and mapping were perfect: the ceiling of the
// paper's scores on the source, since no model can reconstruct speckle it
// has not seen. d must come from Prepare (or PrepareSource) with cfg, from
// a source that is an Idealer (the phantom; not flattened): otherwise the
// error is ErrNoIdeal.
func Ideal(cfg Config, d *Data, m *dcgan.Model) ([]score.Result, error) {
	id, ok := d.Source.(Idealer)
	if !ok {
		return nil, ErrNoIdeal
	}
	test := d.Test
	var err error
	// Each scan's ideal image once.
	type cut struct {
		parent string
		y, x   int
	}
	cuts := make([]cut, len(test))
	ideal := map[string]*data.Image{}
	for i, s := range test {
		c := cut{parent: s.ID}
		if cfg.PatchSize > 0 {
			if c.parent, c.y, c.x, err = patch.ParseID(s.ID); err != nil {
				return nil, fmt.Errorf("anogan: %w", err)
			}
		}
		cuts[i] = c
		if ideal[c.parent] == nil {
			if ideal[c.parent], err = id.Ideal(data.Sample{ID: c.parent}); err != nil {
				return nil, fmt.Errorf("anogan: %w", err)
			}
		}
	}
	size := cfg.Model.Size
	recons := make([]*data.Image, len(test))
	for i, c := range cuts {
		im := ideal[c.parent]
		if cfg.PatchSize > 0 {
			p, err := patch.Cut(data.Sample{ID: c.parent, Image: im}, c.y, c.x, cfg.PatchSize, size)
			if err != nil {
				return nil, fmt.Errorf("anogan: %w", err)
			}
			im = p.Image
		} else if im.H != size || im.W != size {
			im = patch.Resize(im, size, size)
		}
		recons[i] = im
	}
	return score.Against(m, test, recons, cfg.Mapping.EffectiveLambda())
}
