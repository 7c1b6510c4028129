// Package containerd is the containerd backend: every command runs in a
// container that a running containerd makes, sees and cleans up, through
// the containerd v2 client. It is built only into hermes-exec-containerd
// (isolate/containerdexec starts that helper), because the client is large.
//
// The container has the embedded sandbox's shape (spec.go): the host's "/"
// read-only, or an image's root from containerd's store; the workspace
// writable at its own path; private /tmp, /run, /dev and /proc; credentials
// masked; its own network namespace with only loopback; no capabilities, no
// new privileges, Docker's default seccomp profile; memory, CPU and pids
// limits; the caller's uid.
//
// It keeps to the API that containerd 1.6 serves (Debian's): containers,
// tasks, content, images, snapshots, diff and leases. Transfer and the
// sandbox API answer Unimplemented there and are never called.
//
// Lifetimes: a fresh container per command (container.persist: none, or no
// session id), or one per session whose init is hermes-exec's own reaper
// (isolate/containerd/reaper) and in which each command is a task.Exec. Each
// command's helper holds a lifeline lock that the container watches, so a
// killed wrapper takes its command with it; what is left (a container, a
// stopped task, a snapshot) is collected by the next start (gc.go).
package containerd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/image-spec/identity"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"hermes-exec/internal/atomicfile"
	"hermes-exec/internal/phase"
	"hermes-exec/internal/sibling"
	"hermes-exec/isolate"
	"hermes-exec/isolate/containerd/reaper"
	"hermes-exec/isolate/containerdexec"
	"hermes-exec/isolate/sandbox/execproto"
)

// Options are the backend's options (see containerdexec.Options).
type Options = containerdexec.Options

const (
	cgroupParent = containerdexec.CgroupParent
	netHost      = execproto.NetworkHost
	runtimeName  = "io.containerd.runc.v2"
	snapshotter  = "overlayfs"
	// InitName is the in-container init's file name, next to the helper.
	InitName = "hermes-exec-containerd-init"
)

// Labels on every container hermes-exec makes; List and GC read them back.
const (
	labelKind      = "hermes-exec/kind" // kindFresh or kindSession
	labelSession   = "hermes-exec/session"
	labelWorkspace = "hermes-exec/workspace"
	labelMemory    = "hermes-exec/memory"
	labelStateDir  = "hermes-exec/state"
	labelHome      = "hermes-exec/home" // HERMES_HOME: ls, rm and gc see only their own
	kindFresh      = "fresh"
	kindSession    = "session"
)

// Backend runs commands in containerd containers.
type Backend struct {
	o        Options
	initPath string
	version  string // containerd's, once connected
	// checked waits for the version check of Run's connection (asked
	// for while the container is prepared) and says whether it failed.
	// Nothing that makes a task or container in containerd runs before
	// it said nil.
	checked func() error
}

// New checks the options and finds the in-container init.
func New(o Options) (*Backend, error) {
	o, err := withDefaults(o)
	if err != nil {
		return nil, err
	}
	initPath, err := findInit()
	if err != nil {
		return nil, err
	}
	return &Backend{o: o, initPath: initPath}, nil
}

func withDefaults(o Options) (Options, error) { return o.WithDefaults() }

// findInit is hermes-exec-containerd-init next to this executable
// (sibling.Find: never from PATH; only test builds take
// $HERMES_CONTAINERD_INIT instead). The init sets up the container's
// seccomp program and capabilities, so a variable in a caller's
// environment must not name another program for it.
func findInit() (string, error) {
	p, err := sibling.Find(InitName, "HERMES_CONTAINERD_INIT")
	if errors.Is(err, sibling.ErrMissing) {
		return "", fmt.Errorf("the containerd backend needs %s next to hermes-exec-containerd (%s); make build makes both", InitName, filepath.Dir(p))
	}
	if err != nil {
		return "", err
	}
	return p, nil
}

func (b *Backend) Name() string { return "containerd" }

