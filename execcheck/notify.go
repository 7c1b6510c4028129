package execcheck

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// notif is struct seccomp_notif (80 bytes on every Linux architecture).
type notif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

// notifResp is struct seccomp_notif_resp (24 bytes).
type notifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

func ioctl(fd int, req uintptr, p unsafe.Pointer) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(p))
	if e != 0 {
		return e
	}
	return nil
}

// recv takes the next notification. The kernel requires a zeroed buffer.
// EINTR (a signal, such as Go's preemption signal, reached this thread) and
// ENOENT (the trapped task was interrupted or died between poll and recv:
// Go's own preemption signals do this to traced Go programs all the time)
// are not errors of the listener: the caller retries.
func recv(fd int, n *notif) error {
	*n = notif{}
	return ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(n))
}

// retryable reports whether a recv error means "try again".
func retryable(err error) bool {
	return errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EAGAIN)
}

// idValid reports whether the notification is still pending: the task has
// not died or been interrupted, so what was read from its memory belongs
// to the exec that is waiting (its pid was not reused meanwhile).
func idValid(fd int, id uint64) bool {
	return ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id)) == nil
}

// errGone: the notification is no longer pending. The task died, or a
// signal interrupted its call, which the kernel restarts (and traps again).
var errGone = errors.New("the trapped call is gone")

// respondContinue lets the system call run as the program made it.
func respondContinue(fd int, id uint64) error {
	r := notifResp{ID: id, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	return send(fd, &r)
}

// respondErrno fails the system call with errno (the exec returns -1).
func respondErrno(fd int, id uint64, errno unix.Errno) error {
	r := notifResp{ID: id, Error: -int32(errno)}
	return send(fd, &r)
}

func send(fd int, r *notifResp) error {
	for {
		err := ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(r))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.ENOENT) {
			return errGone
		}
		return err
	}
}

// notifSetFlags is SECCOMP_IOCTL_NOTIF_SET_FLAGS, _IOW('!', 4, __u64)
// (Linux 6.6), which x/sys does not name.
const notifSetFlags = 0x40082104

// setSyncWakeUp turns SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP on or off. While
// it is on, the kernel wakes the supervisor on the CPU of the task that
// trapped (a notification), and an answered task on the CPU of the
// supervisor that answered: a hand-over between two tasks on one CPU
// instead of a wake-up through the scheduler. An older kernel refuses it;
// nothing changes but the cost.
func setSyncWakeUp(fd int, on bool) error {
	var flags uintptr
	if on {
		flags = unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
	}
	// The flags are the argument itself, not a pointer to them.
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), notifSetFlags, flags)
	if e != 0 {
		return e
	}
	return nil
}
