package phantom

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/anogo/anogo/sdk/data"
)

// small is a configuration that keeps the tests quick.
func small() Config {
	c := DefaultConfig()
	c.Train, c.Val, c.Test = 20, 10, 20
	return c
}

func TestGenerateDeterministic(t *testing.T) {
	cfg := small()
	a, err := Generate(cfg, data.Test, 5)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(cfg, data.Test, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Image.Pix, b.Image.Pix) || !slices.Equal(a.Mask.Pix, b.Mask.Pix) || !slices.Equal(a.Kinds, b.Kinds) {
		t.Fatal("same seed, split and index gave different scans")
	}
	other := cfg
	other.Seed = 2
	for _, tc := range []struct {
		cfg   Config
		split string
		i     int
	}{
		{other, data.Test, 5},
		{cfg, data.Val, 5},
		{cfg, data.Test, 6},
	} {
		c, err := Generate(tc.cfg, tc.split, tc.i)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(a.Image.Pix, c.Image.Pix) {
			t.Errorf("seed %d, %s/%d gave the same pixels as seed 1, test/5", tc.cfg.Seed, tc.split, tc.i)
		}
	}
}

func TestSourceMatchesGenerate(t *testing.T) {
	cfg := small()
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := data.Collect(src, data.Test, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != cfg.Test {
		t.Fatalf("test split has %d samples, want %d", len(ss), cfg.Test)
	}
	// Any sample can be drawn alone, in any order.
	for _, i := range []int{13, 2, 7} {
		sc, err := Generate(cfg, data.Test, i)
		if err != nil {
			t.Fatal(err)
		}
		if ss[i].ID != ID(data.Test, i) || !slices.Equal(ss[i].Image.Pix, sc.Image.Pix) || ss[i].Label != sc.Label {
			t.Errorf("sample %d of the iteration differs from Generate", i)
		}
	}
}

func TestScanValues(t *testing.T) {
	cfg := small()
	for i := range 12 {
		sc, err := Generate(cfg, data.Test, i)
		if err != nil {
			t.Fatal(err)
		}
		if err := sc.Image.Check(sc.ID); err != nil {
			t.Fatal(err)
		}
		if sc.Image.H != 128 || sc.Image.W != 256 {
			t.Fatalf("%s: size %dx%d, want 256x128", sc.ID, sc.Image.W, sc.Image.H)
		}
		lo, hi, masked := float32(1), float32(-1), 0
		for j, v := range sc.Image.Pix {
			lo, hi = min(lo, v), max(hi, v)
			switch m := sc.Mask.Pix[j]; m {
			case 0:
			case 1:
				masked++
				if sc.ROI.Pix[j] != 1 {
					t.Errorf("%s: anomalous pixel %d lies outside the retina ROI", sc.ID, j)
				}
			default:
				t.Fatalf("%s: mask value %v", sc.ID, m)
			}
		}
		if lo < -1 || hi > 1 {
			t.Errorf("%s: values in [%v, %v], want within [-1, 1]", sc.ID, lo, hi)
		}
		if hi-lo < 1.5 {
			t.Errorf("%s: values span only [%v, %v]", sc.ID, lo, hi)
		}
		switch sc.Label {
		case data.Normal:
			if masked != 0 || sc.Kinds != nil {
				t.Errorf("%s: normal scan with %d masked pixels and kinds %v", sc.ID, masked, sc.Kinds)
			}
		case data.Anomalous:
			if masked == 0 || len(sc.Kinds) < 1 || len(sc.Kinds) > 3 {
				t.Errorf("%s: anomalous scan with %d masked pixels and kinds %v", sc.ID, masked, sc.Kinds)
			}
		default:
			t.Errorf("%s: label %d", sc.ID, sc.Label)
		}
	}
}

// TestAnatomy checks the layout of a normal scan: dark vitreous at the top,
// a retina band with a bright RPE at its bottom, the choroid below.
func TestAnatomy(t *testing.T) {
	sc, err := GenerateKinds(DefaultConfig(), data.Test, 0)
	if err != nil {
		t.Fatal(err)
	}
	im, roi := sc.Image, sc.ROI
	var vitreous, retina, n0, n1 float64
	for x := range im.W {
		if roi.At(0, x) != 0 || roi.At(im.H-1, x) != 0 {
			t.Fatalf("column %d: ROI reaches the top or bottom row", x)
		}
		// The ROI is one run of rows per column.
		runs := 0
		for y := range im.H {
			if roi.At(y, x) == 1 && (y == 0 || roi.At(y-1, x) == 0) {
				runs++
			}
			if roi.At(y, x) == 1 {
				retina += float64(im.At(y, x))
				n1++
			} else if y < im.H/8 {
				vitreous += float64(im.At(y, x))
				n0++
			}
		}
		if runs != 1 {
			t.Fatalf("column %d: ROI has %d runs, want 1", x, runs)
		}
	}
	vitreous /= n0
	retina /= n1
	if vitreous > -0.85 {
		t.Errorf("vitreous mean %v, want below -0.85", vitreous)
	}
	if retina < -0.3 || retina > 0.5 {
		t.Errorf("retina mean %v, want within [-0.3, 0.5]", retina)
	}
	thick := n1 / float64(im.W)
	if thick < 0.25*float64(im.H) || thick > 0.5*float64(im.H) {
		t.Errorf("mean retina thickness %v rows of %d", thick, im.H)
	}
}

// TestAnomalyContrast checks that each kind changes its masked pixels by at
// least minContrast on average, comparing with the same scan without it
// (same anatomy and speckle).
func TestAnomalyContrast(t *testing.T) {
	const minContrast = 0.6
	cfg := DefaultConfig()
	for _, k := range Kinds {
		var sum float64
		const n = 6
		for i := range n {
			normal, err := GenerateKinds(cfg, data.Val, i)
			if err != nil {
				t.Fatal(err)
			}
			sc, err := GenerateKinds(cfg, data.Val, i, k)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Label != data.Anomalous || !slices.Equal(sc.Kinds, []Kind{k}) {
				t.Fatalf("%v: label %d, kinds %v", k, sc.Label, sc.Kinds)
			}
			var d, c float64
			for j, m := range sc.Mask.Pix {
				if m == 1 {
					d += math.Abs(float64(sc.Image.Pix[j] - normal.Image.Pix[j]))
					c++
				}
			}
			if c < 4 {
				t.Fatalf("%v in %s: only %v masked pixels", k, sc.ID, c)
			}
			sum += d / c
		}
		if sum/n < minContrast {
			t.Errorf("%v: mean contrast %.3f, want at least %v", k, sum/n, minContrast)
		}
	}
}

func TestAnomalyFractions(t *testing.T) {
	cfg := small()
	cfg.Train, cfg.Test, cfg.Val = 50, 30, 0
	cfg.Contamination, cfg.AnomalyFraction = 0.2, 0.3
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := src.Splits(); !slices.Equal(got, []string{data.Train, data.Test}) {
		t.Errorf("Splits() = %v, want [train test]", got)
	}
	for _, tc := range []struct {
		split string
		want  int
	}{{data.Train, 10}, {data.Test, 9}} {
		ss, err := data.Collect(src, tc.split, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(data.Filter(ss, data.Anomalous)); got != tc.want {
			t.Errorf("%s: %d anomalous scans, want %d", tc.split, got, tc.want)
		}
	}
	clean, _ := New(small())
	ss, err := data.Collect(clean, data.Train, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(data.Filter(ss, data.Normal)); got != len(ss) {
		t.Errorf("clean train split: %d normal scans of %d", got, len(ss))
	}
}

func TestSourceROI(t *testing.T) {
	src, err := New(small())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := Generate(small(), data.Test, 3)
	if err != nil {
		t.Fatal(err)
	}
	roi, err := src.ROI(sc.Sample)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(roi.Pix, sc.ROI.Pix) {
		t.Error("Source.ROI differs from Scan.ROI")
	}
	for _, id := range []string{"phantom:test/3#patch(y=0,x=0)", "other:test/3", "phantom:holdout/1"} {
		if _, err := src.ROI(data.Sample{ID: id}); err == nil {
			t.Errorf("ROI of %q: no error", id)
		}
	}
}

func TestOpen(t *testing.T) {
	src, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	if src.Name() != "phantom" || src.(*Source).Config() != DefaultConfig() {
		t.Errorf("Open(\"\"): name %q, config %+v", src.Name(), src.(*Source).Config())
	}
	src, err = Open("seed=3, train=200,test=100,width=256,height=128,anomalies=0.25,contamination=0.1")
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Seed, want.AnomalyFraction, want.Contamination = 3, 0.25, 0.1
	if got := src.(*Source).Config(); got != want {
		t.Errorf("config %+v, want %+v", got, want)
	}
	if again, err := Open(strings.TrimPrefix(src.Name(), "phantom:")); err != nil || again.(*Source).Config() != want {
		t.Errorf("Name %q does not round-trip: %v", src.Name(), err)
	}
	for _, tc := range []struct{ opts, inError string }{
		{"sede=3", `unknown key "sede"`},
		{"seed=-1", "seed=-1"},
		{"train=10,train=20", "given twice"},
		{"width=32", "out of range"},
		{"anomalies=1.5", "anomaly fraction"},
		{"train", "key=value"},
		{"train=0,val=0,test=0", "empty"},
	} {
		_, err := Open(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.inError) {
			t.Errorf("Open(%q): error %v, want one containing %q", tc.opts, err, tc.inError)
		}
	}
}

func TestBadInput(t *testing.T) {
	cfg := small()
	if _, err := Generate(cfg, "holdout", 0); err == nil {
		t.Error("unknown split: no error")
	}
	if _, err := Generate(cfg, data.Test, -1); err == nil {
		t.Error("negative index: no error")
	}
	if _, err := GenerateKinds(cfg, data.Test, 0, Kind(9)); err == nil {
		t.Error("unknown kind: no error")
	}
	src, _ := New(cfg)
	for _, err := range src.Samples("holdout") {
		if err == nil {
			t.Error("unknown split: no error from Samples")
		}
	}
}

func TestKindNames(t *testing.T) {
	for _, k := range Kinds {
		got, err := ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	if _, err := ParseKind("tumour"); err == nil {
		t.Error("ParseKind(\"tumour\"): no error")
	}
}

func TestParseID(t *testing.T) {
	split, i, err := ParseID(ID(data.Val, 17))
	if err != nil || split != data.Val || i != 17 {
		t.Errorf("ParseID(ID(val, 17)) = %q, %d, %v", split, i, err)
	}
}

func BenchmarkGenerate(b *testing.B) {
	cfg := DefaultConfig()
	for i := 0; b.Loop(); i++ {
		if _, err := Generate(cfg, data.Test, i); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSpeckleLaw checks the tabulated speckle against Gamma(L, 1/L):
// mean 1 and variance 1/L.
func TestSpeckleLaw(t *testing.T) {
	const n, tol = 200000, 0.01
	r := stream(1, 1, 0, 2)
	q := speckleQuantiles()
	var sum, sum2 float64
	for range n {
		g := q.draw(r)
		sum += g
		sum2 += g * g
	}
	mean := sum / n
	variance := sum2/n - mean*mean
	if math.Abs(mean-1) > tol || math.Abs(variance-1.0/speckleLooks) > 2*tol {
		t.Errorf("speckle mean %.4f, variance %.4f; want 1 and %.4f", mean, variance, 1.0/speckleLooks)
	}
}

// Ideal is the scan without its speckle and with its lesions' material
// healed: deterministic, close to its own scan away from the lesions
// (speckle only, also where a lesion lifted the layers), far from another
// scan's, and far from the scan on the lesions.
func TestIdeal(t *testing.T) {
	cfg := small()
	// meanAbs averages |a - b| over the pixels where keep is true.
	meanAbs := func(a, b *data.Image, keep func(j int) bool) float64 {
		var s, n float64
		for j := range a.Pix {
			if keep(j) {
				s += math.Abs(float64(a.Pix[j] - b.Pix[j]))
				n++
			}
		}
		return s / n
	}
	anomalous := 0
	for i := range 6 {
		sc, err := Generate(cfg, data.Test, i)
		if err != nil {
			t.Fatal(err)
		}
		id, err := Ideal(cfg, data.Test, i)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := Ideal(cfg, data.Test, i)
		if !slices.Equal(id.Pix, again.Pix) {
			t.Fatalf("scan %d: two calls gave different ideal images", i)
		}
		// Away from the lesions: more than 3 pixels from every mask pixel.
		m, w := sc.Mask, sc.Mask.W
		away := func(j int) bool {
			y, x := j/w, j%w
			for yy := max(0, y-3); yy <= min(m.H-1, y+3); yy++ {
				for xx := max(0, x-3); xx <= min(w-1, x+3); xx++ {
					if m.Pix[yy*w+xx] > 0.5 {
						return false
					}
				}
			}
			return true
		}
		other, _ := Ideal(cfg, data.Test, i+6)
		own, far := meanAbs(sc.Image, id, away), meanAbs(sc.Image, other, away)
		t.Logf("scan %d (%v): mean |x - Ideal| away from lesions %.3f, against scan %d's %.3f", i, sc.Kinds, own, i+6, far)
		// The speckle alone leaves about 0.04 per pixel over a whole scan
		// (half of it dark vitreous).
		if own > 0.06 || far < 2*own {
			t.Errorf("scan %d: mean |x - Ideal| %.3f against its own ideal, %.3f against another scan's", i, own, far)
		}
		if sc.Label == data.Anomalous {
			anomalous++
			on := meanAbs(sc.Image, id, func(j int) bool { return m.Pix[j] > 0.5 })
			t.Logf("scan %d: mean |x - Ideal| on the lesions %.3f", i, on)
			if on < 0.4 {
				t.Errorf("scan %d: mean |x - Ideal| on the lesions %.3f, want them absent from the ideal image", i, on)
			}
		}
	}
	if anomalous == 0 {
		t.Fatal("no anomalous scan among the first six")
	}
	src, _ := New(cfg)
	id, _ := Ideal(cfg, data.Test, 1)
	viaSource, err := src.Ideal(data.Sample{ID: ID(data.Test, 1)})
	if err != nil || !slices.Equal(viaSource.Pix, id.Pix) {
		t.Errorf("Source.Ideal differs from Ideal (%v)", err)
	}
	if _, err := src.Ideal(data.Sample{ID: "phantom:test/1#patch(y=0,x=0)"}); err == nil {
		t.Error("Source.Ideal of a patch ID: no error")
	}
	if _, err := Ideal(cfg, "nope", 0); err == nil {
		t.Error("Ideal of an unknown split: no error")
	}

	// Pixel by pixel, Ideal is within about 0.01 of the median over the
	// speckle (101 draws of scan 1, healed), the reconstruction that
	// minimises the expected absolute residual.
	const draws = 101
	anat, les, _, _, err := scene(cfg, data.Test, 1, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	les.healed = true
	r := rand.New(rand.NewPCG(7, 8))
	n := cfg.Width * cfg.Height
	all := make([]float32, draws*n)
	for k := range draws {
		img, _, _ := render(anat, les, r)
		copy(all[k*n:], img.Pix)
	}
	col := make([]float32, draws)
	var sum, worst float64
	for j := range n {
		for k := range draws {
			col[k] = all[k*n+j]
		}
		slices.Sort(col)
		d := math.Abs(float64(col[draws/2] - id.Pix[j]))
		sum += d
		worst = max(worst, d)
	}
	t.Logf("|median over %d speckle draws - Ideal|: mean %.4f, max %.4f", draws, sum/float64(n), worst)
	if sum/float64(n) > 0.01 || worst > 0.15 { // the max is mostly the draws' own noise
		t.Errorf("Ideal is not the centre of the speckle: |median - Ideal| mean %.4f, max %.4f", sum/float64(n), worst)
	}
}
