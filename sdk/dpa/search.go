package dpa

import (
	"context"
	"fmt"
	"time"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/metrics"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/score"
)

// Grid is the hyperparameters Search tries, every combination; an empty
// list keeps the base settings' value.
type Grid struct {
	Layers  []string  `json:"layers,omitempty"`
	Latents []int     `json:"latents,omitempty"`
	LRs     []float64 `json:"lrs,omitempty"`
}

// DefaultGrid is the paper's search on our scale: the feature layer, the
// code's size and the learning rate (Sec. IV; the authors' configs).
func DefaultGrid() Grid {
	return Grid{Layers: []string{Relu22, Relu32}, Latents: []int{16, 64}, LRs: []float64{1e-3, 3e-4}}
}

// Trial is one point of the grid and its validation AUC.
type Trial struct {
	Layer  string  `json:"layer"`
	Latent int     `json:"latent"`
	LR     float64 `json:"lr"`
	ValAUC float64 `json:"val_auc"`
	FitS   float64 `json:"fit_s"`
}

// Choice is what Search chose and on what: saved with the model's
// settings.
type Choice struct {
	Trial
	// Normal and Anomalous count the validation samples the choice was
	// made on; Trials the grid's size.
	Normal, Anomalous, Trials int
}

// SearchResult is the outcome of Search.
type SearchResult struct {
	Trials []Trial
	Choice Choice
	// Best is the base settings with the chosen values and Chosen set.
	Best *Settings
}

// Table returns the trials as a DataFrame: layer, latent, lr, val_auc,
// fit_s.
func (r *SearchResult) Table() dataframe.DataFrame {
	n := len(r.Trials)
	layer, latent := make([]string, n), make([]int, n)
	lr, auc, fit := make([]float64, n), make([]float64, n), make([]float64, n)
	for i, t := range r.Trials {
		layer[i], latent[i], lr[i], auc[i], fit[i] = t.Layer, t.Latent, t.LR, t.ValAUC, t.FitS
	}
	return dataframe.New(series.New(layer, series.String, "layer"), series.New(latent, series.Int, "latent"),
		series.New(lr, series.Float, "lr"), series.New(auc, series.Float, "val_auc"), series.New(fit, series.Float, "fit_s"))
}

// Search chooses the feature layer, the code's size and the learning rate
// on the validation split d.Val, as the paper does (Sec. IV: a few
// anomalies of confined variability start the search of hyperparameters):
// for every point of grid it fits the autoencoder on d.Train with base's
// other settings and scores d.Val; the point of highest validation AUC
// wins (the first on ties). d.Test is never read. d.Val must hold both
// classes.
func Search(ctx context.Context, d *prep.Data, base *Settings, grid Grid, opt detector.FitOptions) (*SearchResult, error) {
	var labels []int
	nv, av := 0, 0
	for _, s := range d.Val {
		switch s.Label {
		case 0:
			nv++
		case 1:
			av++
		}
		labels = append(labels, s.Label)
	}
	if nv == 0 || av == 0 {
		return nil, fmt.Errorf("dpa: search: the validation split has %d normal and %d anomalous samples, it needs both", nv, av)
	}
	layers, latents, lrs := grid.Layers, grid.Latents, grid.LRs
	if len(layers) == 0 {
		layers = []string{base.Train.Layer}
	}
	if len(latents) == 0 {
		latents = []int{base.Model.Latent}
	}
	if len(lrs) == 0 {
		lrs = []float64{base.Train.LR}
	}
	res := &SearchResult{}
	best := -1
	for _, layer := range layers {
		for _, z := range latents {
			for _, lr := range lrs {
				s := *base
				s.Chosen = nil
				s.Train.Layer, s.Model.Latent, s.Train.LR = layer, z, lr
				det := &Detector{Settings: s}
				t0 := time.Now()
				if err := det.Fit(ctx, d, opt); err != nil {
					return nil, fmt.Errorf("dpa: search: layer %s, latent %d, lr %g: %w", layer, z, lr, err)
				}
				fit := time.Since(t0).Seconds()
				out, err := det.Score(ctx, d.Val)
				if err != nil {
					return nil, err
				}
				auc := metrics.AUC(score.Column(out, ColScore), labels)
				res.Trials = append(res.Trials, Trial{Layer: layer, Latent: z, LR: lr, ValAUC: auc, FitS: fit})
				if best < 0 || auc > res.Trials[best].ValAUC {
					best = len(res.Trials) - 1
				}
			}
		}
	}
	res.Choice = Choice{Trial: res.Trials[best], Normal: nv, Anomalous: av, Trials: len(res.Trials)}
	b := *base
	b.Train.Layer, b.Model.Latent, b.Train.LR = res.Choice.Layer, res.Choice.Latent, res.Choice.LR
	ch := res.Choice
	b.Chosen = &ch
	res.Best = &b
	return res, nil
}
