package stylegan2

import (
	"fmt"
	"math"
)

// Constants of the reference code (stylegan2-ada-pytorch, training/networks.py
// and training/loss.py).
const (
	// Slope is the negative slope of every LeakyReLU (0.2); each is
	// followed by the gain √2.
	Slope = 0.2
	// Group is the group size of D's minibatch standard deviation (the
	// 'auto' configuration: min(batch, 4)), with one feature.
	Group = 4
	// LRMultiplier is the mapping network's learning-rate multiplier.
	LRMultiplier = 0.01
)

// Config fixes the shape of G and D.
type Config struct {
	// Size is the image side: 28 (synthesis from 7x7: 7, 14, 28), 32 or 64
	// (from 4x4).
	Size int `json:"size"`
	// Width is the number of channels at the image's resolution; it
	// doubles at every halving up to MaxChannels (the reference's
	// min(channel_base/res, channel_max)).
	Width int `json:"width"`
	// MaxChannels caps the channels; 0 means 8·Width.
	MaxChannels int `json:"max_channels"`
	// ZDim and WDim are the sizes of z and w (the reference: 512).
	ZDim int `json:"z_dim"`
	WDim int `json:"w_dim"`
	// MappingLayers is the depth of the mapping network (the reference's
	// 'auto' configuration for small data sets: 2).
	MappingLayers int `json:"mapping_layers"`
}

// Validate reports whether c describes networks this package builds.
func (c Config) Validate() error {
	switch c.Size {
	case 28, 32, 64:
	default:
		return fmt.Errorf("stylegan2: image size %d not supported (28, 32 or 64)", c.Size)
	}
	switch {
	case c.Width < 1 || c.Width > 1024:
		return fmt.Errorf("stylegan2: width %d out of range [1, 1024]", c.Width)
	case c.MaxChannels != 0 && (c.MaxChannels < c.Width || c.MaxChannels > 4096):
		return fmt.Errorf("stylegan2: max channels %d out of range [width %d, 4096]", c.MaxChannels, c.Width)
	case c.ZDim < 1 || c.ZDim > 4096 || c.WDim < 1 || c.WDim > 4096:
		return fmt.Errorf("stylegan2: z and w sizes %d, %d out of range [1, 4096]", c.ZDim, c.WDim)
	case c.MappingLayers < 1 || c.MappingLayers > 16:
		return fmt.Errorf("stylegan2: %d mapping layers out of range [1, 16]", c.MappingLayers)
	}
	return nil
}

// String names the configuration, e.g. "stylegan2-32-w8-c64-z64-w64-m2".
func (c Config) String() string {
	return fmt.Sprintf("stylegan2-%d-w%d-c%d-z%d-w%d-m%d", c.Size, c.Width, c.maxChannels(), c.ZDim, c.WDim, c.MappingLayers)
}

func (c Config) maxChannels() int {
	if c.MaxChannels == 0 {
		return 8 * c.Width
	}
	return c.MaxChannels
}

// Resolutions returns the synthesis network's resolutions from the first:
// 4, 8, ... up to the image size at 32 and 64 pixels, 7, 14, 28 at 28.
func (c Config) Resolutions() []int {
	r0 := 4
	if c.Size == 28 {
		r0 = 7
	}
	var rs []int
	for r := r0; r <= c.Size; r *= 2 {
		rs = append(rs, r)
	}
	return rs
}

// Channels returns the number of channels at resolution r:
// min(Width·Size/r, MaxChannels).
func (c Config) Channels(r int) int { return min(c.Width*c.Size/r, c.maxChannels()) }

// NumWs is the number of w inputs of the synthesis network, as the
// reference counts them: one per modulated convolution (one at the first
// resolution, two at every other) plus one for the last toRGB layer (each
// other toRGB layer shares the w of the next resolution's first
// convolution): 2·len(Resolutions()).
func (c Config) NumWs() int { return 2 * len(c.Resolutions()) }

// AutoGamma is the R1 weight of the reference's 'auto' configuration,
// 0.0002·Size²/batch (stylegan2-ada-pytorch, train.py).
func AutoGamma(size, batch int) float64 { return 0.0002 * float64(size*size) / float64(batch) }

var (
	sqrt2    = math.Sqrt2
	sqrtHalf = math.Sqrt(0.5)
)
