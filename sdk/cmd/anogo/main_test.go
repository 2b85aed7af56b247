package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tiny flags shared by the end-to-end runs: a 28x28 DCGAN of width 4 and a
// few steps, so each run takes seconds.
var tiny = []string{"-setting", "small", "-size", "28", "-width", "4", "-latent", "8", "-batch", "8",
	"-patch", "0", "-steps", "3", "-acae-steps", "2", "-map-steps", "2", "-test-per-class", "0", "-max-test", "12"}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// folderSource writes a folder data set with masks: normal images, abnormal
// images with a bright square and its mask.
func folderSource(t *testing.T) string {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sub := range []string{"normal", "abnormal", "masks"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
	}
	for i := 0; i < 24; i++ {
		img := image.NewGray(image.Rect(0, 0, 28, 28))
		for j := range img.Pix {
			img.Pix[j] = uint8(100 + rng.IntN(40))
		}
		name := string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".png"
		if i < 16 {
			writePNG(t, filepath.Join(dir, "normal", name), img)
			continue
		}
		mask := image.NewGray(image.Rect(0, 0, 28, 28))
		for y := 10; y < 16; y++ {
			for x := 10; x < 16; x++ {
				img.SetGray(x, y, color.Gray{Y: 250})
				mask.SetGray(x, y, color.Gray{Y: 255})
			}
		}
		writePNG(t, filepath.Join(dir, "abnormal", name), img)
		writePNG(t, filepath.Join(dir, "masks", name), mask)
	}
	return "folder:normal=" + filepath.Join(dir, "normal") + ",abnormal=" + filepath.Join(dir, "abnormal") +
		",masks=" + filepath.Join(dir, "masks") + ",holdout=0.25"
}

// endToEnd runs train, score and eval on one source.
func endToEnd(t *testing.T, spec string, extra ...string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	ckpt, acae := filepath.Join(dir, "model.ckpt"), filepath.Join(dir, "acae.ckpt")
	scores, table := filepath.Join(dir, "scores.csv"), filepath.Join(dir, "table1.csv")
	var out, errb bytes.Buffer
	args := append(append([]string{"train"}, tiny...), extra...)
	args = append(args, "-data", spec, "-out", ckpt, "-acae-out", acae)
	if err := run(ctx, args, &out, &errb); err != nil {
		t.Fatalf("train: %v\n%s", err, errb.String())
	}
	args = append(append([]string{"score"}, tiny...), extra...)
	args = append(args, "-data", spec, "-model", ckpt, "-acae", acae, "-out", scores)
	if err := run(ctx, args, &out, &errb); err != nil {
		t.Fatalf("score: %v\n%s", err, errb.String())
	}
	if err := run(ctx, []string{"eval", "-scores", scores, "-out", table}, &out, &errb); err != nil {
		t.Fatalf("eval: %v\n%s", err, errb.String())
	}
	b, err := os.ReadFile(table)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 5 || lines[0] != "method,precision,recall,sensitivity,specificity,auc" {
		t.Fatalf("table1.csv:\n%s", b)
	}
	for i, m := range []string{"AnoGAN", "GAN_R", "P_D", "aCAE"} {
		if !strings.HasPrefix(lines[i+1], m+",") {
			t.Errorf("row %d: %s, want method %s", i+1, lines[i+1], m)
		}
	}
}

func TestFolderEndToEnd(t *testing.T) { endToEnd(t, folderSource(t)) }

func TestFashionMNISTEndToEnd(t *testing.T) {
	dir := "/usr/share/datasets/fashion-mnist"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("Fashion-MNIST not installed at %s (apt-get install dataset-fashion-mnist): %v", dir, err)
	}
	endToEnd(t, "idx:"+dir+":class=0", "-max-train", "64", "-test-per-class", "6")
}

func TestPhantomEndToEnd(t *testing.T) {
	endToEnd(t, "phantom:train=10,val=2,test=6", "-patch", "32", "-per-image", "4")
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	var out, errb bytes.Buffer
	for i, args := range [][]string{
		{"nosuch"},
		{"data", "medmnist:/nonexistent.npz"},
		{"train", "-size", "48"},
		{"eval", "-scores", "/nonexistent.csv"},
		{"score", "-model", "/nonexistent.ckpt"},
		{"seeds", "-seeds", "0-3"},
		{"seeds", "-seeds", "3-1"},
		{"seeds", "-seeds", "1,1"},
		{"seeds", "-seeds", "x"},
	} {
		if err := run(ctx, args, &out, &errb); err == nil {
			t.Errorf("case %d %v: no error", i, args)
		}
	}
}

// TestSeeds runs two seeds of a tiny phantom setting and reads back the
// tables anogo seeds writes.
func TestSeeds(t *testing.T) {
	dir := t.TempDir()
	args := append(append([]string{"seeds"}, tiny...), "-data", "phantom:train=6,val=2,test=6", "-patch", "32",
		"-test-per-class", "4", "-seeds", "3,5", "-out", dir)
	var out, errb bytes.Buffer
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	per, err := os.ReadFile(filepath.Join(dir, "seeds.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(per)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "seed,AnoGAN,GAN_R,P_D,aCAE") ||
		!strings.HasPrefix(lines[1], "3,") || !strings.HasPrefix(lines[2], "5,") {
		t.Errorf("seeds.csv:\n%s", per)
	}
	sum, err := os.ReadFile(filepath.Join(dir, "seeds_summary.csv"))
	if err != nil || !strings.HasPrefix(string(sum), "method,mean,sd,min,max\nAnoGAN,") {
		t.Errorf("seeds_summary.csv (%v):\n%s", err, sum)
	}
	if _, err := os.Stat(filepath.Join(dir, "seed5", "scores.csv")); err != nil {
		t.Error(err)
	}
}
