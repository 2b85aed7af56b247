package display

import (
	"fmt"
	"html"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
)

// DefaultInterval is the least time between two redraws of a Progress.
const DefaultInterval = 250 * time.Millisecond

// PlainInterval is the least time between two lines of a Progress whose
// output is not a terminal (a file or a pipe): a plain line every few
// seconds instead of a line redrawn in place.
const PlainInterval = 5 * time.Second

// barWidth is the number of characters of the text bar.
const barWidth = 20

// Progress is a live progress bar for a training loop. In a notebook it is
// one HTML output block updated in place; on a terminal it is one line of
// text rewritten in place (with a carriage return) on Out; when Out is a
// file or a pipe (Plain) it prints a plain line every PlainInterval and a
// last one at the end, so logs stay readable. Each shows the
// label, step/total, the rate in steps per second, the time left (ETA) and
// the latest values (losses) as key=value in key order.
//
// Update may be called at every step: redraws are throttled to one per
// Interval. Progress is safe for concurrent use. Its Update method has the
// shape of a training hook, func(step int, values map[string]float64).
type Progress struct {
	// Out receives the text bar outside a notebook; nil writes nothing.
	// NewProgress sets it to os.Stderr.
	Out io.Writer
	// Interval is the least time between two redraws; NewProgress sets
	// DefaultInterval, or PlainInterval when Plain.
	Interval time.Duration
	// Plain prints one line per redraw, with no carriage return; NewProgress
	// sets it when Out is not a terminal (IsTerminal). Set Plain and
	// Interval too when replacing Out.
	Plain bool

	label string
	total int
	front frontEnd         // nil outside a notebook
	id    string           // output block of the notebook
	now   func() time.Time // the clock; replaced in tests

	mu       sync.Mutex
	start    time.Time
	lastDraw time.Time
	drawn    bool
	pending  bool // an update not drawn yet
	done     bool
	step     int
	values   map[string]float64
	lineLen  int // length of the last text line, to blank what is left of it
}

// NewProgress returns a progress bar for total steps (a total <= 0 means
// unknown: no percentage nor ETA). The clock for the rate starts now, at
// step 0.
func NewProgress(total int, label string) *Progress {
	return newProgress(os.Stderr, time.Now, front, total, label)
}

// newProgress is NewProgress writing to out (outside a notebook), with the
// clock now and the notebook front end fe (nil outside a notebook): tests
// pass a fake terminal or a plain writer, a fake clock and a recorder.
func newProgress(out io.Writer, now func() time.Time, fe frontEnd, total int, label string) *Progress {
	p := &Progress{
		Out:      out,
		Interval: DefaultInterval,
		label:    label,
		total:    total,
		front:    fe,
		now:      now,
	}
	if p.front != nil {
		p.id = "anogo_progress_" + gonbui.UniqueId()
	} else if !IsTerminal(p.Out) {
		p.Plain, p.Interval = true, PlainInterval
	}
	p.start = p.now()
	return p
}

// IsTerminal reports whether w is a terminal, where a line can be redrawn in
// place: whether it has a Stat method, as *os.File has, that reports a
// character device (a console; also /dev/null, where redraws are harmless).
// Files, pipes, other writers and nil are not terminals.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Stat() (os.FileInfo, error) })
	if !ok {
		return false
	}
	fi, err := f.Stat() // a nil *os.File returns os.ErrInvalid
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Update records that step steps are done and the latest values (copied;
// nil keeps the previous ones), and redraws the bar if Interval has passed
// since the last redraw, or at the first update, or when step reaches total.
// Updates after Done are ignored.
func (p *Progress) Update(step int, values map[string]float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	p.step = step
	if values != nil {
		p.values = maps.Clone(values)
	}
	now := p.now()
	if p.drawn && now.Sub(p.lastDraw) < p.Interval && (p.total <= 0 || step < p.total) {
		p.pending = true
		return
	}
	p.draw(now, false)
}

// Done draws the final state of the bar and, for the text bar, ends its
// line; a Plain bar whose last line already shows the final state prints
// nothing more. Calls after the first do nothing.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	p.done = true
	if p.Plain && p.drawn && !p.pending && p.front == nil {
		return // the last line already shows the final state
	}
	p.draw(p.now(), true)
}

