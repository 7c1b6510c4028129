package compat

// Int80 makes an i386 system call: int 0x80 with eax=nr, ebx, ecx, edx.
// It returns eax (a negative errno on failure). Pointers must be below 4 GiB.
//
//go:noescape
func Int80(nr, a1, a2, a3 uint32) int32
