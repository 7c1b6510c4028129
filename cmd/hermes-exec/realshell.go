package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The usual recipe for agents that look for `bash` on PATH is a symlink
// named bash, pointing at hermes-exec, first on PATH. hermes-exec must then
// never run itself as the shell: a PATH lookup of "bash" would find the
// symlink again and recurse until the process limit. The real shell is
// resolved here, once per invocation, by file identity (device and inode of
// /proc/self/exe), so a symlink, a hard link or a copy under another name
// that is hermes-exec is always skipped.

// selfID is the device and inode of the running executable.
func selfID() (dev, ino uint64, ok bool) {
	var st syscall.Stat_t
	if syscall.Stat("/proc/self/exe", &st) != nil {
		return 0, 0, false
	}
	return uint64(st.Dev), st.Ino, true
}

// isSelf reports whether path is an executable regular file that is this
// very program.
func isSelf(path string, dev, ino uint64) bool {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return false
	}
	return uint64(st.Dev) == dev && st.Ino == ino
}

func isExecutable(path string) bool {
	var st syscall.Stat_t
	return syscall.Stat(path, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Mode&0o111 != 0
}

// resolveShell finds the real shell called name ("bash" or "sh"): the
// configured path when there is one (it must be absolute, executable and
// not hermes-exec), else the first name on PATH that is not hermes-exec,
// else /usr/bin/NAME or /bin/NAME. Not finding one is an error: the caller
// denies rather than guess.
func resolveShell(name, configured, path string) (string, error) {
	dev, ino, ok := selfID()
	if !ok {
		// Without knowing which file is us, any candidate could be us.
		return "", fmt.Errorf("cannot identify the hermes-exec executable (/proc/self/exe), so the real %s cannot be told apart from it", name)
	}
	if configured != "" {
		switch {
		case !filepath.IsAbs(configured):
			return "", fmt.Errorf("terminal.shell must be an absolute path (got %q)", configured)
		case !isExecutable(configured):
			return "", fmt.Errorf("terminal.shell %s is not an executable file", configured)
		case isSelf(configured, dev, ino):
			return "", fmt.Errorf("terminal.shell %s is hermes-exec itself; name the real bash (e.g. /bin/bash)", configured)
		}
		return configured, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" || !filepath.IsAbs(dir) {
			// A relative PATH entry depends on the working directory,
			// which the agent controls: never take the shell from there.
			continue
		}
		p := filepath.Join(dir, name)
		if isExecutable(p) && !isSelf(p, dev, ino) {
			return p, nil
		}
	}
	for _, p := range []string{"/usr/bin/" + name, "/bin/" + name} {
		if isExecutable(p) && !isSelf(p, dev, ino) {
			return p, nil
		}
	}
	return "", fmt.Errorf("no real %s found (PATH holds only hermes-exec); set terminal.shell in config.yaml", name)
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
