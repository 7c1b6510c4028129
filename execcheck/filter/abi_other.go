//go:build !amd64 && !arm64

package filter

// Native is empty where the system call tables are not known: Install
// then fails and exec checks refuse to run commands (fail closed).
var Native []ABI

// PtrSizeFor is the argv pointer size of a call.
func PtrSizeFor(a ABI, nr int32) int { return a.PtrSize }
