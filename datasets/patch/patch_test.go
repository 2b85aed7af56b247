package patch

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/anogo/anogo/datasets/phantom"
	"github.com/anogo/anogo/sdk/data"
)

const tol = 1e-6

// ramp returns an h x w image whose pixel (y, x) is (y*w+x)/(h*w) scaled to
// [-1, 1).
func ramp(h, w int) *data.Image {
	im := data.NewImage(h, w)
	for j := range im.Pix {
		im.Pix[j] = float32(2*float64(j)/float64(h*w) - 1)
	}
	return im
}

func TestLabelRule(t *testing.T) {
	mask := data.NewImage(32, 32)
	mask.Set(10, 20, 1)
	s := data.Sample{ID: "s", Image: ramp(32, 32), Label: data.Anomalous, Mask: mask}
	for n, tc := range []struct{ y, x, size, want int }{
		0: {0, 0, 16, data.Normal},     // rows 0-15, columns 0-15
		1: {0, 5, 16, data.Anomalous},  // columns 5-20 include 20
		2: {10, 20, 1, data.Anomalous}, // the pixel itself
		3: {11, 16, 16, data.Normal},   // starts one row below
		4: {0, 21, 8, data.Normal},     // starts one column right
		5: {0, 0, 32, data.Anomalous},  // whole image
		6: {10, 5, 16, data.Anomalous}, // top row is the pixel's row
		7: {16, 16, 16, data.Normal},   // bottom-right quarter
		8: {3, 13, 8, data.Anomalous},  // rows 3-10, columns 13-20
		9: {3, 13, 7, data.Normal},     // rows 3-9, columns 13-19
	} {
		if got := Label(s, tc.y, tc.x, tc.size); got != tc.want {
			t.Errorf("%d: Label at (%d,%d) size %d = %d, want %d", n, tc.y, tc.x, tc.size, got, tc.want)
		}
	}
	// Without a mask the patch inherits the image label.
	for _, l := range []int{data.Normal, data.Anomalous, data.Unknown} {
		if got := Label(data.Sample{Image: ramp(8, 8), Label: l}, 0, 0, 4); got != l {
			t.Errorf("no mask, image label %d: patch label %d", l, got)
		}
	}
}

