package dpa

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anogo/anogo/sdk/checkpoint"
)

// vggFile writes a VGG19 weights file as LoadVGG19 reads it, with the
// values of a random trunk of width 64, changed by edit (nil: none).
func vggFile(t *testing.T, edit func(c *checkpoint.Checkpoint)) (string, *FeatureNet) {
	t.Helper()
	fn, err := NewFeatureNet(Features{Width: 64, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	c := &checkpoint.Checkpoint{Kind: "vgg19"}
	fn.Set.AddTo(c)
	// a deeper layer, which the loader ignores
	c.Add("features.14.bias", make([]float32, 256), 256)
	if edit != nil {
		edit(c)
	}
	path := filepath.Join(t.TempDir(), "vgg19.ckpt")
	if err := checkpoint.Save(path, c); err != nil {
		t.Fatal(err)
	}
	return path, fn
}

// TestLoadVGG19 reads a small file that the test writes; a missing, a
// mis-shaped and a truncated file are refused with errors naming the file
// and the tensor.
func TestLoadVGG19(t *testing.T) {
	path, want := vggFile(t, nil)
	fn, err := NewFeatureNet(Features{Kind: VGG19, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range fn.Set.Values() {
		if !slices.Equal(v, want.Set.Values()[i]) {
			t.Fatalf("tensor %s differs", fn.Set.Params[i].Name)
		}
	}
	if RowName(fn.Features) != "DPA" || !strings.HasPrefix(fn.Features.String(), "vgg19:") {
		t.Fatalf("row %q, features %q", RowName(fn.Features), fn.Features)
	}
	for _, c := range []struct {
		name string
		edit func(c *checkpoint.Checkpoint)
		want []string
	}{
		{"missing", func(c *checkpoint.Checkpoint) {
			c.Tensors = slices.DeleteFunc(c.Tensors, func(t checkpoint.Tensor) bool { return t.Name == "features.7.weight" })
		},
			[]string{"features.7.weight", "no tensor"}},
		{"shape", func(c *checkpoint.Checkpoint) {
			for i := range c.Tensors {
				if c.Tensors[i].Name == "features.10.bias" {
					c.Tensors[i].Shape, c.Tensors[i].Data = []int{128}, c.Tensors[i].Data[:128]
				}
			}
		}, []string{"features.10.bias", "[128]", "[256]"}},
	} {
		p, _ := vggFile(t, c.edit)
		_, err := LoadVGG19(p)
		if err == nil {
			t.Fatalf("%s: loaded", c.name)
		}
		for _, w := range append(c.want, p) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", c.name, err, w)
			}
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.ckpt")
	if err := os.WriteFile(cut, raw[:len(raw)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadVGG19(cut); err == nil || !strings.Contains(err.Error(), cut) {
		t.Errorf("truncated file: %v", err)
	}
	if _, err := NewFeatureNet(Features{Kind: VGG19}); err == nil {
		t.Error("vgg19 without a path built")
	}
}

// TestConverter runs tools/vgg19_to_anogo.py on a state_dict of the
// trunk's shapes written by torch, and loads its output. Skipped without
// python3 and torch.
func TestConverter(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python")
	}
	py := "/usr/bin/python3"
	if exec.Command(py, "-c", "import torch").Run() != nil {
		t.Skip("no python3 with torch")
	}
	dir := t.TempDir()
	sd, out := filepath.Join(dir, "vgg.pth"), filepath.Join(dir, "vgg.ckpt")
	script := `import sys, torch
torch.manual_seed(0)
sd = {}
for idx, (co, ci) in zip([0, 2, 5, 7, 10, 12, 14], [(64, 3), (64, 64), (128, 64), (128, 128), (256, 128), (256, 256), (256, 256)]):
    sd["features.%d.weight" % idx] = torch.randn(co, ci, 3, 3)
    sd["features.%d.bias" % idx] = torch.randn(co)
torch.save(sd, sys.argv[1])
print(float(sd["features.12.weight"][255, 255, 2, 2]))
`
	v, err := exec.Command(py, "-c", script, sd).Output()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(py, "tools/vgg19_to_anogo.py", sd, out).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	fn, err := LoadVGG19(out)
	if err != nil {
		t.Fatal(err)
	}
	w := fn.Set.Get("features.12.weight").Data().([]float32)
	if got := strings.TrimSpace(string(v)); len(w) != 256*256*9 || got == "" {
		t.Fatalf("%d values; python printed %q", len(w), got)
	}
	var last float64
	if _, err := fmtSscan(strings.TrimSpace(string(v)), &last); err != nil {
		t.Fatal(err)
	}
	if float32(last) != w[len(w)-1] {
		t.Fatalf("last weight %v, torch %v", w[len(w)-1], last)
	}
}

func fmtSscan(s string, v *float64) (int, error) { return fmt.Sscan(s, v) }
