package ocispec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// DefaultProtectedPaths are the workspace paths the host runs or trusts
// later (git hooks and configuration, direnv, editors' task files, coding
// agents' own settings): a command in the sandbox could otherwise plant code
// that a plain `git status` on the host runs. They are read-only inside
// even when they do not exist yet. container.protected_paths replaces the
// list.
var DefaultProtectedPaths = []string{
	".git/hooks", ".git/config", ".git/info", ".git/modules",
	".envrc", ".vscode", ".idea", ".claude", ".codex", ".gemini", ".hermes",
}

// Protection is what keeps the protected paths read-only: the mounts (in
// order, after the workspace's), and the placeholders to create first for
// paths that do not exist yet.
type Protection struct {
	Mounts []specs.Mount
	// Placeholders are absolute paths of empty directories (ending in
	// "/") or empty files to create (as
	// the owner, by MakePlaceholders) before the container starts: a
	// mount needs a mount point, and a read-only empty directory there is
	// what keeps a command from creating the path. They are removed again
	// with the container (RemovePlaceholders).
	Placeholders []string
}

// Protect works out the protection of rels (relative paths) inside the
// workspace ws. For each path, the first component that does not exist
// gets a placeholder and is made read-only (so with no .git, all of .git
// is read-only: a command cannot make one and fill it); one that exists is
// bound read-only onto itself; every existing directory on the way (.git
// for .git/hooks) is bound onto itself read-write, which makes it a mount
// point that cannot be renamed or replaced (a command could otherwise
// `mv .git x; mkdir -p .git/hooks`). A symlink on the way is refused: what
// it points to could change under the sandbox.
//
// files are protected the same way, but a missing one gets an empty file as
// its placeholder: what git reads as a configuration file (an include) must
// not turn into a directory, which git refuses outright.
func Protect(ws string, rels []string, files ...string) (Protection, error) {
	return protect(ws, nil, rels, files...)
}

// protect is Protect with the placeholders absent taken as missing while
// they are empty (Config.Absent).
func protect(ws string, absent []string, rels []string, files ...string) (Protection, error) {
	isFile := map[string]bool{}
	for _, f := range files {
		isFile[filepath.Clean(f)] = true
	}
	rels = append(append([]string(nil), rels...), files...)
	var p Protection
	seen := map[string]bool{}
	bind := func(path string, ro bool) {
		if seen[path] {
			return
		}
		seen[path] = true
		opts := []string{"rbind", "nosuid", "nodev"}
		if ro {
			opts = append(opts, "ro")
		} else {
			opts = append(opts, "rw")
		}
		p.Mounts = append(p.Mounts, specs.Mount{Destination: path, Type: "none", Source: path, Options: opts})
	}
	var ro []string
	for _, rel := range rels {
		rel = filepath.Clean(rel)
		if filepath.IsAbs(rel) || rel == "." || strings.HasPrefix(rel, "../") || rel == ".." {
			return p, fmt.Errorf("container.protected_paths: %q is not a path inside the workspace", rel)
		}
		cur := ws
		parts := strings.Split(rel, "/")
		for i, part := range parts {
			cur = filepath.Join(cur, part)
			fi, err := os.Lstat(cur)
			if err == nil && emptyPlaceholder(cur, fi, absent) {
				err = os.ErrNotExist
			}
			if errors.Is(err, os.ErrNotExist) {
				if i == len(parts)-1 && isFile[rel] {
					p.Placeholders = append(p.Placeholders, cur)
				} else {
					p.Placeholders = append(p.Placeholders, cur+"/")
				}
				ro = append(ro, cur)
				break
			}
			if err != nil {
				return p, fmt.Errorf("protected path %s: %w", cur, err)
			}
			if fi.Mode()&os.ModeSymlink != 0 {
				return p, fmt.Errorf("protected path %s is a symbolic link, which the sandbox cannot keep read-only; remove it", cur)
			}
			if i == len(parts)-1 || !fi.IsDir() {
				// A file where a directory was expected (.git as a
				// worktree's gitfile) is protected itself.
				ro = append(ro, cur)
				break
			}
		}
	}
	// Parents first (their self-binds), then the read-only paths, so no
	// later bind covers an earlier one.
	for _, m := range ChainBinds(ws, ro) {
		bind(m.Destination, false)
	}
	for _, r := range ro {
		bind(r, true)
	}
	return p, nil
}

