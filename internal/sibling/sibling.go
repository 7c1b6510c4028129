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