// Run runs one command and reports how it ended.
func (b *Backend) Run(ctx context.Context, s isolate.Spec) (isolate.Status, error) {
	phase.Mark("cd-run")
	go warm()
	cl, ctx, err := dial(ctx, b.o)
	if err != nil {
		return isolate.Status{}, err
	}
	defer cl.Close()
	// The version check's round trip runs while the container is
	// prepared; everything that makes a task or container waits for it
	// (b.checked), and a failed check is the run's one error.
	vc := make(chan error, 1)
	go func() {
		v, err := checkVersion(ctx, cl, b.o)
		b.version = v
		vc <- err
	}()
	b.checked = sync.OnceValue(func() error { return <-vc })
	phase.Mark("cd-connect")
	// What earlier runs left is collected meanwhile (nothing here needs
	// it), when the state directory shows something to collect.
	collected := make(chan struct{})
	if needsCollect(b.o) {
		go func() {
			defer close(collected)
			if b.checked() == nil {
				_, _ = collect(ctx, cl, b.o, false)
			}
		}()
	} else {
		close(collected)
	}
	defer func() { <-collected }()
	env := execproto.CommandEnv(s.Env, b.o.Passthrough, os.Getenv("HERMES_SKILL_ENV"))
	cwd := b.o.CommandDir(s.Dir)
	if b.o.Persist == execproto.PersistSession && s.Session != "" {
		if err := b.checked(); err != nil {
			return isolate.Status{}, err
		}
		return b.runSession(ctx, cl, s, env, cwd)
	}
	st, err := b.runFresh(ctx, cl, s, env, cwd)
	if verr := b.checked(); verr != nil {
		// runFresh stopped before its task (it waits for the check):
		// whatever it met on the way, the version is the reason.
		return isolate.Status{}, verr
	}
	return st, err
}

// Connect opens the client and checks that containerd answers and is new
// enough. Every failure says what to do about it.
func Connect(ctx context.Context, o Options) (*containerd.Client, context.Context, error) {
	cl, ctx, _, err := connect(ctx, o)
	return cl, ctx, err
}

// connect is Connect, and containerd's version.
func connect(ctx context.Context, o Options) (*containerd.Client, context.Context, string, error) {
	cl, ctx, err := dial(ctx, o)
	if err != nil {
		return nil, ctx, "", err
	}
	v, err := checkVersion(ctx, cl, o)
	if err != nil {
		cl.Close()
		return nil, ctx, "", err
	}
	return cl, ctx, v, nil
}

// dial opens the client (without asking containerd anything yet).
func dial(ctx context.Context, o Options) (*containerd.Client, context.Context, error) {
	if _, err := os.Stat(o.Address); err != nil {
		return nil, ctx, fmt.Errorf("containerd is not reachable at %s (%v): start containerd, or set container.containerd.address to its socket", o.Address, errors.Unwrap(err))
	}
	// The default runtime named here spares NewContainer its look-up of
	// the namespace's label (a round trip): every container here names
	// its runtime anyway.
	cl, err := containerd.New(o.Address, containerd.WithDefaultNamespace(o.Namespace), containerd.WithDefaultRuntime(runtimeName), containerd.WithTimeout(5*time.Second))
	if err != nil {
		return nil, ctx, fmt.Errorf("containerd at %s: %v", o.Address, err)
	}
	return cl, namespaces.WithNamespace(ctx, o.Namespace), nil
}

// checkVersion asks containerd for its version ("VERSION REVISION") and
// refuses one older than 1.6.
func checkVersion(ctx context.Context, cl *containerd.Client, o Options) (string, error) {
	vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := cl.Version(vctx)
	if err != nil {
		return "", fmt.Errorf("containerd at %s does not answer (%v): is it running, and may this user open its socket?", o.Address, err)
	}
	if !versionOK(v.Version) {
		return "", fmt.Errorf("containerd at %s is version %s; hermes-exec needs 1.6 or newer: upgrade containerd", o.Address, v.Version)
	}
	return v.Version + " " + v.Revision, nil
}

// versionChecked is b.checked's answer (nil where Run did not connect:
// connect checked the version then).
func (b *Backend) versionChecked() error {
	if b.checked == nil {
		return nil
	}
	return b.checked()
}

