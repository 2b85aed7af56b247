package anogan

import (
	"context"
	"testing"

	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/mapper"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/train"
)

// TestDetectorResume: a fit of 6 steps resumed to 10 (detector.Resume)
// gives the model an uninterrupted fit of 10 steps gives.
func TestDetectorResume(t *testing.T) {
	ctx := context.Background()
	d, err := prep.Prepare(prep.Config{Data: "phantom:train=8,val=4,test=6", Size: 28, PatchSize: 32, PatchesPerImage: 4, TestPerClass: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	settings := func(steps int) *Settings {
		s := Small().Settings()
		s.Model.Width, s.Model.Latent, s.Train.BatchSize, s.Steps = 4, 8, 8, steps
		s.Mapping = mapper.Iterative{Steps: 3, LR: 0.05, Batch: 8, Seed: 1}
		return s
	}
	dir := t.TempDir()
	if _, err := detector.Fit(ctx, Method, settings(6), d, detector.FitOptions{CheckpointDir: dir}); err != nil {
		t.Fatal(err)
	}
	steps := 0
	count := func(train.Info) error { steps++; return nil }
	resumed, err := detector.Resume(ctx, Method, settings(10), d, detector.FitOptions{CheckpointDir: dir, Hooks: []train.Hook{count}})
	if err != nil {
		t.Fatal(err)
	}
	if steps != 4 {
		t.Errorf("the resumed fit took %d steps, want the 4 left", steps)
	}
	whole, err := detector.Fit(ctx, Method, settings(10), d, detector.FitOptions{CheckpointDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a := resumed.Detector.(*Detector).GAN.G.Values()
	b := whole.Detector.(*Detector).GAN.G.Values()
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				t.Fatalf("parameter %d[%d]: %v resumed, %v uninterrupted", i, j, a[i][j], b[i][j])
			}
		}
	}
	if _, err := detector.Resume(ctx, "acae", nil, d, detector.FitOptions{CheckpointDir: dir}); err == nil {
		t.Error("resuming the aCAE, which cannot resume, gave no error")
	}
}
