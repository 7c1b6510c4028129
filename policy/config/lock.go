package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// withLock runs fn while holding an exclusive flock on path+".lock". The
// lock is on a sibling file, not on config.yaml itself, because the edit
// replaces config.yaml by rename: a lock on the old inode would not stop a
// writer that opened the new one.
func withLock(path string, fn func() error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	lf, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("config: lock: %w", err)
	}
	defer lf.Close()
	if err := flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("config: lock %s: %w", lf.Name(), err)
	}
	defer flock(int(lf.Fd()), unix.LOCK_UN)
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

// realPath follows a symlinked config.yaml (dotfile managers make these)
// so that the edit replaces the file it points to, not the link.
func realPath(path string) (string, error) {
	p, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, nil
	}
	return p, err
}

// writeAtomic replaces path with data so that a reader sees either the old
// file or the new one, never a part: temp file in the same directory, mode
// 0600, fsync, rename, fsync of the directory (so the rename itself
// survives a crash).
func writeAtomic(path string, data []byte) (err error) {
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