// versionOK accepts containerd 1.6 and later ("1.6.20~ds1", "v2.1.0").
func versionOK(v string) bool {
	v = strings.TrimPrefix(v, "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(digits(parts[1]))
	if err1 != nil || err2 != nil {
		return false
	}
	return major > 1 || (major == 1 && minor >= 6)
}

func digits(s string) string {
	for i, r := range s {
		if r < '0' || r > '9' {
			return s[:i]
		}
	}
	return s
}

// runFresh makes a container for one command, waits for it and removes it.
func (b *Backend) runFresh(ctx context.Context, cl *containerd.Client, s isolate.Spec, env []string, cwd string) (isolate.Status, error) {
	id := "f-" + randomHex(8)
	life, err := b.lifeline(id, "init")
	if err != nil {
		return isolate.Status{}, err
	}
	defer b.removeState(id)
	defer life.Close()
	args := []string{reaper.Path, reaper.ReaperArg, "run"}
	if s.TTY {
		args = append(args, "tty")
	}
	args = append(append(args, lifeMount+"/init", "--"), s.Args...)
	// The anchor's shim is made ready meanwhile (anchor.go).
	anchored := b.ensureAnchor(ctx, cl)
	p := &specParams{args: args, env: env, cwd: cwd, terminal: s.TTY, console: consoleSize(s), group: b.anchorID(), initSeccomp: true}
	if err := b.newContainer(ctx, cl, id, kindFresh, "", p); err != nil {
		<-anchored
		return isolate.Status{}, err
	}
	phase.Mark("cd-container")
	// Removal must happen even when the caller's context is done.
	cleanup := context.WithoutCancel(ctx)
	restore := rawTerminal(s)
	defer restore()
	in := &stdinReader{}
	<-anchored
	phase.Mark("cd-anchor")
	if err := b.versionChecked(); err != nil {
		destroyID(cleanup, cl, id)
		forgetWorkspace(b.o, b.o.Workspace, id)
		return isolate.Status{}, err
	}
	task, err := newFreshTask(ctx, cl, id, p.rootfs, ioCreator(s, in, filepath.Join(b.o.StateDir, id, "fifo")))
	if err != nil && ctx.Err() == nil {
		// The group's shim may have been exiting as the task joined it
		// (its last container removed meanwhile by sandbox rm or gc):
		// the second try starts a shim of the group's own.
		task, err = newFreshTask(ctx, cl, id, p.rootfs, ioCreator(s, in, filepath.Join(b.o.StateDir, id, "fifo")))
	}
	if err != nil {
		destroyID(cleanup, cl, id)
		forgetWorkspace(b.o, b.o.Workspace, id)
		return isolate.Status{}, fmt.Errorf("containerd: creating the task: %w", err)
	}
	phase.Mark("cd-task-create")
	captured := make(chan struct{})
	if p.capture != "" {
		// The first of its profile: runc's program is read back meanwhile.
		go func() { defer close(captured); captureSeccomp(id, int(task.Pid()), p.capture) }()
	} else {
		close(captured)
	}
	var deleted bool
	st, err := b.wait(ctx, id, s, task, in, &deleted)
	<-captured
	phase.Mark("cd-task-delete")
	if !deleted {
		destroyID(cleanup, cl, id)
		forgetWorkspace(b.o, b.o.Workspace, id)
		return st, err
	}
	// The task is gone, and with it every mount of the container's: its
	// record, its snapshot and the workspace's placeholders go at once.
	// The helper returns (and lets go of the lifeline) only after all.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if derr := cl.ContainerService().Delete(cleanup, id); derr != nil && !errdefs.IsNotFound(derr) {
			destroyID(cleanup, cl, id)
		}
	}()
	if b.o.Image != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = cl.SnapshotService(snapshotter).Remove(cleanup, id)
		}()
	}
	forgetWorkspace(b.o, b.o.Workspace, id)
	wg.Wait()
	phase.Mark("cd-container-del")
	return st, err
}

