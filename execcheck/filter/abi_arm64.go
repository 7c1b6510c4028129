package filter

import "golang.org/x/sys/unix"

// Native lists the system call tables of an arm64 kernel: the 64-bit table
// and the 32-bit ARM compat table.
var Native = []ABI{
	{Name: "aarch64", Arch: unix.AUDIT_ARCH_AARCH64, Exec: []uint32{221, 281}, Execveat: []uint32{281}, PtrSize: 8},
	{Name: "arm", Arch: unix.AUDIT_ARCH_ARM, Exec: []uint32{11, 387}, Execveat: []uint32{387}, PtrSize: 4},
}

// PtrSizeFor is the argv pointer size of a call.
func PtrSizeFor(a ABI, nr int32) int { return a.PtrSize }
