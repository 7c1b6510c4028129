package ocispec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Config is what a sandbox spec is made from. Paths are absolute and
// resolved (execproto.Options.WithDefaults makes them so).
type Config struct {
	Owner      Owner
	Workspace  string // writable at the same path
	HermesHome string // hidden
	StateDir   string // hidden
	Rootfs     string // a prepared root instead of the host's "/", or ""
	Network    string // "none" or "host"
	Memory     int64  // bytes; 0 is none
	CPUs       float64
	Pids       int64 // -1 is none
	TmpfsSize  int64 // all memory-backed filesystems together
	// HomeReadable and ProtectedPaths are relative paths; nil means the
	// defaults (DefaultHomeReadable, DefaultProtectedPaths).
	HomeReadable   []string
	ProtectedPaths []string
	// Rootless: the runtime itself is not root, so the container's user
	// namespace maps the owner to its root and processes start as 0
	// (see InsideIDs), and no cgroup limit can be enforced.
	Rootless bool
	// ExecNotify sends every exec to a seccomp agent (ExecNotify); the
	// runtime sets the listener path.
	ExecNotify bool
	// HostIDs: the container gets no user namespace of its own, and its
	// processes run as the owner's uid and gid of the host. For a root
	// runtime whose processes cannot take the nested step for a non-root
	// owner (see Nested): containerd's init is a static Go program, and
	// runc maps nobody but the container's root. Never with Rootless.
	HostIDs bool
	// Hide are more host paths to hide, besides those every sandbox hides
	// (the socket of the runtime that runs the container, and its
	// directory, when they are outside /run).
	Hide []string
	// Absent are placeholders (as MakePlaceholders made them) that count
	// as not there while they are still empty: the spec a container
	// would get if the one that made them were gone (a spare, see
	// isolate/sandbox/spare). One that was filled counts as it is.
	Absent []string
}

// Nested reports whether commands run one user namespace deeper than the
// container's processes: when the container's root is not the owner's own
// uid 0. That is every rootless sandbox (an unprivileged runtime can map
// only its own uid, and libcontainer sets a container up as root of its
// user namespace, so the owner is the container's 0), and a root runtime's
// sandbox for another owner (same mapping). The sandbox's own starter then
// enters a user namespace mapping the owner's uid and gid back, with no
// capabilities, before any command runs.
func (c Config) Nested() bool { return c.Rootless || (c.Owner.UID != 0 && !c.HostIDs) }

func (c *Config) homeReadable() []string {
	if c.HomeReadable == nil {
		return DefaultHomeReadable
	}
	return c.HomeReadable
}

func (c *Config) protectedPaths() []string {
	if c.ProtectedPaths == nil {
		return DefaultProtectedPaths
	}
	return c.ProtectedPaths
}

// Spec is a built sandbox spec.
type Spec struct {
	*specs.Spec
	// UID and GID are what the container's processes start as inside
	// its user namespace.
	UID, GID int
	// Placeholders must be created (MakePlaceholders) before the
	// container starts; see Protection.
	Placeholders []string
	// ProtectMounts is how many mounts the protection added.
	ProtectMounts int
}

// Sizes of the small memory-backed filesystems (/dev, /run, the hidden
// home): they hold mount points and device nodes only.
const smallTmpfs = 1 << 20

