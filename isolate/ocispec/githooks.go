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
//
// files are those that must get a file, not a directory, as placeholder
// (git's includes; see Protect).
func ProtectedList(c Config) (paths, includes []string) {
	paths = append([]string(nil), c.protectedPaths()...)
	dirs, includes := gitPathsIn(c.Workspace, c.Owner.Home)
	paths = append(paths, dirs...)
	for _, p := range DefaultProtectedIfPresent {
		if _, err := os.Lstat(filepath.Join(c.Workspace, p)); err == nil {
			paths = append(paths, p)
		}
	}
	return paths, includes
}

// gitPathsIn reads git's configuration for the workspace (its
// .git/config, the owner's global files and the system's) and returns the
// workspace paths (relative) the host's git would run or read code from:
// core.hooksPath (husky's .husky), include.path and includeIf.*.path (a
// configuration file in the work tree could set core.fsmonitor), and any
// value whose program is a file in the workspace (alias.x = !./x.sh,
// filter.*.clean = tools/clean, core.fsmonitor = ./watch). The first two
// are protected even when missing: git would read them once they exist.
func gitPathsIn(ws, home string) (dirs, files []string) {
	configs := []string{filepath.Join(ws, ".git", "config"), "/etc/gitconfig"}
	if home != "" {
		configs = append(configs, filepath.Join(home, ".gitconfig"), filepath.Join(home, ".config", "git", "config"))
	}
	// base is what a relative path is relative to: the work tree for
	// hooksPath and programs, the naming file's directory for includes.
	add := func(out *[]string, v, base string, mustExist bool) {
		if strings.HasPrefix(v, "~/") && home != "" {
			v = filepath.Join(home, v[2:])
		}
		if !filepath.IsAbs(v) {
			v = filepath.Join(base, v)
		}
		v = resolveExisting(filepath.Clean(v))
		if !within(v, ws) || v == ws {
			return
		}
		if mustExist {
			if fi, err := os.Lstat(v); err != nil || !fi.Mode().IsRegular() {
				return
			}
		}
		rel, _ := filepath.Rel(ws, v)
		*out = append(*out, rel)
	}
	for _, f := range configs {
		for _, kv := range gitConfig(f) {
			switch {
			case kv.section == "core" && kv.key == "hookspath":
				add(&dirs, kv.value, ws, false)
			case (kv.section == "include" || kv.section == "includeif") && kv.key == "path":
				add(&files, kv.value, filepath.Dir(f), false)
			default:
				prog := strings.TrimPrefix(strings.TrimSpace(kv.value), "!")
				if fields := strings.Fields(prog); len(fields) > 0 && (strings.Contains(fields[0], "/") || strings.HasPrefix(fields[0], ".")) {
					add(&dirs, fields[0], ws, true)
				}
			}
		}
	}
	return dirs, files
}

type gitKV struct{ section, key, value string }

// gitConfig is a small reader of git's configuration format: every
// section (lower case, subsection dropped), key (lower case) and value of
// a regular file of at most 1 MiB opened without following a symlink.
// Includes are not followed (gitPathsIn protects them instead).
func gitConfig(path string) []gitKV {
	f, err := os.OpenFile(path, os.O_RDONLY|syscallNoFollow, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	var out []gitKV
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
				name = name[:i] // [section "sub"]
			}
			cur = strings.ToLower(name)
			line = strings.TrimSpace(line[end+1:])
			if line == "" {
				continue
			}
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, "\"") {
			if j := strings.Index(v[1:], "\""); j >= 0 {
				v = v[1 : j+1]
			}
		} else if i := strings.IndexAny(v, "#;"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		out = append(out, gitKV{section: cur, key: strings.ToLower(strings.TrimSpace(k)), value: v})
	}
	return out
}
