package filter

import "golang.org/x/sys/unix"

// Native lists the system call tables of an x86_64 kernel. x32 calls share
// the 64-bit arch value and set bit 30 of the number; their execve and
// execveat are 520 and 545 (the 64-bit 59 and 322 are trapped too with the
// bit set, in case a kernel ever routes them). i386 programs (int 0x80,
// sysenter) have their own arch and numbers. x32 shares the 64-bit numbers
// of chroot (161), pivot_root (155), setns (308), clone (56), unshare (272)
// and clone3 (435); i386's are 61, 217, 346, 120, 310 and 435.
var Native = []ABI{
	{Name: "x86_64", Arch: unix.AUDIT_ARCH_X86_64, Mask: ^uint32(x32Bit),
		Exec: []uint32{59, 322, 520, 545}, Execveat: []uint32{322, 545}, PtrSize: 8,
		Moves: []uint32{161, 155, 308}, NewNS: []uint32{56, 272}, Clone3: []uint32{435}},
	{Name: "i386", Arch: unix.AUDIT_ARCH_I386,
		Exec: []uint32{11, 358}, Execveat: []uint32{358}, PtrSize: 4,
		Moves: []uint32{61, 217, 346}, NewNS: []uint32{120, 310}, Clone3: []uint32{435}},
}

// PtrSizeFor is the argv pointer size of a call: x32 programs are 64-bit
// processes with 32-bit pointers.
func PtrSizeFor(a ABI, nr int32) int {
	if a.Arch == unix.AUDIT_ARCH_X86_64 && uint32(nr)&x32Bit != 0 {
		return 4
	}
	return a.PtrSize
}
