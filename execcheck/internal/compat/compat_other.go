//go:build !amd64

package compat

// Int80 is amd64 only; elsewhere it reports ENOSYS.
func Int80(nr, a1, a2, a3 uint32) int32 { return -38 }
