package isolate

import (
	"context"
	"errors"
	"os/exec"
	"syscall"

	"hermes-exec/pty"
)

// runPTY runs the command on a new pseudo-terminal (package pty does the
// terminal work). The command's stderr goes to the pty too when the
// caller's stderr is a terminal; a redirected stderr (2>log) stays
// redirected.
func runPTY(ctx context.Context, path string, s Spec) (Status, error) {
	cmd := &exec.Cmd{
		Path:        path,
		Args:        s.Args,
		Env:         s.Env,
		Dir:         s.Dir,
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	}
	if !pty.IsTerminal(s.Stderr) {
		cmd.Stderr = s.Stderr
	}
	err := pty.Run(ctx, cmd, s.Stdin, s.Stdout)
	if cmd.ProcessState == nil {
		if err == nil {
			err = errors.New("pty: command did not run")
		}
		return Status{}, &StartError{Op: "exec", Path: path, Err: err}
	}
	st := statusOf(cmd.ProcessState.Sys().(syscall.WaitStatus))
	if st.Signal == int(syscall.SIGKILL) && ctx.Err() != nil {
		st.Reason = CancelReason(ctx)
	}
	return st, nil
}