// emptyPlaceholder reports whether p (fi its Lstat) is one of the
// placeholders absent (directories end in "/") and still as
// MakePlaceholders made it: an empty directory or an empty regular file.
func emptyPlaceholder(p string, fi os.FileInfo, absent []string) bool {
	for _, a := range absent {
		if a == p+"/" && fi.IsDir() {
			f, err := os.Open(p)
			if err != nil {
				return false
			}
			names, err := f.Readdirnames(1)
			f.Close()
			return len(names) == 0 && errors.Is(err, io.EOF)
		}
		if a == p && fi.Mode().IsRegular() {
			return fi.Size() == 0
		}
	}
	return false
}

// ChainBinds are read-write self-binds of every directory between ws
// (exclusive) and each path (exclusive): hidden paths inside the
// workspace stay where they are because their parents become mount points,
// which cannot be renamed.
func ChainBinds(ws string, paths []string) []specs.Mount {
	var chain []string
	seen := map[string]bool{}
	for _, p := range paths {
		for d := filepath.Dir(p); d != ws && within(d, ws); d = filepath.Dir(d) {
			if !seen[d] {
				seen[d] = true
				chain = append(chain, d)
			}
		}
	}
	sortByDepth(chain)
	var ms []specs.Mount
	for _, d := range chain {
		ms = append(ms, specs.Mount{Destination: d, Type: "none", Source: d, Options: []string{"rbind", "rw", "nosuid", "nodev"}})
	}
	return ms
}

func sortByDepth(ps []string) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && strings.Count(ps[j], "/") < strings.Count(ps[j-1], "/"); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// MakePlaceholders creates the placeholders of a Protection inside ws as
// empty directories owned by uid and gid, never following a symlink, and
// returns the ones it made (to be given to RemovePlaceholders).
func MakePlaceholders(ws string, paths []string, uid, gid int) ([]string, error) {
	var made []string
	for _, ph := range paths {
		p := filepath.Clean(ph)
		rel, err := filepath.Rel(ws, p)
		if err != nil || strings.HasPrefix(rel, "..") {
			return made, fmt.Errorf("placeholder %s is outside the workspace", p)
		}
		dirfd, err := openNoSymlinks(filepath.Dir(p), unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return made, fmt.Errorf("placeholder %s: %w", p, err)
		}
		name := filepath.Base(p)
		if strings.HasSuffix(ph, "/") {
			err = unix.Mkdirat(dirfd, name, 0o755)
		} else {
			var fd int
			if fd, err = unix.Openat(dirfd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644); err == nil {
				unix.Close(fd)
			}
		}
		if err == nil {
			made = append(made, ph)
			if os.Geteuid() == 0 {
				_ = unix.Fchownat(dirfd, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
			}
		}
		unix.Close(dirfd)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return made, fmt.Errorf("placeholder %s: %w", p, err)
		}
	}
	return made, nil
}

// RemovePlaceholders removes the placeholders it is given that are still
// empty (rmdir refuses a directory with anything in it; a file is removed
// only while it is an empty regular file), deepest first.
func RemovePlaceholders(paths []string) {
	for i := len(paths) - 1; i >= 0; i-- {
		ph := paths[i]
		p := filepath.Clean(ph)
		dirfd, err := openNoSymlinks(filepath.Dir(p), unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			continue
		}
		name := filepath.Base(p)
		if strings.HasSuffix(ph, "/") {
			_ = unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
		} else {
			var st unix.Stat_t
			if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size == 0 {
				_ = unix.Unlinkat(dirfd, name, 0)
			}
		}
		unix.Close(dirfd)
	}
}