// Build makes the spec: runc's usual namespaces minus the network's unless
// Network is "none", plus the user namespace mapping only the owner; the
// host's root read-only (a mirror directory under StateDir whose entries
// are the host's top-level directories, bound read-only), a private /tmp,
// /run, /dev and /proc, the home hidden but for HomeReadable, the
// workspace writable with ProtectedPaths read-only in it, secrets masked;
// no capabilities, no_new_privs, Docker's default seccomp profile without
// set-uid or set-gid file modes; the limits.
func Build(c Config) (*Spec, error) {
	if err := CheckWorkspace(c.Workspace, c.Owner, c.HermesHome, c.StateDir); err != nil {
		return nil, err
	}
	for _, h := range c.Hide {
		if h != "" && within(c.Workspace, resolveExisting(h)) {
			return nil, fmt.Errorf("container.workspace %s is inside %s, which the sandbox hides: cd into a project directory or set container.workspace", c.Workspace, h)
		}
	}
	if c.Rootless && c.HostIDs {
		return nil, errors.New("sandbox spec: a rootless runtime cannot run processes with the host's ids")
	}
	if c.Rootless {
		if err := RootlessLimitsOK(c); err != nil {
			return nil, err
		}
	}
	inUID, inGID := InsideIDs(c)
	spec := &specs.Spec{
		Version:  specs.Version,
		Hostname: "sandbox",
		Root:     &specs.Root{Path: c.Rootfs, Readonly: true},
		Linux:    &specs.Linux{},
	}
	var hostBinds []specs.Mount
	var err error
	if c.Rootfs == "" {
		if spec.Root.Path, hostBinds, err = hostRootfs(c.StateDir); err != nil {
			return nil, err
		}
	}
	spec.Process = &specs.Process{
		User:            specs.User{UID: uint32(inUID), GID: uint32(inGID)},
		NoNewPrivileges: true,
		// No capability at all: commands run as the owner's uid, and for
		// a root owner the user namespace maps only uid 0, so no
		// capability has anything legitimate to act on.
		Capabilities: &specs.LinuxCapabilities{},
		Cwd:          "/",
	}
	if c.Nested() {
		// Only the sandbox's own binary runs as such a container's
		// process, and it needs CAP_SETFCAP for one step (entering the
		// owner's user namespace) and then drops it before any command.
		setfcap := []string{"CAP_SETFCAP"}
		spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: setfcap, Effective: setfcap, Permitted: setfcap}
	}
	home, visible, err := homeView(&c)
	if err != nil {
		return nil, err
	}
	hidden := hiddenPaths(&c, visible)
	dirs, files := ProtectedList(c)
	prot, err := protect(c.Workspace, c.Absent, dirs, files...)
	if err != nil {
		return nil, err
	}
	var inWS []string
	for _, h := range hidden {
		if within(h, c.Workspace) {
			inWS = append(inWS, h)
		}
	}
	ms := baseMounts(c)
	ms = append(ms, hostBinds...)
	ms = append(ms, runMounts(c)...)
	ms = append(ms, home...)
	// Bind sources are host paths (looked up before the container's root
	// replaces the host's), so a workspace under /tmp is found, and it is
	// mounted over the new /tmp at the same path.
	ms = append(ms, specs.Mount{Destination: c.Workspace, Type: "none", Source: c.Workspace, Options: []string{"rbind", "rw", "nosuid", "nodev"}})
	ms = append(ms, ChainBinds(c.Workspace, inWS)...)
	ms = append(ms, prot.Mounts...)
	spec.Mounts = ms
	spec.Linux.MaskedPaths = append([]string{
		"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap",
	}, hidden...)
	spec.Linux.ReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
	spec.Linux.Namespaces = []specs.LinuxNamespace{
		{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace},
		{Type: specs.MountNamespace}, {Type: specs.CgroupNamespace},
	}
	if !c.HostIDs {
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: uint32(inUID), HostID: uint32(c.Owner.UID), Size: 1}}
		spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: uint32(inGID), HostID: uint32(c.Owner.GID), Size: 1}}
	}
	if c.Network == "none" {
		spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	if !c.Rootless {
		spec.Linux.Resources = Resources(c)
	}
	if spec.Linux.Seccomp, err = Seccomp(spec, c.Nested()); err != nil {
		return nil, err
	}
	if c.ExecNotify {
		ExecNotify(spec.Linux.Seccomp)
	}
	return &Spec{Spec: spec, UID: inUID, GID: inGID, Placeholders: prot.Placeholders, ProtectMounts: len(prot.Mounts)}, nil
}

// InsideIDs are the uid and gid the container's processes start as inside
// its user namespace, which maps exactly one uid and one gid: the owner's.
// A root runtime maps them to themselves. A rootless one maps them to 0,
// because libcontainer sets a container up as root of its user namespace
// and an unprivileged process can map only its own uid, once; commands
// then run one user namespace deeper, as the owner again.
func InsideIDs(c Config) (uid, gid int) {
	if c.Nested() {
		return 0, 0
	}
	return c.Owner.UID, c.Owner.GID
}

