package display

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/anogo/anogo/sdk/data"
	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// recorder is a fake notebook front end.
type recorder struct {
	html    []string
	png     [][]byte
	updates []string // "id: html"
}

func (r *recorder) HTML(s string)           { r.html = append(r.html, s) }
func (r *recorder) PNG(b []byte)            { r.png = append(r.png, b) }
func (r *recorder) UpdateHTML(id, s string) { r.updates = append(r.updates, id+": "+s) }
func (r *recorder) count() int              { return len(r.html) + len(r.png) + len(r.updates) }

// inNotebook makes the package believe it runs in a notebook until the test
// ends, and returns what it shows.
func inNotebook(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{}
	old := front
	front = r
	t.Cleanup(func() { front = old })
	return r
}

func TestNotNotebook(t *testing.T) {
	if IsNotebook() {
		t.Fatal("IsNotebook() = true in a test")
	}
	// Nothing is shown and bad input is not even looked at.
	HTML("<b>x</b>")
	Table(dataframe.New(series.New([]float64{1}, series.Float, "a")))
	if err := PNG(nil); err != nil {
		t.Errorf("PNG(nil) outside a notebook: %v", err)
	}
	if err := Plot(nil, 0, 0); err != nil {
		t.Errorf("Plot(nil) outside a notebook: %v", err)
	}
	if err := Images(nil, 0, 0); err != nil {
		t.Errorf("Images(nil) outside a notebook: %v", err)
	}
}

func TestTableHTML(t *testing.T) {
	df := dataframe.New(
		series.New([]string{"<b>a&b</b>", `"q"`}, series.String, "id<x>"),
		series.New([]float64{0.912345, 12345.6}, series.Float, "auc"),
		series.New([]int{1, 0}, series.Int, "label"),
	)
	got := TableHTML(df)
	want := `<table class="anogo-table">
<thead><tr><th>id&lt;x&gt;</th><th>auc</th><th>label</th></tr></thead>
<tbody>
<tr><td>&lt;b&gt;a&amp;b&lt;/b&gt;</td><td style="text-align:right">0.9123</td><td style="text-align:right">1</td></tr>
<tr><td>&#34;q&#34;</td><td style="text-align:right">1.235e+04</td><td style="text-align:right">0</td></tr>
</tbody>
</table>
`
	if got != want {
		t.Errorf("TableHTML:\n%s\nwant:\n%s", got, want)
	}
}

func TestTableHTMLError(t *testing.T) {
	df := dataframe.New(series.New([]float64{1}, series.Float, "a")).Select("missing<col>")
	if df.Err == nil {
		t.Fatal("Select of a missing column gave no error")
	}
	got := TableHTML(df)
	if !strings.HasPrefix(got, `<pre class="anogo-error">display: table: `) || strings.Contains(got, "<col>") {
		t.Errorf("TableHTML of a failed DataFrame = %q", got)
	}
}

func TestTableHTMLEmpty(t *testing.T) {
	got := TableHTML(dataframe.DataFrame{})
	if !strings.Contains(got, "<thead><tr></tr></thead>\n<tbody>\n</tbody>") {
		t.Errorf("TableHTML(empty) = %q", got)
	}
}

func TestFormatFloat(t *testing.T) {
	for i, c := range []struct {
		v    float64
		want string
	}{
		{0.912345, "0.9123"},
		{0.5, "0.5"},
		{1234.56, "1235"},
		{12345.6, "1.235e+04"},
		{-0.000123456, "-0.0001235"},
		{0, "0"},
	} {
		if got := FormatFloat(c.v); got != c.want {
			t.Errorf("%d: FormatFloat(%v) = %q, want %q", i, c.v, got, c.want)
		}
	}
}

func TestTableInNotebook(t *testing.T) {
	r := inNotebook(t)
	df := dataframe.New(series.New([]float64{0.25}, series.Float, "x"))
	Table(df)
	if len(r.html) != 1 || r.html[0] != TableHTML(df) {
		t.Errorf("Table sent %q", r.html)
	}
}

func TestGrey(t *testing.T) {
	for i, c := range []struct {
		v    float32
		want uint8
	}{
		{-1, 0}, {1, 255}, {0, 128}, {-2, 0}, {3, 255}, {0.5, 191},
	} {
		if got := Grey(c.v); got != c.want {
			t.Errorf("%d: Grey(%v) = %d, want %d", i, c.v, got, c.want)
		}
	}
}

