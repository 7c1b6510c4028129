// Package filter builds and installs the seccomp filter of exec checks: every
// execve and execveat, through every system call entry point the CPU has
// (on x86_64: the 64-bit, x32 and i386 tables), is sent to a user-space
// supervisor (SECCOMP_RET_USER_NOTIF); so are the calls that can give a
// process another view of the file system than the supervisor's (chroot,
// pivot_root, setns, and clone or unshare with CLONE_NEWNS), so that the
// supervisor knows when a path must be looked up through /proc/PID/root;
// clone3, whose flags a filter cannot read, fails with ENOSYS (glibc and
// others then use clone); every other system call is allowed.
//
// The program is written as raw sock_filter instructions so that the static
// wrapper needs neither cgo nor libseccomp.
package filter

import (
	"errors"
	"fmt"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ABI is one system call table the kernel accepts on this machine.
type ABI struct {
	Name string
	// Arch is seccomp_data.arch for this table (AUDIT_ARCH_*).
	Arch uint32
	// Mask is applied to the system call number before comparing; it
	// clears the x32 bit, which shares AUDIT_ARCH_X86_64 with the 64-bit
	// table. Zero means no mask.
	Mask uint32
	// Exec are the numbers (after Mask) of execve and execveat in this
	// table, and of any other entry that executes a program.
	Exec []uint32
	// Execveat is the number (after Mask) of execveat, whose arguments
	// are laid out differently.
	Execveat []uint32
	// Moves are the calls that change the caller's root or mount
	// namespace whatever their arguments (chroot, pivot_root, setns):
	// sent to the supervisor, which answers them (they are not execs).
	Moves []uint32
	// NewNS are the calls whose first argument is clone flags (clone,
	// unshare): sent to the supervisor when CLONE_NEWNS is among them.
	NewNS []uint32
	// Clone3 is clone3, whose flags are in memory a filter cannot read:
	// it fails with ENOSYS, and callers fall back to clone.
	Clone3 []uint32
	// PtrSize is the size of a pointer in this ABI's argv array.
	PtrSize int
}

// x32Bit marks an x32 system call number (__X32_SYSCALL_BIT).
const x32Bit = 0x40000000

// Offsets of the seccomp_data fields the program loads (the low 32 bits
// of the first argument: the kernel is little-endian on every table
// listed, and CLONE_NEWNS is a low bit).
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16
)

// cloneNewNS is CLONE_NEWNS.
const cloneNewNS = 0x00020000

// BPF opcodes (linux/bpf_common.h).
const (
	bpfLdWAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	bpfJeqK   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	bpfJsetK  = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	bpfAndK   = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	bpfRetK   = unix.BPF_RET | unix.BPF_K
)

