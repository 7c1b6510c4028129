package pty

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Open allocates a new pseudo-terminal pair. The master is in Go's poller
// (non-blocking), so its reads honour deadlines and are interrupted by
// Close; the slave is not anyone's controlling terminal yet.
//
// creack/pty's Open is not used because it reaches the master through Fd,
// which turns the master back into a blocking descriptor: a read could then
// neither time out nor be cut short, and a background process holding the
// slave would keep the wrapper waiting.
func Open() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("pty: %w", err)
	}
	defer func() {
		if err != nil {
			master.Close()
		}
	}()
	var sfd int
	err = withFd(master, func(fd int) error {
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			return os.NewSyscallError("unlockpt", err)
		}
		// TIOCGPTPEER (Linux 4.13) opens the slave from the master
		// itself, with no window in which the /dev/pts name could be
		// swapped; older kernels fall back to the name.
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
		if errno == 0 {
			sfd = int(r)
			return nil
		}
		n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
		if err != nil {
			return os.NewSyscallError("ptsname", err)
		}
		sfd, err = unix.Open("/dev/pts/"+strconv.FormatUint(uint64(n), 10), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err != nil {
			return os.NewSyscallError("open pts", err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("pty: %w", err)
	}
	name := "/dev/pts/?"
	if p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(sfd)); err == nil {
		name = p
	}
	// The slave goes to the command as a plain blocking descriptor.
	return master, os.NewFile(uintptr(sfd), name), nil
}
