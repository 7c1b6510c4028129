package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"hermes-exec/cmd/internal/wrapper"
)

// The usual recipe for agents that look for `bash` on PATH is a symlink
// named bash, pointing at hermes-exec, first on PATH. hermes-exec must then
// never run itself as the shell: a PATH lookup of "bash" would find the
// symlink again and recurse until the process limit. The real shell is
// resolved here, once per invocation, by file identity (device and inode of
// /proc/self/exe), so a symlink, a hard link or a copy under another name
// that is hermes-exec is always skipped.

// selfID is the device and inode of the running executable.
func selfID() (wrapper.FileID, bool) { return wrapper.StatID("/proc/self/exe") }

// resolveShell finds the real shell called name ("bash" or "sh"): the
// configured path when there is one (it must be absolute, executable and
// not hermes-exec), else the first name on PATH that is not hermes-exec,
// else /usr/bin/NAME or /bin/NAME. Not finding one is an error: the caller
// denies rather than guess. links are the names on PATH before it that are
// hermes-exec (the shell's links, which the classifier protects).
func resolveShell(name, configured, path string) (real string, links []string, err error) {
	self, ok := selfID()
	if !ok {
		// Without knowing which file is us, any candidate could be us.
		return "", nil, fmt.Errorf("cannot identify the hermes-exec executable (/proc/self/exe), so the real %s cannot be told apart from it", name)
	}
	found, links := wrapper.PathShell(name, path, self)
	if configured != "" {
		switch {
		case !filepath.IsAbs(configured):
			return "", nil, fmt.Errorf("terminal.shell must be an absolute path (got %q)", configured)
		case !wrapper.IsExecutable(configured):
			return "", nil, fmt.Errorf("terminal.shell %s is not an executable file", configured)
		case isSelf(configured, self):
			return "", nil, fmt.Errorf("terminal.shell %s is hermes-exec itself; name the real bash (e.g. /bin/bash)", configured)
		}
		return configured, links, nil
	}
	if found != "" {
		return found, links, nil
	}
	for _, p := range []string{"/usr/bin/" + name, "/bin/" + name} {
		if wrapper.IsExecutable(p) && !isSelf(p, self) {
			return p, links, nil
		}
	}
	return "", links, fmt.Errorf("no real %s found (PATH holds only hermes-exec); set terminal.shell in config.yaml", name)
}

// isSelf reports whether path is this very program.
func isSelf(path string, self wrapper.FileID) bool {
	id, ok := wrapper.StatID(path)
	return ok && id == self
}

// invokedAs returns the shell hermes-exec was started as, from argv[0]:
// "bash" or "sh" (a login shell's leading '-' removed, and login reported),
// or "" when it was started as hermes-exec or any other name.
func invokedAs(argv0 string) (shell string, login bool) {
	base := filepath.Base(argv0)
	if strings.HasPrefix(base, "-") {
		login = true
		base = base[1:]
	}
	switch base {
	case "bash", "sh":
		return base, login
	}
	return "", login
}

// shellPath is the PATH used to find the real shell: the caller's.
func shellPath() string { return os.Getenv("PATH") }
