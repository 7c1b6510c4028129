package shim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Check makes sure a record can be appended, before the command runs: the
// directory exists (created 0700) and the file opens for appending. A log
// that cannot be written stops the command (fail closed).
func (a Audit) Check() error {
	if err := os.MkdirAll(filepath.Dir(a.Path), 0o700); err != nil {
		return err
	}
	f, err := openLog(a.Path)
	if err != nil {
		return err
	}
	return f.Close()
}

// openNoFollow opens path for reading without following a symlink.
func openNoFollow(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%s is a symlink", path)
	}
	return f, err
}
