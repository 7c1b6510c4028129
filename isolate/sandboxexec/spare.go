package sandboxexec

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"hermes-exec/internal/phase"
	"hermes-exec/isolate"
	"hermes-exec/isolate/sandbox/execproto"
	"hermes-exec/isolate/sandbox/spare"
)

// runInSpare runs a fresh command (container.persist: none) in the spare
// container the helper prepared after the last one (isolate/sandbox/spare),
// through its reaper, as runInSession does for a session's container: the
// container's making is then off the command's path. The spare is taken
// only if its key is the one a cold start would build now (the same spec,
// by the same helper binary); the marker's rename makes sure exactly one
// command takes it, and its reaper serves one command only, ending the
// container when it ends. ok is false when nothing was started: the
// helper then makes a fresh container as it always did.
func (b *backend) runInSpare(ctx context.Context, s isolate.Spec) (st isolate.Status, ok bool) {
	return RunInSpare(ctx, b.opts, b.helper, s, execproto.ForwardSignals)
}

// RunInSpare is runInSpare for given options and helper, with signals from
// relay.
func RunInSpare(ctx context.Context, opts Options, helper string, s isolate.Spec, relay execproto.Relay) (st isolate.Status, ok bool) {
	if s.TTY || os.Geteuid() != 0 || opts.Persist != execproto.PersistNone {
		return st, false
	}
	o, err := opts.WithDefaults()
	if err != nil || !spare.Eligible(o) {
		return st, false
	}
	mp := spare.MarkerPath(o.StateDir, spare.SlotOf(o))
	m, err := spare.ReadMarker(mp)
	if err != nil {
		return st, false
	}
	hid, err := spare.HelperID(helper)
	if err != nil {
		return st, false
	}
	self, err := spare.HelperID("/proc/self/exe")
	if err != nil {
		return st, false
	}
	key, err := spare.Key(o, hid, self, spare.OwnPlaceholders(o.StateDir, o.Workspace, m))
	phase.Mark("sandbox-spare-key")
	// Made for another config or view, or changed since: the next
	// making replaces it. (HERMES_PHASES=1 says which.)
	if err != nil || key != m.Key {
		phase.Mark("sandbox-spare-stale")
		return st, false
	}
	if !spare.Intact(m) {
		phase.Mark("sandbox-spare-changed")
		return st, false
	}
	// Exclusive while the command runs: gc and `sandbox rm` wait.
	lk, err := execproto.AcquireLock(o.StateDir, m.ID, unix.LOCK_EX, true)
	if err != nil {
		return st, false
	}
	defer lk.Release(false)
	if !spare.Take(mp, m.ID) {
		return st, false // another command took it
	}
	counter, found := execproto.OOMCounter(m.ID)
	if !found {
		return st, false // taken but unusable: gc removes it
	}
	lk.Touch()
	return runViaReaper(ctx, o, filepath.Join(o.StateDir, m.ID, execproto.SocketName), counter, s, relay)
}

// prepareSpare starts `hermes-exec-sandbox spare` in the background, after
// a fresh command that could have taken a spare: it removes that
// command's container and makes the next one's (isolate/sandbox's
// PrepareSpare), in a session of its own with no stdio, so it outlives the
// wrapper and keeps no pipe of the caller's open.
func (b *backend) prepareSpare(s isolate.Spec) {
	if s.TTY || os.Geteuid() != 0 || b.opts.Persist != execproto.PersistNone {
		return
	}
	o, err := b.opts.WithDefaults()
	if err != nil || !spare.Eligible(o) {
		return
	}
	StartSpare(b.helper, o)
}

// StartSpare starts the making of o's next spare with helper, in the
// background.
func StartSpare(helper string, o Options) {
	self, err := spare.HelperID("/proc/self/exe")
	if err != nil {
		return
	}
	raw, err := json.Marshal(Request{Options: o, SpareFor: self})
	if err != nil {
		return
	}
	cmd := exec.Command(helper, "spare")
	cmd.Env = helperEnv(raw)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if cmd.Start() == nil {
		_ = cmd.Process.Release()
	}
	phase.Mark("sandbox-spare-started")
}
