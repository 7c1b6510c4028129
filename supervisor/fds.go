package supervisor

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"hermes-exec/internal/safepath"
	"hermes-exec/isolate/supervisorexec"
)

// peer is who is calling, as the kernel says.
type peer struct {
	uid, gid, pid int
	// pidfd refers to the calling process (SO_PEERPIDFD, Linux 6.5+), -1
	// when the kernel has none: it becomes readable when that process
	// exits, even if a child of it still holds the connection.
	pidfd int
}

func peerOf(c *net.UnixConn) (peer, error) {
	p := peer{pidfd: -1}
	raw, err := c.SyscallConn()
	if err != nil {
		return p, err
	}
	var cerr error
	err = raw.Control(func(fd uintptr) {
		var cred *unix.Ucred
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		if cerr != nil {
			return
		}
		p.uid, p.gid, p.pid = int(cred.Uid), int(cred.Gid), int(cred.Pid)
		if pfd, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PEERPIDFD); err == nil && pfd >= 0 {
			unix.CloseOnExec(pfd)
			p.pidfd = pfd
		}
	})
	if err == nil {
		err = cerr
	}
	return p, err
}

// received are the descriptors of a request by role.
type received map[string]*os.File

func (r received) close() {
	for _, f := range r {
		f.Close()
	}
}

// readRequest reads the first frame and the descriptors that came with it.
func readRequest(c *net.UnixConn) (supervisorexec.Request, received, error) {
	var req supervisorexec.Request
	hdr := make([]byte, 4)
	oob := make([]byte, unix.CmsgSpace(8*4))
	n, oobn, flags, _, err := c.ReadMsgUnix(hdr, oob)
	if err != nil {
		return req, nil, err
	}
	var fds []int
	if oobn > 0 {
		msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
		if perr != nil {
			return req, nil, perr
		}
		for _, m := range msgs {
			got, err := unix.ParseUnixRights(&m)
			if err == nil {
				fds = append(fds, got...)
			}
		}
	}
	files := received{}
	closeRaw := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	if flags&unix.MSG_CTRUNC != 0 {
		closeRaw()
		return req, nil, errors.New("too many descriptors")
	}
	if err := supervisorexec.ReadFrame(c, hdr[:n], &req); err != nil {
		closeRaw()
		return req, nil, fmt.Errorf("reading the request: %w", err)
	}
	if req.Version != supervisorexec.Version {
		closeRaw()
		return req, nil, fmt.Errorf("protocol version %d, this supervisor speaks %d: the wrapper and the supervisor are from different builds", req.Version, supervisorexec.Version)
	}
	if len(req.FDs) != len(fds) {
		closeRaw()
		return req, nil, fmt.Errorf("the request names %d descriptors but %d came", len(req.FDs), len(fds))
	}
	for i, role := range req.FDs {
		unix.CloseOnExec(fds[i])
		if _, dup := files[role]; dup {
			closeRaw()
			return req, nil, fmt.Errorf("descriptor %q twice", role)
		}
		files[role] = os.NewFile(uintptr(fds[i]), role)
	}
	for _, role := range []string{supervisorexec.FDCwd, supervisorexec.FDStdin, supervisorexec.FDStdout, supervisorexec.FDStderr} {
		if files[role] == nil {
			files.close()
			return req, nil, fmt.Errorf("the request has no %s descriptor", role)
		}
	}
	return req, files, nil
}

// dirPath is the path of a directory the caller opened and passed, for
// the sandbox to mount. The kernel's name for the descriptor is checked by
// opening it again refusing every symlink (RESOLVE_NO_SYMLINKS,
// NO_MAGICLINKS) and comparing device and inode, so a path root uses is
// the very directory the user opened, reached with no link the user
// could have planted. With owner >= 0 the directory must belong to that
// uid.
func dirPath(f *os.File, owner int) (string, error) {
	var want unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &want); err != nil {
		return "", err
	}
	if want.Mode&unix.S_IFMT != unix.S_IFDIR {
		return "", errors.New("not a directory")
	}
	if owner >= 0 && int(want.Uid) != owner {
		return "", fmt.Errorf("owned by uid %d, not the caller", want.Uid)
	}
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		return "", err
	}
	if len(p) == 0 || p[0] != '/' {
		return "", fmt.Errorf("%q is not reachable from / (deleted, or in another mount namespace)", p)
	}
	fd, err := safepath.OpenNoSymlinks(p, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return "", fmt.Errorf("%s: %v", p, err)
	}
	defer unix.Close(fd)
	var got unix.Stat_t
	if err := unix.Fstat(fd, &got); err != nil {
		return "", err
	}
	if got.Dev != want.Dev || got.Ino != want.Ino {
		return "", fmt.Errorf("%s is no longer the directory that was opened", p)
	}
	return p, nil
}
