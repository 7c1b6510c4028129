package execcheck

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// errPerCaller: the path, as the supervisor would follow it, goes through
// a name that means "the calling process" (/proc/self, /proc/thread-self)
// beyond the part procPath chose for the trapped process: a symlink to
// /proc/self/fd/0, /proc//self/fd/0, /proc/net/../fd/0. The supervisor
// would look at its own file there, the process at another one, so the
// exec is asked about, not classified by the wrong file.
var errPerCaller = errors.New("the path leads through /proc/self or a magic link, which names another file for the supervisor than for the process")

// openResolved opens p, a path procPath made (or an absolute path the
// process gave, see Supervisor.procPath), with flags. A leading
// /proc/PID/NAME (and /proc/PID/fd/N) is the part chosen to reach the
// trapped process's own root, working directory or files, and is followed
// as the kernel follows it; the rest is looked up with no magic link
// (RESOLVE_NO_MAGICLINKS) and must not end in procfs, where the files
// reached through /proc/self are the supervisor's. st, if not nil, gets
// the file's stat.
func openResolved(pid int, p string, flags int, st *unix.Stat_t) (int, error) {
	base, rest := splitBase(p)
	// Only the trapped process's own root and working directory are
	// where its absolute symlinks lead: a /proc/OTHER/root/... it names
	// itself is walked by the kernel with the process's root for them,
	// which (the path having come through unchanged) is the supervisor's.
	own := strings.HasPrefix(base, "/proc/"+strconv.Itoa(pid)+"/")
	if rest == "" {
		fd, err := unix.Open(base, flags|unix.O_CLOEXEC, 0)
		if err == nil && st != nil {
			if err = unix.Fstat(fd, st); err != nil {
				unix.Close(fd)
				return -1, err
			}
		}
		return fd, err
	}
	var resolve uint64 = unix.RESOLVE_NO_MAGICLINKS
	if own && strings.HasSuffix(base, "/cwd") {
		// An absolute symlink met on the way names a file in the
		// process's root, not the supervisor's: look the path up from
		// the root, through the working directory's place in it.
		var err error
		if base, rest, err = inRoot(base, rest); err != nil {
			return -1, err
		}
	}
	if own && strings.HasSuffix(base, "/root") {
		// Absolute symlinks (and "..") stay in the process's root: in a
		// container, a workspace link to /tmp/x names the container's
		// /tmp/x, not the host's.
		resolve |= unix.RESOLVE_IN_ROOT
	}
	if own && strings.Contains(base, "/fd/") {
		// From a descriptor: an absolute symlink or ".." would leave it
		// for a root the process may not share with the supervisor.
		resolve |= unix.RESOLVE_BENEATH
	}
	dirfd := unix.AT_FDCWD
	if base != "" {
		fd, err := unix.Open(base, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		defer unix.Close(fd)
		dirfd = fd
	}
	fd, err := unix.Openat2(dirfd, rest, &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: resolve})
	switch {
	case err == unix.ELOOP, err == unix.EXDEV && resolve&unix.RESOLVE_BENEATH != 0:
		// A magic link on the way (or too many symlinks, which the
		// kernel's own lookup fails as well).
		return -1, errPerCaller
	case err == unix.ENOSYS:
		return -1, errPerCaller // no safe lookup here: asked about
	case err != nil:
		return -1, err
	}
	var local unix.Stat_t
	if st == nil {
		st = &local
	}
	if err := unix.Fstat(fd, st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	// procfs has an anonymous device (major 0); a file on a disk cannot
	// be in it, and is let through without the statfs.
	var fs unix.Statfs_t
	if unix.Major(st.Dev) == 0 && (unix.Fstatfs(fd, &fs) != nil || fs.Type == unix.PROC_SUPER_MAGIC) {
		unix.Close(fd)
		return -1, errPerCaller
	}
	return fd, nil
}

// splitBase splits p into the trusted /proc/PID/NAME prefix (NAME being
// root, cwd, a file of the process, or fd/N) and the rest, relative to
// it; base is "" when p has no such prefix (rest is then p itself).
func splitBase(p string) (base, rest string) {
	const pre = "/proc/"
	if !strings.HasPrefix(p, pre) {
		return "", p
	}
	s := p[len(pre):]
	i := strings.IndexByte(s, '/')
	if i <= 0 || strings.Trim(s[:i], "0123456789") != "" {
		return "", p
	}
	n := i + 1 // past "PID/"
	j := strings.IndexByte(s[n:], '/')
	if j < 0 {
		return p, ""
	}
	if s[n:n+j] == "fd" {
		k := strings.IndexByte(s[n+j+1:], '/')
		if k < 0 {
			return p, ""
		}
		j += 1 + k
	}
	end := len(pre) + n + j
	rest = strings.TrimLeft(p[end:], "/")
	if rest == "" {
		return p[:end], ""
	}
	return p[:end], rest
}

// inRoot turns /proc/PID/cwd and rest into /proc/PID/root and the path
// from that root: the working directory as the process sees it, then rest.
// A working directory outside the process's root (or not to be found) is
// errPerCaller: no lookup would follow its symlinks as the process does.
func inRoot(cwdBase, rest string) (base, path string, err error) {
	proc := strings.TrimSuffix(cwdBase, "/cwd")
	root, err1 := os.Readlink(proc + "/root")
	cwd, err2 := os.Readlink(proc + "/cwd")
	if err1 != nil || err2 != nil {
		return "", "", errPerCaller
	}
	switch {
	case root == "/":
	case cwd == root:
		cwd = "/"
	case strings.HasPrefix(cwd, root+"/"):
		cwd = cwd[len(root):]
	default:
		return "", "", errPerCaller
	}
	// The name readlink gives is not always a way there: a working
	// directory in a detached mount (open_tree, fsmount) reads as a path
	// from that mount's root. Only the same directory counts.
	var want, got unix.Stat_t
	if unix.Stat(proc+"/cwd", &want) != nil {
		return "", "", errPerCaller
	}
	rootfd, err := unix.Open(proc+"/root", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", "", errPerCaller
	}
	defer unix.Close(rootfd)
	fd, err := unix.Openat2(rootfd, cwd, &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return "", "", errPerCaller
	}
	err = unix.Fstat(fd, &got)
	unix.Close(fd)
	if err != nil || got.Dev != want.Dev || got.Ino != want.Ino {
		return "", "", errPerCaller
	}
	return proc + "/root", strings.TrimLeft(cwd, "/") + "/" + rest, nil
}
