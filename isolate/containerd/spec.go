package containerd

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"hermes-exec/internal/credentials"
	"hermes-exec/internal/hermeshome"
	"hermes-exec/isolate/containerd/reaper"
)

// The OCI spec of a container. Everything about what a command may see and
// do is decided here, in one function, so that it can move to the spec
// package the embedded sandbox uses (issue 7) without touching the rest.

// specParams are the per-container inputs of buildSpec.
type specParams struct {
	id       string // container id (also its cgroup's name)
	rootPath string // the mirror of the host's "/", or "rootfs" for an image snapshot
	hostRoot bool   // rootPath is the host mirror: add the read-only binds of "/"
	initPath string // host path of hermes-exec-containerd-init
	lifeDir  string // host directory of the lifeline files, mounted read-only
	args     []string
	env      []string
	cwd      string
	terminal bool
	console  *specs.Box // the caller's terminal size, so the first read of it is right
}

const (
	lifeMount = "/run/.hermes-exec/life"
	hostname  = "sandbox"
)

// protectedInWorkspace are paths inside the workspace that the host runs
// or trusts later (git hooks and config, direnv, editors' task files,
// agents' settings): read-only inside even though the workspace is not.
var protectedInWorkspace = []string{".git/hooks", ".git/config", ".git/info", ".envrc", ".vscode", ".idea", ".claude", ".codex", ".gemini", ".hermes"}

// replacedTrees are the host's top-level directories the container gets
// its own of: nothing of the host's shows there.
var replacedTrees = []string{"/proc", "/sys", "/dev", "/tmp", "/run"}

// buildSpec is the container's OCI spec.
func buildSpec(o Options, p specParams) (*specs.Spec, error) {
	hidden, err := hiddenPaths(o)
	if err != nil {
		return nil, err
	}
	s := &specs.Spec{
		Version:  specs.Version,
		Hostname: hostname,
		Root:     &specs.Root{Path: p.rootPath, Readonly: true},
		Process: &specs.Process{
			Terminal:        p.terminal,
			ConsoleSize:     p.console,
			User:            specs.User{UID: uint32(os.Getuid()), GID: uint32(os.Getgid())},
			Args:            p.args,
			Env:             p.env,
			Cwd:             p.cwd,
			NoNewPrivileges: true,
			// No capability at all: commands run as the caller's uid and
			// have nothing legitimate to do with one.
			Capabilities: &specs.LinuxCapabilities{},
		},
		Linux: &specs.Linux{
			CgroupsPath: cgroupParent + "/" + p.id,
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace},
				{Type: specs.MountNamespace}, {Type: specs.CgroupNamespace},
			},
			Resources: resources(o),
			MaskedPaths: append([]string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
			}, hidden...),
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
	if o.Network != netHost {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	if s.Mounts, err = mounts(o, p); err != nil {
		return nil, err
	}
	prof, err := seccomp.GetDefaultProfile(s)
	if err != nil || prof == nil {
		return nil, fmt.Errorf("seccomp profile: %v", err)
	}
	// Only the native ABI: a syscall through another (int 0x80, x32) is
	// refused outright rather than filtered by a second rule set.
	if native, ok := nativeArch[runtime.GOARCH]; ok {
		prof.Architectures = []specs.Arch{native}
	}
	noSetIDModes(prof)
	s.Linux.Seccomp = prof
	return s, nil
}

// modeArg is, for each system call that sets a file's mode, the index of
// its mode argument.
var modeArg = map[string]uint{
	"chmod": 1, "fchmod": 1, "fchmodat": 2, "fchmodat2": 2,
	"open": 2, "openat": 3, "creat": 1, "mkdir": 1, "mkdirat": 2, "mknod": 1, "mknodat": 2,
}

// noSetIDModes keeps commands from making set-uid or set-gid files: the
// workspace is the host's too, and a set-uid root binary left there would
// give any host user root (the workspace's nosuid covers only the
// container's own view). Each call that sets a mode is allowed only with
// neither bit in it (EPERM otherwise, the profile's default); openat2,
// whose mode is behind a pointer seccomp cannot follow, is refused.
func noSetIDModes(p *specs.LinuxSeccomp) {
	var keep []specs.LinuxSyscall
	for _, sc := range p.Syscalls {
		var names []string
		for _, n := range sc.Names {
			if _, ok := modeArg[n]; !ok && n != "openat2" {
				names = append(names, n)
			}
		}
		if len(names) > 0 {
			sc.Names = names
			keep = append(keep, sc)
		}
	}
	for name, arg := range modeArg {
		keep = append(keep, specs.LinuxSyscall{
			Names:  []string{name},
			Action: specs.ActAllow,
			Args:   []specs.LinuxSeccompArg{{Index: arg, Value: unix.S_ISUID | unix.S_ISGID, ValueTwo: 0, Op: specs.OpMaskedEqual}},
		})
	}
	p.Syscalls = keep
}