// runSession runs the command with task.Exec in the session's container,
// making the container first when there is none (or only a dead one).
func (b *Backend) runSession(ctx context.Context, cl *containerd.Client, s isolate.Spec, env []string, cwd string) (isolate.Status, error) {
	id := b.sessionID(s.Session)
	lk, err := lockFile(filepath.Join(b.o.StateDir, id+".lock"), unix.LOCK_EX)
	if err != nil {
		return isolate.Status{}, err
	}
	defer lk.Close()
	task, err := b.sessionTask(ctx, cl, id, s.Session)
	if err != nil {
		return isolate.Status{}, err
	}
	// Shared while the command runs: gc and rm leave the session alone.
	if err := unix.Flock(int(lk.Fd()), unix.LOCK_SH); err != nil {
		return isolate.Status{}, err
	}
	touch(filepath.Join(b.o.StateDir, id, "last-used"))
	if !s.TTY {
		// The session's reaper starts it (as hermes-exec itself asks it
		// for later commands, containerdexec/session.go); task.Exec is
		// for terminals, and for a reaper that does not take commands.
		if st, ok := b.reaperExec(ctx, id, s, env, cwd); ok {
			return st, nil
		}
	}
	execID := "x-" + randomHex(6)
	life, err := b.lifeline(id, execID)
	if err != nil {
		return isolate.Status{}, err
	}
	defer os.Remove(filepath.Join(b.o.StateDir, id, "life", execID))
	defer life.Close()
	args := []string{reaper.Path, reaper.ExecArg}
	if s.TTY {
		args = append(args, "tty")
	}
	args = append(append(args, lifeMount+"/"+execID, "--"), s.Args...)
	pspec := execProcess(b.o, args, env, cwd, s.TTY, consoleSize(s))
	restore := rawTerminal(s)
	defer restore()
	in := &stdinReader{}
	p, err := task.Exec(ctx, execID, pspec, ioCreator(s, in, filepath.Join(b.o.StateDir, id, "fifo")))
	if err != nil {
		return isolate.Status{}, fmt.Errorf("containerd: exec in session %s: %w", id, err)
	}
	defer touch(filepath.Join(b.o.StateDir, id, "last-used"))
	return b.wait(ctx, id, s, p, in, nil)
}

// reaperExec has the session's reaper start the command over its exec
// socket; ok is false when nothing was started.
func (b *Backend) reaperExec(ctx context.Context, id string, s isolate.Spec, env []string, cwd string) (isolate.Status, bool) {
	counter, haveCounter := containerdexec.OOMCounter(id)
	before := int64(0)
	if haveCounter {
		before = execproto.ReadCounter(counter, "oom_kill")
	}
	sock := filepath.Join(b.o.StateDir, id, execproto.SocketName)
	st, started, err := execproto.Exec(ctx, sock, execproto.Request{Args: s.Args, Env: env, Dir: cwd}, s.Stdin, s.Stdout, s.Stderr)
	touch(filepath.Join(b.o.StateDir, id, "last-used"))
	if !started {
		return st, false
	}
	if err != nil {
		return isolate.Status{Code: 126, Reason: "containerd: " + err.Error()}, true
	}
	if haveCounter && execproto.ReadCounter(counter, "oom_kill") > before {
		st = execproto.OOMStatus(st, b.o.Memory)
	}
	if ctx.Err() != nil {
		st.Reason = isolate.CancelReason(ctx)
	}
	st.Signal = 0
	return st, true
}

// sessionTask is the running task of session id, made when missing.
func (b *Backend) sessionTask(ctx context.Context, cl *containerd.Client, id, session string) (containerd.Task, error) {
	if c, err := cl.LoadContainer(ctx, id); err == nil {
		if t, err := c.Task(ctx, nil); err == nil {
			if st, err := t.Status(ctx); err == nil && st.Status == containerd.Running {
				return t, nil
			}
		}
		// Expired (its reaper exited) or half made: start afresh.
		destroy(ctx, c)
	} else if !errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("containerd: loading %s: %w", id, err)
	}
	if err := os.MkdirAll(filepath.Join(b.o.StateDir, id, "life"), 0o700); err != nil {
		return nil, err
	}
	hand, err := newHandoff(filepath.Join(b.o.StateDir, id))
	if err != nil {
		return nil, err
	}
	defer hand.close()
	idle := strconv.FormatInt(int64(b.o.Idle/time.Second), 10)
	if err := b.newContainer(ctx, cl, id, kindSession, session, &specParams{
		args: []string{reaper.Path, reaper.ReaperArg, "session", idle, lifeMount + "/" + reaper.HandName},
		env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		cwd:  "/",
	}); err != nil {
		return nil, err
	}
	c, err := cl.LoadContainer(ctx, id)
	if err != nil {
		destroyID(context.WithoutCancel(ctx), cl, id)
		return nil, fmt.Errorf("containerd: starting session %s: %w", id, err)
	}
	t, err := c.NewTask(ctx, cio.NullIO)
	if err == nil {
		err = t.Start(ctx)
	}
	if err != nil {
		destroy(context.WithoutCancel(ctx), c)
		return nil, fmt.Errorf("containerd: starting session %s: %w", id, err)
	}
	// Without the handover the session still works, by task.Exec.
	hand.give(5 * time.Second)
	return t, nil
}

