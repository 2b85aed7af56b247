package notebooks

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"github.com/anogo/anogo/sdk/anogan"
	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/detector"
	_ "github.com/anogo/anogo/sdk/detector/all" // every method
	"github.com/anogo/anogo/sdk/display"
	"github.com/anogo/anogo/sdk/experiment"
	"github.com/anogo/anogo/sdk/figures"
	"github.com/anogo/anogo/sdk/train"
)

// SettingEnv is the environment variable that chooses the setting of every
// notebook: "small" (the default: minutes on two cores) or "paper" (the
// paper's sizes: hours on a CPU). kernel/run_notebooks.py sets it.
const SettingEnv = "ANOGO_SETTING"

// module is the module path whose go.mod marks the repository root.
const module = "github.com/anogo/anogo"

// Setting returns the value of ANOGO_SETTING, "small" when it is unset or
// empty.
func Setting() string {
	if s := os.Getenv(SettingEnv); s != "" {
		return s
	}
	return "small"
}

// Root returns the repository root: the nearest folder, starting at the
// notebook's folder (GONB_DIR, set by the GoNB kernel) or else the working
// directory, whose go.mod declares the module github.com/anogo/anogo. When
// there is none it returns the parent of the starting folder, which is the
// root for a notebook of notebooks/.
func Root() string {
	start := os.Getenv("GONB_DIR")
	if start == "" {
		start, _ = os.Getwd()
	}
	start, _ = filepath.Abs(start)
	for dir := start; ; {
		if isRoot(dir) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return filepath.Dir(start)
		}
		dir = parent
	}
}

// isRoot reports whether dir/go.mod declares the anogo module.
func isRoot(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "module" {
			return f[1] == module
		}
	}
	return false
}

// Out returns the path of elem under the repository's out/ folder, e.g.
// Out("figures") for out/figures.
func Out(elem ...string) string {
	return filepath.Join(append([]string{Root(), "out"}, elem...)...)
}

// FiguresDir is the folder of every figure and table the notebooks write:
// out/figures.
func FiguresDir() string { return Out("figures") }

// Config returns the experiment setting named by ANOGO_SETTING
// (anogan.Setting) with its models kept in out/models/<name>-<setting> and
// reused from there: the first notebook cell that runs the experiment
// trains, every later run (of that cell, a later cell or another notebook
// with the same name and settings) loads the models instead. Notebooks that
// share name and settings share one trained model.
func Config(name string) (anogan.Config, error) {
	cfg, err := anogan.Setting(Setting())
	if err != nil {
		return cfg, fmt.Errorf("notebooks: %s: %w", SettingEnv, err)
	}
	cfg.Out = Out("models", name+"-"+Setting())
	cfg.Reuse = true
	return cfg, nil
}

// Progress returns a training hook that draws a live progress bar
// (display.Progress): a new bar for each training run the hook sees, labelled
// with labels in order ("run 3" when they run out). anogan.Run trains the
// DCGAN, then the aCAE, so Progress("DCGAN", "aCAE") labels both. A run
// starts when the step does not follow the previous one; its bar is
// finished at its last step. Outside a notebook the bar is a line of text on
// standard error.
func Progress(labels ...string) train.Hook {
	var (
		bar  *display.Progress
		runs int
		last int
	)
	return func(in train.Info) error {
		if bar == nil || in.Step <= last {
			if bar != nil {
				bar.Done()
			}
			label := fmt.Sprintf("run %d", runs+1)
			if runs < len(labels) {
				label = labels[runs]
			}
			bar = display.NewProgress(in.Total, label)
			runs++
		}
		last = in.Step
		bar.Update(in.Step, in.Losses)
		if in.Step >= in.Total {
			bar.Done()
			bar = nil
		}
		return nil
	}
}

// cssPixelsPerPoint converts a figure's size in points to CSS pixels
// (96 per inch, 72 points per inch).
const cssPixelsPerPoint = 96.0 / 72.0

