package patch_test

import (
	"fmt"

	"github.com/anogo/anogo/datasets/patch"
	"github.com/anogo/anogo/datasets/phantom"
	"github.com/anogo/anogo/sdk/data"
)

func ExampleAggregate() {
	scores := []float64{0.2, 0.9, 0.4, 0.7}
	for _, how := range []string{"max", "mean", "topk-mean:2"} {
		s, _ := patch.Aggregate(scores, how)
		fmt.Printf("%s %.2f\n", how, s)
	}
	// Output:
	// max 0.90
	// mean 0.55
	// topk-mean:2 0.80
}

// A patch model scores a test image through a grid: score each patch, then
// stitch the patch maps into an image map and aggregate the patch scores.
func ExampleStitch() {
	img := data.NewImage(128, 256)
	patches := patch.Grid(img, 64, 32)
	maps := make([]*data.Image, len(patches))
	for j, p := range patches {
		maps[j] = data.NewImage(32, 32) // a model run on 32x32 shrunken patches
		for k := range maps[j].Pix {
			maps[j].Pix[k] = float32(p.X) / 256
		}
	}
	m := patch.Stitch(img.H, img.W, patches, maps)
	fmt.Println(len(patches), "patches")
	// Column 100 lies in the patches at x = 64 and x = 96: (0.25 + 0.375) / 2.
	fmt.Printf("map at column 0: %.4f, at column 100: %.4f\n", m.At(0, 0), m.At(0, 100))
	// Output:
	// 21 patches
	// map at column 0: 0.0000, at column 100: 0.3125
}

func ExampleNewSource() {
	src, err := phantom.Open("train=4,val=0,test=4")
	if err != nil {
		fmt.Println(err)
		return
	}
	// 64x64 regions inside the retina, shrunk to 32x32, 8 per scan.
	patches := patch.NewSource(src, patch.Options{Size: 64, Resize: 32, K: 8, Seed: 1, InROI: true})
	train, err := data.Collect(patches, data.Train, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(train), "training patches of", train[0].Image.W, "x", train[0].Image.H)
	// Output:
	// 32 training patches of 32 x 32
}