// handoff gives a session's reaper its exec socket (reaper/server.go): the
// listening socket is made here, in the host-side state directory that
// nothing in the container can reach, and passed over a rendezvous socket
// in the lifeline directory, which the container sees read-only.
type handoff struct {
	exec, hand *net.UnixListener
	handPath   string
}

func newHandoff(dir string) (*handoff, error) {
	life := filepath.Join(dir, "life")
	if err := os.MkdirAll(life, 0o700); err != nil {
		return nil, err
	}
	_ = os.Chmod(dir, 0o711)
	_ = os.Chmod(life, 0o711)
	sock := filepath.Join(dir, execproto.SocketName)
	_ = os.Remove(sock)
	ex, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		return nil, err
	}
	ex.SetUnlinkOnClose(false) // the reaper goes on listening on it
	_ = os.Chmod(sock, 0o600)
	h := &handoff{exec: ex, handPath: filepath.Join(life, reaper.HandName)}
	_ = os.Remove(h.handPath)
	if h.hand, err = net.ListenUnix("unix", &net.UnixAddr{Name: h.handPath, Net: "unix"}); err != nil {
		ex.Close()
		return nil, err
	}
	return h, nil
}

// give waits for the reaper to connect and passes it the exec socket.
func (h *handoff) give(wait time.Duration) {
	_ = h.hand.SetDeadline(time.Now().Add(wait))
	c, err := h.hand.AcceptUnix()
	if err != nil {
		return
	}
	defer c.Close()
	f, err := h.exec.File()
	if err != nil {
		return
	}
	defer f.Close()
	_, _, _ = c.WriteMsgUnix([]byte{0}, unix.UnixRights(int(f.Fd())), nil)
}

func (h *handoff) close() {
	h.hand.Close() // unlinks the rendezvous
	h.exec.Close()
}

// newContainer makes container id's record with the spec for these
// options and, from an image, its snapshot; p.rootfs is then the
// snapshot's mounts.
//
// No lease: the record is made first and names the snapshot, so that
// containerd's garbage collection counts the snapshot as the container's
// from the moment it exists (the client's NewContainer would take a lease
// and give it back: two more writes to containerd's database). The image
// is looked up while the spec is built.
func (b *Backend) newContainer(ctx context.Context, cl *containerd.Client, id, kind, session string, p *specParams) error {
	p.id, p.initPath = id, b.initPath
	p.lifeDir = filepath.Join(b.o.StateDir, id, "life")
	rec := containers.Container{
		ID:      id,
		Runtime: containers.RuntimeInfo{Name: runtimeName},
		Labels: map[string]string{
			labelKind: kind, labelSession: session, labelWorkspace: b.o.Workspace,
			labelMemory: strconv.FormatInt(b.o.Memory, 10), labelStateDir: b.o.StateDir, labelHome: b.o.HermesHome,
		},
	}
	p.image = b.o.Image != ""
	var root chan rootResult
	// created says (once) whether the record exists, for the snapshot's
	// preparation to go on.
	created := make(chan bool, 1)
	told := false
	tell := func(ok bool) {
		if !told {
			told = true
			created <- ok
		}
	}
	if p.image {
		rec.Image, rec.Snapshotter, rec.SnapshotKey = b.o.Image, snapshotter, id
		root = make(chan rootResult, 1)
		go func() {
			m, err := b.prepareRoot(ctx, cl, id, created)
			root <- rootResult{m, err}
		}()
	}
	rootDone := false
	unlock := func() {}
	fail := func(err error) error {
		// forgetWorkspace takes the workspace's lock itself.
		unlock()
		if root != nil {
			tell(false)
			if !rootDone {
				<-root
			}
			// Prepared, perhaps, before the failure.
			_ = cl.SnapshotService(snapshotter).Remove(context.WithoutCancel(ctx), id)
		}
		forgetWorkspace(b.o, b.o.Workspace, id)
		return err
	}
	spec, unlockSpec, err := b.protected(*p)
	if err != nil {
		return fail(err)
	}
	unlock = sync.OnceFunc(unlockSpec)
	defer unlock()
	if p.initSeccomp {
		if p.capture, err = b.initSeccomp(spec, p.lifeDir); err != nil {
			return fail(err)
		}
	}
	phase.Mark("cd-spec")
	if err := b.versionChecked(); err != nil {
		return fail(err)
	}
	select {
	case r := <-root: // before the record was made: the image's failure
		rootDone = true
		return fail(r.err)
	default:
	}
	if err := containerd.WithSpec(spec.Spec)(ctx, cl, &rec); err != nil {
		return fail(err)
	}
	if _, err := cl.ContainerService().Create(ctx, rec); err != nil {
		return fail(fmt.Errorf("containerd: making container %s: %w", id, err))
	}
	if root != nil {
		tell(true)
		rootDone = true
		r := <-root
		if r.err != nil {
			_ = cl.ContainerService().Delete(context.WithoutCancel(ctx), id)
			return fail(r.err)
		}
		p.rootfs = r.mounts
		phase.Mark("cd-image")
	}
	return nil
}

