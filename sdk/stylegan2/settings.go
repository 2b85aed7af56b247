package stylegan2

import "fmt"

// Settings are a model and its training; Model.Size is left to the
// caller (the data's image size).
type Settings struct {
	Model Config      `json:"model"`
	Train TrainConfig `json:"train"`
}

// Setting returns the named setting:
//
//   - "small": width 8 (at most 64 channels), z and w of 32, batches of
//     16, 300 steps: for tests and CI (seconds at 28 pixels);
//   - "demo": width 16 (at most 128 channels), z and w of 128, batches of
//     32, 5000 steps.
//
// Both have the reference's training settings (DefaultTrainConfig: Adam
// 0.0025, β = (0, 0.99), R1 'auto' every 16 steps, style mixing 0.9, the
// 'auto' G_ema) and its two mapping layers for small data sets.
func Setting(name string) (*Settings, error) {
	s := &Settings{Train: DefaultTrainConfig()}
	switch name {
	case "small", "":
		s.Model = Config{Width: 8, MaxChannels: 64, ZDim: 32, WDim: 32, MappingLayers: 2}
		s.Train.BatchSize, s.Train.Steps = 16, 300
	case "demo":
		s.Model = Config{Width: 16, MaxChannels: 128, ZDim: 128, WDim: 128, MappingLayers: 2}
		s.Train.BatchSize, s.Train.Steps = 32, 5000
	default:
		return nil, fmt.Errorf("stylegan2: unknown setting %q (small or demo)", name)
	}
	return s, nil
}
