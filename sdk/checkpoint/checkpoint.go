package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/anogo/anogo/sdk/data"
)

// Format and Version identify the file format written by Save.
const (
	Format  = "anogo-checkpoint"
	Version = 1
)

// maxTensorValues bounds a tensor read from a file (2^31 float32 values).
const maxTensorValues = 1 << 31

// MaxValues is the most float32 values Load reads from one checkpoint, all
// tensors together: 2^28 by default (1 GiB of weights; the paper's 64x64
// DCGAN holds about 2^22), or the environment variable
// ANOGO_MAX_CHECKPOINT_VALUES. It is checked against the manifest before
// anything is read, so a small file that claims huge tensors is refused
// without the allocation. Raise it for larger models.
var MaxValues = int(data.EnvLimit("ANOGO_MAX_CHECKPOINT_VALUES", 1<<28))

// Tensor is a named float32 array with its shape.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Checkpoint is the content of one checkpoint file.
type Checkpoint struct {
	// Kind names the model family, e.g. "dcgan" or "acae".
	Kind string
	// Meta is the family's own JSON-encoded metadata.
	Meta json.RawMessage
	// Tensors in the order they were added.
	Tensors []Tensor
}

// Add appends a tensor. Data is referenced, not copied.
func (c *Checkpoint) Add(name string, data []float32, shape ...int) {
	c.Tensors = append(c.Tensors, Tensor{Name: name, Shape: shape, Data: data})
}

// Get returns the tensor called name.
func (c *Checkpoint) Get(name string) (Tensor, bool) {
	for _, t := range c.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}

// Into copies the tensor called name into dst, which must have the same
// number of values.
func (c *Checkpoint) Into(name string, dst []float32) error {
	t, ok := c.Get(name)
	if !ok {
		return fmt.Errorf("checkpoint: no tensor %q", name)
	}
	if len(t.Data) != len(dst) {
		return fmt.Errorf("checkpoint: tensor %q has %d values, want %d", name, len(t.Data), len(dst))
	}
	copy(dst, t.Data)
	return nil
}

type manifest struct {
	Format  string          `json:"format"`
	Version int             `json:"version"`
	Kind    string          `json:"kind"`
	Meta    json.RawMessage `json:"meta"`
	Tensors []entry         `json:"tensors"`
}

type entry struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	File  string `json:"file"`
}

