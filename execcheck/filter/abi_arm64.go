package filter

import "golang.org/x/sys/unix"

// Native lists the system call tables of an arm64 kernel: the 64-bit table
// and the 32-bit ARM compat table. chroot, pivot_root, setns, clone,
// unshare and clone3 are 51, 41, 268, 220, 97, 435 (arm64) and 61, 218,
// 375, 120, 337, 435 (arm).
var Native = []ABI{
	{Name: "aarch64", Arch: unix.AUDIT_ARCH_AARCH64, Exec: []uint32{221, 281}, Execveat: []uint32{281}, PtrSize: 8,
		Moves: []uint32{51, 41, 268}, NewNS: []uint32{220, 97}, Clone3: []uint32{435}},
	{Name: "arm", Arch: unix.AUDIT_ARCH_ARM, Exec: []uint32{11, 387}, Execveat: []uint32{387}, PtrSize: 4,
		Moves: []uint32{61, 218, 375}, NewNS: []uint32{120, 337}, Clone3: []uint32{435}},
}

// PtrSizeFor is the argv pointer size of a call.
func PtrSizeFor(a ABI, nr int32) int { return a.PtrSize }
