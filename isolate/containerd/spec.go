package containerd

import (
	"path/filepath"

	"github.com/containerd/containerd/v2/core/mount"
	"github.com/opencontainers/runtime-spec/specs-go"

	"hermes-exec/isolate/containerd/reaper"
	"hermes-exec/isolate/ocispec"
)

// The OCI spec of a container is the embedded sandbox's (isolate/ocispec,
// the same function with the same inputs), so both backends give the same
// guarantees: the host's root read-only (or the image's), the workspace
// writable with its protected paths read-only, private /tmp, /run, /dev and
// /proc, the home hidden but for container.home_readable, credentials
// masked, a network namespace with only loopback, no capabilities,
// no_new_privs, the default seccomp profile, the limits. What is added here
// is containerd's part: the command, the cgroup path, and the init and
// lifeline directory mounted into the private /run.

// specParams are the per-container inputs of buildSpec.
type specParams struct {
	id       string // container id (also its cgroup's name)
	image    bool   // the root is the image's snapshot, not the host's "/"
	initPath string // host path of hermes-exec-containerd-init
	lifeDir  string // host directory of the lifeline files, mounted read-only
	args     []string
	env      []string
	cwd      string
	terminal bool
	console  *specs.Box // the caller's terminal size, so the first read of it is right
	group    string     // the shim group (anchor.go), or "" for a shim of its own
	// initSeccomp (fresh containers): the init installs the filter when it
	// is stored (seccomp.go); else the path to store it under is set here.
	initSeccomp bool
	capture     string
	// rootfs (set by newContainer, image only): the mounts of the
	// container's prepared snapshot, for its task.
	rootfs []mount.Mount
}

const lifeMount = "/run/.hermes-exec/life"

// imageRoot is the rootfs of a container made from an image: the bundle's
// directory that containerd mounts the container's snapshot on.
const imageRoot = "rootfs"

// specConfig is the ocispec input for o. The differences from the embedded
// sandbox's are explicit:
//   - Rootfs: an image's snapshot (relative to the bundle) instead of a
//     prepared directory, when container.image is set;
//   - HostIDs for a non-root owner: runc maps only the container's root,
//     and this backend's init, a static Go program that runs in any image,
//     cannot take the sandbox's nested user-namespace step (a C
//     constructor); the owner's commands then run with the owner's own ids
//     and no user namespace (no capabilities, no_new_privs, as always). A
//     root owner gets the sandbox's user namespace, mapping only uid 0;
//   - Hide: containerd's socket and its directory, wherever they are.
func specConfig(o Options, image bool) ocispec.Config {
	c := ocispec.Config{
		Owner:          *o.Owner,
		Workspace:      o.Workspace,
		HermesHome:     o.HermesHome,
		StateDir:       o.StateDir,
		Network:        o.Network,
		Memory:         o.Memory,
		CPUs:           o.CPUs,
		Pids:           o.Pids,
		TmpfsSize:      o.TmpfsSize,
		HomeReadable:   o.HomeReadable,
		ProtectedPaths: o.ProtectedPaths,
		HostIDs:        o.Owner.UID != 0,
		Hide:           []string{o.Address, filepath.Dir(o.Address)},
	}
	if image {
		c.Rootfs = imageRoot
	}
	return c
}

// buildSpec is the container's OCI spec: ocispec's, with the command, the
// cgroup and this backend's two mounts.
func buildSpec(o Options, p specParams) (*ocispec.Spec, error) {
	s, err := ocispec.Build(specConfig(o, p.image))
	if err != nil {
		return nil, err
	}
	s.Process.Args, s.Process.Env, s.Process.Cwd = p.args, p.env, p.cwd
	s.Process.Terminal, s.Process.ConsoleSize = p.terminal, p.console
	s.Linux.CgroupsPath = cgroupParent + "/" + p.id
	if p.group != "" {
		s.Annotations = map[string]string{groupAnnotation: p.group}
	}
	// Both under the private /run (mounted before them), so nothing of the
	// image or of the host's root is shadowed.
	s.Mounts = append(s.Mounts,
		specs.Mount{Destination: reaper.Path, Type: "bind", Source: p.initPath, Options: []string{"bind", "ro", "nosuid", "nodev"}},
		specs.Mount{Destination: lifeMount, Type: "bind", Source: p.lifeDir, Options: []string{"bind", "ro", "nosuid", "nodev", "noexec"}},
	)
	return s, nil
}

// execProcess is the process spec of a command started in a session by
// task.Exec: the container's own user, capabilities (none) and
// no_new_privs.
func execProcess(o Options, args, env []string, cwd string, tty bool, console *specs.Box) *specs.Process {
	uid, gid := ocispec.InsideIDs(specConfig(o, o.Image != ""))
	return &specs.Process{
		Terminal:        tty,
		User:            specs.User{UID: uint32(uid), GID: uint32(gid)},
		Args:            args,
		Env:             env,
		Cwd:             cwd,
		NoNewPrivileges: true,
		Capabilities:    &specs.LinuxCapabilities{},
		ConsoleSize:     console,
	}
}
