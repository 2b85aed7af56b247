package data

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOpenRegular: a link to /dev/zero and a FIFO are refused at once (the
// loaders read the first until memory ran out and hung on the second), a
// regular file opens.
func TestOpenRegular(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "zero.png")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Skip(err)
	}
	fifo := filepath.Join(dir, "fifo.npz")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, p := range []string{link, fifo, dir} {
			if f, err := OpenRegular(p); err == nil || !strings.Contains(err.Error(), "not a regular file") {
				if f != nil {
					f.Close()
				}
				t.Errorf("OpenRegular(%s): %v", p, err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("OpenRegular blocked")
	}
	ok := filepath.Join(dir, "ok")
	if err := os.WriteFile(ok, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenRegular(ok)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}
