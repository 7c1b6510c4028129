package sandbox

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/opencontainers/cgroups"
	// Registers the device-rules manager; without it libcontainer refuses
	// to apply the device allow list.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runtime-spec/specs-go"

	"golang.org/x/sys/unix"

	"hermes-exec/isolate/sandbox/execproto"
)

// cgroupParent is where every sandbox cgroup lives, as an absolute path in
// each hierarchy (so it does not depend on the wrapper's own cgroup, which
// an agent's supervisor may move or limit).
const cgroupParent = execproto.CgroupParent

// Labels stored in each container's state, read back by List and GC.
const (
	labelKind      = "hermes.kind" // kindFresh or kindSession
	labelSession   = "hermes.session"
	labelWorkspace = "hermes.workspace"
	labelMemory    = "hermes.memory"
	kindFresh      = "fresh"
	kindSession    = "session"
)

// template is the part of a container config that is the same for every
// container made with the same Options; per container only the cgroup path
// and the labels change.
type template struct {
	cfg *configs.Config
	// uid and gid are what libcontainer's processes run as inside the
	// container's user namespace (see insideIDs).
	uid, gid int
	// rootless: no cgroup is made (see forContainer).
	rootless bool
}

// newTemplate turns Options into a libcontainer config: runc's example spec,
// edited as described in the package documentation, converted by specconv.
func newTemplate(o Options) (*template, error) {
	if !seccompBuilt {
		return nil, errors.New("this hermes-exec was built without seccomp support (build with CGO_ENABLED=1 -tags seccomp)")
	}
	rootless := os.Geteuid() != 0
	if rootless {
		if err := rootlessLimitsOK(o); err != nil {
			return nil, err
		}
	}
	inUID, inGID := insideIDs(rootless)
	home := homeDir()
	hidden, err := hiddenPaths(o, home)
	if err != nil {
		return nil, err
	}
	spec := specconv.Example()
	spec.Hostname = "sandbox"
	spec.Root = &specs.Root{Path: o.Rootfs, Readonly: true}
	var hostBinds []specs.Mount
	if o.Rootfs == "" {
		if spec.Root.Path, hostBinds, err = hostRootfs(o.StateDir); err != nil {
			return nil, err
		}
	}
	// The process fields are per command (libcontainer.Process); only the
	// security settings here end up in the container config.
	spec.Process = &specs.Process{
		User:            specs.User{UID: uint32(inUID), GID: uint32(inGID)},
		NoNewPrivileges: true,
		// No capability at all: commands run as the caller's uid, and
		// for a root caller the user namespace maps only uid 0, so no
		// capability (CAP_CHOWN to another uid, CAP_SETUID...) has
		// anything legitimate to act on.
		Capabilities: &specs.LinuxCapabilities{},
	}
	if rootless {
		// Only this binary runs as a rootless container's process, and
		// it needs CAP_SETFCAP for one step and then drops it before
		// any command runs (userns.go).
		setfcap := []string{"CAP_SETFCAP"}
		spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: setfcap, Effective: setfcap, Permitted: setfcap}
	}
	if spec.Mounts, err = mounts(o, hostBinds); err != nil {
		return nil, err
	}
	spec.Linux.MaskedPaths = append(spec.Linux.MaskedPaths, hidden...)
	spec.Linux.Namespaces = []specs.LinuxNamespace{
		{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace},
		{Type: specs.MountNamespace}, {Type: specs.CgroupNamespace}, {Type: specs.UserNamespace},
	}
	if o.Network == networkNone {
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: uint32(inUID), HostID: uint32(os.Getuid()), Size: 1}}
	spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: uint32(inGID), HostID: uint32(os.Getgid()), Size: 1}}
	if !rootless {
		spec.Linux.Resources = resources(o)
	} else {
		spec.Linux.Resources = nil
	}
	if spec.Linux.Seccomp, err = seccompProfile(spec, rootless); err != nil {
		return nil, err
	}

	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName:      "placeholder",
		Spec:            spec,
		RootlessEUID:    rootless,
		RootlessCgroups: rootless,
		NoNewKeyring:    false,
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox config: %w", err)
	}
	if rootless && o.Pids > 0 {
		// No cgroup to hold a pids limit (see rootlessLimitsOK), but the
		// kernel counts RLIMIT_NPROC per user namespace and uid, and
		// every container has a user namespace of its own: the limit
		// then bounds the container's tasks as pids.max would, and a
		// command without CAP_SYS_RESOURCE cannot raise it. (It does
		// not bind root, so root keeps the cgroup.)
		n := uint64(o.Pids)
		cfg.Rlimits = []configs.Rlimit{{Type: unix.RLIMIT_NPROC, Hard: n, Soft: n}}
	}
	// The bundle label points at the wrapper's cwd; it means nothing here.
	cfg.Labels = []string{labelWorkspace + "=" + o.Workspace, labelMemory + "=" + strconv.FormatInt(o.Memory, 10)}
	return &template{cfg: cfg, uid: inUID, gid: inGID, rootless: rootless}, nil
}

// insideIDs are the uid and gid libcontainer's processes get inside the
// container's user namespace, which maps exactly one uid and one gid: the
// caller's. Root's map to themselves. A non-root caller's map to 0, because
// libcontainer sets a container up as root of its user namespace (nsexec
// calls setresuid(0, 0, 0) and fails when 0 is not mapped) and an
// unprivileged process can map only its own uid, once. Only this binary
// runs as that root; commands run one user namespace deeper, as the
// caller's uid again (userns.go).
func insideIDs(rootless bool) (uid, gid int) {
	if rootless {
		return 0, 0
	}
	return os.Getuid(), os.Getgid()
}

