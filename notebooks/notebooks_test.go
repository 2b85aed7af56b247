package notebooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"

	"github.com/anogo/anogo/notebooks"
	"github.com/anogo/anogo/sdk/anogan"
	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dcgan"
	"github.com/anogo/anogo/sdk/detector"
	"github.com/anogo/anogo/sdk/display"
	"github.com/anogo/anogo/sdk/dpa"
	"github.com/anogo/anogo/sdk/experiment"
	"github.com/anogo/anogo/sdk/fanogan"
	"github.com/anogo/anogo/sdk/figures"
	"github.com/anogo/anogo/sdk/hqanogan"
	"github.com/anogo/anogo/sdk/mapper"
	"github.com/anogo/anogo/sdk/prep"
	"github.com/anogo/anogo/sdk/score"
	"github.com/anogo/anogo/sdk/train"
)

// tiny is the quickstart's setting (anogan.Small) cut down to seconds: a
// smaller phantom, a narrower model, a few steps.
func tiny(out string) anogan.Config {
	cfg := anogan.Small()
	cfg.Data = "phantom:train=20,val=2,test=10"
	cfg.Model = dcgan.Config{Size: 28, Width: 4, Latent: 8}
	cfg.Train.BatchSize = 16
	cfg.Steps = 6
	cfg.ACAESteps = 4
	cfg.PatchesPerImage = 2
	cfg.MaxTrain = 64
	cfg.TestPerClass = 8
	cfg.TrainScored = 4
	cfg.Mapping = mapper.Iterative{Steps: 5, LR: 0.05, Batch: 8, Seed: 1}
	cfg.Out = out
	cfg.Reuse = true
	return cfg
}

// captureStderr runs f with os.Stderr sent to a file and returns what was
// written.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	tmp, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = tmp
	defer func() { os.Stderr = old }()
	f()
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(tmp)
	if err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	return string(b)
}

// TestQuickstart makes the calls of notebooks/000_quickstart.ipynb, in its
// order, with a tiny setting: data, training with the progress hook,
// scores, Table 1 and the residual figure; then runs again and checks that
// nothing is retrained.
func TestQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny AnoGAN; skipped with -short")
	}
	ctx := context.Background()
	cfg := tiny(filepath.Join(t.TempDir(), "models"))

	// Data.
	d, err := anogan.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	normal, anomalous := data.Filter(d.Test, data.Normal), data.Filter(d.Test, data.Anomalous)
	if len(normal) != cfg.TestPerClass || len(anomalous) != cfg.TestPerClass {
		t.Fatalf("%d normal and %d anomalous test patches, want %d of each", len(normal), len(anomalous), cfg.TestPerClass)
	}
	imgs := notebooks.Images(normal, 8)
	if len(imgs) != 8 || imgs[0] != normal[0].Image {
		t.Fatalf("Images gave %d images", len(imgs))
	}
	if err := display.Images(imgs, 8, 3); err != nil {
		t.Fatal(err)
	}

	// Train with the progress bar, map, score.
	steps := 0
	count := func(train.Info) error { steps++; return nil }
	var r *anogan.Report
	bar := captureStderr(t, func() {
		r, err = anogan.Run(ctx, cfg, notebooks.Progress("DCGAN", "aCAE"), count)
	})
	if err != nil {
		t.Fatal(err)
	}
	if steps != cfg.Steps+cfg.ACAESteps {
		t.Errorf("%d training steps, want %d", steps, cfg.Steps+cfg.ACAESteps)
	}
	for _, want := range []string{"DCGAN 100% [####################] 6/6", "aCAE 100% [####################] 4/4"} {
		if !strings.Contains(bar, want) {
			t.Errorf("progress output lacks %q:\n%q", want, bar)
		}
	}

	// The scores table's head.
	head := notebooks.Head(score.Table(r.Test, anogan.Columns...), 8)
	if rows, cols := head.Dims(); rows != 8 || cols != 2+len(anogan.Columns) {
		t.Errorf("scores head is %dx%d, want 8x%d", rows, cols, 2+len(anogan.Columns))
	}
	display.Table(head)

	// Table 1, beside the paper's.
	t1 := r.Table1
	if t1.Err != nil {
		t.Fatal(t1.Err)
	}
	if got, want := t1.Names(), notebooks.PaperTable1().Names(); !slices.Equal(got, want) {
		t.Errorf("Table 1 columns %v, the paper's %v", got, want)
	}
	if got, want := t1.Col("method").Records(), notebooks.PaperTable1().Col("method").Records(); !slices.Equal(got, want) {
		t.Errorf("Table 1 methods %v, the paper's %v", got, want)
	}
	for i, auc := range t1.Col("auc").Float() {
		if !(auc >= 0 && auc <= 1) {
			t.Errorf("row %d: AUC %v", i, auc)
		}
	}

	// 100's last cell: the phantom's ideal reconstruction beside the model.
	if r.Ideal, err = anogan.Ideal(r.Config, r.Data, r.GAN); err != nil {
		t.Fatal(err)
	}
	if aucR, aucA, ok := r.IdealAUC(); !ok || !(aucR > 0.5 && aucR <= 1) || !(aucA > 0.5 && aucA <= 1) {
		t.Errorf("ideal reconstruction: AUC R %v, A %v (ok %v)", aucR, aucA, ok)
	}
	sized, ok, err := r.BySize()
	if err != nil || !ok || !slices.Contains(sized.Names(), "ideal_A") {
		t.Errorf("AUC by size with the ideal reconstruction: columns %v, ok %v, %v", sized.Names(), ok, err)
	}
	display.Table(sized)

	// The residual figure.
	fig, err := anogan.Fig3(r, 4)
	if err != nil {
		t.Fatal(err)
	}
	figDir := t.TempDir()
	if err := notebooks.Show(fig, figDir, "quickstart_residuals"); err != nil {
		t.Fatal(err)
	}
	checkSaved(t, figDir, "quickstart_residuals")

	// Running again (as every later cell does) loads the models.
	steps = 0
	r2, err := anogan.Run(ctx, cfg, count)
	if err != nil {
		t.Fatal(err)
	}
	if steps != 0 {
		t.Errorf("the second run trained %d steps, want none", steps)
	}
	if a, b := t1.Col("auc").Float(), r2.Table1.Col("auc").Float(); !slices.Equal(a, b) {
		t.Errorf("AUCs changed between runs: %v, then %v", a, b)
	}
}

