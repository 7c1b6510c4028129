package isolate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// runPipe runs the command with the caller's files as its own: no copying,
// so binary data, EOF and any fd-level behaviour (isatty, seeking, file
// locks) are exactly what the caller set up.
//
// Why syscall.ForkExec rather than os/exec or os.StartProcess: on Linux the
// first os.StartProcess in a process probes pidfd support by forking an
// extra child, and os/exec adds its own bookkeeping; each costs a
// measurable share of a trivial command's run time on this machine class.
//
// This goroutine (on its locked thread, see host.Run) blocks in wait4, so
// the kernel wakes it directly when the command ends. A relay goroutine
// passes on the wrapper's signals and ctx's end through a pidfd, which
// can never reach another process once the command is reaped, so the two
// need no hand-over when the command ends. (Two variants measured slower:
// waiting for SIGCHLD on a channel, which adds a hop through os/signal's
// goroutine, and stopping a pid-based relay before reaping, which makes the
// locked goroutine wait for another one to be scheduled.)
func runPipe(ctx context.Context, path string, s Spec) (Status, error) {
	// Subscribed before the fork so that a signal sent while the command
	// starts is relayed, not lost (or fatal to the wrapper).
	sigs := make(chan os.Signal, 8)
	notifyForwarded(sigs, pipeForwarded)
	defer signal.Stop(sigs)

	pid, err := syscall.ForkExec(path, s.Args, &syscall.ProcAttr{
		Dir:   s.Dir,
		Env:   s.Env,
		Files: []uintptr{s.Stdin.Fd(), s.Stdout.Fd(), s.Stderr.Fd()},
		// No Setpgid: the command stays in the wrapper's process group,
		// so whoever kills that group (a terminal's ^C, an agent's
		// timeout) kills the command too, as with bash -c.
		Sys: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		return Status{}, &StartError{Op: "exec", Path: path, Err: err}
	}

	r := startRelay(ctx, pid, sigs)
	if !r.safeAfterReap() {
		// Kernels before 5.3 have no pidfd: the relay signals by pid,
		// so it must be stopped while the command is a zombie whose pid
		// nobody else can have.
		if err := waitExited(pid); err != nil {
			r.stop()
			return Status{}, err
		}
		r.stopAndWait()
	}
	var ws syscall.WaitStatus
	err = wait4(pid, &ws)
	r.stop()
	if err != nil {
		return Status{}, err
	}
	st := statusOf(ws)
	if r.killed.Load() && st.Signal == int(syscall.SIGKILL) {
		st.Reason = cancelReason(ctx)
	}
	return st, nil
}

// wait4 reaps pid, retrying when a signal interrupts the wait.
func wait4(pid int, ws *syscall.WaitStatus) error {
	for {
		_, err := syscall.Wait4(pid, ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			// ECHILD: something else in this process reaped our
			// child (a wait for any pid); its status is lost.
			return fmt.Errorf("wait for command (pid %d): %w", pid, err)
		}
		return nil
	}
}

// waitExited blocks until pid has ended, without reaping it.
func waitExited(pid int) error {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for command (pid %d): %w", pid, err)
		}
		return nil
	}
}
