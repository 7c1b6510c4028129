package ocispec

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"

	"hermes-exec/internal/credentials"
)

// DefaultHomeReadable are the entries of the owner's home a command sees
// (read-only) by default: tools' configuration and caches that builds
// need. Everything else in the home is hidden, including what is created
// or renamed there after the sandbox started. container.home_readable
// replaces the list.
var DefaultHomeReadable = []string{".gitconfig", ".config/git", ".cargo", ".rustup", "go", ".npm"}

// runtimeSockets are container runtimes' control sockets outside /run
// (which is a private tmpfs inside). A unix socket can be connected to on
// a read-only mount, and whoever talks to a runtime owns the host.
var runtimeSockets = []string{
	"/var/lib/incus/unix.socket", "/var/snap/lxd/common/lxd/unix.socket", "/var/lib/lxd/unix.socket",
	"/var/lib/docker", "/var/lib/containerd",
}

// homeView is how the owner's home looks inside: a read-only empty tmpfs
// over it, then the readable entries bound read-only. ws is bound later.
func homeView(c *Config) ([]specs.Mount, []string, error) {
	home := c.Owner.Home
	if home == "" || home == "/" {
		return nil, nil, nil
	}
	if fi, err := os.Stat(home); err != nil || !fi.IsDir() {
		return nil, nil, nil
	}
	ms := []specs.Mount{{Destination: home, Type: "tmpfs", Source: "tmpfs",
		Options: []string{"ro", "nosuid", "nodev", "noexec", "mode=755", "size=" + fmt.Sprint(smallTmpfs)}}}
	var visible []string
	for _, rel := range c.homeReadable() {
		rel = filepath.Clean(rel)
		if filepath.IsAbs(rel) || rel == "." || rel == ".." || len(rel) > 2 && rel[:3] == "../" {
			return nil, nil, fmt.Errorf("container.home_readable: %q is not a path inside the home", rel)
		}
		p := filepath.Join(home, rel)
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue // absent: nothing to show
		}
		// A symlink out of the home, or into a credential store, shows
		// nothing: the owner's own link must not expose what is hidden.
		if !within(real, home) || real == home || isCredential(real, home) || within(real, c.HermesHome) {
			continue
		}
		ms, visible = showEntry(ms, visible, p, real, home)
	}
	return ms, visible, nil
}

// showEntry binds the readable entry real at dest read-only. An entry
// that holds a credential store (.cargo holds .cargo/credentials.toml) is
// shown child by child instead, without the store: masking it would miss
// one created after the sandbox started, and a bind of the whole entry
// would show it.
func showEntry(ms []specs.Mount, visible []string, dest, real, home string) ([]specs.Mount, []string) {
	holds := false
	for _, c := range credentials.UnderHome(home) {
		if strings.HasPrefix(c, real+"/") {
			holds = true
		}
	}
	fi, err := os.Stat(real)
	if !holds || err != nil || !fi.IsDir() {
		ms = append(ms, specs.Mount{Destination: dest, Type: "none", Source: real, Options: []string{"rbind", "ro", "rro", "nosuid", "nodev"}})
		return ms, append(visible, real)
	}
	entries, _ := os.ReadDir(real)
	for _, e := range entries {
		child := filepath.Join(real, e.Name())
		if isCredential(child, home) {
			continue
		}
		if e.Type()&os.ModeSymlink != 0 {
			continue // where it points could be a store
		}
		ms, visible = showEntry(ms, visible, filepath.Join(dest, e.Name()), child, home)
	}
	return ms, visible
}

func isCredential(p, home string) bool {
	for _, c := range credentials.UnderHome(home) {
		if within(p, c) {
			return true
		}
	}
	return false
}

// hiddenPaths are masked inside (a read-only empty directory or /dev/null
// over them): HERMES_HOME and ~/.hermes, the sandbox state, the system's
// secret files, runtime sockets, other users' homes, and the owner's
// credential stores where they would otherwise show (inside a readable home
// entry or the workspace). Only paths that exist are listed.
func hiddenPaths(c *Config, visible []string) []string {
	var out []string
	add := func(p string) {
		if p == "" || !filepath.IsAbs(p) {
			return
		}
		real, err := filepath.EvalSymlinks(filepath.Clean(p))
		if err != nil || real == "/" {
			return
		}
		out = append(out, real)
	}
	add(c.HermesHome)
	add(DefaultHermesHome(c.Owner))
	add(c.StateDir)
	for _, p := range c.Hide {
		add(p)
	}
	for _, p := range credentials.SystemFiles {
		if p != c.Owner.Home {
			add(p)
		}
	}
	for _, p := range runtimeSockets {
		add(p)
	}
	if c.Owner.Home != "" {
		for _, p := range credentials.UnderHome(c.Owner.Home) {
			real, err := filepath.EvalSymlinks(p)
			if err != nil {
				continue
			}
			for _, v := range append([]string{c.Workspace}, visible...) {
				if within(real, v) {
					add(real)
				}
			}
		}
	}
	if e := c.Owner.EnvHome; e != "" && e != "/" {
		add(filepath.Join(e, ".hermes"))
		for _, p := range credentials.UnderHome(e) {
			add(p)
		}
	}
	for _, h := range Homes() {
		if h != c.Owner.Home && !within(c.Owner.Home, h) {
			add(h)
		}
	}
	sort.Strings(out)
	return dedupe(out)
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
