package figures

import (
	"bytes"
	"encoding/xml"
	"flag"
	"image"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"

	"github.com/anogo/anogo/sdk/data"
)

var regen = flag.Bool("regen", false, "regenerate the golden images in testdata")

// checkSaved saves f as dir/name.{png,svg,pdf} and checks that each file is
// a well-formed, non-trivial file of its format.
func checkSaved(t *testing.T, f *Figure, name string) {
	t.Helper()
	dir := t.TempDir()
	if err := f.Save(dir, name); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("%s: %d files in the output directory, want 3 (no temporary files)", name, len(entries))
	}
	b, err := os.ReadFile(filepath.Join(dir, name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s.png: %v", name, err)
	}
	wantW := int(f.Width.Dots(float64(f.style.DPI)) + 0.5)
	if got := im.Bounds().Dx(); got < wantW-1 || got > wantW+1 {
		t.Errorf("%s.png is %d pixels wide, want %d", name, got, wantW)
	}
	if !varied(im) {
		t.Errorf("%s.png is blank", name)
	}
	b, err = os.ReadFile(filepath.Join(dir, name+".svg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := wellFormedXML(b); err != nil || !bytes.Contains(b, []byte("<svg")) {
		t.Errorf("%s.svg is not well-formed SVG: %v", name, err)
	}
	if bytes.Contains(b, []byte("data:image/jpg")) {
		t.Errorf("%s.svg labels PNG data as image/jpg", name)
	}
	b, err = os.ReadFile(filepath.Join(dir, name+".pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.Contains(b[max(0, len(b)-32):], []byte("%%EOF")) || len(b) < 2000 {
		t.Errorf("%s.pdf is not a complete PDF (%d bytes)", name, len(b))
	}
}

func wellFormedXML(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// varied reports whether im has more than a handful of distinct colours.
func varied(im image.Image) bool {
	seen := map[[4]uint32]bool{}
	b := im.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, a := im.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen) > 4
}

func testCurves() []Curve {
	rnd := rand.New(rand.NewPCG(1, 1))
	var curves []Curve
	for _, c := range []struct {
		name  string
		shift float64
	}{{"aCAE", 0.9}, {"GAN_R", 1.7}, {"AnoGAN", 1.8}, {"P_D", 0.8}} {
		s, l := scores(rnd, 150, c.shift)
		curves = append(curves, Curve{Name: c.name, Scores: s, Labels: l})
	}
	return curves
}

func TestROC(t *testing.T) {
	f, err := ROC(testCurves(), "Model comparison")
	if err != nil {
		t.Fatal(err)
	}
	checkSaved(t, f, "roc")
	for i, test := range []struct {
		curves []Curve
		want   string
	}{
		0: {nil, "no curves"},
		1: {[]Curve{{Name: "x", Scores: []float64{1, 2}, Labels: []int{0}}}, `curve 0 ("x"): 2 scores but 1 labels`},
		2: {[]Curve{{Name: "x", Scores: []float64{1, 2}, Labels: []int{0, 0}}}, "no anomalous sample"},
		3: {[]Curve{{Name: "x", Scores: []float64{1, math.NaN()}, Labels: []int{0, 1}}}, "score 1 is NaN"},
		4: {[]Curve{{Name: "x", Scores: []float64{1, 2}, Labels: []int{0, 3}}}, "label 1 is 3"},
	} {
		_, err := ROC(test.curves, "")
		if err == nil || !strings.Contains(err.Error(), test.want) || !strings.HasPrefix(err.Error(), "figures: ") {
			t.Errorf("case %d: error %v, want one containing %q", i, err, test.want)
		}
	}
}

// TestROCGolden compares the ROC figure with a golden PNG, pixel by pixel
// with a small tolerance for font rasterisation. Regenerate it with
// go test ./sdk/figures -run ROCGolden -regen.
func TestROCGolden(t *testing.T) {
	s := Default()
	s.DPI = 100
	f, err := s.ROC(testCurves(), "Model comparison")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Encode(&buf, "png"); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "roc_golden.png")
	if *regen {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (regenerate with -regen)", err)
	}
	got, _ := png.Decode(bytes.NewReader(buf.Bytes()))
	ref, err := png.Decode(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	if diff := differing(got, ref); diff > 0.001 {
		out := filepath.Join(t.TempDir(), "roc.png")
		os.WriteFile(out, buf.Bytes(), 0o644)
		t.Errorf("ROC figure differs from %s in %.2f%% of its pixels; got %s", golden, 100*diff, out)
	}
}

// differing returns the fraction of pixels of a and b that differ by more
// than 10% in some channel, 1 if their sizes differ.
func differing(a, b image.Image) float64 {
	if a.Bounds() != b.Bounds() {
		return 1
	}
	var n int
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			for _, d := range []int{int(r1) - int(r2), int(g1) - int(g2), int(b1) - int(b2)} {
				if d > 0x1999 || d < -0x1999 {
					n++
					break
				}
			}
		}
	}
	return float64(n) / float64(r.Dx()*r.Dy())
}