func TestGrid(t *testing.T) {
	a := &data.Image{H: 1, W: 2, Pix: []float32{-1, 1}}
	b := &data.Image{H: 2, W: 1, Pix: []float32{0, 1}}
	c := &data.Image{H: 1, W: 1, Pix: []float32{-1}}
	g, err := Grid([]*data.Image{a, b, c}, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Tiles are 2x2 source pixels, 4x4 output pixels; 2 columns, 2 rows,
	// 2-pixel gaps: 4+2+4 = 10 wide and high.
	if got := g.Bounds(); got != image.Rect(0, 0, 10, 10) {
		t.Fatalf("Grid bounds %v, want 10x10", got)
	}
	for i, c := range []struct {
		x, y int
		want uint8
	}{
		{0, 0, 0}, {1, 1, 0}, {2, 0, 255}, {3, 1, 255}, // a
		{0, 2, 255},                                        // below a: tile background
		{4, 0, 255},                                        // gap
		{6, 0, 128}, {7, 1, 128}, {6, 2, 255}, {8, 0, 255}, // b and the empty part of its tile
		{0, 6, 0}, {1, 7, 0}, {2, 6, 255}, // c
		{6, 6, 255}, // empty last tile
	} {
		if got := g.GrayAt(c.x, c.y).Y; got != c.want {
			t.Errorf("%d: pixel (%d,%d) = %d, want %d", i, c.x, c.y, got, c.want)
		}
	}
}

func TestGridErrors(t *testing.T) {
	for i, imgs := range [][]*data.Image{
		nil,
		{nil},
		{{H: 2, W: 2, Pix: []float32{0}}},
	} {
		if _, err := Grid(imgs, 1, 1); err == nil || !strings.HasPrefix(err.Error(), "display: Grid:") {
			t.Errorf("%d: Grid error = %v", i, err)
		}
	}
}

func TestImagesInNotebook(t *testing.T) {
	r := inNotebook(t)
	im := &data.Image{H: 2, W: 3, Pix: []float32{-1, 0, 1, 1, 0, -1}}
	if err := Images([]*data.Image{im, im}, 0, 3); err != nil {
		t.Fatal(err)
	}
	if len(r.png) != 1 {
		t.Fatalf("Images sent %d PNGs", len(r.png))
	}
	got, err := png.Decode(bytes.NewReader(r.png[0]))
	if err != nil {
		t.Fatal(err)
	}
	if b := got.Bounds(); b.Dx() != 2*9+gridGap || b.Dy() != 6 {
		t.Errorf("PNG size %v, want %dx6", b, 2*9+gridGap)
	}
	if err := Images([]*data.Image{nil}, 1, 1); err == nil {
		t.Error("Images with a nil image: no error")
	}
}

func TestPlotInNotebook(t *testing.T) {
	r := inNotebook(t)
	p := plot.New()
	p.Title.Text = "test"
	if err := Plot(p, 4*vg.Centimeter, 3*vg.Centimeter); err != nil {
		t.Fatal(err)
	}
	if len(r.png) != 1 || !bytes.HasPrefix(r.png[0], []byte("\x89PNG")) {
		t.Fatalf("Plot sent %d images", len(r.png))
	}
	if err := Plot(nil, vg.Centimeter, vg.Centimeter); err == nil {
		t.Error("Plot(nil): no error")
	}
	if err := Plot(p, 0, vg.Centimeter); err == nil {
		t.Error("Plot of width 0: no error")
	}
}

// clock is a fake clock that the test moves forward.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// terminal is a fake terminal: a buffer whose Stat reports a character
// device, as a console's *os.File does.
type terminal struct{ bytes.Buffer }

func (*terminal) Stat() (os.FileInfo, error) { return charDevice{}, nil }

// charDevice is the os.FileInfo of a console.
type charDevice struct{}

func (charDevice) Name() string       { return "tty" }
func (charDevice) Size() int64        { return 0 }
func (charDevice) Mode() os.FileMode  { return os.ModeDevice | os.ModeCharDevice | 0o620 }
func (charDevice) ModTime() time.Time { return time.Time{} }
func (charDevice) IsDir() bool        { return false }
func (charDevice) Sys() any           { return nil }

// newTestProgress returns a bar on a fake terminal (in the notebook if the
// test made one) with a fake clock.
func newTestProgress(total int, label string) (*Progress, *clock, *terminal) {
	c := &clock{t: time.Date(2017, 3, 17, 0, 0, 0, 0, time.UTC)}
	term := &terminal{}
	return newProgress(term, c.now, front, total, label), c, term
}

// TestProgressTerminal: on a terminal the bar is one line redrawn in place,
// each redraw starting with a carriage return, ended by Done's newline.
func TestProgressTerminal(t *testing.T) {
	p, c, term := newTestProgress(100, "train")
	if p.Plain || p.Interval != DefaultInterval {
		t.Fatalf("on a terminal: Plain %v, Interval %v", p.Plain, p.Interval)
	}
	start := c.t
	for i := 1; i <= 100; i++ {
		c.t = start.Add(time.Duration(i) * 100 * time.Millisecond) // 10 s in all
		p.Update(i, map[string]float64{"loss": 1 / float64(i)})
	}
	if s := term.String(); strings.Contains(s, "\n") {
		t.Fatalf("newline before Done: %q", s)
	}
	p.Done()
	s := term.String()
	if !strings.HasPrefix(s, "\r") || strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Fatalf("not one line redrawn in place: %q", s)
	}
	// Redraws at the first update (0.1 s) and at each update 250 ms or more
	// after the last redraw (0.4, 0.7, ..., 9.7 s): 33; at the last step
	// (10 s); at Done.
	if n := strings.Count(s, "\r"); n != 33+1+1 {
		t.Errorf("%d redraws, want 35", n)
	}
	last := s[strings.LastIndex(s, "\r")+1:]
	if want := "train 100% [####################] 100/100 [10 it/s, 10s, ETA 0s] loss=0.01\n"; last != want {
		t.Errorf("final line\n%q\nwant\n%q", last, want)
	}
}

