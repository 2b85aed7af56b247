package anogan

import (
	"fmt"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dcgan"
	"github.com/anogo/anogo/sdk/figures"
	"github.com/anogo/anogo/sdk/metrics"
	"github.com/anogo/anogo/sdk/score"
	"github.com/anogo/anogo/sdk/tsne"
)

// Fig3 builds the paper's Figure 3: for normal training images, normal
// test images and anomalous test images, columns of query, generated image
// G(z_Γ), residual overlay and annotation, with bars for the decisions of
// the residual score and of the discrimination score at their Youden
// cut-offs on the test set. perBlock columns per block.
func Fig3(r *Report, perBlock int) (*figures.Figure, error) {
	labels := score.Labels(r.Test)
	rCut := metrics.Youden(score.Column(r.Test, score.R), labels).Threshold
	dCut := metrics.Youden(score.Column(r.Test, score.D), labels).Threshold
	pick := func(res []score.Result, label, n int) []figures.Fig3Column {
		var cols []figures.Fig3Column
		for _, x := range res {
			if x.Label != label || x.Recon == nil {
				continue
			}
			cols = append(cols, figures.Fig3Column{Query: x.Query, Generated: x.Recon, Residual: x.Residual, Mask: x.Mask,
				R: x.Scores[score.R], D: x.Scores[score.D]})
			if len(cols) == n {
				break
			}
		}
		return cols
	}
	var blocks []figures.Fig3Block
	for _, b := range []struct {
		title string
		res   []score.Result
		label int
	}{
		{"normal (train)", r.TrainScored, data.Normal},
		{"normal (test)", r.Test, data.Normal},
		{"anomalous (test)", r.Test, data.Anomalous},
	} {
		if cols := pick(b.res, b.label, perBlock); len(cols) > 0 {
			blocks = append(blocks, figures.Fig3Block{Title: b.title, Columns: cols, RCutoff: rCut, DCutoff: dCut})
		}
	}
	return figures.Fig3(blocks)
}

// Fig4a is the ROC of aCAE, GAN_R, AnoGAN and P_D.
func Fig4a(r *Report) (*figures.Figure, error) {
	var curves []figures.Curve
	for _, m := range Methods(r.Test) {
		curves = append(curves, figures.Curve{Name: m.Name, Scores: m.Scores, Labels: m.Labels})
	}
	return figures.ROC(curves, "Fig. 4a: anomaly detection, image level")
}

// Fig4b is the ROC of the residual score R, the discrimination score D and
// the reference discrimination score D̂.
func Fig4b(r *Report) (*figures.Figure, error) {
	labels := score.Labels(r.Test)
	return figures.ROC([]figures.Curve{
		{Name: "residual score R", Scores: score.Column(r.Test, score.R), Labels: labels},
		{Name: "discrimination score D", Scores: score.Column(r.Test, score.D), Labels: labels},
		{Name: "reference score D-hat", Scores: score.Column(r.Test, score.DRef), Labels: labels},
	}, "Fig. 4b: score components")
}

// Fig4Hist is Fig. 4c (col = score.R) or 4d (col = score.D): histograms of
// a score for normal training, normal test and anomalous test images.
func Fig4Hist(r *Report, col, title string) (*figures.Figure, error) {
	byLabel := func(res []score.Result, label int) []float64 {
		var v []float64
		for _, x := range res {
			if x.Label == label {
				v = append(v, x.Scores[col])
			}
		}
		return v
	}
	groups := []figures.Group{
		{Name: "normal (train)", Values: byLabel(r.TrainScored, data.Normal)},
		{Name: "normal (test)", Values: byLabel(r.Test, data.Normal)},
		{Name: "anomalous (test)", Values: byLabel(r.Test, data.Anomalous)},
	}
	var keep []figures.Group
	for _, g := range groups {
		if len(g.Values) > 0 {
			keep = append(keep, g)
		}
	}
	return figures.Histograms(keep, title, col)
}

// Features returns f(x), the discriminator's last-convolution features in
// eval mode, for each sample.
func Features(m *dcgan.Model, samples []data.Sample) ([][]float64, error) {
	ims := make([]*data.Image, len(samples))
	for i, s := range samples {
		ims[i] = s.Image
	}
	_, feats, err := m.DiscriminateImages(ims)
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(feats))
	for i, f := range feats {
		out[i] = make([]float64, len(f))
		for j, v := range f {
			out[i][j] = float64(v)
		}
	}
	return out, nil
}

// Fig2b is the t-SNE embedding of the discriminator's last-convolution
// features of the test samples, normal against anomalous.
func Fig2b(m *dcgan.Model, samples []data.Sample, seed uint64) (*figures.Figure, error) {
	f, err := Features(m, samples)
	if err != nil {
		return nil, err
	}
	// Perplexity 30 (the usual value) unless there are too few points.
	perp := min(30, float64(len(f)-1)/3)
	pts, err := tsne.Embed(f, tsne.Options{Perplexity: perp, Seed: seed})
	if err != nil {
		return nil, err
	}
	return figures.Scatter2D(pts, data.Labels(samples), "Fig. 2b: t-SNE of D's last-conv features")
}

// Figures writes Figures 2b, 3 and 4a-d of a report under dir, each as
// PNG, SVG and PDF, and for patch-based runs maps_anogan and maps_acae:
// whole test scans with every method's stitched anomaly map beside the
// annotation.
func Figures(r *Report, dir string) error {
	type fig struct {
		name string
		make func() (*figures.Figure, error)
	}
	for _, f := range []fig{
		{"fig2b_tsne", func() (*figures.Figure, error) { return Fig2b(r.GAN, r.Data.Test, r.Config.Seed) }},
		{"fig3_residuals", func() (*figures.Figure, error) { return Fig3(r, 4) }},
		{"fig4a_roc", func() (*figures.Figure, error) { return Fig4a(r) }},
		{"fig4b_roc_components", func() (*figures.Figure, error) { return Fig4b(r) }},
		{"fig4c_hist_residual", func() (*figures.Figure, error) {
			return Fig4Hist(r, score.R, "Fig. 4c: residual score")
		}},
		{"fig4d_hist_discrimination", func() (*figures.Figure, error) {
			return Fig4Hist(r, score.D, "Fig. 4d: discrimination score")
		}},
	} {
		fg, err := f.make()
		if err != nil {
			return fmt.Errorf("anogan: %s: %w", f.name, err)
		}
		if err := fg.Save(dir, f.name); err != nil {
			return fmt.Errorf("anogan: %s: %w", f.name, err)
		}
	}
	// Whole test scans: AnoGAN's and the aCAE's stitched maps beside the
	// annotations (patch-based runs).
	if r.Experiment != nil {
		for _, run := range r.Experiment.Runs {
			if len(run.Scans) == 0 {
				continue
			}
			fg, err := run.MapFigure(4)
			if err != nil {
				return fmt.Errorf("anogan: maps of %s: %w", run.Method, err)
			}
			if err := fg.Save(dir, "maps_"+run.Method); err != nil {
				return fmt.Errorf("anogan: maps of %s: %w", run.Method, err)
			}
		}
	}
	return nil
}