// TestDiffering checks that the golden comparison can fail: a curve drawn
// in another colour must be detected.
func TestDiffering(t *testing.T) {
	s := Default()
	s.DPI = 100
	curves := testCurves()
	render := func(c []Curve) image.Image {
		f, err := s.ROC(c, "Model comparison")
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		f.Encode(&buf, "png")
		im, _ := png.Decode(&buf)
		return im
	}
	a := render(curves)
	curves[2].Color = s.Colors[4]
	if d := differing(a, render(curves)); d <= 0.001 {
		t.Errorf("recoloured curve changes %.4f%% of pixels, below the golden tolerance", 100*d)
	}
	if d := differing(a, a); d != 0 {
		t.Errorf("an image differs from itself in %v of pixels", d)
	}
}

func TestHistograms(t *testing.T) {
	rnd := rand.New(rand.NewPCG(2, 2))
	var groups []Group
	for i, name := range []string{"normal (train)", "normal (test)", "anomalous (test)"} {
		s, _ := scores(rnd, 200, 0)
		for k := range s {
			s[k] += 2 * float64(i/2)
		}
		groups = append(groups, Group{Name: name, Values: s[:100+50*i]})
	}
	f, err := Histograms(groups, "Residual score", "R(x)")
	if err != nil {
		t.Fatal(err)
	}
	checkSaved(t, f, "hist")
	for i, test := range []struct {
		groups []Group
		want   string
	}{
		0: {nil, "no groups"},
		1: {[]Group{{Name: "a"}}, `group 0 ("a") has no values`},
		2: {[]Group{{Name: "a", Values: []float64{1}}, {Name: "b", Values: []float64{1, math.Inf(1)}}}, `group 1 ("b"): value 1 is +Inf`},
	} {
		_, err := Histograms(test.groups, "", "")
		if err == nil || !strings.Contains(err.Error(), test.want) {
			t.Errorf("case %d: error %v, want one containing %q", i, err, test.want)
		}
	}
	// One value only: a single bin, no error.
	if _, err := Histograms([]Group{{Name: "a", Values: []float64{3, 3}}}, "", ""); err != nil {
		t.Errorf("constant values: %v", err)
	}
}

func TestHistogramsNormalised(t *testing.T) {
	groups := []Group{
		{Name: "small", Values: []float64{0, 1, 1, 2}},
		{Name: "large", Values: []float64{0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2}},
	}
	lo, width, dens, err := binned(groups, 4)
	if err != nil {
		t.Fatal(err)
	}
	if lo != 0 || width != 0.5 || len(dens) != 2 {
		t.Fatalf("bins from %v of width %v for %d groups, want from 0 of width 0.5 for 2", lo, width, len(dens))
	}
	want := [][]float64{{0.5, 0, 1, 0.5}, {1.0 / 3, 0, 2.0 / 3, 1}}
	for i, d := range dens {
		var area float64
		for k, v := range d {
			area += v * width
			if math.Abs(v-want[i][k]) > 1e-12 {
				t.Errorf("group %d bin %d: density %v, want %v", i, k, v, want[i][k])
			}
		}
		if math.Abs(area-1) > 1e-12 {
			t.Errorf("group %d: area %v, want 1", i, area)
		}
	}
}

func TestScatter2D(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 3))
	var pts [][2]float64
	var labels []int
	for i := range 200 {
		l := i%3 - 1
		pts = append(pts, [2]float64{rnd.NormFloat64() + 4*float64(l), rnd.NormFloat64()})
		labels = append(labels, l)
	}
	f, err := Scatter2D(pts, labels, "t-SNE")
	if err != nil {
		t.Fatal(err)
	}
	checkSaved(t, f, "scatter")
	for i, test := range []struct {
		pts    [][2]float64
		labels []int
		want   string
	}{
		0: {pts[:2], labels[:1], "2 points but 1 labels"},
		1: {nil, nil, "no points"},
		2: {[][2]float64{{0, math.NaN()}}, []int{0}, "point 0 is [0 NaN]"},
		3: {[][2]float64{{0, 0}}, []int{7}, "label 0 is 7"},
	} {
		_, err := Scatter2D(test.pts, test.labels, "")
		if err == nil || !strings.Contains(err.Error(), test.want) {
			t.Errorf("case %d: error %v, want one containing %q", i, err, test.want)
		}
	}
}

