package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anogo/anogo/sdk/data"
)

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "m.ckpt")
	c := &Checkpoint{Kind: "test", Meta: json.RawMessage(`{"step":3}`)}
	c.Add("a", []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	c.Add("b", []float32{-1.5}, 1)
	if err := Save(path, c); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != "test" || string(got.Meta) == "" {
		t.Fatalf("kind %q meta %s", got.Kind, got.Meta)
	}
	var meta struct{ Step int }
	if err := json.Unmarshal(got.Meta, &meta); err != nil || meta.Step != 3 {
		t.Fatalf("meta %s: %v", got.Meta, err)
	}
	a, ok := got.Get("a")
	if !ok || len(a.Data) != 6 || a.Data[5] != 6 || a.Shape[1] != 3 {
		t.Fatalf("tensor a: %+v", a)
	}
	dst := make([]float32, 1)
	if err := got.Into("b", dst); err != nil || dst[0] != -1.5 {
		t.Fatalf("Into: %v %v", dst, err)
	}
	if err := got.Into("b", make([]float32, 2)); err == nil {
		t.Fatal("Into accepted a wrong size")
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want 1", len(entries))
	}
}

func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.ckpt")
	c := &Checkpoint{Kind: "x"}
	c.Add("w", []float32{1, 2}, 2)
	if err := Save(good, c); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good)
	for i, tc := range []struct {
		name string
		data []byte
		want string
	}{
		0: {"empty", nil, "not a readable checkpoint"},
		1: {"truncated", raw[:len(raw)/2], "not a readable checkpoint"},
		2: {"text", []byte("hello"), "not a readable checkpoint"},
	} {
		p := filepath.Join(dir, tc.name)
		os.WriteFile(p, tc.data, 0o644)
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("case %d (%s): error %v, want one naming the file and %q", i, tc.name, err, tc.want)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file loaded")
	}
	bad := &Checkpoint{Kind: "x"}
	bad.Add("w", []float32{1, 2, 3}, 2)
	if err := Save(filepath.Join(dir, "bad.ckpt"), bad); err == nil {
		t.Error("Save accepted a tensor whose shape does not match its data")
	}
}

// TestSaveKeepsOldOnFailure checks that a failed save leaves the previous
// checkpoint intact.
func TestSaveKeepsOldOnFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.ckpt")
	c := &Checkpoint{Kind: "x"}
	c.Add("w", []float32{7}, 1)
	if err := Save(path, c); err != nil {
		t.Fatal(err)
	}
	bad := &Checkpoint{Kind: "x"}
	bad.Add("w", []float32{1, 2}, 3)
	if err := Save(path, bad); err == nil {
		t.Fatal("bad save succeeded")
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := got.Get("w"); w.Data[0] != 7 {
		t.Fatalf("old checkpoint changed: %v", w.Data)
	}
}

// FuzzLoad feeds arbitrary bytes to Load: it must return a checkpoint or an
// error, never panic, and never allocate more than the file describes.
func FuzzLoad(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "seed.ckpt")
	c := &Checkpoint{Kind: "x", Meta: json.RawMessage(`{"a":1}`)}
	c.Add("w", []float32{1, 2, 3, 4}, 2, 2)
	if err := Save(good, c); err != nil {
		f.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add(raw[:len(raw)-10])
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := "f.ckpt"
		got, err := load(bytes.NewReader(b), int64(len(b)), p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		for _, tn := range got.Tensors {
			if numel(tn.Shape) != len(tn.Data) {
				t.Errorf("tensor %q: shape %v, %d values", tn.Name, tn.Shape, len(tn.Data))
			}
		}
	})
}

