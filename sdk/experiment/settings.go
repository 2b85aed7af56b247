package experiment

import (
	"fmt"
	"strings"

	"github.com/anogo/anogo/sdk/prep"
)

// DataSetting returns the data preparation of a named setting for src:
//
//   - the phantom (and any source with a region of interest named
//     "phantom..."): patches inside the retina as AnoGAN's experiment cuts
//     them: small 32-pixel patches shrunk to 28, 8 per training scan, 48 +
//     48 test patches; demo 32 at 32, 32 per scan, 150 + 150; paper the
//     paper's 64x64 patches, 64 per scan, 500 + 500;
//   - every other source: whole images at 28x28 (MedMNIST's and
//     Fashion-MNIST's size); small at most 2000 training images and a
//     balanced test set of 100 + 100, demo 500 + 500, paper the whole
//     test split.
//
// Every setting takes the validation split of prep's defaults (64 normal,
// 16 anomalous) and, for patches, 4 + 4 whole test scans for the pixel
// level.
func DataSetting(setting, src string) (prep.Config, error) {
	c := prep.Config{Data: src, Seed: 1}
	phantom := src == "phantom" || strings.HasPrefix(src, "phantom:")
	switch setting {
	case "small", "":
		if phantom {
			c.Size, c.PatchSize, c.PatchesPerImage, c.TestPerClass = 28, 32, 8, 48
		} else {
			c.Size, c.MaxTrain, c.TestPerClass = 28, 2000, 100
		}
	case "demo":
		if phantom {
			c.Size, c.PatchSize, c.PatchesPerImage, c.TestPerClass = 32, 32, 32, 150
		} else {
			c.Size, c.TestPerClass = 28, 500
		}
	case "paper":
		if phantom {
			c.Size, c.PatchSize, c.PatchesPerImage, c.TestPerClass = 64, 64, 64, 500
		} else {
			c.Size = 28
		}
	default:
		return c, fmt.Errorf("experiment: unknown setting %q (small, demo or paper)", setting)
	}
	return c, nil
}