var nativeArch = map[string]specs.Arch{
	"amd64": specs.ArchX86_64, "arm64": specs.ArchAARCH64, "riscv64": specs.ArchRISCV64,
	"s390x": specs.ArchS390X, "ppc64le": specs.ArchPPC64LE,
}

// mounts are, in order: the container's own /proc, /dev, /sys; the
// read-only binds that fill a host root; private /tmp and /run with the
// init and the lifelines in it; the workspace, writable, at its own path;
// and the protected paths inside it, read-only again.
func mounts(o Options, p specParams) ([]specs.Mount, error) {
	ms := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
	}
	if o.Network != netHost {
		// A new sysfs shows only the container's own network devices.
		ms = append(ms, specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}})
	} else {
		ms = append(ms, specs.Mount{Destination: "/sys", Type: "bind", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro", "rro"}})
	}
	if p.hostRoot {
		binds, err := hostBinds()
		if err != nil {
			return nil, err
		}
		ms = append(ms, binds...)
	}
	for _, t := range replacedTrees {
		if t != "/tmp" && within(o.Workspace, t) {
			return nil, fmt.Errorf("container.workspace %s is inside %s, which the container replaces", o.Workspace, t)
		}
	}
	ms = append(ms,
		specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777", "size=" + strconv.FormatInt(o.TmpfsSize, 10)}},
		specs.Mount{Destination: "/run", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=755", "size=65536k"}},
		specs.Mount{Destination: reaper.Path, Type: "bind", Source: p.initPath, Options: []string{"bind", "ro", "nosuid", "nodev"}},
		specs.Mount{Destination: lifeMount, Type: "bind", Source: p.lifeDir, Options: []string{"bind", "ro", "nosuid", "nodev", "noexec"}},
		// Bind sources are host paths, so a workspace under the host's
		// /tmp is found, and mounted over the private /tmp at its path.
		specs.Mount{Destination: o.Workspace, Type: "bind", Source: o.Workspace, Options: []string{"rbind", "rw", "nosuid", "nodev"}},
	)
	for _, rel := range protectedInWorkspace {
		abs := filepath.Join(o.Workspace, rel)
		fi, err := os.Lstat(abs)
		if err != nil || fi.Mode()&os.ModeSymlink != 0 {
			continue // absent, or a link whose target is not ours to bind
		}
		ms = append(ms, specs.Mount{Destination: abs, Type: "bind", Source: abs, Options: []string{"rbind", "ro", "rro", "nosuid", "nodev"}})
	}
	return ms, nil
}

// resources are the cgroup limits. Devices: deny all; runc adds the usual
// few (null, zero, full, random, urandom, tty, ptmx and the pty devices).
func resources(o Options) *specs.LinuxResources {
	r := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}
	if o.Memory > 0 {
		limit := o.Memory
		r.Memory = &specs.LinuxMemory{Limit: &limit}
		if _, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"); err == nil {
			swap := o.Memory // memory+swap equal to memory: no escape by swapping
			r.Memory.Swap = &swap
		}
	}
	if o.CPUs > 0 {
		period := uint64(100000)
		quota := int64(o.CPUs * float64(period))
		r.CPU = &specs.LinuxCPU{Period: &period, Quota: &quota}
	}
	if o.Pids > 0 {
		pids := o.Pids
		r.Pids = &specs.LinuxPids{Limit: &pids}
	}
	return r
}

// runtimeSockets are container runtimes' control sockets and state: a unix
// socket can be connected to on a read-only mount, and whoever talks to a
// runtime owns the host. (Most live under /run, which is private anyway.)
var runtimeSockets = []string{
	"/var/run/docker.sock", "/var/run/docker", "/var/run/containerd", "/var/run/podman",
	"/var/run/crio", "/var/run/buildkit", "/var/run/runc", "/var/lib/incus/unix.socket",
	"/var/snap/lxd/common/lxd/unix.socket", "/var/lib/lxd/unix.socket",
}

