// Package exitcode is bash's rule for exit statuses, written once: what
// every backend, helper and the wrapper itself exit with.
package exitcode

import (
	"errors"
	"io/fs"
	"os/exec"
	"syscall"
)

const (
	OK         = 0
	Usage      = 2   // a bad command line in shell mode, as bash
	Denied     = 126 // hermes-exec refused it, or could not check it: nothing ran
	CannotExec = 126 // the program exists but cannot be executed
	NotFound   = 127 // the program does not exist
	UsageSub   = 64  // a bad subcommand line (EX_USAGE)
	SignalBase = 128 // killed by signal N: 128+N
)

// Signaled is the status bash reports for a command killed by sig.
func Signaled(sig syscall.Signal) int { return SignalBase + int(sig) }

// StartFailure is the status for a program that could not be started:
// 127 when it does not exist, 126 for every other failure. It decides by
// error value (errno), never by matching message text.
func StartFailure(err error) int {
	if IsNotFound(err) {
		return NotFound
	}
	return CannotExec
}

// IsNotFound reports whether err says the program does not exist.
func IsNotFound(err error) bool {
	return errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) ||
		errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR)
}

// FromWaitStatus turns a wait status into bash's exit status.
func FromWaitStatus(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return Signaled(ws.Signal())
	}
	return CannotExec
}
