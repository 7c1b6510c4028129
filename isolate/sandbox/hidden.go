package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// secretHomeDirs are the credential stores under the caller's home that a
// command must never read. They are masked even inside the workspace.
var secretHomeDirs = []string{".ssh", ".aws", ".gnupg", ".config/gcloud", ".docker", ".kube"}

// runtimeSockets are container runtimes' control sockets and state. A unix
// socket can be connected to on a read-only mount, and whoever talks to a
// runtime owns the host, so they are masked rather than merely read-only.
var runtimeSockets = []string{
	"/run/docker.sock", "/var/run/docker.sock", "/run/docker", "/var/run/docker",
	"/run/containerd", "/var/run/containerd", "/run/podman", "/var/run/podman",
	"/run/crio", "/var/run/crio", "/run/buildkit", "/var/run/buildkit",
	"/run/runc", "/var/run/runc", "/run/incus", "/var/lib/incus/unix.socket",
	"/var/snap/lxd/common/lxd/unix.socket", "/var/lib/lxd/unix.socket",
	"/run/hermes-exec",
}

// hiddenPaths lists what is masked inside the sandbox: HERMES_HOME (the
// agent's keys and config), the caller's credential stores, other users'
// homes, runtime sockets (also the caller's rootless ones under
// $XDG_RUNTIME_DIR) and the sandbox state directory. Only paths that exist
// are listed. A workspace inside a secret (HERMES_HOME, ~/.ssh, a runtime
// directory...) is refused: masking would hide the workspace and not masking
// would expose the secret. A workspace inside another user's home is the
// caller's explicit choice, so that home is left visible.
func hiddenPaths(o Options, home string) ([]string, error) {
	var out []string
	add := func(p string, secret bool) error {
		if p == "" || !filepath.IsAbs(p) {
			return nil
		}
		real, err := filepath.EvalSymlinks(filepath.Clean(p))
		if err != nil {
			return nil // does not exist: nothing to hide
		}
		if real == "/" {
			return nil
		}
		if within(o.Workspace, real) {
			if secret {
				return fmt.Errorf("container.workspace %s is inside %s, which the sandbox must hide", o.Workspace, real)
			}
			return nil
		}
		out = append(out, real)
		return nil
	}
	secrets := []string{o.HermesHome, o.StateDir}
	if home != "" {
		for _, d := range secretHomeDirs {
			secrets = append(secrets, filepath.Join(home, d))
		}
	}
	secrets = append(secrets, runtimeSockets...)
	if rd := os.Getenv("XDG_RUNTIME_DIR"); rd != "" {
		for _, n := range []string{"docker.sock", "docker", "podman", "containerd", "buildkit"} {
			secrets = append(secrets, filepath.Join(rd, n))
		}
	}
	for _, p := range secrets {
		if err := add(p, true); err != nil {
			return nil, err
		}
	}
	for _, p := range otherHomes(home) {
		_ = add(p, false)
	}
	sort.Strings(out)
	return dedupe(out), nil
}

// otherHomes lists the home directories of other users: every directory
// under /home except the caller's, and /root unless the caller is root.
func otherHomes(home string) []string {
	var out []string
	entries, _ := os.ReadDir("/home")
	for _, e := range entries {
		p := filepath.Join("/home", e.Name())
		if p != home && !within(p, home) {
			out = append(out, p)
		}
	}
	if home != "/root" && !within("/root", home) {
		out = append(out, "/root")
	}
	return out
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

// dedupe drops repeated entries and entries inside an earlier one; in must
// be sorted.
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
