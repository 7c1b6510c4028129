package containerd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"hermes-exec/isolate/containerd/reaper"
	"hermes-exec/isolate/ocispec"
	"hermes-exec/isolate/sandbox/execproto"
)

// The anchor keeps one runc shim running for a state directory's fresh
// containers (as a Kubernetes pod's pause container keeps the pod's).
//
// Every task's creation otherwise starts a shim daemon of its own (a fork
// and exec of containerd-shim-runc-v2 and its start-up, about 20 ms), and
// the task's deletion waits for that shim to exit. (containerd 1.6 runs
// the shim binary's clean-up once more after every task's deletion, shared
// shim or not.) The runc shim serves every container whose spec names
// the same group (groupAnnotation) from one process, and stays while any
// of them exists. So fresh containers name the anchor's group, and the
// anchor, a container whose init does nothing but wait (reaper "anchor"
// mode: no command, no workspace, an empty read-only root, no capability,
// the default seccomp profile), exists for the shim's sake.
//
// It is this state directory's and HERMES_HOME's only (its id is made of
// both: one user's containers never share a shim with another's), listed by
// `sandbox ls` (kind anchor), removed by `sandbox rm` and, idle for
// container.idle, by `sandbox gc`; its init exits by itself after
// container.idle without a fresh container (each touches its last-used
// file, which it sees read-only), and the next start collects what is
// left. A fresh container never depends on it: without a running anchor
// its task starts the group's shim itself.

const (
	kindAnchor      = "anchor"
	groupAnnotation = "io.containerd.runc.v2.group"
	anchorPrefix    = "a-"
	// The anchor runs nothing: a few processes' worth of pids (its init's
	// threads count) and memory.
	anchorPids   = 32
	anchorMemory = 32 << 20
)

// anchorID is the anchor's container id (and shim group) for these options.
func (b *Backend) anchorID() string {
	sum := sha256.Sum256([]byte(b.o.StateDir + "\x00" + b.o.HermesHome + "\x00" + b.o.Namespace))
	return anchorPrefix + hex.EncodeToString(sum[:8])
}

// anchorLastUsed is the file each fresh container touches and the anchor
// watches (in its lifeline directory, which it sees read-only).
func anchorLastUsed(o Options, id string) string {
	return filepath.Join(o.StateDir, id, "life", "last-used")
}

// ensureAnchor makes sure the anchor runs when a fresh container's task is
// created: the returned channel is closed once it does, or once making it
// failed (the task then starts the group's shim itself). The usual case,
// a running anchor, costs a read of its cgroup and no round trip.
func (b *Backend) ensureAnchor(ctx context.Context, cl *containerd.Client) <-chan struct{} {
	id := b.anchorID()
	done := make(chan struct{})
	if cgroupBusy(id) {
		touch(anchorLastUsed(b.o, id))
		close(done)
		return done
	}
	go func() {
		defer close(done)
		// A failure costs only the shim's start: the task starts it.
		_ = b.startAnchor(ctx, cl, id)
	}()
	return done
}

// startAnchor (re)makes the anchor under its lock; a helper that finds it
// made meanwhile leaves it be.
func (b *Backend) startAnchor(ctx context.Context, cl *containerd.Client, id string) error {
	lk, err := lockFile(filepath.Join(b.o.StateDir, id+".lock"), unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer lk.Close()
	if cgroupBusy(id) {
		touch(anchorLastUsed(b.o, id))
		return nil
	}
	// A stopped one (its init went idle) or a half-made one (its helper
	// was killed): replaced.
	if c, err := cl.LoadContainer(ctx, id); err == nil {
		destroy(ctx, c)
	} else if !errdefs.IsNotFound(err) {
		return err
	}
	dir := filepath.Join(b.o.StateDir, id)
	_ = os.RemoveAll(dir)
	for _, d := range []string{filepath.Join(dir, "life"), filepath.Join(dir, "root")} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return err
		}
	}
	_ = os.Chmod(dir, 0o711)
	touch(anchorLastUsed(b.o, id))
	spec, err := b.anchorSpec(id, dir)
	if err != nil {
		return err
	}
	if err := b.versionChecked(); err != nil {
		return err
	}
	c, err := cl.NewContainer(ctx, id,
		containerd.WithRuntime(runtimeName, nil),
		containerd.WithContainerLabels(map[string]string{
			labelKind: kindAnchor, labelStateDir: b.o.StateDir, labelHome: b.o.HermesHome,
			labelMemory: strconv.Itoa(anchorMemory),
		}),
		containerd.WithSpec(spec))
	if err != nil {
		return err
	}
	t, err := c.NewTask(ctx, cio.NullIO)
	if err == nil {
		err = t.Start(ctx)
	}
	if err != nil {
		destroy(context.WithoutCancel(ctx), c)
		return err
	}
	return nil
}

// anchorSpec is the sandbox's spec (namespaces, user, no capabilities,
// no_new_privs, seccomp, masked paths, limits) around nothing: an empty
// read-only root with a private /proc, /dev and /run, the init, and its
// lifeline directory.
func (b *Backend) anchorSpec(id, dir string) (*specs.Spec, error) {
	c := specConfig(b.o, true)
	c.Memory, c.Pids = anchorMemory, anchorPids
	c.Network = execproto.NetworkNone // it talks to nobody
	s, err := ocispec.Build(c)
	if err != nil {
		return nil, err
	}
	idle := strconv.FormatInt(int64(b.o.Idle/time.Second), 10)
	s.Process.Args = []string{reaper.Path, reaper.ReaperArg, reaper.AnchorArg, idle, lifeMount + "/last-used"}
	s.Process.Env = nil
	s.Process.Cwd = "/"
	s.Process.Terminal = false
	s.Root = &specs.Root{Path: filepath.Join(dir, "root"), Readonly: true}
	s.Hostname = "hermes-exec-anchor"
	tmpfs := func(dst string) specs.Mount {
		return specs.Mount{Destination: dst, Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "noexec", "mode=755", "size=65536"}}
	}
	s.Mounts = []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}}, // runc's init needs it
		tmpfs("/dev"), tmpfs("/run"),
		{Destination: reaper.Path, Type: "bind", Source: b.initPath, Options: []string{"bind", "ro", "nosuid", "nodev"}},
		{Destination: lifeMount, Type: "bind", Source: filepath.Join(dir, "life"), Options: []string{"bind", "ro", "nosuid", "nodev", "noexec"}},
	}
	s.Linux.CgroupsPath = cgroupParent + "/" + id
	s.Annotations = map[string]string{groupAnnotation: id}
	return s.Spec, nil
}