// Show saves fig under dir as name.png, name.svg and name.pdf (Figure.Save)
// and shows its PNG inline at the figure's printed size. Outside a notebook
// it only saves.
func Show(fig *figures.Figure, dir, name string) error {
	if fig == nil {
		return fmt.Errorf("notebooks: Show %q: nil figure", name)
	}
	if err := fig.Save(dir, name); err != nil {
		return err
	}
	if !display.IsNotebook() {
		return nil
	}
	var buf bytes.Buffer
	if err := fig.Encode(&buf, "png"); err != nil {
		return fmt.Errorf("notebooks: Show %q: %w", name, err)
	}
	display.HTML(imgHTML(buf.Bytes(), name, float64(fig.Width.Points())*cssPixelsPerPoint))
	return nil
}

// imgHTML returns an <img> element holding png, width CSS pixels wide.
func imgHTML(png []byte, alt string, width float64) string {
	return fmt.Sprintf(`<img src="data:image/png;base64,%s" alt="%s" width="%d">`,
		base64.StdEncoding.EncodeToString(png), html.EscapeString(alt), int(math.Round(width)))
}

// Titled is a table with a title above it.
type Titled struct {
	Title string
	Table dataframe.DataFrame
}

// BesideHTML returns tables side by side, each under its title, as HTML
// (tables as display.TableHTML draws them).
func BesideHTML(tables ...Titled) string {
	var b strings.Builder
	b.WriteString(`<div style="display:flex;flex-wrap:wrap;gap:2em;align-items:flex-start">` + "\n")
	for _, t := range tables {
		b.WriteString("<div><p><b>")
		b.WriteString(html.EscapeString(t.Title))
		b.WriteString("</b></p>\n")
		b.WriteString(display.TableHTML(t.Table))
		b.WriteString("</div>\n")
	}
	b.WriteString("</div>\n")
	return b.String()
}

// ShowBeside shows tables side by side (see BesideHTML).
func ShowBeside(tables ...Titled) { display.HTML(BesideHTML(tables...)) }

// Images returns the images of the first n samples (all when n <= 0 or
// there are fewer), for display.Images.
func Images(samples []data.Sample, n int) []*data.Image {
	if n <= 0 || n > len(samples) {
		n = len(samples)
	}
	out := make([]*data.Image, n)
	for i, s := range samples[:n] {
		out[i] = s.Image
	}
	return out
}

// Check ends a notebook cell when err is not nil: it prints err on standard
// error and exits with status 1, which GoNB reports as the cell's error (and
// kernel/run_notebooks.py as a failed notebook). For notebook cells only;
// library code returns errors.
func Check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// Must returns v, or ends the notebook cell like Check when err is not nil:
// r := notebooks.Must(anogan.Run(ctx, cfg)).
func Must[T any](v T, err error) T {
	Check(err)
	return v
}

// Head returns the first n rows of df (all of them when it has fewer).
func Head(df dataframe.DataFrame, n int) dataframe.DataFrame {
	if df.Err != nil || df.Nrow() <= n {
		return df
	}
	idx := make([]int, max(n, 0))
	for i := range idx {
		idx[i] = i
	}
	return df.Subset(idx)
}

// PaperTable1 returns Table 1 of Schlegl et al. (2017), "Unsupervised
// anomaly detection with generative adversarial networks to guide marker
// discovery", measured on the authors' private OCT data (not available to
// anyone else): precision, recall, sensitivity and specificity at the
// Youden cut-off, and the AUC, with the columns and method names of
// anogan.Table1.
func PaperTable1() dataframe.DataFrame {
	return dataframe.New(
		series.New([]string{"AnoGAN", "GAN_R", "P_D", "aCAE"}, series.String, "method"),
		series.New([]float64{0.8834, 0.8482, 0.8471, 0.7005}, series.Float, "precision"),
		series.New([]float64{0.7277, 0.7631, 0.5119, 0.7009}, series.Float, "recall"),
		series.New([]float64{0.7279, 0.7634, 0.5124, 0.7011}, series.Float, "sensitivity"),
		series.New([]float64{0.8928, 0.8477, 0.8970, 0.6659}, series.Float, "specificity"),
		series.New([]float64{0.89, 0.88, 0.72, 0.73}, series.Float, "auc"),
	)
}

