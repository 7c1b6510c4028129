package isolate

import (
	"context"
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// pidfdOpen is unix.PidfdOpen; tests replace it to exercise the fallback
// for kernels without pidfds.
var pidfdOpen = unix.PidfdOpen

// relay passes the wrapper's signals, and SIGKILL when ctx ends, to a
// pipe-mode command from its own goroutine.
type relay struct {
	pid    int
	pidfd  int // -1 without pidfd support: signals go by pid
	quit   chan struct{}
	done   chan struct{}
	killed atomic.Bool // SIGKILL sent because ctx ended
}

func startRelay(ctx context.Context, pid int, sigs <-chan os.Signal) *relay {
	r := &relay{pid: pid, pidfd: -1, quit: make(chan struct{}), done: make(chan struct{})}
	// pid is our unreaped child here, so the pidfd is surely its.
	if fd, err := pidfdOpen(pid, 0); err == nil {
		r.pidfd = fd
	}
	go r.loop(ctx, sigs)
	return r
}

// safeAfterReap reports whether the relay may outlive the command's reaping
// (it signals through a pidfd).
func (r *relay) safeAfterReap() bool { return r.pidfd >= 0 }

func (r *relay) loop(ctx context.Context, sigs <-chan os.Signal) {
	defer close(r.done)
	if r.pidfd >= 0 {
		// The relay owns the pidfd: closing it elsewhere while a send
		// may be under way could aim the send at a recycled fd.
		defer unix.Close(r.pidfd)
	}
	ctxDone := ctx.Done()
	for {
		select {
		case sig := <-sigs:
			if isKeyboardSignal(sig) && foregroundOnTerminal() {
				continue // the terminal signalled the command too
			}
			r.send(sig.(syscall.Signal))
		case <-ctxDone:
			r.killed.Store(true)
			r.send(syscall.SIGKILL)
			ctxDone = nil
		case <-r.quit:
			return
		}
	}
}

// send delivers sig; failure (the command has ended) needs no handling.
func (r *relay) send(sig syscall.Signal) {
	if r.pidfd >= 0 {
		_ = unix.PidfdSendSignal(r.pidfd, sig, nil, 0)
		return
	}
	_ = syscall.Kill(r.pid, sig)
}

// stop ends the relay without waiting for it.
func (r *relay) stop() {
	select {
	case <-r.quit:
	default:
		close(r.quit)
	}
}

// stopAndWait ends the relay and waits until it can send nothing more.
func (r *relay) stopAndWait() {
	r.stop()
	<-r.done
}
