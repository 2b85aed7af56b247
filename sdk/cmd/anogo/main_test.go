package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
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

// TestEvalRefusesBadScores: a scores CSV without a column Table 1 needs,
// with two columns of one name or with a label other than 0, 1, -1 is an
// error naming the problem (a missing column once read as zeros: AUC 0.5,
// exit 0).
func TestEvalRefusesBadScores(t *testing.T) {
	dir := t.TempDir()
	for i, c := range []struct{ csv, want string }{
		{"id,label,A,PD\na,0,1,1\nb,1,2,2\n", `no score column "Ahat"`},
		{"id,label,A,A,Ahat,PD\na,0,1,1,1,1\nb,1,2,2,2,2\n", `two columns named "A"`},
		{"id,label,A,Ahat,PD\na,0,1,1,1\nb,7,2,2,2\n", "row 2: label 7"},
	} {
		path := filepath.Join(dir, fmt.Sprintf("scores%d.csv", i))
		if err := os.WriteFile(path, []byte(c.csv), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{"eval", "-scores", path}, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: %v, want an error containing %q", i, err, c.want)
		}
	}
}

// TestMethodsAndCompare: anogo methods lists anogan and acae; compare runs
// both on a tiny phantom and writes results.csv with the runner's columns;
// train -method and score -model DIR write a model directory and scores
// with predicted labels.
func TestMethodsAndCompare(t *testing.T) {
	ctx := context.Background()
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"methods"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"anogan", "acae"} {
		if !strings.Contains(out.String(), m+" ") {
			t.Errorf("anogo methods does not list %s:\n%s", m, out.String())
		}
	}
	dir := t.TempDir()
	set := []string{"-set", "anogan:Steps=3", "-set", "anogan:mapping.Steps=2", "-set", "anogan:train.batch_size=8",
		"-set", "acae:steps=3", "-set", "acae:train.batch_size=8"}
	args := append([]string{"compare", "-data", "phantom:train=8,val=4,test=30", "-methods", "anogan,acae", "-out", dir}, set...)
	if err := run(ctx, args, &out, &errb); err != nil {
		t.Fatalf("compare: %v\n%s", err, errb.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "dataset,class,method,seed,auc,ap,pixel_auc,dice,fit_s,score_s,images_per_s\n") {
		t.Errorf("results.csv:\n%s", b)
	}
	model := filepath.Join(dir, "model")
	if err := run(ctx, append([]string{"train", "-method", "acae", "-data", "phantom:train=8,val=4,test=30", "-out", model}, set[6:]...), &out, &errb); err != nil {
		t.Fatalf("train -method: %v\n%s", err, errb.String())
	}
	scores := filepath.Join(dir, "scores.csv")
	if err := run(ctx, []string{"score", "-model", model, "-data", "phantom:train=8,val=4,test=4", "-out", scores}, &out, &errb); err != nil {
		t.Fatalf("score -model DIR: %v\n%s", err, errb.String())
	}
	if b, err = os.ReadFile(scores); err != nil || !strings.HasPrefix(string(b), "id,label,A,pred_aCAE\n") {
		t.Errorf("scores.csv (%v):\n%.200s", err, b)
	}
	if err := run(ctx, []string{"score", "-model", model, "-out", filepath.Join(model, "x.csv")}, &out, &errb); err == nil {
		t.Error("score -out inside the model directory: no error")
	}
}

