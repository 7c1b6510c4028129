package isolate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"

	"hermes-exec/internal/childwait"
	"hermes-exec/internal/oneshot"
	"hermes-exec/internal/phase"
	"hermes-exec/internal/proctree"
)

// runPipe runs the command with the caller's files as its own: no copying,
// so binary data, EOF and any fd-level behaviour (isatty, seeking, file
// locks) are exactly what the caller set up.
//
// Why syscall.ForkExec rather than os/exec or os.StartProcess: on Linux the
// first os.StartProcess in a process probes pidfd support by forking an
// extra child, and os/exec adds its own bookkeeping. It also leaves this
// goroutine in charge of reaping.
//
// This goroutine waits for the command itself, parked in the runtime's
// poller on the command's pidfd (package childwait): no SIGCHLD handed from
// the runtime's signal thread to a goroutine and on to this one, and,
// unlike a wait blocked in waitid, no P held, so the runtime's sysmon
// sleeps instead of polling while the command runs. The signals to relay are read by a goroutine of their own (relay),
// which signals the command only until this goroutine has seen it end; the
// wait leaves the command unreaped until then (WNOWAIT), so its pid (and
// process group) cannot belong to anyone else while it can still be
// signalled. Neither waits for the other.
func runPipe(ctx context.Context, path string, s Spec) (Status, error) {
	// Subscribed before the fork so that no signal to relay can slip in
	// between.
	sigs := make(chan os.Signal, 8)
	tt := terminalState{shared: true}
	if !s.ShareTerminal {
		tt = detachTerminal()
	}
	own := tt.newSession
	if own {
		notifyForwarded(sigs, append(append([]os.Signal(nil), pipeForwarded...), jobControl...))
	} else {
		notifyForwarded(sigs, pipeForwarded)
	}
	// Unsubscribing is a round trip to the runtime's signal thread per
	// signal. A one-shot wrapper exits soon after the command, so it
	// keeps the subscriptions: a signal arriving between the command's end
	// and the exit then no longer kills it before the outcome is recorded.
	if !oneshot.On() {
		defer signal.Stop(sigs)
	}

	phase.Mark("signals")
	// Locked after subscribing: each subscription is a round trip to the
	// runtime's signal thread, cheaper from an unlocked goroutine.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pidfd := -1
	pid, err := syscall.ForkExec(path, s.Args, &syscall.ProcAttr{
		Dir:   s.Dir,
		Env:   s.Env,
		Files: []uintptr{s.Stdin.Fd(), s.Stdout.Fd(), s.Stderr.Fd()},
		// No Setpgid: the command stays in the wrapper's process group,
		// so whoever kills that group (a terminal's ^C, an agent's
		// timeout) kills the command too, as with bash -c. Only when
		// the wrapper leads its session does the command get a session
		// of its own (see detachTerminal).
		Sys: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setsid: own, PidFD: &pidfd},
	})
	if err != nil {
		return Status{}, &StartError{Op: "exec", Path: path, Err: err}
	}
	phase.Mark("fork")
	r := &relay{pid: pid, target: pid, own: own, tt: tt, stop: make(chan struct{})}
	if own {
		r.target = -pid // the command's process group: bash and what it runs
	}
	go r.run(ctx, sigs)
	// Only a process that lives on tells the relay to return: waking it is
	// a thread hand-over, and once finished it signals nothing (a
	// one-shot wrapper exits soon after).
	if !oneshot.On() {
		defer close(r.stop)
	}

	if err := childwait.Ended(pid, pidfd); err != nil {
		return Status{}, err
	}
	killed := r.finish()
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return Status{}, fmt.Errorf("wait for command (pid %d): %w", pid, err)
		}
		break
	}
	st := statusOf(ws)
	if killed && st.Signal == int(syscall.SIGKILL) {
		st.Reason = CancelReason(ctx)
	}
	return st, nil
}

// relay passes the wrapper's signals on to a pipe-mode command, and kills
// it when ctx ends, until finish.
type relay struct {
	pid, target int
	own         bool
	tt          terminalState
	stop        chan struct{}

	mu     sync.Mutex
	ended  bool // the command has ended: signal it no more
	killed bool // killed because ctx ended
}

func (r *relay) run(ctx context.Context, sigs <-chan os.Signal) {
	done := ctx.Done()
	for {
		select {
		case sig := <-sigs:
			if !r.own && isKeyboardSignal(sig) && r.tt.foreground() {
				continue // the terminal signalled the command too
			}
			if r.own && isJobControl(sig) {
				// ^Z: stop the command, then the wrapper itself as
				// the terminal meant; SIGCONT (relayed) resumes both.
				if r.signal(r.target, sig.(syscall.Signal)) {
					_ = syscall.Kill(syscall.Getpid(), syscall.SIGSTOP)
				}
				continue
			}
			// A failure has no useful recovery.
			r.signal(r.target, sig.(syscall.Signal))
		case <-done:
			r.kill()
			done = nil
		case <-r.stop:
			return
		}
	}
}

// signal sends sig unless the command has ended, and reports whether it
// did.
func (r *relay) signal(target int, sig syscall.Signal) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return false
	}
	// The command is not reaped yet (see runPipe), so its pid and group
	// are still its own.
	_ = syscall.Kill(target, sig)
	return true
}

// kill ends the command because ctx ended, with everything it started:
// its descendants, and in a session of its own every process of that
// session (its process group included). Without a session of its own the
// command shares the caller's process group, which is not the wrapper's
// to kill.
func (r *relay) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return
	}
	// Not reaped yet (see runPipe): the pid and the session it leads
	// are still the command's.
	proctree.Kill(r.pid, r.own)
	r.killed = true
}

// finish stops the relaying before the command is reaped, and reports
// whether it was killed because ctx ended.
func (r *relay) finish() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = true
	return r.killed
}
