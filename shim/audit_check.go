package shim

import (
	"os"
	"path/filepath"

	"hermes-exec/internal/safefs"
)

// Check makes sure a record can be appended, before the command runs: the
// directory exists (created 0700) and the file opens for appending. A log
// that cannot be written stops the command (fail closed).
func (a Audit) Check() error {
	if err := os.MkdirAll(filepath.Dir(a.Path), 0o700); err != nil {
		return err
	}
	f, err := safefs.OpenAppend(a.Path, 0o600, os.Geteuid())
	if err != nil {
		return err
	}
	return f.Close()
}