func TestImageGrid(t *testing.T) {
	rnd := rand.New(rand.NewPCG(4, 4))
	var ims []*data.Image
	var titles []string
	for i := range 10 {
		x, _ := patch(rnd, 16, 16, i%3 == 0)
		ims = append(ims, x)
		titles = append(titles, "a very long sample title")
	}
	f, err := ImageGrid(ims, 5, titles)
	if err != nil {
		t.Fatal(err)
	}
	checkSaved(t, f, "grid")
	if _, err := ImageGrid(ims, 4, nil); err != nil {
		t.Errorf("without titles: %v", err)
	}
	bad := data.NewImage(4, 4)
	bad.Pix[5] = float32(math.NaN())
	for i, test := range []struct {
		ims    []*data.Image
		cols   int
		titles []string
		want   string
	}{
		0: {nil, 3, nil, "no images"},
		1: {ims, 0, nil, "0 columns"},
		2: {ims, 3, titles[:2], "2 titles for 10 images"},
		3: {[]*data.Image{ims[0], nil}, 3, nil, "image 1: no image"},
		4: {[]*data.Image{bad}, 3, nil, "image 0: value NaN at row 1, column 1"},
	} {
		_, err := ImageGrid(test.ims, test.cols, test.titles)
		if err == nil || !strings.Contains(err.Error(), test.want) {
			t.Errorf("case %d: error %v, want one containing %q", i, err, test.want)
		}
	}
}

func fig3Blocks(rnd *rand.Rand) []Fig3Block {
	var blocks []Fig3Block
	for b, title := range []string{"normal (train)", "normal (test)", "anomalous (test)"} {
		blk := Fig3Block{Title: title, RCutoff: 60, DCutoff: 6}
		for range 2 {
			blk.Columns = append(blk.Columns, fig3Column(rnd, b == 2))
		}
		blocks = append(blocks, blk)
	}
	return blocks
}

func TestFig3(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 5))
	f, err := Fig3(fig3Blocks(rnd))
	if err != nil {
		t.Fatal(err)
	}
	checkSaved(t, f, "fig3")

	blocks := fig3Blocks(rnd)
	blocks[1].Columns[1].Residual = data.NewImage(8, 8)
	_, err = Fig3(blocks)
	if want := `block 1 ("normal (test)"), column 1: residual image is 8x8 but the query is 32x32`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one containing %q", err, want)
	}
	blocks = fig3Blocks(rnd)
	blocks[0].Columns[0].Generated = nil
	if _, err = Fig3(blocks); err == nil || !strings.Contains(err.Error(), "column 0: no generated image") {
		t.Errorf("missing generated image: error %v", err)
	}
	blocks = fig3Blocks(rnd)
	blocks[2].Columns[0].D = math.NaN()
	if _, err = Fig3(blocks); err == nil || !strings.Contains(err.Error(), "score is NaN") {
		t.Errorf("NaN score: error %v", err)
	}
	if _, err = Fig3(nil); err == nil {
		t.Error("Fig3(nil) gave no error")
	}
}

// TestFig3Decisions checks the colour of the decision bars in the PNG: the
// residual bar of a column is red exactly when R >= RCutoff.
func TestFig3Decisions(t *testing.T) {
	rnd := rand.New(rand.NewPCG(6, 6))
	col := fig3Column(rnd, false)
	blk := Fig3Block{Title: "b", Columns: []Fig3Column{col, col}, RCutoff: col.R, DCutoff: math.Inf(1)}
	blk.Columns[1].R = col.R - 1 // below the cut-off
	s := Default()
	s.DPI = 72
	f, err := s.Fig3([]Fig3Block{blk})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Encode(&buf, "png"); err != nil {
		t.Fatal(err)
	}
	im, _ := png.Decode(&buf)
	l := s.fig3Layout(1, 2, false)
	// Centre of the R bar of each column, in pixels from the top left.
	barY := l.margin + l.titleH + 3*(l.cell+l.gap) + l.gap + l.barH/2
	for k, want := range []struct{ R, G, B uint8 }{{215, 40, 30}, {60, 170, 90}} {
		x := l.margin + l.labelW + vg.Length(k)*(l.cell+l.gap) + l.cell/2
		r, g, b, _ := im.At(int(x.Points()), int(barY.Points())).RGBA()
		if uint8(r>>8) != want.R || uint8(g>>8) != want.G || uint8(b>>8) != want.B {
			t.Errorf("column %d: R bar is (%d, %d, %d), want %v", k, r>>8, g>>8, b>>8, want)
		}
	}
}

func TestEncodeUnknownFormat(t *testing.T) {
	f, err := ROC(testCurves()[:1], "")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Encode(io.Discard, "gif"); err == nil || !strings.Contains(err.Error(), `unknown format "gif"`) {
		t.Errorf("error %v, want unknown format", err)
	}
}

func TestSaveBadDir(t *testing.T) {
	f, _ := ROC(testCurves()[:1], "")
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	err := f.Save(filepath.Join(file, "sub"), "roc")
	if err == nil || !strings.Contains(err.Error(), "figures: ") {
		t.Errorf("saving under a file: error %v", err)
	}
}
