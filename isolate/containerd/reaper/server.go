package reaper

import (
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"hermes-exec/isolate/execwire"
)

// A session's reaper also starts commands itself, for wrappers that ask
// over the session's exec socket (isolate/execwire: the embedded sandbox's
// protocol and server): it is pid 1 inside every namespace, under the
// seccomp filter, with no capabilities and no_new_privs, so what it forks
// is confined as a task.Exec process is, without the round trip through
// containerd, its shim and a runc exec per command.
//
// The socket lives in the container's host-side state directory, which
// nothing inside can reach. The helper makes it and hands the listening
// descriptor over at the session's start: the reaper connects to HandName
// in the lifeline directory (mounted read-only, which connect(2) does not
// mind) and receives it there. containerd itself passes no descriptors.
const HandName = "hand.sock"

// takeListener receives the exec socket from the helper.
func takeListener(hand string) (*net.UnixListener, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: hand, Net: "unix"})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := c.ReadMsgUnix(make([]byte, 1), oob)
	if err != nil {
		return nil, err
	}
	fds := execwire.ReceivedFds(oob[:oobn])
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("no socket handed over")
	}
	f := os.NewFile(uintptr(fds[0]), "exec.sock")
	defer f.Close()
	l, err := net.FileListener(f)
	if err != nil {
		return nil, err
	}
	ul, ok := l.(*net.UnixListener)
	if !ok {
		l.Close()
		return nil, fmt.Errorf("not a unix socket")
	}
	return ul, nil
}