// draw shows the bar; p.mu is held.
func (p *Progress) draw(now time.Time, final bool) {
	p.drawn, p.lastDraw, p.pending = true, now, false
	st := p.state(now)
	if p.front != nil {
		p.front.UpdateHTML(p.id, st.html())
		return
	}
	if p.Out == nil {
		return
	}
	line := st.text()
	if p.Plain {
		fmt.Fprintln(p.Out, line)
		return
	}
	pad := max(p.lineLen-len(line), 0)
	p.lineLen = len(line)
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(p.Out, "\r%s%s%s", line, strings.Repeat(" ", pad), end)
}

// progressState is what one redraw shows.
type progressState struct {
	label       string
	step, total int
	elapsed     time.Duration
	rate        float64 // steps per second; 0 when unknown
	eta         time.Duration
	hasETA      bool
	values      string // "k1=v1 k2=v2" in key order
}

func (p *Progress) state(now time.Time) progressState {
	st := progressState{label: p.label, step: p.step, total: p.total, elapsed: now.Sub(p.start)}
	if s := st.elapsed.Seconds(); s > 0 && p.step > 0 {
		st.rate = float64(p.step) / s
	}
	if st.rate > 0 && p.total > 0 {
		left := max(p.total-p.step, 0)
		st.eta = time.Duration(float64(left) / st.rate * float64(time.Second))
		st.hasETA = true
	}
	kv := make([]string, 0, len(p.values))
	for _, k := range slices.Sorted(maps.Keys(p.values)) {
		kv = append(kv, k+"="+FormatFloat(p.values[k]))
	}
	st.values = strings.Join(kv, " ")
	return st
}

// fraction returns the part done in [0, 1], or -1 when total is unknown.
func (st progressState) fraction() float64 {
	if st.total <= 0 {
		return -1
	}
	return min(max(float64(st.step)/float64(st.total), 0), 1)
}

// counts returns "step/total" or "step" when total is unknown.
func (st progressState) counts() string {
	if st.total <= 0 {
		return fmt.Sprint(st.step)
	}
	return fmt.Sprintf("%d/%d", st.step, st.total)
}

// timing returns "12.5 it/s, 3s, ETA 5s" (rate, elapsed, time left).
func (st progressState) timing() string {
	rate := "? it/s"
	if st.rate > 0 {
		rate = fmt.Sprintf("%.3g it/s", st.rate)
	}
	eta := "?"
	if st.hasETA {
		eta = roundDuration(st.eta).String()
	}
	return fmt.Sprintf("%s, %s, ETA %s", rate, roundDuration(st.elapsed), eta)
}

// roundDuration rounds d to seconds, or to milliseconds below one second.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}

// text returns the one-line text bar, e.g.
// "train  45% [#########...........] 450/1000 [12.3 it/s, 36s, ETA 44s] d_loss=0.6931".
func (st progressState) text() string {
	var b strings.Builder
	if st.label != "" {
		b.WriteString(st.label)
		b.WriteString(" ")
	}
	if f := st.fraction(); f >= 0 {
		n := int(f * barWidth)
		fmt.Fprintf(&b, "%3d%% [%s%s] ", int(f*100), strings.Repeat("#", n), strings.Repeat(".", barWidth-n))
	}
	fmt.Fprintf(&b, "%s [%s]", st.counts(), st.timing())
	if st.values != "" {
		b.WriteString(" ")
		b.WriteString(st.values)
	}
	return b.String()
}

// html returns the bar as an HTML fragment with a <progress> element.
func (st progressState) html() string {
	var b strings.Builder
	b.WriteString(`<div class="anogo-progress" style="font-family:monospace">`)
	if st.label != "" {
		fmt.Fprintf(&b, "<b>%s</b> ", html.EscapeString(st.label))
	}
	if f := st.fraction(); f >= 0 {
		fmt.Fprintf(&b, `<progress value="%d" max="%d" style="width:20em"></progress> %d%% `, min(max(st.step, 0), st.total), st.total, int(f*100))
	}
	fmt.Fprintf(&b, "%s [%s]", st.counts(), html.EscapeString(st.timing()))
	if st.values != "" {
		fmt.Fprintf(&b, "<br>%s", html.EscapeString(st.values))
	}
	b.WriteString("</div>")
	return b.String()
}
