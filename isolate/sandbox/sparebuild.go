package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"hermes-exec/internal/phase"
	"hermes-exec/isolate/sandbox/spare"
)

// kindSpare labels a spare container (isolate/sandbox/spare).
const kindSpare = "spare"

// PrepareSpare makes the container the next fresh command of o will take
// (isolate/sandbox/spare), unless one of the same key is ready or another
// process is making one: `hermes-exec-sandbox spare`, which hermes-exec
// starts in the background after a fresh command. A spare of another key
// in the same slot (a config that changed since) is removed first. It is
// the container a cold start would make, created and started up to its
// reaper waiting for a command: same config, mounts, seccomp filter (the
// one libcontainer installs, as in a session container), capabilities,
// limits and namespaces, and nothing of any command.
//
// wrapperID identifies the hermes-exec that asked (spare.HelperID): only
// that program takes the spare.
func PrepareSpare(o Options, wrapperID string) error {
	o, err := o.WithDefaults()
	if err != nil {
		return err
	}
	if !spare.Eligible(o) || wrapperID == "" {
		return nil
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return err
	}
	slot := spare.SlotOf(o)
	// One maker per slot; the others have nothing to add.
	bl, err := acquireLock(o.StateDir, "spare-"+slot+"-make", unix.LOCK_EX, true)
	if errors.Is(err, errLocked) {
		return nil
	}
	if err != nil {
		return err
	}
	defer bl.Release(false)
	// New collects what the last command left, its container and the
	// placeholders that went with it, so the spare is made from the
	// workspace as a cold start would find it.
	be, err := New(o)
	if err != nil {
		return err
	}
	b := be.(*backend)
	helperID, err := spare.HelperID("/proc/self/exe")
	if err != nil {
		return err
	}
	mp := spare.MarkerPath(o.StateDir, slot)
	if m, err := spare.ReadMarker(mp); err == nil {
		key, kerr := spare.Key(o, helperID, wrapperID, spare.OwnPlaceholders(o.StateDir, o.Workspace, m))
		if kerr == nil && key == m.Key && spare.Intact(m) && running(o.StateDir, m.ID) {
			return nil // ready
		}
		if spare.Take(mp, m.ID) {
			if err := removeOne(o, m.ID); err != nil {
				logrus.WithError(err).Debug("sandbox: removing a stale spare")
			}
		}
	}
	// The template again: New made it before collecting.
	if b.tmpl, err = newTemplate(b.o); err != nil {
		return err
	}
	id := sparePrefix + randomHex(8)
	lk, err := acquireLock(o.StateDir, id, unix.LOCK_EX, false)
	if err != nil {
		return err
	}
	// Until the marker is written the lock keeps gc away; without a
	// marker afterwards gc removes it.
	defer lk.Release(false)
	c, t, err := b.startSpare(id)
	if err != nil {
		return err
	}
	phase.Mark("sandbox-spare-start")
	key, err := spare.KeyOf(t.spec, o, helperID, wrapperID)
	if err != nil {
		_ = destroy(o.StateDir, c)
		return err
	}
	m := spare.Marker{ID: id, Key: key, Placeholders: placeholdersOf(c)}
	state, err := c.State()
	if err != nil {
		_ = destroy(o.StateDir, c)
		return err
	}
	// The reaper runs: libcontainer made every mount before it.
	m.Pid, m.Start = state.InitProcessPid, state.InitProcessStartTime
	if m.Mounts, err = spare.MountsOf(m.Pid); err != nil {
		_ = destroy(o.StateDir, c)
		return err
	}
	// What a command would compute now, this spare's own placeholders
	// taken as absent, must be what it was made from; if the workspace
	// changed meanwhile, it is of no use.
	if now, err := spare.Key(o, helperID, wrapperID, spare.OwnPlaceholders(o.StateDir, o.Workspace, m)); err != nil || now != key {
		_ = destroy(o.StateDir, c)
		return err
	}
	lk.Touch()
	if err := spare.WriteMarker(mp, m); err != nil {
		_ = destroy(o.StateDir, c)
		return err
	}
	phase.Mark("sandbox-spare-ready")
	return nil
}

// running reports whether container id of stateDir runs.
func running(stateDir, id string) bool {
	c, err := libcontainer.Load(stateDir, id)
	if err != nil {
		return false
	}
	st, err := c.Status()
	return err == nil && st == libcontainer.Running
}

// placeholdersOf are the placeholders container c made (create's label).
func placeholdersOf(c *libcontainer.Container) []string {
	v, ok := utils.SearchLabels(c.Config().Labels, labelHolders)
	if !ok || v == "" {
		return nil
	}
	return strings.Split(v, "\x1f")
}

// startSpare makes spare container id, whose reaper waits on the exec
// socket for its one command (reapSpare). Like a session container it
// outlives this process and its stdio is /dev/null.
func (b *backend) startSpare(id string) (*libcontainer.Container, *template, error) {
	c, t, err := b.create(id, nil, labelKind+"="+kindSpare)
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: creating the spare container: %w", err)
	}
	fail := func(err error) (*libcontainer.Container, *template, error) {
		_ = destroy(b.o.StateDir, c)
		return nil, nil, err
	}
	exe, err := b.sealExe()
	if err != nil {
		return fail(fmt.Errorf("sandbox: sealing the reaper binary: %w", err))
	}
	defer exe.Close()
	sock, err := listenExec(filepath.Join(b.o.StateDir, id, execSocketName))
	if err != nil {
		return fail(fmt.Errorf("sandbox: the spare's exec socket: %w", err))
	}
	defer sock.Close()
	p := &libcontainer.Process{
		Args: []string{"/proc/self/fd/" + strconv.Itoa(reaperExeFd), reaperArg, kindSpare,
			strconv.FormatInt(int64(b.o.Idle.Seconds()), 10)},
		Env:        []string{"PATH=/usr/bin:/bin"},
		Cwd:        "/",
		UID:        t.uid,
		GID:        t.gid,
		Init:       true,
		ExtraFiles: []*os.File{exe, sock}, // reaperExeFd, reaperSocketFd
	}
	if err := c.Run(p); err != nil {
		return fail(fmt.Errorf("sandbox: starting the spare container: %w", err))
	}
	// The reaper is this process's child until it exits.
	go func() { _, _ = p.Wait() }()
	return c, t, nil
}