// TmpfsSizes splits the memory-backed space: /dev/shm gets an eighth (at
// most 64 MiB), /dev, /run and the hidden home a small fixed size each, and
// /tmp the rest, so that together they never hold more than total.
func TmpfsSizes(total int64) (tmp, shm int64) {
	shm = total / 8
	if shm > 64<<20 {
		shm = 64 << 20
	}
	tmp = total - shm - 3*smallTmpfs
	if tmp < smallTmpfs {
		tmp = smallTmpfs
	}
	return tmp, shm
}

// baseMounts are /proc, /dev, /sys and /tmp.
func baseMounts(c Config) []specs.Mount {
	tmp, shm := TmpfsSizes(c.TmpfsSize)
	ms := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=" + strconv.Itoa(smallTmpfs)}},
		// No gid=5: the tty group is not mapped in the user namespace.
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=" + strconv.FormatInt(shm, 10)}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
	}
	if c.Network == "none" {
		// A new sysfs shows only the container's own network devices;
		// it can be mounted because the user namespace owns the netns.
		ms = append(ms, specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}})
	} else {
		ms = append(ms, specs.Mount{Destination: "/sys", Type: "none", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro", "rro"}})
	}
	return append(ms, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777", "size=" + strconv.FormatInt(tmp, 10)}})
}

// runMounts make /run (and /var/run when it is a directory of its own)
// private: the host's unix sockets there (tmux, the user's bus, systemd,
// container runtimes) stay out of reach, whatever uid they trust. With the
// host's network, the resolver's file under /run is shown read-only when
// /etc/resolv.conf points there.
func runMounts(c Config) []specs.Mount {
	opts := []string{"nosuid", "nodev", "noexec", "mode=755", "size=" + strconv.Itoa(smallTmpfs)}
	ms := []specs.Mount{{Destination: "/run", Type: "tmpfs", Source: "tmpfs", Options: opts}}
	if fi, err := os.Lstat("/var/run"); err == nil && fi.IsDir() {
		ms = append(ms, specs.Mount{Destination: "/var/run", Type: "tmpfs", Source: "tmpfs", Options: opts})
	}
	if c.Network != "none" {
		if r, err := filepath.EvalSymlinks("/etc/resolv.conf"); err == nil && within(r, "/run") {
			ms = append(ms, specs.Mount{Destination: r, Type: "none", Source: r, Options: []string{"bind", "ro", "nosuid", "nodev", "noexec"}})
		}
	}
	return ms
}

// Resources are the cgroup limits. Devices: deny all but the usual few
// (libcontainer adds /dev/null, zero, full, random, urandom, tty and the
// pty devices).
func Resources(c Config) *specs.LinuxResources {
	r := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
	}
	if c.Memory > 0 {
		limit := c.Memory
		r.Memory = &specs.LinuxMemory{Limit: &limit}
		if swapAccounting() {
			// memory+swap equal to memory: the limit is not escaped
			// by swapping out.
			swap := c.Memory
			r.Memory.Swap = &swap
		}
	}
	if c.CPUs > 0 {
		period := uint64(100000)
		quota := int64(c.CPUs * float64(period))
		r.CPU = &specs.LinuxCPU{Period: &period, Quota: &quota}
	}
	if c.Pids > 0 {
		n := c.Pids
		r.Pids = &specs.LinuxPids{Limit: &n}
	}
	return r
}

// swapAccounting reports whether memory+swap can be limited (cgroup v1
// with swap accounting; v2 keeps memory.swap.max separate and memory.max
// already bounds RAM).
func swapAccounting() bool {
	_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	return err == nil
}

// RootlessLimitsOK refuses limits that a non-root runtime cannot enforce.
// Without a delegated cgroup (cgroup v1 has no delegation), libcontainer
// would silently run the command without a memory or CPU limit, and a
// limit that is not there must not be reported as if it were. The pids
// limit is not refused: the sandbox enforces it with RLIMIT_NPROC.
func RootlessLimitsOK(c Config) error {
	var set []string
	if c.Memory > 0 {
		set = append(set, "container.memory")
	}
	if c.CPUs > 0 {
		set = append(set, "container.cpus")
	}
	if len(set) == 0 {
		return nil
	}
	return fmt.Errorf("%s cannot be enforced for a non-root user on this machine (no cgroup delegated to uid %d), so the sandbox refuses to start rather than run without it: run as root, or remove %s from config.yaml", strings.Join(set, " and "), c.Owner.UID, strings.Join(set, " and "))
}

// setidBits are the mode bits no file made in the sandbox may carry: a
// set-uid file left in the workspace runs as its owner for any host user.
const setidBits = unix.S_ISUID | unix.S_ISGID

// modeArgs are the system calls that set a file's mode, with the index of
// the mode argument and, for the open family, of the flags (-1: none).
var modeArgs = []struct {
	name        string
	mode, flags uint
}{
	{"chmod", 1, noFlags}, {"fchmod", 1, noFlags}, {"fchmodat", 2, noFlags}, {"fchmodat2", 2, noFlags},
	{"mkdir", 1, noFlags}, {"mkdirat", 2, noFlags}, {"mknod", 1, noFlags}, {"mknodat", 2, noFlags},
	{"creat", 1, noFlags}, {"open", 2, 1}, {"openat", 3, 2},
}

const noFlags = ^uint(0)

// Seccomp is Docker's default profile for a container with no
// capabilities, restricted to the native architecture (compiling the filter
// for the three x86 ABIs costs about 30 ms per start, one about 5 ms, and
// a system call from another ABI is then refused outright), with the mode
// system calls allowed only without S_ISUID and S_ISGID (and open/openat
// with those bits only when they create nothing), and openat2, whose mode
// sits in a structure a filter cannot read, failing with ENOSYS so that
// libc falls back to openat.
//
// For a nested container (Config.Nested) it also lets through unshare(CLONE_NEWUSER) with
// no other flag: the one step the sandbox takes before any command runs,
// after which a second filter refuses it again.
func Seccomp(spec *specs.Spec, rootless bool) (*specs.LinuxSeccomp, error) {
	p, err := seccomp.GetDefaultProfile(spec)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	if p == nil {
		return nil, errors.New("seccomp profile: the default profile is empty")
	}
	if native, ok := nativeArch[runtimeArch()]; ok {
		p.Architectures = []specs.Arch{native}
	}
	drop := map[string]bool{"openat2": true}
	for _, m := range modeArgs {
		drop[m.name] = true
	}
	kept := p.Syscalls[:0]
	for _, s := range p.Syscalls {
		if s.Action == specs.ActAllow {
			names := s.Names[:0:0]
			for _, n := range s.Names {
				if !drop[n] {
					names = append(names, n)
				}
			}
			if len(names) == 0 {
				continue
			}
			s.Names = names
		}
		kept = append(kept, s)
	}
	p.Syscalls = kept
	for _, m := range modeArgs {
		p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{
			Names:  []string{m.name},
			Action: specs.ActAllow,
			Args:   []specs.LinuxSeccompArg{{Index: m.mode, Value: setidBits, ValueTwo: 0, Op: specs.OpMaskedEqual}},
		})
		if m.flags != noFlags {
			// The mode counts only when the call creates a file.
			creating := uint64(unix.O_CREAT | (unix.O_TMPFILE &^ unix.O_DIRECTORY))
			p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{
				Names:  []string{m.name},
				Action: specs.ActAllow,
				Args:   []specs.LinuxSeccompArg{{Index: m.flags, Value: creating, ValueTwo: 0, Op: specs.OpMaskedEqual}},
			})
		}
	}
	enosys := uint(unix.ENOSYS)
	p.Syscalls = append(p.Syscalls, specs.LinuxSyscall{Names: []string{"openat2"}, Action: specs.ActErrno, ErrnoRet: &enosys})
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
