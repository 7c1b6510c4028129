package isolate

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A command must not push input into the caller's terminal (TIOCSTI, or
// TIOCLINUX's paste on a virtual console): the caller's shell would run
// that input after hermes-exec exits, unchecked. Without CAP_SYS_ADMIN the
// kernel allows TIOCSTI only on the caller's own controlling terminal, and
// the host backend gives every command a terminal of its own (PTY mode) or
// none (pipe mode: a new session). With CAP_SYS_ADMIN (root) TIOCSTI works
// on any terminal descriptor, so a seccomp filter refuses both ioctls with
// EPERM. Root needs no no_new_privs for it, so setuid programs such as sudo
// keep working.

// needsTIOCSTIFilter reports whether this process holds CAP_SYS_ADMIN in
// its effective set, the capability that lifts TIOCSTI's restriction.
func needsTIOCSTIFilter() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return true // cannot tell: assume the worst
	}
	return data[unix.CAP_SYS_ADMIN/32].Effective&(1<<(unix.CAP_SYS_ADMIN%32)) != 0
}

var (
	filterOnce sync.Once
	filterErr  error
)

// denyTerminalInjection installs the filter once for the whole process
// (every thread, SECCOMP_FILTER_FLAG_TSYNC), so that whichever thread
// forks the command passes it on. It only refuses TIOCSTI and TIOCLINUX,
// which hermes-exec itself never uses. It does nothing for a process
// without CAP_SYS_ADMIN.
func denyTerminalInjection() error {
	filterOnce.Do(func() {
		if !needsTIOCSTIFilter() {
			return
		}
		prog, err := tiocstiFilter()
		if err != nil {
			filterErr = err
			return
		}
		fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
		_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
			unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
		runtime.KeepAlive(prog)
		if errno != 0 {
			filterErr = fmt.Errorf("installing the seccomp filter against terminal injection (TIOCSTI): %w", errno)
		}
	})
	return filterErr
}

// abi is one system call ABI the kernel may run this process's children
// in: its audit architecture and the numbers ioctl has there.
type abi struct {
	arch  uint32
	ioctl []uint32
}

func abis() ([]abi, error) {
	switch runtime.GOARCH {
	case "amd64":
		const x32 = 0x40000000
		return []abi{
			{unix.AUDIT_ARCH_X86_64, []uint32{16, x32 | 16, x32 | 514}}, // native, and the x32 ABI's
			{unix.AUDIT_ARCH_I386, []uint32{54}},
		}, nil
	case "arm64":
		return []abi{
			{unix.AUDIT_ARCH_AARCH64, []uint32{29}},
			{unix.AUDIT_ARCH_ARM, []uint32{54}},
		}, nil
	}
	return nil, fmt.Errorf("no seccomp filter against terminal injection for %s: refusing to run commands with CAP_SYS_ADMIN", runtime.GOARCH)
}

// tiocstiFilter is the BPF program: for ioctl(fd, TIOCSTI or TIOCLINUX,
// ...) in any ABI, fail with EPERM; allow everything else. The request is
// compared on its low 32 bits, all the kernel reads of it.
//
// One block per ABI: load the architecture; on a mismatch skip the block;
// else load the system call number and jump to the argument check on any
// of the ABI's ioctl numbers, falling through to the next block otherwise.
// After the blocks: allow. Then the check.
func tiocstiFilter() ([]unix.SockFilter, error) {
	list, err := abis()
	if err != nil {
		return nil, err
	}
	const (
		offNr   = 0
		offArch = 4
		offArg1 = 16 + 8 // args[1]: its low word, on a little-endian machine
		ld      = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		ret     = unix.BPF_RET | unix.BPF_K
		jeqK    = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		allow   = unix.SECCOMP_RET_ALLOW
		deny    = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	)
	checkAt := 0
	for _, a := range list {
		checkAt += 3 + len(a.ioctl)
	}
	checkAt++ // the "allow" after the blocks
	var prog []unix.SockFilter
	for _, a := range list {
		prog = append(prog,
			unix.SockFilter{Code: ld, K: offArch},
			unix.SockFilter{Code: jeqK, K: a.arch, Jt: 0, Jf: uint8(1 + len(a.ioctl))},
			unix.SockFilter{Code: ld, K: offNr})
		for _, n := range a.ioctl {
			at := len(prog)
			prog = append(prog, unix.SockFilter{Code: jeqK, K: n, Jt: uint8(checkAt - at - 1)})
		}
	}
	prog = append(prog,
		unix.SockFilter{Code: ret, K: allow},
		unix.SockFilter{Code: ld, K: offArg1},
		unix.SockFilter{Code: jeqK, K: unix.TIOCSTI, Jt: 2},
		unix.SockFilter{Code: jeqK, K: unix.TIOCLINUX, Jt: 1},
		unix.SockFilter{Code: ret, K: allow},
		unix.SockFilter{Code: ret, K: deny},
	)
	return prog, nil
}