// TestCarelessCommandLines: a stray word, a NaN or infinite number, an
// output that is an input, a device or in a missing directory are refused
// before any work (they used to drop later flags, write NaN scores,
// overwrite the model, turn /dev/null into a file, or fail after training).
func TestCarelessCommandLines(t *testing.T) {
	dir := t.TempDir()
	scores := filepath.Join(dir, "scores.csv")
	if err := os.WriteFile(scores, []byte("id,label,A,Ahat,PD\na,0,1,1,1\nb,1,2,2,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model.ckpt")
	if err := os.WriteFile(model, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "stray", "-out", filepath.Join(dir, "m.ckpt")}, `unexpected argument "stray"`},
		{[]string{"eval", "-scores", scores, "extra"}, `unexpected argument "extra"`},
		{[]string{"demo", "-out", dir, "oops"}, `unexpected argument "oops"`},
		{[]string{"train", "-lambda", "Inf", "-out", filepath.Join(dir, "m.ckpt")}, "-lambda +Inf"},
		{[]string{"train", "-lr", "NaN", "-out", filepath.Join(dir, "m.ckpt")}, "-lr NaN"},
		{[]string{"train", "-map-tol", "NaN", "-out", filepath.Join(dir, "m.ckpt")}, "-map-tol NaN"},
		{[]string{"train", "-lambda", "2", "-out", filepath.Join(dir, "m.ckpt")}, "[0, 1]"},
		{[]string{"score", "-model", model, "-out", model}, "is also an input"},
		{[]string{"eval", "-scores", scores, "-out", scores}, "is also an input"},
		{[]string{"eval", "-scores", scores, "-out", "/dev/null"}, "not a regular file"},
		{[]string{"train", "-out", filepath.Join(dir, "no", "such", "m.ckpt")}, "does not exist"},
		{[]string{"train", "-per-image", "1000000000", "-out", filepath.Join(dir, "m.ckpt")}, "-per-image: 1000000000 patches per image, more than the limit of 65536"},
		{[]string{"train", "-steps", "-5", "-out", filepath.Join(dir, "m.ckpt")}, "-steps -5: want 0 or more"},
		{[]string{"score", "-max-test", "-2", "-model", model}, "-max-test -2: want -1 or more"},
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), c.args, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d %v: %v, want an error containing %q", i, c.args, err, c.want)
		}
	}
	if b, err := os.ReadFile(model); err != nil || string(b) != "x" {
		t.Errorf("the model was touched: %q, %v", b, err)
	}
}

// TestInterruptedTrain: an interrupted training saves its state to -out
// and prints the command that continues it, which resumes into the same
// file (-out may be the -resume checkpoint); it printed only "context
// canceled".
func TestInterruptedTrain(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "model.ckpt")
	// Ctrl-C once the data are loaded: the "training ..." line cancels.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	args := append(append([]string{"train"}, tiny...), "-data", folderSource(t), "-out", ckpt)
	var out, errb bytes.Buffer
	err := run(ctx, args, cancelOn{w: &out, s: "training ", cancel: cancel}, &errb)
	if err == nil || !strings.Contains(err.Error(), "saved to "+ckpt) || !strings.Contains(err.Error(), "-resume "+ckpt) {
		t.Fatalf("interrupted train: %v", err)
	}
	if _, err := os.Stat(ckpt); err != nil {
		t.Fatalf("no checkpoint: %v", err)
	}
	args = append(args, "-resume", ckpt)
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("resume into the same file: %v\n%s", err, errb.String())
	}
}

// cancelOn is a writer that cancels once s has been written to it.
type cancelOn struct {
	w      io.Writer
	s      string
	cancel context.CancelFunc
}

func (c cancelOn) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(c.s)) {
		c.cancel()
	}
	return c.w.Write(p)
}

func TestResumeHint(t *testing.T) {
	got := resumeHint("train", []string{"-steps", "3", "-resume", "old.ckpt", "-data", "folder:normal=a b", "-resume=x"}, "m.ckpt")
	if want := "anogo train -steps 3 -data 'folder:normal=a b' -resume m.ckpt"; got != want {
		t.Errorf("%s\nwant %s", got, want)
	}
}

// TestTrainNeedsNoTestSplit: train prepares the training split alone, so a
// source whose test split holds one class trains without -test-per-class 0
// (it failed for want of anomalous test images).
func TestTrainNeedsNoTestSplit(t *testing.T) {
	spec := folderSource(t)
	normalOnly := spec[:strings.Index(spec, ",abnormal=")] + ",holdout=0.25"
	ckpt := filepath.Join(t.TempDir(), "model.ckpt")
	args := append(append([]string{"train"}, tiny...), "-test-per-class", "4", "-data", normalOnly, "-out", ckpt)
	var out, errb bytes.Buffer
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("train on a source with a normal-only test split: %v", err)
	}
}

// TestDataHonoursCancel: anogo data stops with the context's error when
// Ctrl-C has cancelled it (issue: Ctrl-C ignored while data load).
func TestDataHonoursCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"data", "phantom"}, &out, &errb); !errors.Is(err, context.Canceled) {
		t.Fatalf("data with a cancelled context: %v", err)
	}
	if err := run(context.Background(), []string{"data", "phantom"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
}
