// Package atomicfile replaces small state files (config.yaml, session
// state) so that concurrent writers lose nothing and readers never see a
// half-written file: an exclusive lock around read-modify-write, and a
// write to a temporary file renamed over the old one.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// WithLock runs fn while holding an exclusive flock on lockPath (created
// 0600). The lock lives in a file of its own, never in the file being
// replaced: a rename gives that file a new inode, and a lock on the old
// one would not stop a writer that opened the new one.
func WithLock(lockPath string, fn func() error) error {
	lf, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600) // Go opens with O_CLOEXEC
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer lf.Close() // closing the descriptor releases the lock
	if err := flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", lockPath, err)
	}
	return fn()
}

// flock retries when a signal interrupts the wait.
func flock(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// Write replaces path with data, mode 0600: a temporary file in the same
// directory, fsync, rename, then fsync of the directory so that the rename
// itself survives a crash.
func Write(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
