package execproto

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// A lock file beside each container's state coordinates wrappers without a
// daemon. A command running in a container holds it shared (a fresh
// container's only user holds it exclusively), creating or destroying a
// container holds it exclusively, and the kernel drops a lock when its holder
// dies, so a container whose lock is free and that is not in use was left by
// a dead wrapper or is idle. The file's mtime is the last time a command
// started in the container.
type Lock struct {
	f    *os.File
	path string
}

var ErrLocked = errors.New("locked")

func LockPath(stateDir, id string) string { return filepath.Join(stateDir, id+".lock") }

// AcquireLock locks stateDir/id.lock. With nonblock it returns ErrLocked
// instead of waiting. The file is re-checked after locking: a destroyer
// unlinks it while holding the lock, and a lock taken on an unlinked file
// protects nothing, so the loop retries on the new file.
func AcquireLock(stateDir, id string, how int, nonblock bool) (*Lock, error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, err
	}
	p := LockPath(stateDir, id)
	for {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, err
		}
		flags := how
		if nonblock {
			flags |= unix.LOCK_NB
		}
		for {
			err = unix.Flock(int(f.Fd()), flags)
			if !errors.Is(err, unix.EINTR) {
				break
			}
		}
		if err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, ErrLocked
			}
			return nil, err
		}
		var held, now unix.Stat_t
		if unix.Fstat(int(f.Fd()), &held) == nil && unix.Stat(p, &now) == nil && held.Ino == now.Ino && held.Dev == now.Dev {
			return &Lock{f: f, path: p}, nil
		}
		f.Close()
	}
}

// Touch records that the container was just used.
func (l *Lock) Touch() {
	_ = unix.Futimes(int(l.f.Fd()), nil)
}

// Release unlocks; with remove it first deletes the file (the container is
// gone), which is only safe while holding it exclusively.
func (l *Lock) Release(remove bool) {
	if l == nil {
		return
	}
	if remove {
		_ = os.Remove(l.path)
	}
	_ = l.f.Close()
}

// File is the locked file (to convert the lock, or read its mtime).
func (l *Lock) File() *os.File { return l.f }
