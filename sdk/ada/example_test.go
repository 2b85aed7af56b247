package ada_test

import (
	"fmt"

	"github.com/anogo/anogo/sdk/ada"
)

// The tuning of p: a discriminator that is sure of every real image
// (r_t = 1 > 0.6) raises p by batch·Interval/(Kimg·1000) = 32·4/500000
// every 4 minibatches.
func ExamplePipeline_Observe() {
	a := ada.New(ada.Options{Seed: 1})
	logits := make([]float32, 32)
	for i := range logits {
		logits[i] = 3
	}
	for range 8 {
		a.Observe(logits)
	}
	fmt.Printf("p = %.6f, r_t = %.1f\n", a.P(), a.RT())
	// Output: p = 0.000512, r_t = 1.0
}

// A trainer's D step: draw one augmentation for the batch of reals, apply
// it, and take D's gradient with respect to the augmented images back to
// the reals.
func ExamplePipeline_Draw() {
	a := ada.New(ada.Options{P: 0.5, Seed: 1})
	const n, c, h, w = 4, 1, 8, 8
	reals := make([]float32, n*c*h*w)
	aug := a.Draw(n, c, h, w)
	seen := make([]float32, len(reals))
	aug.Apply(seen, reals) // D sees seen
	gSeen := make([]float32, len(seen))
	gReals := make([]float32, len(reals))
	aug.Backward(gReals, gSeen)
	fmt.Println(len(seen), len(gReals))
	// Output: 256 256
}
