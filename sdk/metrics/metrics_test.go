package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-gota/gota/dataframe"

	"github.com/anogo/anogo/sdk/data"
)

// tol is the tolerance of float comparisons with values computed by hand.
const tol = 1e-12

func near(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

// mannWhitney is the brute-force AUC: the fraction of (anomalous, normal)
// pairs ordered correctly, ties counting one half.
func mannWhitney(scores []float64, labels []int) float64 {
	var sum float64
	var pairs int
	for i, li := range labels {
		if li != data.Anomalous {
			continue
		}
		for j, lj := range labels {
			if lj != data.Normal {
				continue
			}
			pairs++
			switch {
			case scores[i] > scores[j]:
				sum++
			case scores[i] == scores[j]:
				sum += 0.5
			}
		}
	}
	return sum / float64(pairs)
}

func TestAUCKnown(t *testing.T) {
	for i, test := range []struct {
		scores []float64
		labels []int
		want   float64
	}{
		0: {[]float64{0.1, 0.4, 0.35, 0.8}, []int{0, 0, 1, 1}, 0.75},
		1: {[]float64{0.9, 0.8, 0.8, 0.5, 0.3}, []int{1, 0, 1, 1, 0}, 0.75},
		2: {[]float64{1, 2, 3, 4}, []int{0, 0, 1, 1}, 1},
		3: {[]float64{1, 2, 3, 4}, []int{1, 1, 0, 0}, 0},
		4: {[]float64{5, 5, 5, 5}, []int{1, 0, 1, 0}, 0.5},
		5: {[]float64{1, 2, 3, 4, 100}, []int{0, 0, 1, 1, data.Unknown}, 1},
		6: {[]float64{1, 2}, []int{0, 0}, math.NaN()},
		7: {[]float64{1, math.NaN()}, []int{0, 1}, math.NaN()},
		8: {[]float64{math.Inf(-1), math.Inf(1)}, []int{0, 1}, 1},
		9: {nil, nil, math.NaN()},
	} {
		if got := AUC(test.scores, test.labels); !near(got, test.want) {
			t.Errorf("case %d: AUC = %v, want %v", i, got, test.want)
		}
	}
}

func TestAUCMannWhitney(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for trial := range 50 {
		n := 2 + rnd.IntN(200)
		scores := make([]float64, n)
		labels := make([]int, n)
		for i := range scores {
			labels[i] = rnd.IntN(3) - 1
			// Few distinct values, so many ties.
			scores[i] = float64(rnd.IntN(10)) + float64(labels[i]+1)*0.7*rnd.Float64()
		}
		labels[0], labels[1] = data.Normal, data.Anomalous
		want := mannWhitney(scores, labels)
		orig := slices.Clone(scores)
		origLabels := slices.Clone(labels)
		if got := AUC(scores, labels); math.Abs(got-want) > 1e-9 {
			t.Errorf("trial %d: AUC = %v, Mann-Whitney %v", trial, got, want)
		}
		if !slices.Equal(scores, orig) || !slices.Equal(labels, origLabels) {
			t.Fatalf("trial %d: AUC modified its inputs", trial)
		}
	}
}

func TestROC(t *testing.T) {
	scores := []float64{0.9, 0.8, 0.8, 0.5, 0.3, 7}
	labels := []int{1, 0, 1, 1, 0, -1}
	tpr, fpr, thresh := ROC(scores, labels)
	wantT := []float64{math.Inf(1), 0.9, 0.8, 0.5, 0.3}
	wantTPR := []float64{0, 1.0 / 3, 2.0 / 3, 1, 1}
	wantFPR := []float64{0, 0, 0.5, 0.5, 1}
	if !slices.Equal(thresh, wantT) {
		t.Fatalf("thresh = %v, want %v", thresh, wantT)
	}
	for i := range wantT {
		if math.Abs(tpr[i]-wantTPR[i]) > 1e-12 || math.Abs(fpr[i]-wantFPR[i]) > 1e-12 {
			t.Errorf("point %d: (fpr, tpr) = (%v, %v), want (%v, %v)", i, fpr[i], tpr[i], wantFPR[i], wantTPR[i])
		}
	}
	if tpr, _, _ := ROC([]float64{1, 2}, []int{1, 1}); tpr != nil {
		t.Errorf("ROC without normal samples = %v, want nil", tpr)
	}
}

func TestPanics(t *testing.T) {
	for i, f := range []func(){
		0: func() { AUC([]float64{1, 2}, []int{0}) },
		1: func() { ROC([]float64{1, 2}, []int{0, 2}) },
		2: func() { Youden([]float64{1}, nil) },
		3: func() { AveragePrecision([]float64{1}, []int{0, 1}) },
		4: func() { PixelAUROC(make([]*data.Image, 2), make([]*data.Image, 1)) },
	} {
		func() {
			defer func() {
				r := recover()
				msg, ok := r.(string)
				if !ok || !strings.HasPrefix(msg, "metrics: ") {
					t.Errorf("case %d: recovered %v, want a panic beginning \"metrics: \"", i, r)
				}
			}()
			f()
		}()
	}
}

func TestCheck(t *testing.T) {
	for i, test := range []struct {
		scores []float64
		labels []int
		want   error
	}{
		0: {[]float64{1, 2}, []int{0, 1}, nil},
		1: {[]float64{1, 2}, []int{0, 0}, ErrNoAnomalous},
		2: {[]float64{1, 2}, []int{1, -1}, ErrNoNormal},
		3: {[]float64{1, math.NaN()}, []int{0, -1}, ErrNoAnomalous}, // NaN of an unlabelled sample is ignored
	} {
		if got := Check(test.scores, test.labels); !errors.Is(got, test.want) {
			t.Errorf("case %d: Check = %v, want %v", i, got, test.want)
		}
	}
	err := Check([]float64{1, math.NaN()}, []int{0, 1})
	if err == nil || !strings.Contains(err.Error(), "score 1 is NaN") {
		t.Errorf("Check with a NaN score = %v, want it to name score 1", err)
	}
}

func TestYouden(t *testing.T) {
	for i, test := range []struct {
		scores []float64
		labels []int
		want   Cutoff
	}{
		0: {
			[]float64{0.9, 0.8, 0.8, 0.5, 0.3}, []int{1, 0, 1, 1, 0},
			Cutoff{Threshold: 0.5, Precision: 0.75, Recall: 1, Sensitivity: 1, Specificity: 0.5,
				F1: 2 * 0.75 / 1.75, Youden: 0.5, TP: 3, FP: 1, TN: 1, FN: 0},
		},
		1: { // perfectly separated: the highest threshold of J = 1 is the lowest anomalous score
			[]float64{1, 2, 3, 4}, []int{0, 0, 1, 1},
			Cutoff{Threshold: 3, Precision: 1, Recall: 1, Sensitivity: 1, Specificity: 1,
				F1: 1, Youden: 1, TP: 2, TN: 2},
		},
		2: { // inverted: no threshold has J > 0, nothing is called anomalous
			[]float64{1, 2, 3, 4}, []int{1, 1, 0, 0},
			Cutoff{Threshold: math.Inf(1), Precision: math.NaN(), Recall: 0, Sensitivity: 0,
				Specificity: 1, F1: math.NaN(), Youden: 0, TN: 2, FN: 2},
		},
	} {
		got := Youden(test.scores, test.labels)
		w := test.want
		if got.TP != w.TP || got.FP != w.FP || got.TN != w.TN || got.FN != w.FN {
			t.Errorf("case %d: counts %+v, want %+v", i, got, w)
		}
		for _, f := range []struct {
			name      string
			got, want float64
		}{
			{"Threshold", got.Threshold, w.Threshold}, {"Precision", got.Precision, w.Precision},
			{"Recall", got.Recall, w.Recall}, {"Sensitivity", got.Sensitivity, w.Sensitivity},
			{"Specificity", got.Specificity, w.Specificity}, {"F1", got.F1, w.F1},
			{"Youden", got.Youden, w.Youden},
		} {
			if !near(f.got, f.want) && f.got != f.want {
				t.Errorf("case %d: %s = %v, want %v", i, f.name, f.got, f.want)
			}
		}
	}
	if c := Youden([]float64{1}, []int{1}); !math.IsNaN(c.Threshold) || !math.IsNaN(c.Sensitivity) {
		t.Errorf("Youden of an undefined curve = %+v, want NaN statistics", c)
	}
}

// TestYoudenMaximises checks on random data that no threshold has a larger J.
func TestYoudenMaximises(t *testing.T) {
	rnd := rand.New(rand.NewPCG(2, 2))
	for trial := range 20 {
		n := 50
		scores := make([]float64, n)
		labels := make([]int, n)
		for i := range scores {
			labels[i] = rnd.IntN(2)
			scores[i] = rnd.NormFloat64() + float64(labels[i])
		}
		labels[0], labels[1] = 0, 1
		best := Youden(scores, labels)
		for _, s := range scores {
			if c := CutoffAt(scores, labels, s); c.Youden > best.Youden+tol {
				t.Errorf("trial %d: threshold %v has J = %v > Youden's %v", trial, s, c.Youden, best.Youden)
			}
		}
	}
}

func TestAveragePrecision(t *testing.T) {
	for i, test := range []struct {
		scores []float64
		labels []int
		want   float64
	}{
		0: {[]float64{0.1, 0.4, 0.35, 0.8}, []int{0, 0, 1, 1}, 5.0 / 6}, // scikit-learn's documented example
		1: {[]float64{0.9, 0.8, 0.8, 0.5, 0.3}, []int{1, 0, 1, 1, 0}, 29.0 / 36},
		2: {[]float64{1, 2, 3, 4}, []int{0, 0, 1, 1}, 1},
		3: {[]float64{1, 1, 1, 1}, []int{0, 0, 0, 1}, 0.25},
		4: {[]float64{1, 2}, []int{1, 1}, math.NaN()},
	} {
		if got := AveragePrecision(test.scores, test.labels); !near(got, test.want) {
			t.Errorf("case %d: AveragePrecision = %v, want %v", i, got, test.want)
		}
	}
}

func img(h, w int, pix ...float32) *data.Image {
	return &data.Image{H: h, W: w, Pix: pix}
}

func TestPixelAUROC(t *testing.T) {
	maps := []*data.Image{
		img(2, 2, 0.9, 0.1, 0.8, 0.8),
		img(1, 2, 0.5, 0.3),
		img(1, 1, 100), // no mask: skipped
	}
	masks := []*data.Image{
		img(2, 2, 1, 0, 0, 1),
		img(1, 2, 1, 0),
		nil,
	}
	// The pooled pixels are those of TestAUCKnown case 1 plus (0.1, normal).
	scores := []float64{0.9, 0.1, 0.8, 0.8, 0.5, 0.3}
	labels := []int{1, 0, 0, 1, 1, 0}
	got, err := PixelAUROC(maps, masks)
	if err != nil {
		t.Fatal(err)
	}
	if want := mannWhitney(scores, labels); math.Abs(got-want) > 1e-6 {
		t.Errorf("PixelAUROC = %v, want %v", got, want)
	}
	// By hand: anomalous pixels {0.9, 0.8, 0.5}, normal {0.1, 0.8, 0.3}; of
	// the 9 pairs the anomalous pixel is higher in 3 (0.9) + 2 (0.8, with
	// a tie worth one half) + 2 (0.5) = 7.5.
	if want := 7.5 / 9; math.Abs(got-want) > 1e-6 {
		t.Errorf("PixelAUROC = %v, want 7.5/9 = %v (counted by hand)", got, want)
	}
	for i, test := range []struct {
		maps, masks []*data.Image
		want        string
	}{
		0: {[]*data.Image{maps[0]}, []*data.Image{nil}, "none of 1 images has a mask"},
		1: {[]*data.Image{maps[0], maps[1]}, []*data.Image{masks[0], masks[0]}, "image 1: map is 1x2 but mask is 2x2"},
		2: {[]*data.Image{nil}, []*data.Image{masks[0]}, "image 0 has a mask but no map"},
		3: {[]*data.Image{maps[0]}, []*data.Image{img(2, 2, 0, 0, 0, 0)}, "no anomalous"},
		4: {[]*data.Image{img(1, 2, 0, float32(math.NaN()))}, []*data.Image{img(1, 2, 0, 1)}, "map 0 is NaN at row 0, column 1"},
	} {
		_, err := PixelAUROC(test.maps, test.masks)
		if err == nil || !strings.Contains(err.Error(), test.want) {
			t.Errorf("case %d: error %v, want one containing %q", i, err, test.want)
		}
	}
	if _, err := PixelAUROC([]*data.Image{maps[0]}, []*data.Image{nil}); !errors.Is(err, data.ErrNoMask) {
		t.Errorf("error %v does not wrap data.ErrNoMask", err)
	}
}

// bruteDice tries every map value as a threshold in O(P^2).
func bruteDice(maps, masks []*data.Image) float64 {
	best := 0.0
	for _, m := range maps {
		for _, t := range m.Pix {
			var tp, called, pos int
			for i, mm := range maps {
				for j, v := range mm.Pix {
					a := v >= t
					g := masks[i].Pix[j] > 0.5
					if a {
						called++
					}
					if g {
						pos++
					}
					if a && g {
						tp++
					}
				}
			}
			best = max(best, 2*float64(tp)/float64(called+pos))
		}
	}
	return best
}

func TestBestDice(t *testing.T) {
	// A map that equals its mask: Dice 1 at threshold 1.
	m := img(2, 3, 0, 1, 1, 0, 0, 1)
	d, th, err := BestDice([]*data.Image{m}, []*data.Image{m.Clone()})
	if err != nil || d != 1 || th != 1 {
		t.Errorf("BestDice of a perfect map = %v, %v, %v; want 1, 1, nil", d, th, err)
	}
	rnd := rand.New(rand.NewPCG(3, 3))
	for trial := range 10 {
		var maps, masks []*data.Image
		for range 3 {
			mp, mk := data.NewImage(4, 5), data.NewImage(4, 5)
			for j := range mp.Pix {
				if rnd.IntN(4) == 0 {
					mk.Pix[j] = 1
				}
				mp.Pix[j] = float32(rnd.IntN(8)) + mk.Pix[j]*float32(rnd.IntN(4))
			}
			maps, masks = append(maps, mp), append(masks, mk)
		}
		mk := masks[0]
		mk.Pix[0] = 1
		want := bruteDice(maps, masks)
		got, th, err := BestDice(maps, masks)
		if err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("trial %d: BestDice = %v (err %v), brute force %v", trial, got, err, want)
		}
		// The threshold reproduces the Dice value.
		var tp, called, pos int
		for i := range maps {
			for j, v := range maps[i].Pix {
				a, g := float64(v) >= th, masks[i].Pix[j] > 0.5
				if a {
					called++
				}
				if g {
					pos++
				}
				if a && g {
					tp++
				}
			}
		}
		if d := 2 * float64(tp) / float64(called+pos); math.Abs(d-got) > 1e-12 {
			t.Errorf("trial %d: threshold %v gives Dice %v, reported %v", trial, th, d, got)
		}
	}
	if _, _, err := BestDice([]*data.Image{m}, []*data.Image{data.NewImage(2, 3)}); !errors.Is(err, ErrNoAnomalous) {
		t.Errorf("BestDice with empty masks: error %v, want ErrNoAnomalous", err)
	}
}