// checkSaved checks that dir holds name as a PNG that decodes, an SVG and a
// PDF.
func checkSaved(t *testing.T, dir, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Errorf("%s.png: %v", name, err)
	}
	for ext, magic := range map[string]string{".svg": "<?xml", ".pdf": "%PDF"} {
		b, err := os.ReadFile(filepath.Join(dir, name+ext))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte(magic)) {
			t.Errorf("%s%s starts with %q, want %q", name, ext, b[:min(len(b), 8)], magic)
		}
	}
}

func TestShowNil(t *testing.T) {
	if err := notebooks.Show(nil, t.TempDir(), "x"); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Errorf("Show(nil) = %v, want an error naming the figure", err)
	}
}

func TestProgressRuns(t *testing.T) {
	out := captureStderr(t, func() {
		hook := notebooks.Progress("first", "second")
		for _, run := range []struct{ from, to, total int }{{1, 3, 3}, {1, 2, 4}, {1, 1, 1}} {
			for s := run.from; s <= run.to; s++ {
				if err := hook(train.Info{Step: s, Total: run.total, Losses: map[string]float64{"loss": 0.5}}); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	// The second run stops at 2 of 4: its bar is finished when the third
	// run starts. Each finished bar ends its line.
	for i, want := range []string{
		"first 100% [####################] 3/3",
		"second  50% [##########..........] 2/4",
		"run 3 100% [####################] 1/1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("%d: output lacks %q:\n%q", i, want, out)
		}
	}
	// Standard error is a file here, so the bars print plain lines (the
	// first update, the last step; no carriage returns).
	if strings.Contains(out, "\r") {
		t.Errorf("carriage returns in a file:\n%q", out)
	}
	if n := strings.Count(out, "\n"); n != 5 {
		t.Errorf("%d lines, want 5 (first and last of each bar, one for the one-step bar):\n%q", n, out)
	}
}

func TestSettingAndConfig(t *testing.T) {
	for i, c := range []struct {
		env, setting string
		steps        int
	}{
		{"", "small", anogan.Small().Steps},
		{"small", "small", anogan.Small().Steps},
		{"paper", "paper", anogan.Paper().Steps},
	} {
		t.Setenv(notebooks.SettingEnv, c.env)
		if got := notebooks.Setting(); got != c.setting {
			t.Errorf("%d: Setting() = %q, want %q", i, got, c.setting)
		}
		cfg, err := notebooks.Config("phantom")
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		want := filepath.Join(notebooks.Root(), "out", "models", "phantom-"+c.setting)
		if cfg.Out != want || !cfg.Reuse || cfg.Steps != c.steps {
			t.Errorf("%d: Config: Out %q, Reuse %v, Steps %d; want %q, true, %d", i, cfg.Out, cfg.Reuse, cfg.Steps, want, c.steps)
		}
	}
	t.Setenv(notebooks.SettingEnv, "huge")
	if _, err := notebooks.Config("phantom"); err == nil || !strings.Contains(err.Error(), "ANOGO_SETTING") {
		t.Errorf("Config with ANOGO_SETTING=huge: %v", err)
	}
}

func TestRoot(t *testing.T) {
	// go test runs in notebooks/, as GoNB runs the notebooks' cells.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GONB_DIR", "")
	if got, want := notebooks.Root(), filepath.Dir(wd); got != want {
		t.Errorf("Root() = %q, want %q", got, want)
	}
	t.Setenv("GONB_DIR", wd)
	if got, want := notebooks.FiguresDir(), filepath.Join(filepath.Dir(wd), "out", "figures"); got != want {
		t.Errorf("FiguresDir() = %q, want %q", got, want)
	}
	// Outside the repository: the parent of the notebook's folder.
	dir := filepath.Join(t.TempDir(), "nb")
	t.Setenv("GONB_DIR", dir)
	if got, want := notebooks.Root(), filepath.Dir(dir); got != want {
		t.Errorf("Root() outside the repository = %q, want %q", got, want)
	}
}

func TestHead(t *testing.T) {
	df := dataframe.New(series.New([]int{5, 6, 7, 8}, series.Int, "x"))
	for i, c := range []struct{ n, rows int }{{2, 2}, {4, 4}, {9, 4}, {0, 0}} {
		h := notebooks.Head(df, c.n)
		if h.Nrow() != c.rows {
			t.Errorf("%d: Head(%d) has %d rows, want %d", i, c.n, h.Nrow(), c.rows)
		}
		if c.rows > 0 && h.Elem(0, 0).String() != "5" {
			t.Errorf("%d: Head(%d) starts with %s", i, c.n, h.Elem(0, 0))
		}
	}
}

func TestBesideHTML(t *testing.T) {
	a := dataframe.New(series.New([]float64{0.25}, series.Float, "auc"))
	got := notebooks.BesideHTML(
		notebooks.Titled{Title: "ours <phantom>", Table: a},
		notebooks.Titled{Title: "paper, private OCT data", Table: notebooks.PaperTable1()},
	)
	i, j := strings.Index(got, "ours &lt;phantom&gt;"), strings.Index(got, "paper, private OCT data")
	if i < 0 || j < i {
		t.Errorf("titles missing or out of order:\n%s", got)
	}
	if !strings.Contains(got, display.TableHTML(a)) || !strings.Contains(got, display.TableHTML(notebooks.PaperTable1())) {
		t.Errorf("tables missing:\n%s", got)
	}
}

func TestPublishedNumbers(t *testing.T) {
	// Schlegl et al. 2017, Table 1.
	p := notebooks.PaperTable1()
	if p.Err != nil {
		t.Fatal(p.Err)
	}
	want := map[string][5]float64{
		"AnoGAN": {0.8834, 0.7277, 0.7279, 0.8928, 0.89},
		"GAN_R":  {0.8482, 0.7631, 0.7634, 0.8477, 0.88},
		"P_D":    {0.8471, 0.5119, 0.5124, 0.8970, 0.72},
		"aCAE":   {0.7005, 0.7009, 0.7011, 0.6659, 0.73},
	}
	for r := range p.Nrow() {
		w, ok := want[p.Elem(r, 0).String()]
		if !ok {
			t.Fatalf("row %d: method %s", r, p.Elem(r, 0))
		}
		for c := range 5 {
			if got := p.Elem(r, c+1).Float(); got != w[c] {
				t.Errorf("%s %s = %v, want %v", p.Elem(r, 0), p.Names()[c+1], got, w[c])
			}
		}
	}
	// GEOM on Fashion-MNIST: the published mean is 93.5.
	var sum float64
	for _, v := range notebooks.GEOMFashionMNIST {
		sum += v
	}
	if mean := sum / 10; math.Abs(mean-93.5) > 0.1 {
		t.Errorf("mean of GEOMFashionMNIST = %v, published 93.5", mean)
	}
	if notebooks.FashionMNISTClasses[0] != "T-shirt/top" || notebooks.FashionMNISTClasses[9] != "Ankle boot" {
		t.Errorf("FashionMNISTClasses = %v", notebooks.FashionMNISTClasses)
	}
}

// firstCell is the verified first cell of every notebook (kernel/README.md).
const firstCell = "!*rm -f go.work && go work init && go work use . ${GONB_DIR}/..\n%goworkfix\n%noautoget"

// TestNotebooksStripped checks the committed notebooks: the Go kernel, the
// first cell that imports this repository, and no outputs nor execution
// counts (executed copies go to out/notebooks/).
func TestNotebooksStripped(t *testing.T) {
	paths, err := filepath.Glob("*.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 7 {
		t.Fatalf("%d notebooks in notebooks/, want at least 7", len(paths))
	}
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var nb struct {
			Metadata struct {
				Kernelspec struct{ Name string } `json:"kernelspec"`
			} `json:"metadata"`
			Cells []struct {
				CellType       string            `json:"cell_type"`
				Source         json.RawMessage   `json:"source"`
				Outputs        []json.RawMessage `json:"outputs"`
				ExecutionCount *int              `json:"execution_count"`
			} `json:"cells"`
		}
		if err := json.Unmarshal(b, &nb); err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if nb.Metadata.Kernelspec.Name != "gonb" {
			t.Errorf("%s: kernel %q, want gonb", path, nb.Metadata.Kernelspec.Name)
		}
		if len(nb.Cells) == 0 || nb.Cells[0].CellType != "code" || source(t, nb.Cells[0].Source) != firstCell {
			t.Errorf("%s: the first cell is not the workspace cell of kernel/README.md", path)
		}
		for i, c := range nb.Cells {
			if len(c.Outputs) > 0 || c.ExecutionCount != nil {
				t.Errorf("%s: cell %d has outputs or an execution count; clear them (docs/notebooks.md)", path, i)
			}
		}
	}
}

// source returns a cell's source, stored as a string or a list of lines.
func source(t *testing.T, raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		t.Fatalf("cell source %s: %v", raw, err)
	}
	return strings.Join(lines, "")
}

// TestCompare makes the calls of notebooks/300_compare.ipynb with tiny
// settings: the methods table, a comparison with live progress, the maps
// of whole scans, the AUC figure; a second run reuses the models.
func TestCompare(t *testing.T) {
	t.Setenv(notebooks.SettingEnv, "small")
	if n := notebooks.Methods().Nrow(); n < 2 {
		t.Fatalf("%d registered methods, want anogan and acae at least", n)
	}
	cfg, err := notebooks.Compare("phantom:train=12,val=4,test=24", "anogan", "acae")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Out = t.TempDir()
	cfg.Data.TestPerClass, cfg.Data.Scans = 8, 1
	cfg.Set = map[string][]string{"anogan": {"Steps=4", "mapping.Steps=3", "train.batch_size=16"}, "acae": {"steps=4", "train.batch_size=16"}}
	rep, err := experiment.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Results.Col("method").Records(); !slices.Equal(got, []string{"AnoGAN", "GAN_R", "P_D", "aCAE"}) {
		t.Errorf("rows %v", got)
	}
	for _, run := range rep.Runs {
		if _, err := run.MapFigure(2); err != nil {
			t.Error(err)
		}
	}
	if _, err := experiment.AUCFigure(rep.Results, "auc", "test"); err != nil {
		t.Error(err)
	}
	again, err := experiment.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Runs[0].Reused || !again.Runs[1].Reused {
		t.Error("the second run fitted the models again")
	}
}

// TestFanogan makes the calls of notebooks/310_fanogan.ipynb with tiny
// settings: AnoGAN and f-AnoGAN on the same patches, the speed table, the
// residuals side by side, the scans' maps, the WGAN-GP's curves and
// samples.
func TestFanogan(t *testing.T) {
	t.Setenv(notebooks.SettingEnv, "small")
	cfg, err := notebooks.Compare("phantom:train=12,val=4,test=24", "anogan", "fanogan")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Out = t.TempDir()
	cfg.Data.TestPerClass, cfg.Data.Scans = 8, 1
	cfg.Set = map[string][]string{
		"anogan":  {"Steps=4", "mapping.Steps=3", "train.batch_size=16"},
		"fanogan": {"steps=10", "encoder_steps=4", "model.width=2", "train.batch_size=8", "encoder.batch_size=8"},
	}
	rep, err := experiment.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Results.Col("method").Records(); !slices.Equal(got, []string{"AnoGAN", "GAN_R", "P_D", "f-AnoGAN", "f-AnoGAN_z"}) {
		t.Errorf("rows %v", got)
	}
	sp := notebooks.Speed(rep.Results)
	if sp.Nrow() != 5 || sp.Col("times_faster").Max() < 1 {
		t.Errorf("speed table %v", sp)
	}
	if _, err := experiment.ResidualsBeside(rep.Runs, 6); err != nil {
		t.Error(err)
	}
	found := false
	for _, r := range rep.Runs {
		if _, err := r.MapFigure(2); err != nil {
			t.Error(err)
		}
		if d, ok := r.Model.Detector.(*fanogan.Detector); ok {
			found = true
			if _, err := d.LossFigure("wgan", 20); err != nil {
				t.Error(err)
			}
			if _, err := d.SampleFigure(16, 8, 1); err != nil {
				t.Error(err)
			}
		}
	}
	if !found {
		t.Error("no f-AnoGAN run")
	}
}

// TestHQAnoGAN makes the calls of notebooks/340_hqanogan.ipynb with tiny
// settings: AnoGAN, f-AnoGAN and HQ-AnoGAN on the same patches, the
// choice of HQ-AnoGAN's score on the validation split, the residuals side
// by side, the scans' maps, the GAN's and the encoder's curves, ADA's p and
// samples of the generator.
func TestHQAnoGAN(t *testing.T) {
	t.Setenv(notebooks.SettingEnv, "small")
	cfg, err := notebooks.Compare("phantom:train=12,val=4,test=24", "anogan", "fanogan", "hqanogan")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Out = t.TempDir()
	cfg.Data.TestPerClass, cfg.Data.Scans = 8, 1
	cfg.Data.ValNormal, cfg.Data.ValAnomalous = 6, 6
	cfg.Set = map[string][]string{
		"anogan":  {"Steps=4", "mapping.Steps=3", "train.batch_size=16"},
		"fanogan": {"steps=10", "encoder_steps=4", "model.width=2", "train.batch_size=8", "encoder.batch_size=8"},
		"hqanogan": {"gan.width=2", "gan.max_channels=8", "gan.z_dim=8", "gan.w_dim=8",
			"gan_train.batch_size=4", "gan_train.steps=8", "encoder_width=2", "encoder_steps=4",
			"encoder_train.batch_size=4", "encoder_train.features.width=2", "k=2"},
	}
	rep, err := experiment.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"AnoGAN", "GAN_R", "P_D", "f-AnoGAN", "f-AnoGAN_z", "HQ-AnoGAN", "HQ-AnoGAN_R", "HQ-AnoGAN_maha", "HQ-AnoGAN_knn"}
	if got := rep.Results.Col("method").Records(); !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	for i, auc := range rep.Results.Col("auc").Float() {
		if !(auc >= 0 && auc <= 1) {
			t.Errorf("row %d: AUC %v", i, auc)
		}
	}
	display.Table(rep.Results)

	fig, err := experiment.ResidualsBeside(rep.Runs, 6)
	if err != nil {
		t.Fatal(err)
	}
	figDir := t.TempDir()
	if err := notebooks.Show(fig, figDir, "340_residuals"); err != nil {
		t.Fatal(err)
	}
	checkSaved(t, figDir, "340_residuals")

	found := false
	for _, r := range rep.Runs {
		if _, err := r.MapFigure(2); err != nil {
			t.Error(err)
		}
		d, ok := r.Model.Detector.(*hqanogan.Detector)
		if !ok {
			continue
		}
		found = true
		// The validation choice: every candidate, exactly one chosen, and
		// the chosen one is the best on validation.
		ct, err := d.ChoiceTable()
		if err != nil {
			t.Fatal(err)
		}
		display.Table(ct)
		if ct.Nrow() < 2 || !slices.Equal(ct.Names(), []string{"column", "val_auroc", "chosen"}) {
			t.Fatalf("choice table %v", ct)
		}
		ch, best, chosen := d.Choice(), math.Inf(-1), 0
		aucs := ct.Col("val_auroc").Float()
		for i, c := range ct.Col("chosen").Records() {
			best = max(best, aucs[i])
			if c == "true" {
				chosen++
				if got := ct.Col("column").Records()[i]; got != ch.Column {
					t.Errorf("the table chose %s, the detector %s", got, ch.Column)
				}
				if aucs[i] != ch.AUROC {
					t.Errorf("chosen validation AUROC %v in the table, %v in the detector", aucs[i], ch.AUROC)
				}
			}
		}
		if chosen != 1 || ch.AUROC != best {
			t.Errorf("%d chosen, AUROC %v of best %v:\n%v", chosen, ch.AUROC, best, ct)
		}
		for name, f := range map[string]func() (*figures.Figure, error){
			"gan losses":     func() (*figures.Figure, error) { return d.LossFigure("gan", 20) },
			"p":              func() (*figures.Figure, error) { return d.PFigure() },
			"samples":        func() (*figures.Figure, error) { return d.SampleFigure(16, 8, 1) },
			"encoder losses": func() (*figures.Figure, error) { return d.LossFigure("encoder", 20) },
		} {
			fig, err := f()
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if err := fig.Encode(io.Discard, "png"); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	if !found {
		t.Error("no HQ-AnoGAN run")
	}
}

// TestDPA runs notebook 330_dpa's calls with tiny settings: the
// comparison, the reconstructions, the loss figure and the search on the
// validation split.
func TestDPA(t *testing.T) {
	t.Setenv(notebooks.SettingEnv, "small")
	cfg, err := notebooks.Compare("phantom:train=12,val=4,test=24", "dpa")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Out = t.TempDir()
	cfg.Data.TestPerClass, cfg.Data.Scans = 8, 1
	tinyDPA := []string{"model.width=2", "model.latent=4", "features.width=2", "train.batch_size=8",
		"train.schedule.stab=2", "train.schedule.fade=2", "train.schedule.final=2"}
	cfg.Set = map[string][]string{"dpa": tinyDPA}
	rep, err := experiment.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Results.Col("method").Records(); !slices.Equal(got, []string{"DPA_rand"}) {
		t.Errorf("rows %v", got)
	}
	if _, err := experiment.ResidualsBeside(rep.Runs, 6); err != nil {
		t.Error(err)
	}
	found := false
	for _, r := range rep.Runs {
		if d, ok := r.Model.Detector.(*dpa.Detector); ok {
			found = true
			if _, err := d.LossFigure(20); err != nil {
				t.Error(err)
			}
		}
	}
	if !found {
		t.Error("no DPA run")
	}
	d, err := prep.Prepare(prep.Config{Data: "phantom:train=12,val=4,test=8", Size: 28, PatchSize: 32, PatchesPerImage: 2, TestPerClass: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := dpa.Setting("small")
	if err != nil {
		t.Fatal(err)
	}
	if err := detector.Override(s, tinyDPA...); err != nil {
		t.Fatal(err)
	}
	res, err := dpa.Search(context.Background(), d, s.(*dpa.Settings), dpa.Grid{Layers: []string{dpa.Relu22, dpa.Relu32}}, detector.FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Table().Nrow() != 2 {
		t.Errorf("search table %v", res.Table())
	}
}

// TestContamination makes the calls of notebooks/320_contamination.ipynb
// with tiny settings: AnoGAN and the aCAE on a small phantom at every
// level, the table and the figure; a second study reuses every model.
func TestContamination(t *testing.T) {
	t.Setenv(notebooks.SettingEnv, "small")
	c, err := notebooks.Compare("phantom:train=30,val=4,test=24", "anogan", "acae")
	if err != nil {
		t.Fatal(err)
	}
	cfg := experiment.ContaminationConfig{
		Sources: []string{"phantom:train=30,val=4,test=24"}, Methods: c.Methods, Setting: c.Setting,
		Out: t.TempDir(), Reuse: true, Progress: c.Progress, ScoreProgress: c.ScoreProgress,
		Prep: func(p *prep.Config) { p.TestPerClass, p.Scans = 8, -1 },
		Set:  map[string][]string{"anogan": {"Steps=4", "mapping.Steps=3", "train.batch_size=16"}, "acae": {"steps=4", "train.batch_size=16"}},
	}
	rep, err := experiment.Contamination(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := rep.Results.Nrow(); n != 4*len(experiment.DefaultLevels) {
		t.Errorf("%d rows, want 4 rows x %d levels", n, len(experiment.DefaultLevels))
	}
	display.Table(rep.Results)
	if _, err := experiment.ContaminationFigure(rep.Results, "phantom"); err != nil {
		t.Error(err)
	}
	again, err := experiment.Contamination(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range again.Results.Col("fit_s").Records() {
		if s != "0.0" {
			t.Fatalf("the second study fitted a model again (fit_s %s)", s)
		}
	}
}
