package config

import (
	"errors"
	"io/fs"

	"golang.org/x/sys/unix"
)

// readFile reads a small file with plain system calls. os.ReadFile also
// stats the file and registers it with the poller (two fcntl calls); on a
// small VM every system call counts, and Load runs on every command.
// Errors are *fs.PathError like os.ReadFile's, so errors.Is(err,
// fs.ErrNotExist) works.
func readFile(path string) ([]byte, error) {
	var fd int
	var err error
	for {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 8192)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}
