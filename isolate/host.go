package isolate

import (
	"context"
	"os"
	"syscall"

	"hermes-exec/internal/exitcode"
)

// NewHost returns the backend that runs commands directly on this machine,
// as the calling user, with the environment and standard files of Spec.
func NewHost() Backend { return host{} }

type host struct{}

func (host) Name() string { return "host" }

// Run starts s.Args[0] and waits for it. Pipe mode (s.TTY false) hands the
// command the caller's files themselves, in a session of its own (no
// controlling terminal); PTY mode puts it on a new pseudo-terminal wired to
// the caller's terminal (see package pty). Either way the command cannot
// inject input into the caller's terminal (host_tiocsti.go).
//
// A nil s.Env is an empty environment (never the wrapper's, which holds the
// secrets FilterEnv removes). Nil standard files are the wrapper's own, as
// with bash -c. A start failure is a *StartError; see IsNotFound.
func (host) Run(ctx context.Context, s Spec) (Status, error) {
	if len(s.Args) == 0 {
		return Status{}, &StartError{Op: "exec", Err: syscall.EINVAL}
	}
	if err := ctx.Err(); err != nil {
		return Status{}, &StartError{Op: "exec", Path: s.Args[0], Err: err}
	}
	path := s.Path
	if path == "" {
		var err error
		if path, err = lookPath(s.Args[0], s.Env); err != nil {
			return Status{}, err
		}
	}
	if s.Dir != "" {
		// Checked here because the child's own chdir failure comes back
		// as a bare errno, indistinguishable from a missing program.
		if err := checkDir(s.Dir); err != nil {
			return Status{}, err
		}
	}
	if s.Env == nil {
		s.Env = []string{}
	}
	if s.Stdin == nil {
		s.Stdin = os.Stdin
	}
	if s.Stdout == nil {
		s.Stdout = os.Stdout
	}
	if s.Stderr == nil {
		s.Stderr = os.Stderr
	}

	if !s.ShareTerminal {
		if err := denyTerminalInjection(); err != nil {
			return Status{}, &StartError{Op: "exec", Path: path, Err: err}
		}
	}

	// Pdeathsig kills the command when the thread that forked it exits,
	// not the process. Go ends a thread when a goroutine locked to it
	// returns without unlocking, so the fork happens on a thread this
	// goroutine holds until the command has been reaped. Both modes lock
	// it themselves, once subscribed to signals: each subscription is a
	// round trip to the runtime's signal thread, cheaper from an unlocked
	// goroutine.
	if s.TTY {
		return runPTY(ctx, path, s) // pty.RunProc locks the thread
	}
	return runPipe(ctx, path, s)
}

// statusOf converts a wait status into bash's numbering.
func statusOf(ws syscall.WaitStatus) Status {
	st := Status{Code: exitcode.FromWaitStatus(ws)}
	if ws.Signaled() {
		st.Signal = int(ws.Signal())
	}
	return st
}

// CancelReason explains a command killed because ctx ended.
func CancelReason(ctx context.Context) string {
	return "killed: " + context.Cause(ctx).Error()
}