func TestTable1(t *testing.T) {
	labels := []int{1, 0, 1, 1, 0}
	methods := []Method{
		{Name: "AnoGAN", Scores: []float64{0.9, 0.8, 0.8, 0.5, 0.3}, Labels: labels},
		{Name: "aCAE", Scores: []float64{4, 3, 2, 1, 0}, Labels: labels},
	}
	df := Table1(methods)
	if err := df.Error(); err != nil {
		t.Fatal(err)
	}
	want := []string{"method", "precision", "recall", "sensitivity", "specificity", "auc"}
	if !slices.Equal(df.Names(), want) {
		t.Fatalf("columns %v, want %v", df.Names(), want)
	}
	if got := df.Col("method").Records(); !slices.Equal(got, []string{"AnoGAN", "aCAE"}) {
		t.Errorf("methods %v, want AnoGAN, aCAE", got)
	}
	for _, c := range []struct {
		col  string
		want []float64
	}{
		{"precision", []float64{0.75, 0.75}},
		{"recall", []float64{1, 1}},
		{"sensitivity", []float64{1, 1}},
		{"specificity", []float64{0.5, 0.5}},
		{"auc", []float64{0.75, 4.0 / 6}},
	} {
		got := df.Col(c.col).Float()
		for i := range got {
			if !near(got[i], c.want[i]) {
				t.Errorf("%s[%d] = %v, want %v", c.col, i, got[i], c.want[i])
			}
		}
	}
	s := Summary(methods)
	want = append(want, "ap", "f1", "threshold")
	if !slices.Equal(s.Names(), want) {
		t.Fatalf("Summary columns %v, want %v", s.Names(), want)
	}
	if got := s.Col("ap").Float()[0]; !near(got, 29.0/36) {
		t.Errorf("Summary ap = %v, want 29/36", got)
	}
	if got := s.Col("threshold").Float(); got[0] != 0.5 || got[1] != 1 {
		t.Errorf("Summary thresholds = %v, want [0.5 1]", got)
	}
	bad := Table1([]Method{methods[0], {Name: "broken", Scores: []float64{1, 2}, Labels: []int{0, 0}}})
	if err := bad.Error(); !errors.Is(err, ErrNoAnomalous) || !strings.Contains(err.Error(), `"broken"`) {
		t.Errorf("Table1 with a broken method: error %v, want ErrNoAnomalous naming it", err)
	}
}

