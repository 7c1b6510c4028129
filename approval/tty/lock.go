package tty

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"hermes-exec/approval"

	"golang.org/x/sys/unix"
)

// lockTerminal holds an exclusive flock(2) on the terminal's own device
// node (/dev/pts/N) while a prompt is shown, so that concurrent prompts of
// other hermes-exec processes on the same terminal wait their turn. Every
// process that opens the terminal sees the same inode, so no lock file is
// needed (none in $HOME, none in a shared /tmp). Waiting counts against
// the request's deadline; a terminal that is not a pseudo-terminal is not
// locked (a console has no /dev/pts node).
func lockTerminal(ctx context.Context, rdev uint64, r approval.Request) (func(), error) {
	idx := ptsIndex(rdev)
	if rdev == 0 || idx < 0 {
		return func() {}, nil
	}
	path := "/dev/pts/" + strconv.Itoa(idx)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("tty: cannot lock %s for the prompt: %w", path, err)
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || uint64(st.Rdev) != rdev {
		unix.Close(fd)
		return nil, fmt.Errorf("tty: %s is not the terminal being asked on", path)
	}
	deadline := r.Deadline
	if deadline.IsZero() {
		timeout := r.Timeout
		if timeout <= 0 {
			timeout = approval.DefaultTimeout
		}
		deadline = time.Now().Add(timeout)
	}
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { unix.Flock(fd, unix.LOCK_UN); unix.Close(fd) }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			unix.Close(fd)
			return nil, fmt.Errorf("tty: locking %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			unix.Close(fd)
			return nil, fmt.Errorf("tty: another prompt held %s until the approval timeout", path)
		}
		select {
		case <-ctx.Done():
			unix.Close(fd)
			return nil, context.Cause(ctx)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
