package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/anogo/anogo/sdk/data"
)

// Model is what the loop trains.
type Model interface {
	// Step runs one optimisation step on a batch of n images of
	// size×size values each, stored one after the other, and returns the
	// losses of that step by name.
	Step(batch []float32, n int) (map[string]float64, error)
	// Save writes a checkpoint of the model and the loop state st.
	Save(path string, st State) error
}

// State is the loop's position: Step optimisation steps have been taken,
// the current epoch is Epoch.
type State struct {
	Step  int    `json:"step"`
	Epoch int    `json:"epoch"`
	Seed  uint64 `json:"seed"`
}

// Info is what hooks receive after each step.
type Info struct {
	Step, Epoch int
	// Total is the number of steps the run will take.
	Total  int
	Losses map[string]float64
}

// String formats the losses as "name=value" pairs in name order.
func (in Info) String() string {
	names := make([]string, 0, len(in.Losses))
	for k := range in.Losses {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "step %d/%d epoch %d", in.Step, in.Total, in.Epoch)
	for _, k := range names {
		fmt.Fprintf(&b, " %s=%.4g", k, in.Losses[k])
	}
	return b.String()
}

// Hook is called after every step; an error stops the run.
type Hook func(Info) error

// Options are the loop's settings.
type Options struct {
	// Epochs is the number of passes over the training images (the
	// paper: 20). Ignored when Steps > 0.
	Epochs int
	// Steps, when positive, is the total number of steps to take.
	Steps int
	// BatchSize is the number of images per step (default 64). The last
	// incomplete batch of an epoch is dropped.
	BatchSize int
	// Seed fixes the order of the images in every epoch.
	Seed uint64
	// CheckpointPath and CheckpointEvery: when both are set, the model is
	// saved every CheckpointEvery steps and at the end.
	CheckpointPath  string
	CheckpointEvery int
	// Hooks are called after each step, in order.
	Hooks []Hook
}

// ErrNotFinite is wrapped by the error returned when a loss is NaN or Inf.
var ErrNotFinite = errors.New("loss is not finite")

// Total returns the number of steps a run over n images takes.
func (o Options) Total(n int) int {
	if o.Steps > 0 {
		return o.Steps
	}
	return o.Epochs * (n / o.batch())
}

func (o Options) batch() int {
	if o.BatchSize <= 0 {
		return 64
	}
	return o.BatchSize
}

// ErrInterrupted is wrapped, with the context's error, by the error Run
// returns when its context is cancelled.
var ErrInterrupted = errors.New("training interrupted")

// interrupted saves the state reached, when the run has a checkpoint path,
// and returns an error that says where it is.
func interrupted(m Model, opt Options, st State, total int, cause error) error {
	if opt.CheckpointPath == "" {
		return fmt.Errorf("train: %w at step %d of %d, with no checkpoint path (nothing saved): %w", ErrInterrupted, st.Step, total, cause)
	}
	if err := m.Save(opt.CheckpointPath, st); err != nil {
		return fmt.Errorf("train: %w at step %d of %d; saving it failed (%v), the last checkpoint is the one every %d steps in %s: %w",
			ErrInterrupted, st.Step, total, err, opt.CheckpointEvery, opt.CheckpointPath, cause)
	}
	return fmt.Errorf("train: %w at step %d of %d; saved to %s, from which it can resume: %w", ErrInterrupted, st.Step, total, opt.CheckpointPath, cause)
}

// Run trains m on images from state start (the zero State for a new run)
// until the run's total number of steps is reached, and returns the final
// state. Every image must have the same size. On cancellation it returns
// the state reached and an error wrapping ErrInterrupted and ctx's error,
// after saving that state to the checkpoint path (when there is one), so
// nothing is lost. While it runs it holds data.Lock on the checkpoint
// path: a second run writing the same path fails at once.
func Run(ctx context.Context, m Model, images []*data.Image, opt Options, start State) (State, error) {
	st := start
	if start.Step < 0 || start.Epoch < 0 {
		return st, fmt.Errorf("train: cannot resume from step %d, epoch %d (a damaged or edited checkpoint?)", start.Step, start.Epoch)
	}
	if start.Step > 0 && start.Seed != 0 && opt.Seed != 0 && start.Seed != opt.Seed {
		return st, fmt.Errorf("train: the checkpoint was trained with seed %d, this run has seed %d: its batches would differ", start.Seed, opt.Seed)
	}
	st.Seed = opt.Seed
	bs := opt.batch()
	if len(images) < bs {
		return st, fmt.Errorf("train: %d training images, fewer than one batch of %d", len(images), bs)
	}
	h, w := images[0].H, images[0].W
	for i, im := range images {
		if err := im.Check(fmt.Sprintf("training image %d", i)); err != nil {
			return st, fmt.Errorf("train: %w", err)
		}
		if im.H != h || im.W != w {
			return st, fmt.Errorf("train: training image %d is %dx%d, image 0 is %dx%d", i, im.H, im.W, h, w)
		}
	}
	perEpoch := len(images) / bs
	total := opt.Total(len(images))
	if opt.CheckpointPath != "" {
		unlock, err := data.Lock(opt.CheckpointPath)
		if err != nil {
			return st, fmt.Errorf("train: %w", err)
		}
		defer unlock()
	}
	batch := make([]float32, bs*h*w)
	var perm []int
	permEpoch := -1
	for st.Step < total {
		if err := ctx.Err(); err != nil {
			return st, interrupted(m, opt, st, total, err)
		}
		st.Epoch = st.Step / perEpoch
		if st.Epoch != permEpoch {
			perm = rand.New(rand.NewPCG(opt.Seed, uint64(st.Epoch))).Perm(len(images))
			permEpoch = st.Epoch
		}
		first := (st.Step % perEpoch) * bs
		for i := 0; i < bs; i++ {
			copy(batch[i*h*w:(i+1)*h*w], images[perm[first+i]].Pix)
		}
		losses, err := m.Step(batch, bs)
		if err != nil {
			return st, fmt.Errorf("train: step %d: %w", st.Step+1, err)
		}
		st.Step++
		for name, v := range losses {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return st, fmt.Errorf("train: step %d: %s = %v: %w", st.Step, name, v, ErrNotFinite)
			}
		}
		info := Info{Step: st.Step, Epoch: st.Epoch, Total: total, Losses: losses}
		for _, hook := range opt.Hooks {
			if err := hook(info); err != nil {
				return st, fmt.Errorf("train: step %d: hook: %w", st.Step, err)
			}
		}
		if opt.CheckpointPath != "" && opt.CheckpointEvery > 0 && st.Step%opt.CheckpointEvery == 0 && st.Step < total {
			if err := m.Save(opt.CheckpointPath, st); err != nil {
				return st, fmt.Errorf("train: step %d: %w", st.Step, err)
			}
		}
	}
	st.Epoch = (st.Step - 1) / perEpoch
	if opt.CheckpointPath != "" {
		if err := m.Save(opt.CheckpointPath, st); err != nil {
			return st, fmt.Errorf("train: step %d: %w", st.Step, err)
		}
	}
	return st, nil
}