// rootResult is what prepareRoot made: the snapshot's mounts, or why not.
type rootResult struct {
	mounts []mount.Mount
	err    error
}

// errNoRecord: the container's record was not made, so neither is its
// snapshot (the failure that stopped it is the run's error).
var errNoRecord = errors.New("containerd: no container record")

// prepareRoot prepares container id's writable snapshot on top of the
// image's layers, once created says that the container's record exists,
// unpacking the image first when it was not (an image imported by
// another tool). Not checked first: a check costs every run a
// few round trips.
func (b *Backend) prepareRoot(ctx context.Context, cl *containerd.Client, id string, created <-chan bool) ([]mount.Mount, error) {
	img, err := findImage(ctx, cl, b.o)
	if err != nil {
		return nil, err
	}
	if !<-created {
		return nil, errNoRecord
	}
	m, err := b.prepareSnapshot(ctx, cl, id, img)
	if err != nil && errdefs.IsNotFound(err) {
		if uerr := img.Unpack(ctx, snapshotter); uerr != nil {
			return nil, fmt.Errorf("containerd: unpacking %s: %w", b.o.Image, uerr)
		}
		m, err = b.prepareSnapshot(ctx, cl, id, img)
	}
	if err != nil {
		return nil, fmt.Errorf("containerd: making container %s: %w", id, err)
	}
	return m, nil
}

// prepareSnapshot prepares snapshot id on top of img's layers. The layers'
// chain id is remembered per image target in the state directory: working
// it out reads the index, manifest and config from the content store, a
// third of a fresh container's set-up.
func (b *Backend) prepareSnapshot(ctx context.Context, cl *containerd.Client, id string, img containerd.Image) ([]mount.Mount, error) {
	target := img.Target().Digest.String()
	cache := filepath.Join(b.o.StateDir, "images", strings.ReplaceAll(target, ":", "-"))
	chain := ""
	if raw, err := os.ReadFile(cache); err == nil {
		chain = strings.TrimSpace(string(raw))
	}
	if chain == "" {
		diffIDs, err := img.RootFS(ctx)
		if err != nil {
			return nil, err
		}
		chain = identity.ChainID(diffIDs).String()
		if err := os.MkdirAll(filepath.Dir(cache), 0o700); err == nil {
			_ = atomicfile.Write(cache, []byte(chain+"\n"))
		}
	}
	m, err := cl.SnapshotService(snapshotter).Prepare(ctx, id, chain)
	if err != nil {
		_ = os.Remove(cache) // layers gone (image removed, not unpacked): work it out again
		return nil, err
	}
	return m, nil
}

// findImage is o.Image from the store.
func findImage(ctx context.Context, cl *containerd.Client, o Options) (containerd.Image, error) {
	img, err := cl.GetImage(ctx, o.Image)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("container.image %q is not in containerd namespace %q: import it (hermes-exec image import FILE.tar), build one (hermes-exec image build --from DIR --name %s), or see hermes-exec image ls", o.Image, o.Namespace, o.Image)
		}
		return nil, fmt.Errorf("containerd: image %s: %w", o.Image, err)
	}
	return img, nil
}

// process is what wait needs of a task or an exec'd process.
type process interface {
	Start(context.Context) error
	Wait(context.Context) (<-chan containerd.ExitStatus, error)
	Kill(context.Context, syscall.Signal, ...containerd.KillOpts) error
	Resize(context.Context, uint32, uint32) error
	Delete(context.Context, ...containerd.ProcessDeleteOpts) (*containerd.ExitStatus, error)
	CloseIO(context.Context, ...containerd.IOCloserOpts) error
	IO() cio.IO
}