func TestCut(t *testing.T) {
	mask := data.NewImage(16, 16)
	mask.Set(5, 6, 1)
	s := data.Sample{ID: "phantom:test/17", Image: ramp(16, 16), Label: data.Anomalous, Mask: mask}
	p, err := Cut(s, 4, 2, 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "phantom:test/17#patch(y=4,x=2)" || p.Label != data.Anomalous {
		t.Errorf("ID %q label %d", p.ID, p.Label)
	}
	if p.Image.At(1, 3) != s.Image.At(5, 5) || p.Mask.At(1, 4) != 1 || p.Mask.At(0, 0) != 0 {
		t.Error("patch pixels are not the crop")
	}
	q, err := Cut(s, 4, 2, 8, 4)
	if err != nil {
		t.Fatal(err)
	}
	if q.Image.H != 4 || q.Mask.W != 4 || q.Label != data.Anomalous {
		t.Errorf("resized patch %dx%d, mask %dx%d, label %d", q.Image.W, q.Image.H, q.Mask.W, q.Mask.H, q.Label)
	}
	// Area resampling by 2: mean of the 2x2 block.
	want := (s.Image.At(4, 2) + s.Image.At(4, 3) + s.Image.At(5, 2) + s.Image.At(5, 3)) / 4
	if d := math.Abs(float64(q.Image.At(0, 0) - want)); d > tol {
		t.Errorf("resized pixel %v, want %v", q.Image.At(0, 0), want)
	}
	for _, bad := range [][2]int{{-1, 0}, {0, 9}, {9, 0}} {
		if _, err := Cut(s, bad[0], bad[1], 8, 0); err == nil || !strings.Contains(err.Error(), "phantom:test/17") {
			t.Errorf("Cut at %v: error %v, want one naming the sample", bad, err)
		}
	}
}

func TestResize(t *testing.T) {
	im := &data.Image{H: 2, W: 2, Pix: []float32{0, 1, 2, 3}}
	up := Resize(im, 4, 4)
	// Pixel centres aligned: output 0 and 1 map to input -0.25 (clamped to
	// 0) and 0.25; rows likewise.
	wantRow0 := []float32{0, 0.25, 0.75, 1}
	for x, w := range wantRow0 {
		if d := math.Abs(float64(up.At(0, x) - w)); d > tol {
			t.Errorf("up(0,%d) = %v, want %v", x, up.At(0, x), w)
		}
	}
	if d := math.Abs(float64(up.At(3, 3) - 3)); d > tol {
		t.Errorf("up(3,3) = %v, want 3", up.At(3, 3))
	}
	down := Resize(ramp(9, 9), 3, 3)
	src := ramp(9, 9)
	var block float64
	for y := 3; y < 6; y++ {
		for x := 3; x < 6; x++ {
			block += float64(src.At(y, x))
		}
	}
	if d := math.Abs(float64(down.At(1, 1)) - block/9); d > tol {
		t.Errorf("3x shrink: centre %v, want block mean %v", down.At(1, 1), block/9)
	}
	c := data.NewImage(7, 5)
	for j := range c.Pix {
		c.Pix[j] = -0.3
	}
	for _, sz := range [][2]int{{3, 2}, {14, 10}, {7, 5}, {5, 11}} {
		r := Resize(c, sz[0], sz[1])
		for _, v := range r.Pix {
			if math.Abs(float64(v)+0.3) > tol {
				t.Fatalf("constant image resized to %v: value %v", sz, v)
			}
		}
	}
	m := &data.Image{H: 2, W: 2, Pix: []float32{0, 1, 1, 0}}
	n := ResizeNearest(m, 4, 4)
	if n.At(0, 0) != 0 || n.At(0, 3) != 1 || n.At(3, 0) != 1 || n.At(3, 3) != 0 || n.At(1, 2) != 1 {
		t.Errorf("nearest: %v", n.Pix)
	}
}

func TestGridCovers(t *testing.T) {
	im := ramp(128, 256)
	for _, tc := range []struct{ size, stride, want int }{
		{64, 32, 3 * 7},
		{64, 64, 2 * 4},
		{48, 40, 3 * 7}, // rows 0, 40, 80 (80+48 = 128); columns 0, 40, ..., 200, then 208
		{32, 32, 4 * 8},
	} {
		ps := Grid(im, tc.size, tc.stride)
		if len(ps) != tc.want {
			t.Errorf("size %d stride %d: %d patches, want %d", tc.size, tc.stride, len(ps), tc.want)
		}
		covered := make([]int, im.H*im.W)
		for _, p := range ps {
			if p.Y < 0 || p.X < 0 || p.Y+p.Size > im.H || p.X+p.Size > im.W {
				t.Fatalf("patch at (%d,%d) outside the image", p.Y, p.X)
			}
			if p.Image.At(0, 0) != im.At(p.Y, p.X) || p.Image.At(p.Size-1, p.Size-1) != im.At(p.Y+p.Size-1, p.X+p.Size-1) {
				t.Fatalf("patch at (%d,%d) holds other pixels", p.Y, p.X)
			}
			for y := p.Y; y < p.Y+p.Size; y++ {
				for x := p.X; x < p.X+p.Size; x++ {
					covered[y*im.W+x]++
				}
			}
		}
		if j := slices.Index(covered, 0); j >= 0 {
			t.Errorf("size %d stride %d: pixel (%d,%d) not covered", tc.size, tc.stride, j/im.W, j%im.W)
		}
	}
	if ps := Grid(ramp(16, 16), 32, 8); ps != nil {
		t.Errorf("grid larger than the image: %d patches", len(ps))
	}
}

func TestStitchConstant(t *testing.T) {
	const h, w = 40, 70
	ps := Grid(data.NewImage(h, w), 16, 6)
	for _, resized := range []int{16, 8} {
		maps := make([]*data.Image, len(ps))
		for j := range maps {
			maps[j] = data.NewImage(resized, resized)
			for k := range maps[j].Pix {
				maps[j].Pix[k] = 0.7
			}
		}
		out := Stitch(h, w, ps, maps)
		for j, v := range out.Pix {
			if math.Abs(float64(v)-0.7) > tol {
				t.Fatalf("maps of %d: pixel %d = %v, want 0.7", resized, j, v)
			}
		}
	}
	// Two overlapping patches average; uncovered pixels are 0.
	a := Patch{Y: 0, X: 0, Size: 2}
	b := Patch{Y: 0, X: 1, Size: 2}
	one := &data.Image{H: 2, W: 2, Pix: []float32{1, 1, 1, 1}}
	three := &data.Image{H: 2, W: 2, Pix: []float32{3, 3, 3, 3}}
	out := Stitch(3, 4, []Patch{a, b}, []*data.Image{one, three})
	want := []float32{1, 2, 3, 0, 1, 2, 3, 0, 0, 0, 0, 0}
	if !slices.Equal(out.Pix, want) {
		t.Errorf("stitch = %v, want %v", out.Pix, want)
	}
}

func TestAggregate(t *testing.T) {
	scores := []float64{0.1, 0.9, 0.4, 0.7}
	for _, tc := range []struct {
		how  string
		want float64
	}{
		{"max", 0.9},
		{"mean", 0.525},
		{"topk-mean:1", 0.9},
		{"topk-mean:2", 0.8},
		{"topk-mean:10", 0.525},
	} {
		got, err := Aggregate(scores, tc.how)
		if err != nil || math.Abs(got-tc.want) > tol {
			t.Errorf("Aggregate(%q) = %v, %v; want %v", tc.how, got, err, tc.want)
		}
	}
	if !slices.Equal(scores, []float64{0.1, 0.9, 0.4, 0.7}) {
		t.Error("Aggregate modified its input")
	}
	for _, how := range []string{"median", "topk-mean:0", "topk-mean:x"} {
		if _, err := Aggregate(scores, how); err == nil {
			t.Errorf("Aggregate(%q): no error", how)
		}
	}
	if _, err := Aggregate(nil, "max"); err == nil {
		t.Error("no scores: no error")
	}
	if _, err := Aggregate([]float64{1, math.NaN()}, "max"); err == nil {
		t.Error("NaN score: no error")
	}
}

// listSource is a data.Source over fixed samples, with an optional ROI.
type listSource struct {
	ss  []data.Sample
	roi *data.Image
}

func (l listSource) Name() string     { return "list" }
func (l listSource) Splits() []string { return []string{data.Test} }
func (l listSource) Samples(string) iter.Seq2[data.Sample, error] {
	return func(yield func(data.Sample, error) bool) {
		for _, s := range l.ss {
			if !yield(s, nil) {
				return
			}
		}
	}
}

type roiSource struct{ listSource }

func (r roiSource) ROI(data.Sample) (*data.Image, error) { return r.roi, nil }

func phantomSource(t *testing.T) data.Source {
	t.Helper()
	src, err := phantom.Open("train=6,val=0,test=10")
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestKBound: K above MaxK is refused before the positions are drawn (K =
// 10^9 allocated 16 GB at once).
func TestKBound(t *testing.T) {
	src := phantomSource(t)
	_, err := data.Collect(NewSource(src, Options{Size: 32, K: 1_000_000_000}), data.Train, 1)
	if !errors.Is(err, data.ErrLimit) || !strings.Contains(err.Error(), "1000000000 patches per image") {
		t.Errorf("K = 10^9: %v", err)
	}
	s := data.Sample{ID: "x", Image: data.NewImage(40, 40)}
	if _, err := Positions(s, nil, 32, MaxK+1, Rand(1, "train", "x")); !errors.Is(err, data.ErrLimit) {
		t.Errorf("Positions with k = MaxK+1: %v", err)
	}
}

func TestSourceDeterministic(t *testing.T) {
	src := phantomSource(t)
	opt := Options{Size: 32, K: 5, Seed: 7, InROI: true}
	a, err := data.Collect(NewSource(src, opt), data.Train, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 6*5 {
		t.Fatalf("%d patches, want 30", len(a))
	}
	b, _ := data.Collect(NewSource(src, opt), data.Train, 0)
	opt.Seed = 8
	c, _ := data.Collect(NewSource(src, opt), data.Train, 0)
	same := 0
	for j := range a {
		if a[j].ID != b[j].ID || !slices.Equal(a[j].Image.Pix, b[j].Image.Pix) {
			t.Fatalf("patch %d differs between two runs with the same seed", j)
		}
		if a[j].ID == c[j].ID {
			same++
		}
	}
	if same > 3 {
		t.Errorf("seeds 7 and 8 share %d of %d positions", same, len(a))
	}
	if !strings.HasPrefix(a[0].ID, "phantom:train/0#patch(y=") {
		t.Errorf("ID %q", a[0].ID)
	}
	for _, p := range a {
		if err := p.Image.Check(p.ID); err != nil {
			t.Fatal(err)
		}
		for _, v := range p.Image.Pix {
			if v < -1 || v > 1 {
				t.Fatalf("%s: value %v outside [-1, 1]", p.ID, v)
			}
		}
	}
	// The splits are seeded differently: image 0 of val and test differ
	// anyway, so compare positions of the same IDs through Rand.
	if Rand(1, data.Train, "x").Uint64() == Rand(1, data.Test, "x").Uint64() {
		t.Error("Rand gives the same stream for train and test")
	}
}

func TestSourceROIRespected(t *testing.T) {
	// A band of rows 20-29 is the ROI of a 64x64 image.
	roi := data.NewImage(64, 64)
	for y := 20; y < 30; y++ {
		for x := range 64 {
			roi.Set(y, x, 1)
		}
	}
	src := roiSource{listSource{ss: []data.Sample{{ID: "a", Image: ramp(64, 64)}, {ID: "b", Image: ramp(64, 64)}}, roi: roi}}
	ps, err := data.Collect(NewSource(src, Options{Size: 16, Resize: 8, K: 50, InROI: true}), data.Test, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 100 {
		t.Fatalf("%d patches, want 100", len(ps))
	}
	for _, p := range ps {
		var y, x int
		i := strings.Index(p.ID, "#patch(")
		if _, err := fmt.Sscanf(p.ID[i:], "#patch(y=%d,x=%d)", &y, &x); err != nil {
			t.Fatal(err)
		}
		if roi.At(y+8, x+8) != 1 {
			t.Errorf("%s: centre (%d,%d) outside the ROI", p.ID, y+8, x+8)
		}
		if p.Image.H != 8 || p.Image.W != 8 {
			t.Errorf("%s: size %dx%d, want 8x8", p.ID, p.Image.W, p.Image.H)
		}
	}
	// Options.ROI overrides; no ROI at all is an error.
	_, err = data.Collect(NewSource(src.listSource, Options{Size: 16, InROI: true}), data.Test, 0)
	if err == nil {
		t.Error("InROI without any ROI: no error")
	}
	empty := data.NewImage(64, 64)
	_, err = data.Collect(NewSource(src.listSource, Options{Size: 16, InROI: true,
		ROI: func(data.Sample) (*data.Image, error) { return empty, nil }}), data.Test, 0)
	if err == nil || !strings.Contains(err.Error(), "a:") {
		t.Errorf("empty ROI: error %v, want one naming sample a", err)
	}
	_, err = data.Collect(NewSource(src.listSource, Options{Size: 128}), data.Test, 0)
	if err == nil {
		t.Error("patch larger than the image: no error")
	}
}

func TestPhantomPatches(t *testing.T) {
	src := phantomSource(t)
	ps, err := data.Collect(NewSource(src, Options{Size: 64, Resize: 32, K: 8, Seed: 1, InROI: true}), data.Test, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		i := strings.Index(p.ID, "#")
		split, n, err := phantom.ParseID(p.ID[:i])
		if err != nil {
			t.Fatal(err)
		}
		sc, err := phantom.Generate(phantom.DefaultConfig(), split, n)
		if err != nil {
			t.Fatal(err)
		}
		var y, x int
		if _, err := fmt.Sscanf(p.ID[i:], "#patch(y=%d,x=%d)", &y, &x); err != nil {
			t.Fatal(err)
		}
		if sc.ROI.At(y+32, x+32) != 1 {
			t.Errorf("%s: centre outside the retina", p.ID)
		}
		if want := Label(sc.Sample, y, x, 64); p.Label != want {
			t.Errorf("%s: label %d, want %d", p.ID, p.Label, want)
		}
		if sc.Label == data.Normal && p.Label != data.Normal {
			t.Errorf("%s: anomalous patch of a normal scan", p.ID)
		}
	}
}

func TestBalanced(t *testing.T) {
	src := phantomSource(t)
	ps, err := Balanced(src, data.Test, 12, Options{Size: 32, K: 8, Seed: 3, InROI: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 24 {
		t.Fatalf("%d patches, want 24", len(ps))
	}
	for j, p := range ps {
		if want := j % 2; p.Label != want {
			t.Errorf("patch %d (%s): label %d, want %d", j, p.ID, p.Label, want)
		}
	}
	// The set spreads over the split: 12 normal patches out of 8 per scan
	// come from more than the first two scans.
	scans := map[string]bool{}
	for _, p := range ps {
		if p.Label == data.Normal {
			scans[strings.Split(p.ID, "#")[0]] = true
		}
	}
	if len(scans) < 4 {
		t.Errorf("normal patches from %d scans of 10, want them spread over the split", len(scans))
	}
	again, err := Balanced(src, data.Test, 12, Options{Size: 32, K: 8, Seed: 3, InROI: true})
	if err != nil || len(again) != len(ps) {
		t.Fatal("second draw failed", err)
	}
	for j := range ps {
		if again[j].ID != ps[j].ID {
			t.Fatalf("patch %d: %s, then %s with the same seed", j, ps[j].ID, again[j].ID)
		}
	}
	if _, err := Balanced(src, data.Test, 1000, Options{Size: 32, K: 2, InROI: true}); err == nil {
		t.Error("impossible balanced set: no error")
	}
}

// TestFlattened checks that flattening puts the top of every column's
// region of interest on the chosen row and moves masks with the image.
func TestFlattened(t *testing.T) {
	src, err := phantom.Open("train=2,val=2,test=4")
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFlattened(src, 10)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for s, err := range f.Samples("test") {
		if err != nil {
			t.Fatal(err)
		}
		roi, err := f.ROI(s)
		if err != nil {
			t.Fatal(err)
		}
		for x := 0; x < roi.W; x++ {
			if roi.At(10, x) != 1 || roi.At(9, x) != 0 {
				t.Fatalf("%s column %d: ROI top not on row 10", s.ID, x)
			}
		}
		if s.Mask != nil {
			for i, v := range s.Mask.Pix {
				if v > 0 && roi.Pix[i] == 0 {
					t.Fatalf("%s: annotated pixel %d outside the flattened retina", s.ID, i)
				}
			}
		}
		n++
	}
	if n != 4 {
		t.Fatalf("%d flattened test scans, want 4", n)
	}
	if _, err := NewFlattened(data.Source(nil), 0); err == nil {
		t.Error("flattened a source without a region of interest")
	}
}

func TestParseID(t *testing.T) {
	parent, y, x, err := ParseID(ID("phantom:test/17", 12, 80))
	if err != nil || parent != "phantom:test/17" || y != 12 || x != 80 {
		t.Errorf("ParseID(ID(...)) = %q, %d, %d, %v", parent, y, x, err)
	}
	if p, _, _, err := ParseID("a#b#patch(y=0,x=3)"); err != nil || p != "a#b" {
		t.Errorf("nested #: %q, %v", p, err)
	}
	for _, bad := range []string{"phantom:test/17", "x#patch(y=1,x=2", "x#patch(y=1,x=2)z", "x#patch(y=-1,x=2)", "x#patch(y=1,x=2))", "x#patch(1,2)"} {
		if _, _, _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q): no error", bad)
		}
	}
}
