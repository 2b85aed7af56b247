package psp

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
)

// Generator is a frozen generator with intermediate latents W+.
type Generator interface {
	Size() int       // image side (28, 32 or 64)
	NumWs() int      // number of w inputs of the synthesis network
	WDim() int       // size of each w
	WAvg() []float32 // the mean w (a copy)
	// Synthesis builds the synthesis network on ws (shape [n, NumWs, WDim],
	// in ws's graph) with the weights as constants (the gradient flows to
	// ws only), returning the image node [n, 1, Size, Size], values in [-1, 1].
	Synthesis(ws *gorgonia.Node) (*gorgonia.Node, error)
}

// Config fixes the shape of the encoder.
type Config struct {
	// Size, NumWs and WDim are the generator's: the image side (28, 32 or
	// 64), the number of ws and the size of each.
	Size  int `json:"size"`
	NumWs int `json:"num_ws"`
	WDim  int `json:"w_dim"`
	// Width is the backbone's base channel width W: the fine, medium and
	// coarse stages have 2W, 4W and 8W channels, and the pyramid and the
	// map2style heads 8W (pSp: 128, 256, 512 and 512).
	Width int `json:"width"`
	// Blocks is the number of residual blocks per stage, the first of
	// which halves the resolution (pSp's IR-50: 3, 4, 14, 3 in four
	// stages).
	Blocks int `json:"blocks"`
}

// ConfigFor returns the configuration of an encoder for g with the given
// width and blocks per stage.
func ConfigFor(g Generator, width, blocks int) Config {
	return Config{Size: g.Size(), NumWs: g.NumWs(), WDim: g.WDim(), Width: width, Blocks: blocks}
}

// Validate reports whether c describes an encoder this package builds.
func (c Config) Validate() error {
	switch c.Size {
	case 28, 32, 64:
	default:
		return fmt.Errorf("psp: image size %d not supported (28, 32 or 64)", c.Size)
	}
	if c.NumWs < 3 || c.NumWs > 64 {
		return fmt.Errorf("psp: %d ws out of range [3, 64] (one coarse, medium and fine w at least)", c.NumWs)
	}
	if c.WDim < 1 || c.WDim > 1024 {
		return fmt.Errorf("psp: w size %d out of range [1, 1024]", c.WDim)
	}
	if c.Width < 1 || c.Width > 128 {
		return fmt.Errorf("psp: width %d out of range [1, 128]", c.Width)
	}
	if c.Blocks < 1 || c.Blocks > 8 {
		return fmt.Errorf("psp: %d blocks per stage out of range [1, 8]", c.Blocks)
	}
	return nil
}

// Check reports whether c fits the generator g: the same image side,
// number of ws and w size.
func (c Config) Check(g Generator) error {
	if g == nil {
		return fmt.Errorf("psp: no generator")
	}
	if g.Size() != c.Size || g.NumWs() != c.NumWs || g.WDim() != c.WDim {
		return fmt.Errorf("psp: the encoder %v is for %dx%d images and %d ws of %d values, the generator makes %dx%d images from %d ws of %d",
			c, c.Size, c.Size, c.NumWs, c.WDim, g.Size(), g.Size(), g.NumWs(), g.WDim())
	}
	return nil
}

// String names the configuration, e.g. "psp-32-n8-d64-w8-b1".
func (c Config) String() string {
	return fmt.Sprintf("psp-%d-n%d-d%d-w%d-b%d", c.Size, c.NumWs, c.WDim, c.Width, c.Blocks)
}

// Groups splits the ws between the pyramid's maps as pSp splits the 18 ws
// of a 1024-pixel StyleGAN2 (GradualStyleEncoder: ws 0-2 from the coarse
// map, 3-6 from the medium one, 7-17 from the fine one), scaled to NumWs:
// ws [0, coarse) come from the coarse map, [coarse, medium) from the
// medium one and [medium, NumWs) from the fine one, with
// coarse = round(3·NumWs/18) and medium = round(7·NumWs/18), each group
// holding one w at least. For 8 ws (32 pixels): 1, 2 and 5; for 10 ws (64
// pixels): 2, 2 and 6.
func (c Config) Groups() (coarse, medium int) {
	n := c.NumWs
	coarse = max(1, int(math.Round(3*float64(n)/18)))
	medium = max(coarse+1, int(math.Round(7*float64(n)/18)))
	medium = min(medium, n-1)
	return coarse, medium
}

// sides returns the sides of the fine, medium and coarse maps: S/2, S/4
// and S/8 rounded up (14, 7, 4 at 28 pixels), each a stride-2 3x3
// convolution with padding 1 of the one before.
func (c Config) sides() [3]int {
	var s [3]int
	h := c.Size
	for i := range s {
		h = (h-1)/2 + 1
		s[i] = h
	}
	return s
}

// stageChannels returns the channels of the fine, medium and coarse
// stages: 2W, 4W, 8W.
func (c Config) stageChannels() [3]int { return [3]int{2 * c.Width, 4 * c.Width, 8 * c.Width} }

// pyramidChannels is the channels of the pyramid's maps and of the heads:
// the coarse stage's, as in pSp (512).
func (c Config) pyramidChannels() int { return 8 * c.Width }

// headConvs returns the number of stride-2 convolutions that take a map
// of side s to 1x1: ceil(log2(s)).
func headConvs(s int) int {
	n := 0
	for s > 1 {
		s = (s-1)/2 + 1
		n++
	}
	return n
}

// level returns the map (0 fine, 1 medium, 2 coarse) that w i comes from.
func (c Config) level(i int) int {
	coarse, medium := c.Groups()
	switch {
	case i < coarse:
		return 2
	case i < medium:
		return 1
	}
	return 0
}