// wait starts p, relays signals and terminal size to it, and returns how
// it ended; an end by the memory limit gets its one-line reason. It
// deletes p, and says in deleted (when not nil) whether that worked.
func (b *Backend) wait(ctx context.Context, id string, s isolate.Spec, p process, in *stdinReader, deleted *bool) (isolate.Status, error) {
	cleanup := context.WithoutCancel(ctx)
	defer func() {
		_, err := p.Delete(cleanup)
		if deleted != nil {
			*deleted = err == nil || errdefs.IsNotFound(err)
		}
	}()
	exitC, err := p.Wait(ctx)
	if err != nil {
		return isolate.Status{}, fmt.Errorf("containerd: %w", err)
	}
	counter, haveCounter := containerdexec.OOMCounter(id)
	before := int64(0)
	if haveCounter {
		before = execproto.ReadCounter(counter, "oom_kill")
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH, unix.SIGCONT)
	defer signal.Stop(sigs)
	if err := p.Start(ctx); err != nil {
		return isolate.Status{}, startError(err)
	}
	phase.Mark("cd-start")
	in.onEOF(func() { _ = p.CloseIO(cleanup, containerd.WithStdinCloser) })
	if s.TTY {
		resize(cleanup, s, p)
	}
	for {
		select {
		case sig := <-sigs:
			if sig == unix.SIGWINCH && s.TTY {
				resize(cleanup, s, p)
				continue
			}
			_ = p.Kill(cleanup, sig.(syscall.Signal))
		case <-ctx.Done():
			_ = p.Kill(cleanup, unix.SIGKILL)
		case es := <-exitC:
			phase.Mark("cd-exit")
			code, _, err := es.Result()
			if err != nil {
				return isolate.Status{}, fmt.Errorf("containerd: %w", err)
			}
			drainIO(p.IO())
			st := isolate.Status{Code: int(code)}
			if st.Code > 128 && st.Code < 128+65 {
				st.Signal = st.Code - 128
			}
			if !haveCounter {
				counter, haveCounter = containerdexec.OOMCounter(id)
			}
			if haveCounter && execproto.ReadCounter(counter, "oom_kill") > before {
				st = execproto.OOMStatus(st, b.o.Memory)
			}
			if ctx.Err() != nil {
				st.Reason = isolate.CancelReason(ctx)
			}
			// The helper exits with the code: its caller sees no signal.
			st.Signal = 0
			return st, nil
		}
	}
}

// drainIO lets the output of a command that ended reach the caller: the
// copy ends when the shim closes its side. A background job that keeps the
// output open does not hold the caller past a short grace.
func drainIO(io cio.IO) {
	done := make(chan struct{})
	go func() { io.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	io.Close()
}

func startError(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "no such file") || strings.Contains(msg, "executable file not found") {
		return &isolate.StartError{Err: err}
	}
	return fmt.Errorf("containerd: starting: %w", err)
}

// ioCreator connects the command to the caller's files. containerd copies
// through FIFOs, byte for byte; stdin's end reaches the command as EOF.
//
// The shim keeps the stdin FIFO open itself (so a reopen sees no EOF), so
// the end of stdin is told to it with CloseIO once the copy has read it all.
//
// The FIFOs live in the container's state directory (not containerd's
// shared /run/containerd/fifo), so what a killed helper leaves goes with
// the container when it is collected.
//
// A caller's stdin that is /dev/null (as agents often run commands) gets
// no FIFO: the shim then gives the command /dev/null itself, and the
// FIFO, its copy and the CloseIO round trip are spared.
func ioCreator(s isolate.Spec, in *stdinReader, fifoDir string) cio.Creator {
	var r io.Reader
	if s.Stdin != nil && (s.TTY || !isDevNull(s.Stdin)) {
		in.f = s.Stdin
		r = in
	}
	opts := []cio.Opt{cio.WithStreams(r, writerOrNil(s.Stdout), writerOrNil(s.Stderr)), cio.WithFIFODir(fifoDir)}
	if s.TTY {
		opts = append(opts, cio.WithTerminal)
	}
	return cio.NewCreator(opts...)
}

