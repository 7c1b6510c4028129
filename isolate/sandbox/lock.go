package sandbox

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
type lock struct {
	f    *os.File
	path string
}

var errLocked = errors.New("locked")

func lockPath(stateDir, id string) string { return filepath.Join(stateDir, id+".lock") }

// acquireLock locks stateDir/id.lock. With nonblock it returns errLocked
// instead of waiting. The file is re-checked after locking: a destroyer
// unlinks it while holding the lock, and a lock taken on an unlinked file
// protects nothing, so the loop retries on the new file.
func acquireLock(stateDir, id string, how int, nonblock bool) (*lock, error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, err
	}
	p := lockPath(stateDir, id)
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
				return nil, errLocked
			}
			return nil, err
		}
		var held, now unix.Stat_t
		if unix.Fstat(int(f.Fd()), &held) == nil && unix.Stat(p, &now) == nil && held.Ino == now.Ino && held.Dev == now.Dev {
			return &lock{f: f, path: p}, nil
		}
		f.Close()
	}
}

// touch records that the container was just used.
func (l *lock) touch() {
	_ = unix.Futimes(int(l.f.Fd()), nil)
}

// release unlocks; with remove it first deletes the file (the container is
// gone), which is only safe while holding it exclusively.
func (l *lock) release(remove bool) {
	if l == nil {
		return
	}
	if remove {
		_ = os.Remove(l.path)
	}
	_ = l.f.Close()
}
