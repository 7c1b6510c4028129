// Package safefs opens the files of a HERMES_HOME the way ssh's StrictModes
// treats ~/.ssh: the directory and every directory above it must belong to
// the caller or root and be writable by nobody else, and a file in it is
// opened without following a symbolic link another user could have planted,
// checked for its owner and type before a byte is read, and read only up to
// a size cap. What fails these checks is an error, never "no file": a
// missing deny rule must not pass for an absent configuration.
package safefs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxLinks bounds symbolic links followed while checking one path, as the
// kernel's own limit (40) does.
const maxLinks = 40

// UntrustedError says why a path is refused.
type UntrustedError struct {
	Path   string
	Reason string
}

func (e *UntrustedError) Error() string { return e.Path + ": " + e.Reason }

func untrusted(path, format string, args ...any) error {
	return &UntrustedError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// trustedOwner is the owner a file or directory in the chain may have: the
// caller or root. Root's files are trusted because root can change anything
// anyway.
func trustedOwner(owner uint32, uid int) bool {
	return owner == 0 || int(owner) == uid
}

// CheckDir refuses dir unless it, and every directory on the way to it,
// belongs to uid or root and cannot be written by anyone else. An ancestor
// writable by others is allowed only when it is sticky (/tmp, /var/tmp):
// then nobody else can rename or remove what the caller put in it. dir
// itself must not be writable by group or others at all. Symbolic links on
// the way are followed only when uid or root owns them. A dir that does not
// exist yet is fine (it will be made 0700); its existing ancestors are
// checked.
func CheckDir(dir string, uid int) error {
	if !filepath.IsAbs(dir) {
		return untrusted(dir, "not an absolute path")
	}
	return checkChain(filepath.Clean(dir), uid, 0)
}

func checkChain(path string, uid, links int) error {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	cur := "/"
	for i, name := range parts {
		if name == "" {
			continue
		}
		last := i == len(parts)-1
		next := filepath.Join(cur, name)
		var st unix.Stat_t
		err := unix.Lstat(next, &st)
		if errors.Is(err, unix.ENOENT) {
			return nil // made later by hermes-exec, 0700
		}
		if err != nil {
			return &fs.PathError{Op: "lstat", Path: next, Err: err}
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			if !trustedOwner(st.Uid, uid) {
				return untrusted(next, "a symbolic link owned by uid %d (only yours or root's are followed)", st.Uid)
			}
			if links++; links > maxLinks {
				return untrusted(path, "too many symbolic links")
			}
			target, err := os.Readlink(next)
			if err != nil {
				return err
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(cur, target)
			}
			rest := filepath.Join(append([]string{target}, parts[i+1:]...)...)
			return checkChain(filepath.Clean(rest), uid, links)
		case unix.S_IFDIR:
		default:
			return untrusted(next, "not a directory")
		}
		if !trustedOwner(st.Uid, uid) {
			return untrusted(next, "owned by uid %d, not by you (uid %d) or root", st.Uid, uid)
		}
		if st.Mode&0o022 != 0 && (last || st.Mode&unix.S_ISVTX == 0) {
			return untrusted(next, "writable by group or others (mode %04o): chmod go-w %s", st.Mode&0o7777, next)
		}
		cur = next
	}
	return nil
}

// ReadFile reads the regular file at path, at most max bytes, for uid.
//
// The file is opened from its directory with O_NOFOLLOW and O_NONBLOCK (a
// FIFO cannot hang the open), then checked with fstat on the open
// descriptor (no race between check and read): it must be a regular file
// owned by uid or root, not writable by group or others, and no larger than
// max. A symbolic link is followed only when uid or root owns it and what
// it points to passes the same checks (dotfile managers link config.yaml);
// root therefore never follows another user's link. A path with no entry
// at all gives an error satisfying errors.Is(err, fs.ErrNotExist); a
// dangling link is a different error.
func ReadFile(path string, max int64, uid int) ([]byte, error) {
	return readFile(path, max, uid, 0)
}

// ReadFileString is ReadFile giving a string, without a copy: the bytes
// read are in a buffer no one else ever sees, so the string is as
// immutable as any. config.yaml is read this way because its allowlist can
// be most of a 250 KB file and its entries are kept as substrings of it:
// a copy would touch as many fresh pages again on every command.
func ReadFileString(path string, max int64, uid int) (string, error) {
	b, err := readFile(path, max, uid, 0)
	if err != nil || len(b) == 0 {
		return "", err
	}
	// b does not escape: readFile made it and returns its only reference.
	return unsafe.String(unsafe.SliceData(b), len(b)), nil
}

func readFile(path string, max int64, uid, links int) ([]byte, error) {
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	dfd, err := openRetry(unix.AT_FDCWD, dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(dfd)
	fd, err := openRetry(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errors.Is(err, unix.ELOOP) {
		return followLink(dfd, dir, name, path, max, uid, links)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	if err := checkFile(path, &st, max, uid); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, min(st.Size, max)+1)
	for {
		if int64(len(buf)) > max {
			return nil, untrusted(path, "larger than %d bytes", max)
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
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

// followLink follows the link name in dfd when it may be followed.
func followLink(dfd int, dir, name, path string, max int64, uid, links int) ([]byte, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return nil, &fs.PathError{Op: "open", Path: path, Err: unix.ELOOP}
	}
	if !trustedOwner(st.Uid, uid) {
		return nil, untrusted(path, "a symbolic link owned by uid %d: hermes-exec follows only your own links", st.Uid)
	}
	if links++; links > maxLinks {
		return nil, untrusted(path, "too many symbolic links")
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dfd, name, buf)
	if err != nil {
		return nil, &fs.PathError{Op: "readlink", Path: path, Err: err}
	}
	target := string(buf[:n])
	if !filepath.IsAbs(target) {
		target = filepath.Join(dir, target)
	}
	if err := CheckDir(filepath.Dir(target), uid); err != nil {
		return nil, fmt.Errorf("%s links to %s: %w", path, target, err)
	}
	data, err := readFile(target, max, uid, links)
	if errors.Is(err, fs.ErrNotExist) {
		// A dangling link is not "no file": the user meant one to be
		// there, and its rules must not silently vanish.
		return nil, untrusted(path, "a symbolic link to %s, which does not exist", target)
	}
	if err != nil {
		return nil, fmt.Errorf("%s links to %w", path, err)
	}
	return data, nil
}

func checkFile(path string, st *unix.Stat_t, max int64, uid int) error {
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return untrusted(path, "not a regular file (%s)", typeName(st.Mode))
	}
	if !trustedOwner(st.Uid, uid) {
		return untrusted(path, "owned by uid %d, not by you (uid %d) or root", st.Uid, uid)
	}
	if st.Mode&0o022 != 0 {
		return untrusted(path, "writable by group or others (mode %04o): chmod go-w %s", st.Mode&0o7777, path)
	}
	if st.Size > max {
		return untrusted(path, "larger than %d bytes", max)
	}
	return nil
}

func openRetry(dfd int, path string, flags int, perm ...uint32) (int, error) {
	var mode uint32
	if len(perm) > 0 {
		mode = perm[0]
	}
	for {
		fd, err := unix.Openat(dfd, path, flags, mode)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}

func typeName(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFLNK:
		return "a symbolic link"
	}
	return "not a regular file"
}
