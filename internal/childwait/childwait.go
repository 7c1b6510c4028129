// Package childwait waits for a child process to end without reaping it,
// the way a one-command wrapper wants: while the wait lasts, the waiting
// goroutine holds no P.
//
// Why: a goroutine blocked in a system call keeps its P running, and while
// any P runs the runtime's sysmon thread wakes every 20 µs (doubling only
// after 1 ms) to see whether to take it back, so a wrapper waiting 2 ms for
// bash in waitid pays for ~60 wake-ups of sysmon. A goroutine parked in the
// runtime's poller on the child's pidfd holds none: once every goroutine is
// parked, sysmon sleeps until something runs again, and the child's end
// wakes the thread blocked in epoll, which runs the waiter itself.
package childwait

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Ended blocks until pid, a child of this process, has ended (or stopped
// being waitable), and leaves it unreaped: its pid, and the process group
// and session it leads, stay its own until it is reaped. pidfd is the
// child's pidfd (syscall.SysProcAttr.PidFD), or -1; Ended closes it.
//
// Without a pidfd, or where the kernel cannot poll one (before Linux 5.3),
// it waits in waitid(WNOWAIT) on this thread instead.
func Ended(pid, pidfd int) error {
	if pidfd >= 0 {
		done, err := polled(pid, pidfd)
		if done {
			return err
		}
	}
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return wrap(pid, err)
	}
}

// polled waits for pid through the poller, and reports false when that
// cannot be done (the caller then waits in waitid).
func polled(pid, pidfd int) (bool, error) {
	// Only a descriptor in non-blocking mode goes to the poller (os.NewFile).
	if err := unix.SetNonblock(pidfd, true); err != nil {
		unix.Close(pidfd)
		return false, nil
	}
	f := os.NewFile(uintptr(pidfd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return false, nil
	}
	var werr error
	err = rc.Read(func(uintptr) bool {
		// A pidfd reads as ready once the process has ended; WNOHANG
		// asks without blocking, WNOWAIT leaves it unreaped.
		for {
			var info unix.Siginfo
			werr = unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
			if errors.Is(werr, unix.EINTR) {
				continue
			}
			// si_signo is 0 when the child has not ended yet.
			return werr != nil || info.Signo != 0
		}
	})
	if err != nil {
		// The poller refused the descriptor ("waiting for unsupported
		// file type": a kernel that has pidfds but cannot poll them).
		return false, nil
	}
	return true, wrap(pid, werr)
}

func wrap(pid int, err error) error {
	if err == nil {
		return nil
	}
	// ECHILD: something else in this process reaped the child (a wait
	// for any pid); its status is lost.
	return fmt.Errorf("wait for command (pid %d): %w", pid, err)
}