// Program returns the filter for the given system call tables. A system
// call from any other table kills the process: it cannot happen on a
// kernel whose tables are all listed, and if it does, an unchecked exec
// must not.
func Program(abis []ABI) []unix.SockFilter {
	var prog []unix.SockFilter
	// Forward jumps to the shared returns at the end, patched below.
	var notifyJumps, enosysJumps []int
	jumpTo := func(list *[]int, nr uint32) {
		*list = append(*list, len(prog))
		prog = append(prog, unix.SockFilter{Code: bpfJeqK, K: nr})
	}
	for _, a := range abis {
		// if arch != a.Arch goto next-arch (patched below)
		archCheck := len(prog)
		prog = append(prog,
			unix.SockFilter{Code: bpfLdWAbs, K: offArch},
			unix.SockFilter{Code: bpfJeqK, K: a.Arch},
		)
		prog = append(prog, unix.SockFilter{Code: bpfLdWAbs, K: offNr})
		if a.Mask != 0 {
			prog = append(prog, unix.SockFilter{Code: bpfAndK, K: a.Mask})
		}
		for _, nr := range a.Exec {
			jumpTo(&notifyJumps, nr)
		}
		for _, nr := range a.Moves {
			jumpTo(&notifyJumps, nr)
		}
		for _, nr := range a.Clone3 {
			jumpTo(&enosysJumps, nr)
		}
		// if nr is clone or unshare goto flags (patched below)
		var flagJumps []int
		for _, nr := range a.NewNS {
			flagJumps = append(flagJumps, len(prog))
			prog = append(prog, unix.SockFilter{Code: bpfJeqK, K: nr})
		}
		prog = append(prog, unix.SockFilter{Code: bpfRetK, K: unix.SECCOMP_RET_ALLOW})
		if len(flagJumps) > 0 {
			// flags: if arg0 & CLONE_NEWNS goto notify; else allow
			// (BPF jumps only forward, hence a second allow).
			flags := len(prog)
			prog = append(prog, unix.SockFilter{Code: bpfLdWAbs, K: offArg0})
			notifyJumps = append(notifyJumps, len(prog))
			prog = append(prog,
				unix.SockFilter{Code: bpfJsetK, K: cloneNewNS},
				unix.SockFilter{Code: bpfRetK, K: unix.SECCOMP_RET_ALLOW})
			for _, at := range flagJumps {
				prog[at].Jt = uint8(flags - (at + 1))
			}
		}
		// Jump offsets count from the instruction after the jump.
		prog[archCheck+1].Jf = uint8(len(prog) - (archCheck + 2))
	}
	prog = append(prog, unix.SockFilter{Code: bpfRetK, K: unix.SECCOMP_RET_KILL_PROCESS})
	enosys := len(prog)
	prog = append(prog, unix.SockFilter{Code: bpfRetK, K: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)})
	notify := len(prog)
	prog = append(prog, unix.SockFilter{Code: bpfRetK, K: unix.SECCOMP_RET_USER_NOTIF})
	for _, at := range notifyJumps {
		prog[at].Jt = uint8(notify - (at + 1))
	}
	for _, at := range enosysJumps {
		prog[at].Jt = uint8(enosys - (at + 1))
	}
	return prog
}

// ABIFor returns the table matching a notification's arch, if any.
func ABIFor(arch uint32) (ABI, bool) {
	for _, a := range Native {
		if a.Arch == arch {
			return a, true
		}
	}
	return ABI{}, false
}

// IsExec reports whether nr (as seccomp reports it) executes a program in
// a; the filter sends the supervisor nothing else but the calls that
// change a process's view of the file system (Moves, NewNS).
func (a ABI) IsExec(nr int32) bool { return slices.Contains(a.Exec, a.masked(nr)) }

// IsExecveat reports whether nr (as seccomp reports it) is execveat in a.
func (a ABI) IsExecveat(nr int32) bool { return slices.Contains(a.Execveat, a.masked(nr)) }

// masked is nr as the tables hold it: with Mask applied (x32's bit).
func (a ABI) masked(nr int32) uint32 {
	n := uint32(nr)
	if a.Mask != 0 {
		n &= a.Mask
	}
	return n
}

// ErrBusy is returned by Install when the calling thread already runs
// under a filter with a listener: the kernel allows one per filter chain,
// which is also why a command cannot install a listener of its own and
// answer for its children.
var ErrBusy = errors.New("a seccomp listener already exists for this process")

// Install loads the program for this machine on the calling thread (not
// the whole process: the caller locks its thread and executes the command
// from it) and returns the listener file descriptor (close-on-exec).
//
// Without CAP_SYS_ADMIN the kernel requires no_new_privs first; Install
// sets it only when the first attempt is refused, so root keeps set-uid
// programs working.
func Install() (fd int, nnp bool, err error) {
	if len(Native) == 0 {
		return -1, false, errors.New("exec checks do not know this CPU's system call tables")
	}
	prog := Program(Native)
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	load := func() (int, error) {
		r, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
			unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&fprog)))
		if e != 0 {
			return -1, e
		}
		return int(r), nil
	}
	fd, err = load()
	if errors.Is(err, unix.EACCES) {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return -1, false, fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
		}
		nnp = true
		fd, err = load()
	}
	if errors.Is(err, unix.EBUSY) {
		return -1, nnp, ErrBusy
	}
	if err != nil {
		return -1, nnp, fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER): %w", err)
	}
	return fd, nnp, nil
}
