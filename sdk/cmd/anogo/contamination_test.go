package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestContamination runs anogo contamination on the phantom alone (no
// Fashion-MNIST or PneumoniaMNIST at the paths given) with a tiny aCAE at
// two levels, and refuses bad levels, classes and methods before any work.
func TestContamination(t *testing.T) {
	ctx := context.Background()
	var out, errb bytes.Buffer
	dir := t.TempDir()
	none := filepath.Join(dir, "none")
	common := []string{"-fmnist", none, "-pneumonia", none, "-out", dir}
	args := append([]string{"contamination", "-methods", "acae", "-levels", "0,0.2",
		"-set", "acae:steps=3", "-set", "acae:train.batch_size=8"}, common...)
	if err := run(ctx, args, &out, &errb); err != nil {
		t.Fatalf("contamination: %v\n%s", err, errb.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "contamination.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "dataset,class,method,contamination,seed,auc,ap,fit_s" || len(lines) != 3 ||
		!strings.HasPrefix(lines[1], "phantom,,aCAE,0,1,") || !strings.HasPrefix(lines[2], "phantom,,aCAE,0.2,1,") {
		t.Errorf("contamination.csv:\n%s", b)
	}
	for _, f := range []string{"contamination.png", "contamination.pdf", "contamination_phantom.svg"} {
		if _, err := os.Stat(filepath.Join(dir, "figures", f)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(out.String(), "skipped Fashion-MNIST") {
		t.Errorf("no word of the missing Fashion-MNIST:\n%s", out.String())
	}
	for i, bad := range [][]string{{"-levels", "0,1"}, {"-levels", "x"}, {"-classes", "11"}, {"-methods", "nosuch"}, {"-setting", "huge"}, {"extra"}} {
		if err := run(ctx, append(append([]string{"contamination"}, common...), bad...), &out, &errb); err == nil {
			t.Errorf("%d: %v accepted", i, bad)
		}
	}
}
