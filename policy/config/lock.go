package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"hermes-exec/internal/atomicfile"
)

// withLock runs fn while holding the edit lock of path: an exclusive flock
// on path+".lock" (see atomicfile.WithLock for why a sibling file).
func withLock(path string, fn func() error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return atomicfile.WithLock(path+".lock", fn) // fn's errors name the file already
}

// realPath follows a symlinked config.yaml (dotfile managers make these)
// so that the edit replaces the file it points to, not the link.
func realPath(path string) (string, error) {
	p, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, nil
	}
	return p, err
}