// TestLoadSpecialFiles: a FIFO or a link to /dev/zero given as a checkpoint
// is refused at once (Load hung on the first and read the second without
// end).
func TestLoadSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo, link := filepath.Join(dir, "fifo.ckpt"), filepath.Join(dir, "zero.ckpt")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Skip(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, p := range []string{fifo, link} {
			if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("Load(%s): %v", p, err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Load blocked on a special file")
	}
}

// zipWith writes a checkpoint file of the given manifest and members.
func zipWith(t *testing.T, path string, m manifest, members map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	mb, _ := json.Marshal(m)
	for name, b := range map[string][]byte{"manifest.json": mb} {
		w, _ := zw.Create(name)
		w.Write(b)
	}
	for name, b := range members {
		w, _ := zw.Create(name)
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadBoundsMemory: a manifest that names one member for several
// tensors, or whose tensors together exceed MaxValues, is refused before
// anything is read (a 1.4 MB file naming one 1 GiB member four times drove
// memory to 7.5 GB).
func TestLoadBoundsMemory(t *testing.T) {
	dir := t.TempDir()
	four := make([]byte, 16)
	dup := filepath.Join(dir, "dup.ckpt")
	zipWith(t, dup, manifest{Format: Format, Version: Version, Kind: "x", Meta: json.RawMessage("{}"),
		Tensors: []entry{{"a", []int{4}, "t0"}, {"b", []int{4}, "t0"}}}, map[string][]byte{"t0": four})
	if _, err := Load(dup); err == nil || !strings.Contains(err.Error(), "both name member t0") {
		t.Errorf("a member named twice: %v", err)
	}
	old := MaxValues
	defer func() { MaxValues = old }()
	MaxValues = 7
	big := filepath.Join(dir, "big.ckpt")
	zipWith(t, big, manifest{Format: Format, Version: Version, Kind: "x", Meta: json.RawMessage("{}"),
		Tensors: []entry{{"a", []int{4}, "t0"}, {"b", []int{4}, "t1"}}}, map[string][]byte{"t0": four, "t1": four})
	if _, err := Load(big); !errors.Is(err, data.ErrLimit) || !strings.Contains(err.Error(), "limit of 7") || !strings.Contains(err.Error(), "ANOGO_MAX_CHECKPOINT_VALUES") {
		t.Errorf("8 values with MaxValues 7: %v", err)
	}
	MaxValues = 8
	if _, err := Load(big); err != nil {
		t.Errorf("8 values with MaxValues 8: %v", err)
	}
}

// TestExpect: the shapes a checkpoint's stated configuration implies are
// checked against its tensors before a model is built; a tensor that is
// missing or of another shape is an error naming it.
func TestExpect(t *testing.T) {
	c := &Checkpoint{Kind: "x"}
	c.Add("g.fc.w", make([]float32, 6), 2, 3)
	c.Add("d.fc.w", make([]float32, 4), 1, 4)
	for i, tc := range []struct {
		want map[string][]int
		err  string
	}{
		0: {map[string][]int{"g.fc.w": {2, 3}, "d.fc.w": {1, 4}}, ""},
		1: {map[string][]int{"g.fc.w": {512, 3}}, `"g.fc.w" of shape [512 3], the file holds [2 3]`},
		2: {map[string][]int{"e.fc.w": {1}}, `no tensor "e.fc.w"`},
		3: {map[string][]int{"g.fc.w": {2, 3, 1}}, "disagree"},
		4: {nil, ""},
	} {
		err := c.Expect(tc.want)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("case %d: %v, want %q", i, err, tc.err)
		}
	}
}

// FuzzManifest loads checkpoints of an arbitrary manifest over two members
// of 16 bytes, in memory (writing a file per input made FuzzLoad run a
// handful of inputs a second): Load must return an error or tensors whose
// values match their shapes and stay within MaxValues, never panic or
// allocate for what the members do not hold. Seeds: a good manifest, one
// member named for four tensors (a 1.4 MB file drove memory to 7.5 GB),
// huge, negative and overflowing shapes, a missing member.
func FuzzManifest(f *testing.F) {
	for _, s := range []string{
		`{"format":"anogo-checkpoint","version":1,"kind":"x","meta":{},"tensors":[{"name":"a","shape":[2,2],"file":"t0"},{"name":"b","shape":[4],"file":"t1"}]}`,
		`{"format":"anogo-checkpoint","version":1,"kind":"x","meta":{},"tensors":[{"name":"a","shape":[4],"file":"t0"},{"name":"b","shape":[4],"file":"t0"},{"name":"c","shape":[4],"file":"t0"},{"name":"d","shape":[4],"file":"t0"}]}`,
		`{"format":"anogo-checkpoint","version":1,"kind":"x","meta":{},"tensors":[{"name":"a","shape":[268435456],"file":"t0"}]}`,
		`{"format":"anogo-checkpoint","version":1,"kind":"x","meta":{},"tensors":[{"name":"a","shape":[-4,-1],"file":"t0"}]}`,
		`{"format":"anogo-checkpoint","version":1,"kind":"x","meta":{},"tensors":[{"name":"a","shape":[4294967296,4294967296,4],"file":"t0"}]}`,
		`{"format":"anogo-checkpoint","version":1,"kind":"x","meta":{},"tensors":[{"name":"a","shape":[4],"file":"t9"}]}`,
		`{"format":"anogo-checkpoint","version":1,"kind":"x","meta":{},"tensors":[{"name":"a","shape":[],"file":"t0"}]}`,
		`{"format":"anogo-checkpoint","version":2}`,
	} {
		f.Add([]byte(s))
	}
	member := make([]byte, 16)
	f.Fuzz(func(t *testing.T, manifest []byte) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("manifest.json")
		w.Write(manifest)
		for _, name := range []string{"t0", "t1"} {
			w, _ := zw.Create(name)
			w.Write(member)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		old := MaxValues
		defer func() { MaxValues = old }()
		MaxValues = 1 << 16
		c, err := load(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "fuzz.ckpt")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.ckpt") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		total := 0
		for _, tn := range c.Tensors {
			if numel(tn.Shape) != len(tn.Data) {
				t.Errorf("tensor %q: shape %v, %d values", tn.Name, tn.Shape, len(tn.Data))
			}
			total += len(tn.Data)
		}
		if total > 8 {
			t.Errorf("%d values from two members of 4", total)
		}
	})
}
