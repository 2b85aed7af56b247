package train

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/figures"
)

// History is the record of one training stage: every loss each step
// reported (loss_g only at generator steps), by name. It is saved with the
// model and its checkpoints, so a resumed fit keeps the whole record.
type History struct {
	// Steps is the number of steps recorded.
	Steps  int
	Losses map[string]Curve
}

// Curve is one loss over training: Value[i] at step Step[i] (from 1).
type Curve struct {
	Step  []int
	Value []float32
}

// Add records the losses of the next step; values that are not finite
// (which stop the run) are left out.
func (h *History) Add(losses map[string]float64) {
	if h.Losses == nil {
		h.Losses = map[string]Curve{}
	}
	h.Steps++
	for name, v := range losses {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		c := h.Losses[name]
		c.Step, c.Value = append(c.Step, h.Steps), append(c.Value, float32(v))
		h.Losses[name] = c
	}
}

// Names returns the losses recorded, in name order.
func (h *History) Names() []string {
	names := make([]string, 0, len(h.Losses))
	for k := range h.Losses {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// AddTo adds the history to c under prefix: the step count, and per loss
// its values and their steps (float32 holds steps exactly below 2^24).
func (h *History) AddTo(c *checkpoint.Checkpoint, prefix string) {
	if h.Steps == 0 {
		return
	}
	c.Add(prefix+"steps", []float32{float32(h.Steps)}, 1)
	for _, name := range h.Names() {
		cv := h.Losses[name]
		st := make([]float32, len(cv.Step))
		for i, s := range cv.Step {
			st[i] = float32(s)
		}
		c.Add(prefix+"value."+name, cv.Value, len(cv.Value))
		c.Add(prefix+"step."+name, st, len(st))
	}
}

// RestoreHistory reads the history saved under prefix (none: an empty
// one), checking that every loss has a step per value, increasing, within
// the step count.
func RestoreHistory(c *checkpoint.Checkpoint, prefix string) (History, error) {
	var h History
	t, ok := c.Get(prefix + "steps")
	if !ok {
		return h, nil
	}
	if len(t.Data) != 1 || t.Data[0] < 0 || t.Data[0] >= 1<<24 || t.Data[0] != float32(int(t.Data[0])) {
		return h, fmt.Errorf("history %q holds %v, not a step count", t.Name, t.Data)
	}
	h.Steps, h.Losses = int(t.Data[0]), map[string]Curve{}
	for _, t := range c.Tensors {
		name, ok := strings.CutPrefix(t.Name, prefix+"value.")
		if !ok {
			continue
		}
		st, ok := c.Get(prefix + "step." + name)
		if !ok || len(st.Data) != len(t.Data) {
			return History{}, fmt.Errorf("history of %q: %d values and no matching steps", name, len(t.Data))
		}
		cv := Curve{Value: slices.Clone(t.Data), Step: make([]int, len(st.Data))}
		prev := 0
		for i, s := range st.Data {
			if s != float32(int(s)) || int(s) <= prev || int(s) > h.Steps {
				return History{}, fmt.Errorf("history of %q: step %v at %d after %d (of %d)", name, s, i, prev, h.Steps)
			}
			cv.Step[i], prev = int(s), int(s)
		}
		h.Losses[name] = cv
	}
	return h, nil
}

// Table returns the history as a DataFrame: a step column (from 1) and one
// column per loss, NaN at steps that did not compute it.
func (h *History) Table() dataframe.DataFrame {
	steps := make([]int, h.Steps)
	for i := range steps {
		steps[i] = i + 1
	}
	cols := []series.Series{series.New(steps, series.Int, "step")}
	for _, name := range h.Names() {
		v := make([]float64, h.Steps)
		for i := range v {
			v[i] = math.NaN()
		}
		cv := h.Losses[name]
		for i, s := range cv.Step {
			v[s-1] = float64(cv.Value[i])
		}
		cols = append(cols, series.New(v, series.Float, name))
	}
	return dataframe.New(cols...)
}

// Figure draws the losses named (all when none are) against the step, each
// as its running mean over window recorded values (1: the raw values).
func (h *History) Figure(title string, window int, names ...string) (*figures.Figure, error) {
	if len(names) == 0 {
		names = h.Names()
	}
	window = max(window, 1)
	var ss []figures.Series
	for _, name := range names {
		cv, ok := h.Losses[name]
		if !ok {
			return nil, fmt.Errorf("train: the history has no loss %q (it has %v)", name, h.Names())
		}
		x, y := make([]float64, len(cv.Step)), make([]float64, len(cv.Step))
		sum := 0.0
		for i, v := range cv.Value {
			sum += float64(v)
			if i >= window {
				sum -= float64(cv.Value[i-window])
			}
			x[i], y[i] = float64(cv.Step[i]), sum/float64(min(i+1, window))
		}
		label := name
		if window > 1 {
			label = fmt.Sprintf("%s (mean of %d)", name, window)
		}
		ss = append(ss, figures.Series{Name: label, X: x, Y: y})
	}
	return figures.Lines(ss, title, "step", "loss")
}