// TestProgressPlain: on a file or a pipe the bar prints a plain line (no
// carriage return) every PlainInterval, one at the last step and none more
// at Done.
func TestProgressPlain(t *testing.T) {
	c := &clock{t: time.Date(2017, 3, 17, 0, 0, 0, 0, time.UTC)}
	var buf bytes.Buffer
	p := newProgress(&buf, c.now, nil, 100, "train")
	if !p.Plain || p.Interval != PlainInterval {
		t.Fatalf("on a buffer: Plain %v, Interval %v", p.Plain, p.Interval)
	}
	start := c.t
	for i := 1; i <= 100; i++ {
		c.t = start.Add(time.Duration(i) * 200 * time.Millisecond) // 20 s in all
		p.Update(i, nil)
	}
	p.Done()
	s := buf.String()
	if strings.Contains(s, "\r") {
		t.Errorf("plain output holds a carriage return: %q", s)
	}
	// Lines at 0.2 s (the first update), 5.2, 10.2, 15.2 s and at the last step (20 s).
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[4], "train 100% [####################] 100/100 [5 it/s, 20s, ETA 0s]") {
		t.Errorf("%d lines, want 5 ending at 100/100:\n%s", len(lines), s)
	}
}

// TestProgressPlainDone: Done prints the final state on a plain writer when
// the last line does not show it (updates since, new values at the same
// step), and nothing when it does.
func TestProgressPlainDone(t *testing.T) {
	for i, test := range []struct {
		steps []int // one update per second
		lines int
	}{
		0: {steps: []int{1}, lines: 1},           // the first update shows it
		1: {steps: []int{1, 2, 3}, lines: 2},     // 2 and 3 not drawn
		2: {steps: []int{1, 1}, lines: 2},        // step 1 again, new values
		3: {steps: nil, lines: 1},                // no update: Done draws step 0
		4: {steps: []int{1, 2, 3, 10}, lines: 2}, // the last step is drawn at once
	} {
		c := &clock{t: time.Date(2017, 3, 17, 0, 0, 0, 0, time.UTC)}
		var buf bytes.Buffer
		p := newProgress(&buf, c.now, nil, 10, "")
		for j, step := range test.steps {
			c.t = c.t.Add(time.Second)
			p.Update(step, map[string]float64{"loss": float64(j)})
		}
		p.Done()
		if n := strings.Count(buf.String(), "\n"); n != test.lines {
			t.Errorf("%d: %d lines, want %d:\n%s", i, n, test.lines, buf.String())
		}
		last := buf.String()[strings.LastIndex(strings.TrimSuffix(buf.String(), "\n"), "\n")+1:]
		if n := len(test.steps); n > 0 && !strings.Contains(last, fmt.Sprintf("loss=%d", n-1)) {
			t.Errorf("%d: last line %q lacks the last values", i, last)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	var nilFile *os.File
	for i, w := range []io.Writer{f, w, &bytes.Buffer{}, nil, nilFile} {
		if IsTerminal(w) {
			t.Errorf("%d: %T taken for a terminal", i, w)
		}
	}
	if !IsTerminal(&terminal{}) {
		t.Error("a character device not taken for a terminal")
	}
	p := NewProgress(3, "x")
	if p.Out != os.Stderr || p.Plain == IsTerminal(os.Stderr) {
		t.Errorf("NewProgress: Out %v, Plain %v on stderr (terminal: %v)", p.Out, p.Plain, IsTerminal(os.Stderr))
	}
}

func TestProgressText(t *testing.T) {
	p, c, buf := newTestProgress(100, "train")
	c.t = c.t.Add(2 * time.Second)
	p.Update(10, map[string]float64{"g_loss": 0.70123, "d_loss": 1.5})
	want := "\rtrain  10% [##..................] 10/100 [5 it/s, 2s, ETA 18s] d_loss=1.5 g_loss=0.7012"
	if got := buf.String(); got != want {
		t.Errorf("first line\n%q\nwant\n%q", got, want)
	}
}

func TestProgressThrottle(t *testing.T) {
	p, c, buf := newTestProgress(10, "")
	// One redraw at the first update, none until 250ms have passed, one
	// at step == total, and the final one at Done.
	start := c.t
	for i, ms := range []int{0, 100, 200, 300, 400, 500, 600} {
		c.t = start.Add(time.Duration(ms) * time.Millisecond)
		p.Update(i+1, nil)
	}
	// Updates at 0, 300 and 600ms redraw.
	if n := strings.Count(buf.String(), "\r"); n != 3 {
		t.Errorf("%d redraws after 7 updates over 600ms, want 3:\n%q", n, buf.String())
	}
	p.Update(10, nil) // step == total: redraw at once
	if n := strings.Count(buf.String(), "\r"); n != 4 {
		t.Errorf("%d redraws after the last step, want 4", n)
	}
	p.Done()
	p.Done()
	p.Update(11, nil)
	s := buf.String()
	if n := strings.Count(s, "\r"); n != 5 || !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
		t.Errorf("after Done: %q", s)
	}
	if !strings.Contains(s[strings.LastIndex(s, "\r"):], "100% [####################] 10/10") {
		t.Errorf("final line: %q", s[strings.LastIndex(s, "\r"):])
	}
}

func TestProgressBlanksLongerLine(t *testing.T) {
	p, c, buf := newTestProgress(0, "x")
	c.t = c.t.Add(time.Second)
	p.Update(1, map[string]float64{"loss": 123.456})
	first := buf.Len()
	buf.Reset()
	p.Done()
	// Same values: the final line is as long as the first plus "\n".
	if buf.Len() != first+1 {
		t.Errorf("final line %q is %d bytes, first was %d", buf.String(), buf.Len(), first)
	}
	if !strings.HasPrefix(buf.String(), "\rx 1 [1 it/s, 1s, ETA ?] loss=123.5") {
		t.Errorf("unknown total: %q", buf.String())
	}
}

func TestProgressNilWriter(t *testing.T) {
	p, _, _ := newTestProgress(3, "quiet")
	p.Out = nil
	p.Update(1, nil)
	p.Done() // must not panic
}

func TestProgressNotebook(t *testing.T) {
	r := inNotebook(t)
	p, c, buf := newTestProgress(4, "<fit>")
	c.t = c.t.Add(time.Second)
	p.Update(1, map[string]float64{"loss": 0.5})
	c.t = c.t.Add(10 * time.Millisecond)
	p.Update(2, nil) // throttled
	p.Done()
	if buf.Len() != 0 {
		t.Errorf("text written in a notebook: %q", buf.String())
	}
	if len(r.updates) != 2 || len(r.html)+len(r.png) != 0 {
		t.Fatalf("got %d updates, %d other outputs", len(r.updates), r.count()-len(r.updates))
	}
	id := p.id + ": "
	if p.id == "" || !strings.HasPrefix(r.updates[0], id) || !strings.HasPrefix(r.updates[1], id) {
		t.Errorf("updates not in one block %q: %q", p.id, r.updates)
	}
	last := r.updates[1]
	for _, s := range []string{"<b>&lt;fit&gt;</b>", `<progress value="2" max="4"`, "50%", "2/4", "loss=0.5", "ETA"} {
		if !strings.Contains(last, s) {
			t.Errorf("final HTML lacks %q: %s", s, last)
		}
	}
}
