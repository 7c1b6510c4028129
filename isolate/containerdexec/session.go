package containerdexec

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"hermes-exec/isolate"
	"hermes-exec/isolate/sandbox/execproto"
)

// runInSession has the reaper of the session's running container start s
// itself, over the session's exec socket (execproto, the embedded
// sandbox's protocol), instead of starting hermes-exec-containerd to make a
// task.Exec: the helper's start and containerd's exec path (shim, runc
// exec) are nearly all of a session command's cost. Only a command without
// a terminal in an existing session qualifies; ok is false when nothing
// was started (no session yet, no socket, a refusal), and the helper then
// does what it always does, so behaviour is the same either way.
func (b *backend) runInSession(ctx context.Context, s isolate.Spec) (st isolate.Status, ok bool) {
	if s.TTY || s.Session == "" {
		return st, false
	}
	o, err := b.opts.WithDefaults()
	if err != nil || o.Persist != execproto.PersistSession {
		return st, false // the helper reports bad options
	}
	id := o.SessionID(s.Session)
	sock := filepath.Join(o.StateDir, id, execproto.SocketName)
	if _, err := os.Stat(sock); err != nil {
		return st, false
	}
	// Shared while the command runs, as the helper holds it: gc and
	// `sandbox rm` leave the session alone meanwhile.
	lk, err := os.OpenFile(filepath.Join(o.StateDir, id+".lock"), os.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return st, false
	}
	defer lk.Close()
	if unix.Flock(int(lk.Fd()), unix.LOCK_SH|unix.LOCK_NB) != nil {
		return st, false // being made or removed: the helper waits for it
	}
	touch(filepath.Join(o.StateDir, id, "last-used"))
	counter, haveCounter := OOMCounter(id)
	before := int64(0)
	if haveCounter {
		before = execproto.ReadCounter(counter, "oom_kill")
	}
	req := execproto.Request{
		Args: s.Args,
		Env:  execproto.CommandEnv(s.Env, o.Passthrough, os.Getenv("HERMES_SKILL_ENV")),
		Dir:  o.CommandDir(s.Dir),
	}
	end, started, err := execproto.Exec(ctx, sock, req, s.Stdin, s.Stdout, s.Stderr)
	touch(filepath.Join(o.StateDir, id, "last-used"))
	if !started {
		return st, false
	}
	if ctx.Err() != nil && end.Signal == int(unix.SIGKILL) {
		return isolate.Status{Code: end.Code, Signal: end.Signal, Reason: isolate.CancelReason(ctx)}, true
	}
	if err != nil {
		if s.Stderr != nil {
			fmt.Fprintf(s.Stderr, "hermes-exec: containerd: %v\n", err)
		}
		return isolate.Status{Code: 126}, true
	}
	if haveCounter && execproto.ReadCounter(counter, "oom_kill") > before {
		end = execproto.OOMStatus(end, o.Memory)
	}
	if end.Reason != "" && s.Stderr != nil {
		fmt.Fprintf(s.Stderr, "hermes-exec: %s\n", end.Reason)
	}
	// As the helper's exit: the code, no signal of its own.
	return isolate.Status{Code: end.Code}, true
}

func touch(p string) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err == nil {
		f.Close()
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now)
}
