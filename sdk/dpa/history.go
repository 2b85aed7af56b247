package dpa

import (
	"fmt"
	"slices"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/figures"
)

// History is the training record: per step, the batch's mean relative
// perceptual loss, the growing level (its resolution) and the fade-in's α
// (1 in stabilisation phases). It is saved with the model and its
// checkpoints, so a resumed fit keeps the whole record.
type History struct {
	Loss, Res, Alpha []float32
}

// Steps is the number of steps recorded.
func (h *History) Steps() int { return len(h.Loss) }

func (h *History) add(loss float64, res int, alpha float64) {
	h.Loss = append(h.Loss, float32(loss))
	h.Res = append(h.Res, float32(res))
	h.Alpha = append(h.Alpha, float32(alpha))
}

const historyPrefix = "history."

func (h *History) addTo(c *checkpoint.Checkpoint) {
	if len(h.Loss) == 0 {
		return
	}
	c.Add(historyPrefix+"loss", h.Loss, len(h.Loss))
	c.Add(historyPrefix+"res", h.Res, len(h.Res))
	c.Add(historyPrefix+"alpha", h.Alpha, len(h.Alpha))
}

func restoreHistory(c *checkpoint.Checkpoint) (History, error) {
	var h History
	get := func(name string) []float32 {
		t, ok := c.Get(historyPrefix + name)
		if !ok {
			return nil
		}
		return slices.Clone(t.Data)
	}
	h.Loss, h.Res, h.Alpha = get("loss"), get("res"), get("alpha")
	if len(h.Res) != len(h.Loss) || len(h.Alpha) != len(h.Loss) {
		return History{}, fmt.Errorf("history of %d losses, %d resolutions and %d alphas", len(h.Loss), len(h.Res), len(h.Alpha))
	}
	return h, nil
}

// Table returns the history as a DataFrame: step (from 1), loss, res,
// alpha.
func (h *History) Table() dataframe.DataFrame {
	n := h.Steps()
	steps := make([]int, n)
	loss, res, alpha := make([]float64, n), make([]int, n), make([]float64, n)
	for i := range steps {
		steps[i], loss[i], res[i], alpha[i] = i+1, float64(h.Loss[i]), int(h.Res[i]), float64(h.Alpha[i])
	}
	return dataframe.New(series.New(steps, series.Int, "step"), series.New(loss, series.Float, "loss"),
		series.New(res, series.Int, "res"), series.New(alpha, series.Float, "alpha"))
}

// Figure draws the loss against the step, one line per growing
// resolution, each as its running mean over window steps.
func (h *History) Figure(title string, window int) (*figures.Figure, error) {
	if h.Steps() == 0 {
		return nil, fmt.Errorf("dpa: empty training history")
	}
	window = max(window, 1)
	var ss []figures.Series
	var cur *figures.Series
	sum, k := 0.0, 0
	for i, v := range h.Loss {
		if cur == nil || int(h.Res[i]) != int(h.Res[i-1]) {
			ss = append(ss, figures.Series{Name: fmt.Sprintf("%dx%d", int(h.Res[i]), int(h.Res[i]))})
			cur = &ss[len(ss)-1]
			sum, k = 0, 0
		}
		sum += float64(v)
		k++
		if k > window {
			sum -= float64(h.Loss[i-window])
			k = window
		}
		cur.X = append(cur.X, float64(i+1))
		cur.Y = append(cur.Y, sum/float64(k))
	}
	return figures.Lines(ss, title, "step", "L_rel")
}
