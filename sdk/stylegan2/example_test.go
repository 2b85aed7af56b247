package stylegan2_test

import (
	"fmt"

	"github.com/anogo/anogo/sdk/stylegan2"
)

// A model of the small setting at 32 pixels: its synthesis network takes
// eight ws (one per modulated convolution and the last toRGB layer), and
// G_ema samples grey images.
func Example() {
	s, _ := stylegan2.Setting("small")
	s.Model.Size = 32
	m, err := stylegan2.New(s.Model, 1)
	if err != nil {
		panic(err)
	}
	defer m.Close()
	imgs, err := m.Sample(2, 7)
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Model.Resolutions(), m.NumWs(), m.WDim(), len(imgs))
	// Output: [4 8 16 32] 8 32 2048
}
