package data

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// StaleTemp is how long a temporary file of WriteFile may go unmodified
// before a later write to the same path takes it for the leftover of a
// killed write and removes it.
const StaleTemp = time.Minute

// WriteFile writes path atomically: write fills a temporary file in the
// target's directory, which is synced and renamed over the target, so a
// failed or interrupted write keeps the earlier file and a reader never sees
// half of one. Unlike a bare rename it
//   - writes through a symbolic link: the link stays, its target receives
//     the new content (a link to a missing file is an error);
//   - keeps the mode of a file it replaces (a new file gets 0644);
//   - refuses a target that exists and is not a regular file (a device such
//     as /dev/null, a FIFO, a directory), which a rename would replace;
//   - removes temporary files of earlier writes to the same path that were
//     left by a killed process (unmodified for StaleTemp).
//
// The directory must exist. Errors name path.
func WriteFile(path string, write func(io.Writer) error) (err error) {
	target, perm, err := writeTarget(path)
	if err != nil {
		return err
	}
	dir, base := filepath.Dir(target), filepath.Base(target)
	removeStale(dir, base)
	f, err := os.CreateTemp(dir, tempPrefix(base)+"-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("writing %s: %w", path, err)
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), target)
}

// tempPrefix is the name prefix of the temporary files of writes to base
// (WriteFile's and those of earlier versions of anogo).
func tempPrefix(base string) string { return "." + base + ".tmp" }

// writeTarget resolves path for WriteFile: the file a symbolic link points
// to, and the mode to give the new content.
func writeTarget(path string) (string, fs.FileMode, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, 0o644, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("writing %s: %w", path, err)
	}
	target := path
	if fi.Mode()&fs.ModeSymlink != 0 {
		if target, err = filepath.EvalSymlinks(path); err != nil {
			return "", 0, fmt.Errorf("writing %s: a symbolic link whose target cannot be followed: %w", path, err)
		}
		if fi, err = os.Stat(target); err != nil {
			return "", 0, fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if !fi.Mode().IsRegular() {
		return "", 0, fmt.Errorf("writing %s: it exists and is not a regular file (%v); refusing to replace it", path, kind(fi.Mode()))
	}
	return target, fi.Mode().Perm(), nil
}

// removeStale removes WriteFile's temporary files for base in dir that
// have not been modified for StaleTemp: leftovers of a killed write.
func removeStale(dir, base string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := tempPrefix(base)
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > StaleTemp {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
