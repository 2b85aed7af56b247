package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrLocked is wrapped by Lock's error when another process holds the lock.
var ErrLocked = errors.New("in use by another process")

// Lock takes an exclusive lock on path for a process that will write it
// for a while (a training that checkpoints into it), so that a second one
// writing the same path fails at once instead of both reporting success
// while one result is lost. The lock is an flock(2) on the file
// ".<name>.lock" beside path, which the system releases when the process
// dies, so a killed run leaves no stale lock. The returned function
// releases it and removes the lock file.
func Lock(path string) (unlock func(), err error) {
	name := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".lock")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is being written by another run (it holds %s): %w", path, name, ErrLocked)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() {
		os.Remove(name)
		f.Close()
	}, nil
}