func TestWriteCSV(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results", "table1.csv")
	labels := []int{1, 0, 1, 1, 0}
	df := Table1([]Method{{Name: "AnoGAN", Scores: []float64{0.9, 0.8, 0.8, 0.5, 0.3}, Labels: labels}})
	if err := WriteCSV(df, path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "method,precision,recall,sensitivity,specificity,auc\nAnoGAN,0.75,1,1,0.5,0.75\n"
	if string(b) != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", b, want)
	}
	back := dataframe.ReadCSV(strings.NewReader(string(b)))
	if back.Nrow() != 1 || back.Col("auc").Float()[0] != 0.75 {
		t.Errorf("read back %v", back)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only table1.csv (no temporary files)", len(entries))
	}
	bad := dataframe.DataFrame{Err: errors.New("broken")}
	if err := WriteCSV(bad, filepath.Join(dir, "bad.csv")); err == nil || !strings.Contains(err.Error(), "bad.csv") {
		t.Errorf("WriteCSV of a frame with an error = %v, want an error naming the file", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.csv")); !os.IsNotExist(err) {
		t.Errorf("WriteCSV of a frame with an error left a file behind")
	}
}

// TestWriteCSVThroughLink: writing to a symbolic link updates its target
// and keeps the link, and a 0600 file stays 0600 (the rename replaced the
// link and made the file 0644).
func TestWriteCSVThroughLink(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "scores.csv"), filepath.Join(dir, "latest.csv")
	if err := os.WriteFile(target, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("scores.csv", link); err != nil {
		t.Skip(err)
	}
	df := Table1([]Method{{Name: "A", Scores: []float64{0.9, 0.1}, Labels: []int{1, 0}}})
	if err := WriteCSV(df, link); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced by a file")
	}
	if b, _ := os.ReadFile(target); !strings.HasPrefix(string(b), "method,") {
		t.Errorf("the target holds %q", b)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}