// FashionMNISTClasses are the names of Fashion-MNIST's ten classes, by label.
var FashionMNISTClasses = [10]string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// GEOMFashionMNIST is the published image-level AUROC (in %) of GEOM
// (Golan and El-Yaniv 2018, "Deep anomaly detection using geometric
// transformations"), a self-supervised method, on Fashion-MNIST with one
// class normal and the nine others anomalous, by normal class; mean 93.5.
var GEOMFashionMNIST = [10]float64{99.4, 97.6, 91.1, 89.9, 92.1, 93.4, 83.3, 98.9, 90.8, 99.2}

// Compare returns the comparison of the notebook 300_compare: methods (all
// registered ones when none is named) on src in the setting of
// ANOGO_SETTING (experiment.DataSetting; "paper" for the paper's sizes),
// with live progress bars for every training stage and for scoring, and
// the models kept in out/models/compare-<setting>/<data set>[-class] and
// reused from there.
func Compare(src string, methods ...string) (experiment.Config, error) {
	d, err := experiment.DataSetting(Setting(), src)
	if err != nil {
		return experiment.Config{}, fmt.Errorf("notebooks: %s: %w", SettingEnv, err)
	}
	if len(methods) == 0 {
		methods = detector.Names()
	}
	dataset, class := experiment.Names(src)
	if class != "" {
		dataset += "-class" + class
	}
	bars := map[string]*display.Progress{}
	return experiment.Config{
		Data: d, Methods: methods, Setting: Setting(),
		Out: Out("models", "compare-"+Setting(), dataset), Reuse: true,
		Progress: func(stage string) []train.Hook { return []train.Hook{Progress(stage)} },
		ScoreProgress: func(label string, done, total int) {
			if bars[label] == nil {
				bars[label] = display.NewProgress(total, "scoring "+label)
			}
			bars[label].Update(done, nil)
			if done == total {
				bars[label].Done()
				delete(bars, label)
			}
		},
	}, nil
}

// Methods returns the registered methods as a table: name and summary.
func Methods() dataframe.DataFrame {
	var names, sums []string
	for _, m := range detector.Methods() {
		names, sums = append(names, m.Name), append(sums, m.Summary)
	}
	return dataframe.New(series.New(names, series.String, "method"), series.New(sums, series.String, "summary"))
}

// FashionMNIST returns the source of Fashion-MNIST with class k normal, from
// $ANOGO_FMNIST_DIR or Debian's dataset-fashion-mnist, and false when its
// files are not there.
func FashionMNIST(k int) (string, bool) {
	dir := os.Getenv("ANOGO_FMNIST_DIR")
	if dir == "" {
		dir = "/usr/share/datasets/fashion-mnist"
	}
	for _, f := range []string{"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return fmt.Sprintf("idx:%s:class=%d", dir, k), true
		}
	}
	return "", false
}

// Speed returns, per row of a results table (experiment.Report.Results),
// the method, the milliseconds it takes to score one image and how many
// times faster than the slowest row it scores: the one-pass encoder of
// f-AnoGAN against AnoGAN's iterative mapping.
func Speed(results dataframe.DataFrame) dataframe.DataFrame {
	methods := results.Col("method").Records()
	rate := results.Col("images_per_s").Float()
	slowest := math.Inf(1)
	for _, r := range rate {
		if r > 0 {
			slowest = min(slowest, r)
		}
	}
	ms, times := make([]float64, len(rate)), make([]float64, len(rate))
	for i, r := range rate {
		ms[i], times[i] = 1000/r, r/slowest
	}
	return dataframe.New(
		series.New(methods, series.String, "method"),
		series.New(ms, series.Float, "ms_per_image"),
		series.New(times, series.Float, "times_faster"),
	)
}
