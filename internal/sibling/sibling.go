// Package sibling finds the programs installed next to hermes-exec: the
// backends' helpers (hermes-exec-sandbox, hermes-exec-containerd) and
// hermes-exec-admin, which holds the subcommands. It is the one rule for
// where they are, the way git finds git-<command> in its own exec path.
package sibling

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The installed programs' file names: the shell, the subcommands (and the
// gateway's helper), the backends' helpers. Names lists them all: the
// classifier is told their paths so that the agent cannot replace them.
const (
	Shell      = "hermes-exec"
	Admin      = "hermes-exec-admin"
	Sandbox    = "hermes-exec-sandbox"
	Containerd = "hermes-exec-containerd"
)

// Names are all of hermes-exec's programs, installed side by side.
var Names = [...]string{Shell, Admin, Sandbox, Containerd}

// Paths are the paths of all of Names in the running executable's own
// directory (os.Executable: one readlink of /proc/self/exe, no stat), or
// nil when it cannot be found. They need not exist: writing one that does
// not is installing a program in hermes-exec's place too.
func Paths() []string {
	self, err := os.Executable()
	if err != nil {
		return nil
	}
	dir := filepath.Dir(self)
	out := make([]string, len(Names))
	for i, n := range Names {
		out[i] = filepath.Join(dir, n)
	}
	return out
}

// testOverride is set in test builds only (testoverride.go).
var testOverride bool

// ErrMissing is wrapped by Find's error when the program is not there.
var ErrMissing = errors.New("not installed next to hermes-exec")

// Find is the path of the program name in the running executable's own
// directory (its real path: a `bash` symlink to hermes-exec finds it too).
// Not in PATH, and not from a variable: both are the agent's to set, and
// a program of its own in a sibling's place would run with hermes-exec's
// trust. Test builds (hermes_testpolicy) also take the variable pathEnv
// when it is set. The error says where the program was looked for; it
// wraps ErrMissing when there is no such file.
func Find(name, pathEnv string) (string, error) {
	if testOverride && pathEnv != "" {
		if p := os.Getenv(pathEnv); p != "" {
			return p, nil
		}
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding hermes-exec's own path: %w", err)
	}
	p := filepath.Join(filepath.Dir(self), name)
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return p, fmt.Errorf("%s: %w (%s)", name, ErrMissing, filepath.Dir(self))
		}
		return p, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}
