package isolate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"

	"hermes-exec/internal/oneshot"
	"hermes-exec/internal/phase"
	"syscall"
)

// runPipe runs the command with the caller's files as its own: no copying,
// so binary data, EOF and any fd-level behaviour (isatty, seeking, file
// locks) are exactly what the caller set up.
//
// Why syscall.ForkExec rather than os/exec or os.StartProcess: on Linux the
// first os.StartProcess in a process probes pidfd support by forking an
// extra child, and os/exec adds its own bookkeeping. It also leaves this
// goroutine in charge of reaping, which the loop below relies on.
//
// The wait is driven by SIGCHLD, received on a channel in this goroutine
// together with the signals to relay and ctx's end: no second goroutine and
// no hand-over between goroutines on a locked thread (a variant whose relay
// goroutine had to be stopped before reaping measured 2-3 times slower per
// command; one relaying through a pidfd measured the same as this one but
// needs a fallback for kernels without pidfds). Signals are only ever sent
// before this goroutine reaps the command, while its pid cannot have been
// reused.
func runPipe(ctx context.Context, path string, s Spec) (Status, error) {
	// Subscribed before the fork so that neither a signal to relay nor
	// the command's SIGCHLD can slip in between. SIGCHLD has its own
	// one-slot channel: os/signal drops a signal when the channel is full,
	// and a dropped SIGCHLD is harmless only while another one is still
	// queued (handling it polls the command, which has ended by then); a
	// burst of relayed signals sharing the channel could swallow it and
	// leave the wrapper waiting forever.
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
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	// Unsubscribing is a round trip to the runtime's signal thread per
	// signal. A one-shot wrapper exits soon after the command, so it
	// keeps the subscriptions: a signal arriving between the command's end
	// and the exit then no longer kills it before the outcome is recorded.
	if !oneshot.On() {
		defer signal.Stop(sigs)
		defer signal.Stop(chld)
	}

	phase.Mark("signals")
	// Locked after subscribing: each subscription is a round trip to the
	// runtime's signal thread, cheaper from an unlocked goroutine.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pid, err := syscall.ForkExec(path, s.Args, &syscall.ProcAttr{
		Dir:   s.Dir,
		Env:   s.Env,
		Files: []uintptr{s.Stdin.Fd(), s.Stdout.Fd(), s.Stderr.Fd()},
		// No Setpgid: the command stays in the wrapper's process group,
		// so whoever kills that group (a terminal's ^C, an agent's
		// timeout) kills the command too, as with bash -c. Only when
		// the wrapper leads its session does the command get a session
		// of its own (see detachTerminal).
		Sys: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setsid: own},
	})
	if err != nil {
		return Status{}, &StartError{Op: "exec", Path: path, Err: err}
	}
	phase.Mark("fork")
	target := pid // whom relayed signals go to
	if own {
		target = -pid // the command's process group: bash and what it runs
	}

	done, killed := ctx.Done(), false
	for {
		select {
		case sig := <-sigs:
			if !own && isKeyboardSignal(sig) && tt.foreground() {
				continue // the terminal signalled the command too
			}
			if own && isJobControl(sig) {
				// ^Z: stop the command, then the wrapper itself as
				// the terminal meant; SIGCONT (relayed) resumes both.
				_ = syscall.Kill(target, sig.(syscall.Signal))
				_ = syscall.Kill(syscall.Getpid(), syscall.SIGSTOP)
				continue
			}
			// pid is not reaped yet, so it (and its group) is still
			// ours; a failure has no useful recovery.
			_ = syscall.Kill(target, sig.(syscall.Signal))
		case <-done:
			_ = syscall.Kill(pid, syscall.SIGKILL)
			done, killed = nil, true
		case <-chld:
			// The SIGCHLD may be another child's, or stand for
			// several: poll ours.
			var ws syscall.WaitStatus
			ended, err := reapIfEnded(pid, &ws)
			if err != nil {
				return Status{}, err
			}
			if ended {
				st := statusOf(ws)
				if killed && st.Signal == int(syscall.SIGKILL) {
					st.Reason = CancelReason(ctx)
				}
				return st, nil
			}
		}
	}
}

// reapIfEnded reaps pid if it has ended.
func reapIfEnded(pid int, ws *syscall.WaitStatus) (bool, error) {
	for {
		got, err := syscall.Wait4(pid, ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			// ECHILD: something else in this process reaped our
			// child (a wait for any pid); its status is lost.
			return false, fmt.Errorf("wait for command (pid %d): %w", pid, err)
		}
		return got == pid, nil
	}
}
