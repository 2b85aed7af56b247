package nn

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoDirectRead: outside ReadValue, no package of the module calls
// gorgonia.Read, whose target, a field of the struct that holds the tape
// machine, makes a cycle through the machine's finalizer that Go never
// collects (ReadValue's documentation). Tests may (their graphs die with
// the test process).
func TestNoDirectRead(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != root || d.Name() == "out") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || filepath.Base(path) == "read.go" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), "gorgonia.Read(") {
			t.Errorf("%s calls gorgonia.Read; use nn.ReadValue", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
