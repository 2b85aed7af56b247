package data

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLock: a second lock on the same path fails at once with ErrLocked
// (two trainings to one -out both reported success and one result was
// lost); after unlock the path can be locked again and no lock file is
// left.
func TestLock(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "model.ckpt")
	unlock, err := Lock(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(p); !errors.Is(err, ErrLocked) {
		t.Errorf("second lock: %v, want ErrLocked", err)
	}
	other, err := Lock(filepath.Join(dir, "other.ckpt"))
	if err != nil {
		t.Errorf("a lock on another path: %v", err)
	} else {
		other()
	}
	unlock()
	again, err := Lock(p)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("%d files left", len(entries))
	}
}
