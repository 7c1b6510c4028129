package filter

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// run interprets prog (the instructions Program emits) on one call, as the
// kernel would, and returns the action.
func run(t *testing.T, prog []unix.SockFilter, arch, nr uint32, arg0 uint64) uint32 {
	t.Helper()
	data := make([]byte, 64)
	binary.LittleEndian.PutUint32(data[offNr:], nr)
	binary.LittleEndian.PutUint32(data[offArch:], arch)
	binary.LittleEndian.PutUint64(data[offArg0:], arg0)
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		ins := prog[pc]
		switch ins.Code {
		case bpfLdWAbs:
			acc = binary.LittleEndian.Uint32(data[ins.K:])
		case bpfAndK:
			acc &= ins.K
		case bpfJeqK:
			if acc == ins.K {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		case bpfJsetK:
			if acc&ins.K != 0 {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		case bpfRetK:
			return ins.K
		default:
			t.Fatalf("instruction %d: unknown code %#x", pc, ins.Code)
		}
	}
	t.Fatal("the program ran off its end")
	return 0
}

// What the filter does with each kind of call, on every table: execs and
// the calls that change a process's view of the file system go to the
// supervisor, clone3 fails with ENOSYS, clone and unshare only with
// CLONE_NEWNS are sent, everything else runs, an unknown table is killed.
func TestProgramActions(t *testing.T) {
	if len(Native) == 0 {
		t.Skip("no system call tables on this architecture")
	}
	prog := Program(Native)
	const notify, allow, enosys = unix.SECCOMP_RET_USER_NOTIF, unix.SECCOMP_RET_ALLOW, unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	for _, a := range Native {
		variants := []uint32{0}
		if a.Mask != 0 {
			variants = append(variants, ^a.Mask) // x32: the same numbers with the x32 bit
		}
		for _, bit := range variants {
			for _, nr := range a.Exec {
				if got := run(t, prog, a.Arch, nr|bit, 0); got != notify {
					t.Errorf("%s %#x exec %d: %#x, want notify", a.Name, bit, nr, got)
				}
			}
			for _, nr := range a.Moves {
				if got := run(t, prog, a.Arch, nr|bit, 0); got != notify {
					t.Errorf("%s %#x move %d: %#x, want notify", a.Name, bit, nr, got)
				}
			}
			for _, nr := range a.Clone3 {
				if got := run(t, prog, a.Arch, nr|bit, 0); got != enosys {
					t.Errorf("%s %#x clone3 %d: %#x, want ENOSYS", a.Name, bit, nr, got)
				}
			}
			for _, nr := range a.NewNS {
				// A fork (SIGCHLD) and a thread run; a new mount
				// namespace, alone or with others, is sent (the
				// high half of the argument is not looked at, and
				// holds no flag clone or unshare takes).
				for _, fl := range []uint64{uint64(unix.SIGCHLD), unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_THREAD, 0xffffffff00000000} {
					if got := run(t, prog, a.Arch, nr|bit, fl); got != allow {
						t.Errorf("%s %#x %d flags %#x: %#x, want allow", a.Name, bit, nr, fl, got)
					}
				}
				for _, fl := range []uint64{unix.CLONE_NEWNS, unix.CLONE_NEWNS | unix.CLONE_NEWUSER | uint64(unix.SIGCHLD)} {
					if got := run(t, prog, a.Arch, nr|bit, fl); got != notify {
						t.Errorf("%s %#x %d flags %#x: %#x, want notify", a.Name, bit, nr, fl, got)
					}
				}
			}
			if got := run(t, prog, a.Arch, 39|bit, unix.CLONE_NEWNS); got != allow { // an everyday call
				t.Errorf("%s %#x call 39: %#x, want allow", a.Name, bit, got)
			}
		}
	}
	if got := run(t, prog, 0x12345678, 59, 0); got != unix.SECCOMP_RET_KILL_PROCESS {
		t.Errorf("unknown table: %#x, want kill", got)
	}
}
