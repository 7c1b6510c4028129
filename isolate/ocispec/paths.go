package ocispec

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"hermes-exec/internal/safepath"
)

// systemDirs can never be the writable workspace: a file a command writes
// there is one the host runs or trusts later (/etc/cron.d, /usr/bin,
// /root/.bashrc). /var is one of them, except /var/tmp.
var systemDirs = []string{
	"/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/boot", "/dev", "/proc", "/sys", "/run", "/var", "/snap",
}

// CheckWorkspace refuses a workspace that the host would suffer from being
// writable: "/", a system directory, /tmp itself (the host's sockets live
// there), any user's home itself, a dot-directory of one (~/.config,
// /root/.ssh), another user's home, one holding a home, or one inside or
// holding HERMES_HOME or the sandbox state. ws must be absolute and
// resolved.
func CheckWorkspace(ws string, owner Owner, hermesHome, stateDir string) error {
	refuse := func(why string) error {
		return fmt.Errorf("container.workspace %s %s, which the sandbox never makes writable: cd into a project directory or set container.workspace", ws, why)
	}
	if ws == "/" {
		return refuse("is the whole filesystem")
	}
	for _, d := range systemDirs {
		if within(ws, d) && !(d == "/var" && within(ws, "/var/tmp")) {
			return refuse("is in the system directory " + d)
		}
	}
	if ws == "/tmp" {
		return refuse("is the host's /tmp")
	}
	for _, h := range Homes() {
		switch {
		case ws == h:
			return refuse("is the home directory " + h)
		case within(h, ws):
			return refuse("holds the home directory " + h)
		case within(ws, h) && h != owner.Home:
			return refuse("is inside another user's home " + h)
		case within(ws, h):
			if rel, _ := filepath.Rel(h, ws); strings.HasPrefix(rel, ".") {
				return refuse("is inside a dot-directory of the home " + h)
			}
		}
	}
	for _, s := range []string{hermesHome, DefaultHermesHome(owner), stateDir} {
		if s == "" {
			continue
		}
		real := resolveExisting(s)
		if within(ws, real) {
			return refuse("is inside " + real + ", which the sandbox hides")
		}
		if within(real, ws) {
			// Inside the workspace a command could rename a parent of
			// it and put its own in its place (approvals.mode: off).
			return refuse("holds " + real + ", which the host trusts")
		}
	}
	return nil
}

// DefaultHermesHome is ~/.hermes of the owner: hidden even when
// HERMES_HOME points elsewhere.
func DefaultHermesHome(owner Owner) string {
	if owner.Home == "" {
		return ""
	}
	return filepath.Join(owner.Home, ".hermes")
}

// Homes are the home directories of the machine's people: every directory
// under /home, /root, and the home of every user-database entry with a uid
// of 1000 or more (or 0), symlinks resolved.
func Homes() []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if p == "" || p == "/" || !filepath.IsAbs(p) {
			return
		}
		p = resolveExisting(filepath.Clean(p))
		if p == "/" || seen[p] {
			return
		}
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			return
		}
		seen[p] = true
		out = append(out, p)
	}
	entries, _ := os.ReadDir("/home")
	for _, e := range entries {
		add(filepath.Join("/home", e.Name()))
	}
	add("/root")
	if f, err := os.Open("/etc/passwd"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Split(sc.Text(), ":")
			if len(fields) < 6 {
				continue
			}
			uid, err := strconv.Atoi(fields[2])
			if err != nil || (uid != 0 && (uid < 1000 || uid == 65534)) {
				continue
			}
			if within(fields[5], "/") && !inSystemDir(fields[5]) {
				add(fields[5])
			}
		}
		f.Close()
	}
	return out
}

func inSystemDir(p string) bool {
	for _, d := range systemDirs {
		if within(p, d) {
			return true
		}
	}
	return false
}

// ResolveDir is safepath.ResolveDir.
func ResolveDir(p string) (string, error) { return safepath.ResolveDir(p) }

func openNoSymlinks(p string, flags int) (int, error) { return safepath.OpenNoSymlinks(p, flags) }

// resolveExisting resolves the symlinks of the longest existing prefix of p
// and appends the rest, so that a path that does not exist yet is compared
// where it would be made.
func resolveExisting(p string) string {
	p = filepath.Clean(p)
	rest := ""
	for cur := p; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return p
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// within reports whether p is dir or inside dir.
func within(p, dir string) bool { return safepath.Within(p, dir) }

const syscallNoFollow = unix.O_NOFOLLOW
