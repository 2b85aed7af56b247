package data

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

// TestWriteFileKeepsLinksAndModes: a symbolic link stays a link and its
// target gets the new content; a 0600 file stays 0600; a device, a FIFO or
// a directory is refused untouched (a rename replaced /dev/null with a
// regular file when run as root, replaced links and made 0600 files 0644).
func TestWriteFileKeepsLinksAndModes(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "real.csv"), filepath.Join(dir, "link.csv")
	if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.csv", link); err != nil {
		t.Skip(err)
	}
	if err := WriteFile(link, writeString("new")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("the link's target holds %q, want new", b)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 kept", fi.Mode().Perm())
	}
	fresh := filepath.Join(dir, "fresh.csv")
	if err := WriteFile(fresh, writeString("x")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o644 {
		t.Errorf("new file mode %v, want 0644", fi.Mode().Perm())
	}
	for _, p := range []string{"/dev/null", dir} {
		if err := WriteFile(p, writeString("x")); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("WriteFile(%s): %v", p, err)
		}
	}
	dangling := filepath.Join(dir, "dangling.csv")
	os.Symlink("missing/nowhere.csv", dangling)
	if err := WriteFile(dangling, writeString("x")); err == nil {
		t.Error("a dangling link was written")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left", e.Name())
		}
	}
}

// TestWriteFileFailure: a failed write keeps the earlier file and leaves no
// temporary file.
func TestWriteFileFailure(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.ckpt")
	os.WriteFile(p, []byte("old"), 0o644)
	boom := errors.New("boom")
	if err := WriteFile(p, func(io.Writer) error { return boom }); !errors.Is(err, boom) || !strings.Contains(err.Error(), p) {
		t.Errorf("error %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("%q, want old kept", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d entries, want 1", len(entries))
	}
}

// TestWriteFileRemovesStaleTemps: temporary files that a killed write left
// are removed by the next write to the same path; a recent one (another
// write in progress) and those of other files are kept.
func TestWriteFileRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	stale, recent, other := filepath.Join(dir, ".m.ckpt.tmp-123"), filepath.Join(dir, ".m.ckpt.tmp-456"), filepath.Join(dir, ".n.ckpt.tmp-1")
	for _, p := range []string{stale, recent, other} {
		os.WriteFile(p, []byte("half"), 0o600)
	}
	old := time.Now().Add(-2 * StaleTemp)
	os.Chtimes(stale, old, old)
	os.Chtimes(other, old, old)
	if err := WriteFile(filepath.Join(dir, "m.ckpt"), writeString("x")); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{stale: false, recent: true, other: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}