// hiddenPaths lists what is masked inside: HERMES_HOME, the caller's
// credential stores (internal/credentials, under both the user database's
// home and $HOME), root-only system secrets, containerd's own socket and
// directory, runtime sockets, this backend's state, and other users' homes.
// A workspace inside a secret is refused: masking would hide the workspace,
// not masking would expose the secret.
func hiddenPaths(o Options) ([]string, error) {
	var out []string
	add := func(p string, secret bool) error {
		if p == "" || !filepath.IsAbs(p) {
			return nil
		}
		real, err := filepath.EvalSymlinks(filepath.Clean(p))
		if err != nil || real == "/" {
			return nil // does not exist: nothing to hide
		}
		if within(o.Workspace, real) {
			if secret {
				return fmt.Errorf("container.workspace %s is inside %s, which the container must hide", o.Workspace, real)
			}
			return nil
		}
		out = append(out, real)
		return nil
	}
	homes := callerHomes()
	secrets := []string{o.HermesHome, o.StateDir, o.Address, filepath.Dir(o.Address)}
	for _, h := range homes {
		secrets = append(secrets, hermeshome.Default(h))
		secrets = append(secrets, credentials.UnderHome(h)...)
	}
	if os.Geteuid() == 0 {
		secrets = append(secrets, credentials.SystemFiles...)
	}
	secrets = append(secrets, runtimeSockets...)
	for _, p := range secrets {
		// /root is a system secret only for others; a root caller's
		// home is handled by its credential list.
		if p == "/root" && os.Geteuid() == 0 {
			continue
		}
		if err := add(p, true); err != nil {
			return nil, err
		}
	}
	for _, p := range otherHomes(homes) {
		_ = add(p, false)
	}
	sort.Strings(out)
	return dedupe(out), nil
}

// callerHomes are the caller's home from the user database and $HOME, when
// they differ (a sandbox must hide the credentials of both).
func callerHomes() []string {
	var out []string
	if h, err := hermeshome.UserHome(os.Getuid()); err == nil && h != "" {
		out = append(out, h)
	}
	if h := os.Getenv("HOME"); h != "" && filepath.IsAbs(h) && h != "/" {
		if len(out) == 0 || out[0] != h {
			out = append(out, h)
		}
	}
	for i, h := range out {
		if r, err := filepath.EvalSymlinks(h); err == nil {
			out[i] = r
		}
	}
	return out
}

// otherHomes are other users' homes: every directory under /home except the
// caller's, and /root unless the caller is root.
func otherHomes(mine []string) []string {
	isMine := func(p string) bool {
		for _, h := range mine {
			if p == h || within(h, p) {
				return true
			}
		}
		return false
	}
	var out []string
	entries, _ := os.ReadDir("/home")
	for _, e := range entries {
		if p := filepath.Join("/home", e.Name()); !isMine(p) {
			out = append(out, p)
		}
	}
	if os.Geteuid() != 0 && !isMine("/root") {
		out = append(out, "/root")
	}
	return out
}

// hostBinds fill the mirror of the host's "/" (hostroot.go): every
// top-level directory and file, recursively read-only ("rro", so /home,
// /boot and every other mount below stay read-only too).
func hostBinds() ([]specs.Mount, error) {
	entries, err := os.ReadDir("/")
	if err != nil {
		return nil, err
	}
	var ms []specs.Mount
	for _, e := range entries {
		p := "/" + e.Name()
		if isReplaced(p) || e.Type()&os.ModeSymlink != 0 {
			continue
		}
		if !e.IsDir() && !e.Type().IsRegular() {
			continue
		}
		ms = append(ms, specs.Mount{Destination: p, Type: "bind", Source: p, Options: []string{"rbind", "ro", "rro", "nosuid", "nodev"}})
	}
	return ms, nil
}

func isReplaced(p string) bool {
	for _, t := range replacedTrees {
		if p == t {
			return true
		}
	}
	return false
}

// within reports whether p is dir or inside dir.
func within(p, dir string) bool {
	if p == "" || dir == "" {
		return false
	}
	if dir == "/" {
		return true
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// dedupe drops repeats and entries inside an earlier one; in is sorted.
func dedupe(in []string) []string {
	out := in[:0]
	for _, p := range in {
		if n := len(out); n > 0 && within(p, out[n-1]) {
			continue
		}
		out = append(out, p)
	}
	return out
}