// Save writes c to path atomically (data.WriteFile: a temporary file,
// synced and renamed over the target, through a symbolic link and keeping
// the target's mode), creating the directory if needed.
func Save(path string, c *Checkpoint) error {
	for _, t := range c.Tensors {
		if n := numel(t.Shape); n != len(t.Data) {
			return fmt.Errorf("checkpoint: writing %q: tensor %q: shape %v needs %d values, has %d", path, t.Name, t.Shape, n, len(t.Data))
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := data.WriteFile(path, func(w io.Writer) error { return write(w, c) }); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// write writes c as a zip archive: the tensors, stored, then the manifest.
func write(f io.Writer, c *Checkpoint) error {
	zw := zip.NewWriter(f)
	m := manifest{Format: Format, Version: Version, Kind: c.Kind, Meta: c.Meta}
	if len(m.Meta) == 0 {
		m.Meta = json.RawMessage("{}")
	}
	var buf bytes.Buffer
	for i, t := range c.Tensors {
		name := fmt.Sprintf("tensors/%04d.f32", i)
		m.Tensors = append(m.Tensors, entry{Name: t.Name, Shape: t.Shape, File: name})
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			return err
		}
		buf.Reset()
		buf.Grow(4 * len(t.Data))
		var b [4]byte
		for _, v := range t.Data {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			buf.Write(b[:])
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	mw, err := zw.Create("manifest.json")
	if err != nil {
		return err
	}
	enc := json.NewEncoder(mw)
	enc.SetIndent("", " ")
	if err := enc.Encode(m); err != nil {
		return err
	}
	return zw.Close()
}

// Load reads the checkpoint at path.
func Load(path string) (*Checkpoint, error) {
	f, err := data.OpenRegular(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return load(f, fi.Size(), path)
}

// load reads a checkpoint of size bytes from r; path names it in errors.
func load(r io.ReaderAt, size int64, path string) (*Checkpoint, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %q is not a readable checkpoint: %w", path, err)
	}
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
	}
	mf, ok := files["manifest.json"]
	if !ok {
		return nil, fmt.Errorf("checkpoint: %q has no manifest.json", path)
	}
	raw, err := readAll(mf, 64<<20)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %q: manifest: %w", path, err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("checkpoint: %q: manifest: %w", path, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("checkpoint: %q: format %q, want %q", path, m.Format, Format)
	}
	if m.Version != Version {
		return nil, fmt.Errorf("checkpoint: %q: format version %d, this build reads version %d", path, m.Version, Version)
	}
	c := &Checkpoint{Kind: m.Kind, Meta: m.Meta}
	// Bound the whole before reading any of it: every member once, the
	// values of all tensors together at most MaxValues.
	used := map[string]string{}
	total := 0
	for _, e := range m.Tensors {
		n := numel(e.Shape)
		if n < 0 || n > maxTensorValues {
			return nil, fmt.Errorf("checkpoint: %q: tensor %q has bad shape %v", path, e.Name, e.Shape)
		}
		if other, dup := used[e.File]; dup {
			return nil, fmt.Errorf("checkpoint: %q: tensors %q and %q both name member %s", path, other, e.Name, e.File)
		}
		used[e.File] = e.Name
		if total += n; total > MaxValues {
			return nil, fmt.Errorf("checkpoint: refusing to allocate its tensors: %w", &data.LimitError{
				What: fmt.Sprintf("%q", path), N: int64(total), Limit: int64(MaxValues), Unit: "values (float32) or more",
				Env: "ANOGO_MAX_CHECKPOINT_VALUES", Var: "checkpoint.MaxValues"})
		}
	}
	for _, e := range m.Tensors {
		n := numel(e.Shape)
		if n < 0 || n > maxTensorValues {
			return nil, fmt.Errorf("checkpoint: %q: tensor %q has bad shape %v", path, e.Name, e.Shape)
		}
		f, ok := files[e.File]
		if !ok {
			return nil, fmt.Errorf("checkpoint: %q: tensor %q: missing %s", path, e.Name, e.File)
		}
		if f.UncompressedSize64 != uint64(4*n) {
			return nil, fmt.Errorf("checkpoint: %q: tensor %q: %d bytes for shape %v (want %d)", path, e.Name, f.UncompressedSize64, e.Shape, 4*n)
		}
		b, err := readAll(f, int64(4*n))
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %q: tensor %q: %w", path, e.Name, err)
		}
		if len(b) != 4*n {
			return nil, fmt.Errorf("checkpoint: %q: tensor %q: truncated", path, e.Name)
		}
		data := make([]float32, n)
		for i := range data {
			v := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("checkpoint: %q: tensor %q holds %v at index %d", path, e.Name, v, i)
			}
			data[i] = v
		}
		c.Tensors = append(c.Tensors, Tensor{Name: e.Name, Shape: e.Shape, Data: data})
	}
	return c, nil
}

// Expect checks, before a model is built from c, that every tensor named in
// want is present with exactly that shape, and returns an error naming the
// first (in name order) that is missing or differs. Callers compute want
// from the configuration the checkpoint states (its Meta): an edited or
// damaged configuration is then refused by the tensors it would need,
// instead of allocating a model the file does not hold.
func (c *Checkpoint) Expect(want map[string][]int) error {
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		t, ok := c.Get(n)
		if !ok {
			return fmt.Errorf("checkpoint: no tensor %q (its configuration needs one of shape %v)", n, want[n])
		}
		if !slices.Equal(t.Shape, want[n]) {
			return fmt.Errorf("checkpoint: its configuration needs tensor %q of shape %v, the file holds %v: the configuration and the tensors disagree (an edited or damaged file, or one of another configuration?)", n, want[n], t.Shape)
		}
	}
	return nil
}

func readAll(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errors.New("entry larger than expected")
	}
	return b, nil
}

func numel(shape []int) int {
	n := 1
	for _, s := range shape {
		if s < 0 || (s > 0 && n > maxTensorValues/s) {
			return -1
		}
		n *= s
	}
	return n
}
