// Package safepath resolves paths that a sandboxed command could have
// planted symlinks in without trusting them: a path is resolved, then
// opened again refusing every symlink, and must be the same file.
package safepath

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ResolveDir is p made absolute with symlinks resolved, checked to be a
// directory. The resolved path is then opened again refusing every symlink
// (RESOLVE_NO_SYMLINKS) and must be the same directory (device and inode):
// a path a sandboxed command could have planted symlinks in is never
// trusted on its word.
func ResolveDir(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", err
	}
	var want unix.Stat_t
	if err := unix.Stat(real, &want); err != nil {
		return "", err
	}
	if want.Mode&unix.S_IFMT != unix.S_IFDIR {
		return "", fmt.Errorf("%s is not a directory", real)
	}
	fd, err := OpenNoSymlinks(real, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return "", fmt.Errorf("%s: %w", real, err)
	}
	defer unix.Close(fd)
	var got unix.Stat_t
	if err := unix.Fstat(fd, &got); err != nil {
		return "", err
	}
	if got.Dev != want.Dev || got.Ino != want.Ino {
		return "", fmt.Errorf("%s changed while it was being resolved", real)
	}
	return real, nil
}

// OpenNoSymlinks opens the absolute path p refusing a symlink in any
// component. Kernels without openat2 fall back to a walk with O_NOFOLLOW.
func OpenNoSymlinks(p string, flags int) (int, error) {
	fd, err := unix.Openat2(unix.AT_FDCWD, p, &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if !errors.Is(err, unix.ENOSYS) {
		return fd, err
	}
	dir, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	for i, part := range parts {
		if part == "" {
			continue
		}
		f := unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(parts)-1 {
			f = flags | unix.O_NOFOLLOW | unix.O_CLOEXEC
		}
		next, err := unix.Openat(dir, part, f, 0)
		unix.Close(dir)
		if err != nil {
			return -1, err
		}
		dir = next
	}
	return dir, nil
}

// Within reports whether p is dir or inside dir (both clean and absolute).
func Within(p, dir string) bool {
	if p == "" || dir == "" {
		return false
	}
	if dir == "/" {
		return true
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}
