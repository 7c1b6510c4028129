package ocispec

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// DefaultProtectedIfPresent are workspace files the host runs code from
// when they exist, but whose absence is harmless (nothing on the host reads
// them then), so no placeholder is made: pre-commit's configuration, run by
// the pre-commit hook on every `git commit`.
var DefaultProtectedIfPresent = []string{".pre-commit-config.yaml", ".pre-commit-config.yml"}

// ProtectedList is every workspace path (relative) that c keeps read-only:
// container.protected_paths (or DefaultProtectedPaths), git's hooks
// directory wherever core.hooksPath puts it inside the workspace (husky's
// .husky, say: a command there would run on the host's next commit), and
// those of DefaultProtectedIfPresent that exist.
func ProtectedList(c Config) []string {
	out := append([]string(nil), c.protectedPaths()...)
	out = append(out, hooksPathsIn(c.Workspace, c.Owner.Home)...)
	for _, p := range DefaultProtectedIfPresent {
		if _, err := os.Lstat(filepath.Join(c.Workspace, p)); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// hooksPathsIn reads core.hooksPath from the workspace's .git/config, the
// owner's global configuration and the system's, and returns those inside
// ws, relative to it. A relative hooksPath is relative to the work tree.
func hooksPathsIn(ws, home string) []string {
	files := []string{filepath.Join(ws, ".git", "config"), "/etc/gitconfig"}
	if home != "" {
		files = append(files, filepath.Join(home, ".gitconfig"), filepath.Join(home, ".config", "git", "config"))
	}
	var out []string
	for _, f := range files {
		for _, v := range gitConfigValues(f, "core", "hookspath") {
			if strings.HasPrefix(v, "~/") && home != "" {
				v = filepath.Join(home, v[2:])
			}
			if !filepath.IsAbs(v) {
				v = filepath.Join(ws, v)
			}
			v = resolveExisting(filepath.Clean(v))
			if within(v, ws) && v != ws {
				rel, _ := filepath.Rel(ws, v)
				out = append(out, rel)
			}
		}
	}
	return out
}

// gitConfigValues is a small reader of git's configuration format: the
// values of key in [section] (names are case-insensitive), from a regular
// file of at most 1 MiB opened without following a symlink. It is enough
// for a single-valued key; includes are not followed.
func gitConfigValues(path, section, key string) []string {
	f, err := os.OpenFile(path, os.O_RDONLY|syscallNoFollow, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	var out []string
	cur := ""
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				continue
			}
			name := strings.TrimSpace(line[1:end])
			if i := strings.IndexAny(name, " \t"); i >= 0 {
				name = name[:i] // [section "sub"]: not the plain section
				cur = ""
				continue
			}
			cur = strings.ToLower(name)
			line = strings.TrimSpace(line[end+1:])
			if line == "" {
				continue
			}
		}
		if cur != section {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.ToLower(strings.TrimSpace(k)) != key {
			continue
		}
		v = strings.TrimSpace(v)
		if i := strings.IndexAny(v, "#;"); i >= 0 && !strings.HasPrefix(v, "\"") {
			v = strings.TrimSpace(v[:i])
		}
		out = append(out, strings.Trim(v, "\""))
	}
	return out
}
