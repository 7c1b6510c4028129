package main

import (
	"context"
	"syscall"
	"unsafe"

	"hermes-exec/isolate"
)

// statusRecorder remembers how the last command ended, so that the wrapper
// can end the same way: bash -c 'CMD' execs CMD in its place, so whoever
// started the shell sees CMD's own death by a signal (Node's
// signal=SIGTERM, Python's returncode -15), not an exit status of 143.
type statusRecorder struct {
	isolate.Backend
	st  isolate.Status
	ran bool
}

func (r *statusRecorder) Run(ctx context.Context, s isolate.Spec) (isolate.Status, error) {
	st, err := r.Backend.Run(ctx, s)
	if err == nil {
		r.st, r.ran = st, true
	}
	return st, err
}

// dieLike ends the wrapper by the signal the command died of, when it
// did, so the caller sees a signal death; it returns only if that is not
// possible (the signal does not terminate by default), and then the caller
// exits with code (128+N) as bash would report it.
func dieLike(r *statusRecorder, code int) {
	if !r.ran || r.st.Signal == 0 || code != 128+r.st.Signal {
		return
	}
	sig := syscall.Signal(r.st.Signal)
	switch sig {
	case syscall.SIGCHLD, syscall.SIGURG, syscall.SIGWINCH, syscall.SIGCONT, syscall.SIGSTOP, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU:
		return // these do not end a process
	}
	if sig == syscall.SIGKILL {
		syscall.Kill(syscall.Getpid(), sig) // its disposition cannot be changed
		return
	}
	// The Go runtime handles most signals itself (SIGQUIT dumps
	// goroutines and exits 2, for one), so its handler is replaced by the
	// default disposition with a raw rt_sigaction: an all-zero struct
	// sigaction is SIG_DFL with no flags and an empty mask on every Linux
	// architecture. The signal is then unblocked and sent to this process;
	// POSIX delivers it before kill returns.
	var act [4]uint64
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0); e != 0 {
		return
	}
	set := uint64(1) << (uint(sig) - 1)
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 1 /* SIG_UNBLOCK */, uintptr(unsafe.Pointer(&set)), 0, 8, 0, 0)
	syscall.Kill(syscall.Getpid(), sig)
}