// forContainer returns a config for container id. The template is copied so
// concurrent containers never share the cgroup settings.
func (t *template) forContainer(id string, labels ...string) *configs.Config {
	cfg := *t.cfg
	cg := *t.cfg.Cgroups
	if cg.Resources != nil {
		r := *cg.Resources
		cg.Resources = &r
	}
	cg.Name = ""
	cg.Parent = ""
	cg.Path = cgroupParent + "/" + id
	if t.rootless {
		// A non-root caller cannot make cgroups here (cgroup v1 has
		// no delegation) and holds no limit that would need one
		// (rootlessLimitsOK). libcontainer tolerates the permission
		// error only for a cgroup without an explicit path.
		cg.Path, cg.Parent, cg.Name = "", strings.TrimPrefix(cgroupParent, "/"), id
	}
	cfg.Cgroups = &cg
	cfg.Labels = append(append([]string(nil), t.cfg.Labels...), labels...)
	return &cfg
}

// resources are the cgroup limits from Options. Devices: deny all but the
// usual few (specconv adds /dev/null, zero, full, random, urandom, tty and
// the pty devices to the allow list).
func resources(o Options) *specs.LinuxResources {
	r := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
	}
	if o.Memory > 0 {
		limit := o.Memory
		r.Memory = &specs.LinuxMemory{Limit: &limit}
		if swapAccounting() {
			// memory+swap equal to memory: the limit is not
			// escaped by swapping out.
			swap := o.Memory
			r.Memory.Swap = &swap
		}
	}
	if o.CPUs > 0 {
		period := uint64(100000)
		quota := int64(o.CPUs * float64(period))
		r.CPU = &specs.LinuxCPU{Period: &period, Quota: &quota}
	}
	if o.Pids > 0 {
		r.Pids = &specs.LinuxPids{Limit: &o.Pids}
	}
	return r
}

// swapAccounting reports whether memory+swap can be limited.
func swapAccounting() bool {
	if cgroups.IsCgroup2UnifiedMode() {
		return false // v2 keeps memory.swap.max separate; memory.max already bounds RAM
	}
	_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	return err == nil
}

// rootlessLimitsOK refuses limits that a non-root caller cannot enforce.
// Without a delegated cgroup (cgroup v1 has no delegation), libcontainer
// would silently run the command without a memory or CPU limit, and a limit
// that is not there must not be reported as if it were. The pids limit is
// not refused: newTemplate enforces it with RLIMIT_NPROC instead.
func rootlessLimitsOK(o Options) error {
	var set []string
	if o.Memory > 0 {
		set = append(set, "container.memory")
	}
	if o.CPUs > 0 {
		set = append(set, "container.cpus")
	}
	if len(set) == 0 {
		return nil
	}
	return fmt.Errorf("%s cannot be enforced for a non-root user on this machine (no cgroup delegated to uid %d), so the sandbox refuses to start rather than run without it: run as root, or remove %s from config.yaml", strings.Join(set, " and "), os.Geteuid(), strings.Join(set, " and "))
}

// mounts are the container's mounts, in order: runc's defaults adjusted for a
// user namespace, the read-only host binds that fill the root, /tmp, then the
// workspace on top.
func mounts(o Options, hostBinds []specs.Mount) ([]specs.Mount, error) {
	ms := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		// No gid=5: the tty group is not mapped in the user namespace.
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
	}
	if o.Network == networkNone {
		// A new sysfs shows only the container's own network devices;
		// it can be mounted because the user namespace owns the netns.
		ms = append(ms, specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}})
	} else {
		ms = append(ms, specs.Mount{Destination: "/sys", Type: "none", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro", "rro"}})
	}
	ms = append(ms, hostBinds...)
	tmp := specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777", "size=" + strconv.FormatInt(o.TmpfsSize, 10)}}
	wsOpts := []string{"rbind", "rw", "nosuid", "nodev"}
	for _, t := range replacedTrees {
		if t != "/tmp" && within(o.Workspace, t) {
			return nil, fmt.Errorf("container.workspace %s is inside %s, which the sandbox replaces", o.Workspace, t)
		}
	}
	// Bind sources are host paths (looked up before the container's root
	// replaces the host's), so a workspace under /tmp is found, and it is
	// mounted over the new /tmp at the same path.
	ms = append(ms, tmp, specs.Mount{Destination: o.Workspace, Type: "none", Source: o.Workspace, Options: wsOpts})
	return ms, nil
}

// seccompProfile is Docker's default profile for a container with no
// capabilities, restricted to the native architecture: compiling the filter
// for the three x86 ABIs costs about 30 ms per start, one about 5 ms, and a
// syscall from another ABI (int 0x80, x32) is then refused outright.
//
// For a rootless container it also lets through unshare(CLONE_NEWUSER) with
// no other flag: the one step userns.go takes before any command runs, after
// which a second filter refuses it again.
func seccompProfile(spec *specs.Spec, rootless bool) (*specs.LinuxSeccomp, error) {
	p, err := defaultSeccomp(spec)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	if p == nil {
		return nil, errors.New("seccomp profile: the default profile is empty")
	}
	if native, ok := nativeArch[runtime.GOARCH]; ok {
		p.Architectures = []specs.Arch{native}
	}
	if rootless {
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{
			Names:  []string{"unshare"},
			Action: specs.ActAllow,
			Args:   []specs.LinuxSeccompArg{{Index: 0, Value: unix.CLONE_NEWUSER, Op: specs.OpEqualTo}},
		})
	}
	return p, nil
}

var nativeArch = map[string]specs.Arch{
	"amd64": specs.ArchX86_64, "arm64": specs.ArchAARCH64, "riscv64": specs.ArchRISCV64,
	"s390x": specs.ArchS390X, "ppc64le": specs.ArchPPC64LE, "loong64": specs.ArchLOONGARCH64,
}
