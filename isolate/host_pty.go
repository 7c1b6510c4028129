package isolate

import (
	"context"
	"syscall"

	"hermes-exec/pty"
)

// runPTY runs the command on a new pseudo-terminal (package pty does the
// terminal work). The command's stderr goes to the pty too when the
// caller's stderr is a terminal; a redirected stderr (2>log) stays
// redirected.
func runPTY(ctx context.Context, path string, s Spec) (Status, error) {
	p := pty.Proc{
		Path: path,
		Args: s.Args,
		Env:  s.Env,
		Dir:  s.Dir,
		Sys:  &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	}
	if !pty.IsTerminal(s.Stderr) {
		p.Stderr = s.Stderr
	}
	// pty.RunProc, not pty.Run with os/exec: os/exec's first start in a
	// process forks an extra child to probe pidfd support, and every
	// wrapped command is its process's first.
	ws, err := pty.RunProc(ctx, p, s.Stdin, s.Stdout)
	if err != nil {
		return Status{}, &StartError{Op: "exec", Path: path, Err: err}
	}
	st := statusOf(ws)
	if st.Signal == int(syscall.SIGKILL) && ctx.Err() != nil {
		st.Reason = CancelReason(ctx)
	}
	return st, nil
}
