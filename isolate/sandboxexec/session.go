package sandboxexec

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"hermes-exec/isolate"
	"hermes-exec/isolate/sandbox/execproto"
)

// runInSession has the reaper of the session's running container start s
// directly (execproto), instead of starting hermes-exec-sandbox only to do
// the same: the helper's start is a third of a session command's cost.
// Only the case the helper itself would send to the reaper qualifies: a
// root-mode caller, no terminal, persistence on, and a container that
// exists (its exec socket is there). ok is false when nothing was started
// (no container yet, a refusal, any failure before the start): the caller
// then takes the helper, which makes the container or uses libcontainer,
// so behaviour is what it was.
//
// What comes back is what the helper path returns: the helper's exit
// status (the command's, as bash reports it, with the reason printed as
// the helper prints it), or SIGKILL with the cancellation's reason when ctx
// ends (the host backend kills the helper, whose connection closing makes
// the reaper kill the command; here the client sends SIGKILL).
func (b *backend) runInSession(ctx context.Context, s isolate.Spec) (st isolate.Status, ok bool) {
	return RunInSession(ctx, b.opts, s, execproto.ForwardSignals)
}

// RunInSession is runInSession for given options, with signals from relay:
// the root supervisor takes this path for its users' session commands.
func RunInSession(ctx context.Context, opts Options, s isolate.Spec, relay execproto.Relay) (st isolate.Status, ok bool) {
	if s.TTY || s.Session == "" || os.Geteuid() != 0 {
		return st, false
	}
	o, err := opts.WithDefaults()
	// With exec checks every command is its own libcontainer process,
	// whose seccomp listener the helper hands to the wrapper (the reaper
	// starts none: see isolate/sandbox/execcheck.go).
	if err != nil || o.Persist != execproto.PersistSession || o.ExecChecks {
		return st, false // the helper reports bad options
	}
	id := execproto.SessionID(s.Session, o.Fingerprint())
	sock := filepath.Join(o.StateDir, id, execproto.SocketName)
	if _, err := os.Stat(sock); err != nil {
		return st, false // no container yet: the helper makes it
	}
	// The out-of-memory explanation needs the container's counter; a
	// container without one (rootless-made) is the helper's business.
	counter, found := execproto.OOMCounter(id)
	if !found {
		return st, false
	}
	// Held shared while the command runs, as the helper holds it: gc and
	// `sandbox rm` wait for it instead of removing the container under
	// the command.
	lk, err := execproto.AcquireLock(o.StateDir, id, unix.LOCK_SH, false)
	if err != nil {
		return st, false
	}
	defer lk.Release(false)
	lk.Touch()
	st, ok = runViaReaper(ctx, o, sock, counter, s, relay)
	lk.Touch()
	return st, ok
}

// runViaReaper has the reaper listening on sock run s, and returns what
// the helper would: the command's status as bash reports it, with the
// reason printed as the helper prints it, or SIGKILL with the
// cancellation's reason when ctx ends. counter is the container's
// out-of-memory counter. ok is false when nothing was started.
func runViaReaper(ctx context.Context, o Options, sock, counter string, s isolate.Spec, relay execproto.Relay) (st isolate.Status, ok bool) {
	req := execproto.Request{
		Args: s.Args,
		Env:  execproto.CommandEnv(s.Env, o.Passthrough, helperSkillEnv()),
		Dir:  o.CommandDir(s.Dir),
	}
	before := execproto.ReadCounter(counter, "oom_kill")
	end, started, err := execproto.ExecRelay(ctx, sock, req, s.Stdin, s.Stdout, s.Stderr, relay)
	if !started {
		return st, false
	}
	if ctx.Err() != nil && end.Signal == int(unix.SIGKILL) {
		return isolate.Status{Code: end.Code, Signal: end.Signal, Reason: isolate.CancelReason(ctx)}, true
	}
	if err != nil {
		// The helper's words and status for a command lost after its start.
		complain(s.Stderr, "hermes-exec: sandbox: %v\n", err)
		return isolate.Status{Code: 126}, true
	}
	if execproto.ReadCounter(counter, "oom_kill") > before {
		end = execproto.OOMStatus(end, o.Memory)
	}
	if end.Reason != "" {
		complain(s.Stderr, "hermes-exec: %s\n", end.Reason)
	}
	// The helper exits with the code: its caller sees no signal.
	return isolate.Status{Code: end.Code}, true
}

// helperSkillEnv is the HERMES_SKILL_ENV the helper itself would see (it
// falls back to it when the command's environment has none): the one in
// the helper's environment, which helperEnv makes.
func helperSkillEnv() string {
	v, _ := execproto.LookupVar(helperEnv(nil), "HERMES_SKILL_ENV")
	return v
}

func complain(w *os.File, format string, a ...any) {
	if w != nil {
		fmt.Fprintf(w, format, a...)
	}
}