// isDevNull reports whether f is the null device.
func isDevNull(f *os.File) bool {
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return false
	}
	return unix.Major(uint64(st.Rdev)) == 1 && unix.Minor(uint64(st.Rdev)) == 3
}

// stdinReader reads the caller's stdin and, at its end, closes the
// command's (once the task or process exists to be told).
type stdinReader struct {
	f       *os.File
	mu      sync.Mutex
	eof     bool
	closeIO func()
}

func (r *stdinReader) Read(b []byte) (int, error) {
	n, err := r.f.Read(b)
	if err == io.EOF {
		r.mu.Lock()
		r.eof = true
		if r.closeIO != nil {
			r.closeIO()
			r.closeIO = nil
		}
		r.mu.Unlock()
	}
	return n, err
}

// onEOF sets what closes the command's stdin; it runs now if stdin ended.
func (r *stdinReader) onEOF(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.eof {
		f()
		return
	}
	r.closeIO = f
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

func writerOrNil(f *os.File) interface{ Write([]byte) (int, error) } {
	if f == nil {
		return nopWriter{}
	}
	return f
}

// rawTerminal puts the caller's terminal in raw mode for a terminal
// command (the container's pseudo-terminal does the line discipline).
func rawTerminal(s isolate.Spec) func() {
	if !s.TTY || s.Stdin == nil {
		return func() {}
	}
	st, err := term.MakeRaw(int(s.Stdin.Fd()))
	if err != nil {
		return func() {}
	}
	return func() { _ = term.Restore(int(s.Stdin.Fd()), st) }
}

func consoleSize(s isolate.Spec) *specs.Box {
	if !s.TTY || s.Stdout == nil {
		return nil
	}
	w, h, err := term.GetSize(int(s.Stdout.Fd()))
	if err != nil {
		return nil
	}
	return &specs.Box{Width: uint(w), Height: uint(h)}
}

func resize(ctx context.Context, s isolate.Spec, p process) {
	if b := consoleSize(s); b != nil {
		_ = p.Resize(ctx, uint32(b.Width), uint32(b.Height))
	}
}

func (b *Backend) sessionID(session string) string { return b.o.SessionID(session) }

// lifeline makes the lifeline file name in container id's state and holds
// an exclusive lock on it for as long as the returned file is open.
func (b *Backend) lifeline(id, name string) (*os.File, error) {
	dir := filepath.Join(b.o.StateDir, id, "life")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// The container's processes run as the caller and open it read-only.
	_ = os.Chmod(filepath.Join(b.o.StateDir, id), 0o711)
	_ = os.Chmod(dir, 0o711)
	f, err := lockFile(filepath.Join(dir, name), unix.LOCK_EX)
	if err != nil {
		return nil, err
	}
	_ = f.Chmod(0o644)
	return f, nil
}

// lockFile opens (creating) path and takes the flock how.
func lockFile(path string, how int) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (b *Backend) removeState(id string) { _ = os.RemoveAll(filepath.Join(b.o.StateDir, id)) }

func touch(p string) {
	now := time.Now()
	if err := os.Chtimes(p, now, now); err != nil {
		if f, err := os.Create(p); err == nil {
			f.Close()
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// destroyID is destroy for container id, if it exists.
func destroyID(ctx context.Context, cl *containerd.Client, id string) {
	if c, err := cl.LoadContainer(ctx, id); err == nil {
		destroy(ctx, c)
	}
}

// destroy kills whatever runs in c and removes its task, the container and
// its snapshot.
func destroy(ctx context.Context, c containerd.Container) {
	if t, err := c.Task(ctx, nil); err == nil {
		if st, err := t.Status(ctx); err == nil && st.Status != containerd.Stopped {
			_ = t.Kill(ctx, unix.SIGKILL, containerd.WithKillAll)
			if ch, err := t.Wait(ctx); err == nil {
				select {
				case <-ch:
				case <-time.After(10 * time.Second):
				}
			}
		}
		_, _ = t.Delete(ctx, containerd.WithProcessKill)
	}
	_ = c.Delete(ctx, containerd.WithSnapshotCleanup)
}

// Normalize fills in the defaults for management commands (image, sandbox
// ls|rm|gc), which have no command to run.
func Normalize(o Options) (Options, error) { return withDefaults(o) }
