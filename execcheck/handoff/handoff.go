// Package handoff is how a seccomp listener reaches the wrapper that
// answers it: the host launcher and the sandbox helper each connect to the
// wrapper's socket, send the listener with a short message, and wait for
// the wrapper's one-byte acknowledgement that it is serving it; the
// wrapper checks who is on the other end before it takes anything.
// It needs only x/sys, so the static launcher and the cgo sandbox helper
// can both link it.
package handoff

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// Send connects to the wrapper's socket, sends msg with the listener fd,
// and returns once the wrapper acknowledged it. The caller closes fd: the
// wrapper holds its own copy now.
func Send(sock string, msg []byte, fd int) error {
	s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	if err := unix.Connect(s, &unix.SockaddrUnix{Name: sock}); err != nil {
		return fmt.Errorf("connecting to the wrapper: %w", err)
	}
	if err := unix.Sendmsg(s, msg, unix.UnixRights(fd), nil, 0); err != nil {
		return fmt.Errorf("handing the listener to the wrapper: %w", err)
	}
	var ack [1]byte
	for {
		n, err := unix.Read(s, ack[:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n != 1 {
			return fmt.Errorf("the wrapper did not take the listener (%v)", err)
		}
		return nil
	}
}

// Peer is the process on the other end of c, as the kernel recorded it
// when c was connected.
func Peer(c *net.UnixConn) (*unix.Ucred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) { cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) }); err != nil {
		return nil, err
	}
	return cred, credErr
}
