// Package isolate runs an approved command on a backend: the host itself, an
// embedded libcontainer sandbox, or containerd. It also decides which of the
// caller's environment variables the command may see.
package isolate

import (
	"context"
	"os"
)

// Spec describes one command to run.
type Spec struct {
	// Args is the full argv; Args[0] is looked up in PATH when it has no
	// slash. For shell text this is {"bash", "-c", TEXT, NAME, ARGS...}.
	Args []string
	// Path, when set, is the program to execute, Args[0] being only what
	// it is called (as a shell passes the word it found in PATH). The host
	// backend honours it; others run Args as always.
	Path string
	// Env is the already filtered environment ("NAME=value").
	Env []string
	// Dir is the working directory; empty means the caller's.
	Dir string
	// Stdin, Stdout and Stderr are passed to the command as they are (the
	// file descriptors are inherited, so data is never copied in pipe mode).
	Stdin, Stdout, Stderr *os.File
	// TTY asks for a new pseudo-terminal for the command. The caller sets
	// it only when Stdin and Stdout are terminals.
	TTY bool
	// ShareTerminal keeps the caller's controlling terminal for the
	// program (pipe mode). Only hermes-exec's own helpers set it (the
	// sandbox helper, which must follow the caller's window size and job
	// control); a user's command never shares the terminal, so that it
	// cannot push input into the caller's shell (TIOCSTI).
	ShareTerminal bool
	// Session names a persistent execution context (HERMES_SESSION_ID) for
	// backends that keep one; the host backend ignores it.
	Session string
	// ExecChecks, when set, is a unix socket of the wrapper's exec checks
	// (package execcheck): a backend that puts the command under a
	// seccomp filter of its own (the sandbox: libcontainer's seccomp
	// agent) hands each listener of the command's processes to it.
	// Backends that cannot leave it unset in what they accept
	// (execcheck.Delivers).
	ExecChecks string
}

// Status is how the command ended.
type Status struct {
	// Code is the exit status as bash reports it: the exit code, or 128+n
	// when the command was killed by signal n.
	Code int
	// Signal is n when the command was killed by signal n, else 0.
	Signal int
	// Reason optionally explains an abnormal end in one line (for example
	// "killed: out of memory (container.memory 64m)").
	Reason string
}

// Backend runs commands somewhere.
type Backend interface {
	// Name is the backend's name as used by --backend and in the audit log.
	Name() string
	// Run starts the command, waits for it and reports how it ended. An
	// error means the command could not be started (or its end could not be
	// observed); the caller then exits 126 or 127 as bash would.
	Run(ctx context.Context, s Spec) (Status, error)
}
