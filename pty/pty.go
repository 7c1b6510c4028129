// Package pty runs a command on a new pseudo-terminal connected to the
// caller's terminal, the way ssh -t or script(1) do: the command gets a
// terminal of its own (its own session, line discipline and size), while
// the caller's terminal is switched to raw mode so that every key, ^C
// included, reaches the command's terminal untouched.
package pty

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"syscall"

	"hermes-exec/internal/childwait"
	"hermes-exec/internal/oneshot"
	"hermes-exec/internal/phase"
	"hermes-exec/internal/proctree"

	"golang.org/x/sys/unix"
)

// forwarded are the signals relayed to the command's process groups. The
// wrapper must catch them anyway: dying from one would leave the caller's
// terminal in raw mode.
var forwarded = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2,
}

// Run runs cmd on a new pseudo-terminal wired to the caller's terminal:
// in is what the user types, out is where the command's output goes.
//
// The pty gets the size and settings of in (or of out when in is not a
// terminal), and in is put in raw mode until Run returns, on every path
// including panics and the forwarded signals. When in is not a terminal,
// its end is passed on as the pty's EOF character (^D).
//
// cmd runs as the leader of a new session whose controlling terminal is
// the pty; its stdin and stdout are the pty, and so is its stderr unless
// cmd.Stderr is already set. Other cmd.SysProcAttr fields (Pdeathsig,
// credentials) are kept.
//
// While cmd runs, SIGWINCH resizes the pty, SIGCONT re-applies raw mode
// (a shell may have reset the terminal while the wrapper was stopped), and
// SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are sent to cmd's
// process group and to the pty's foreground process group (an interactive
// shell runs its foreground job in a group of its own). When ctx ends, both
// groups, the rest of cmd's session and cmd's descendants get SIGKILL. After cmd exits, output still in the pty is copied
// out until every process holding the pty has closed it or it has been
// silent for a moment (a background process keeping the pty open does not
// keep Run waiting).
//
// The error is what cmd.Wait returned (nil or *exec.ExitError) once cmd
// has started; before that, the reason it could not start, which wraps
// cmd.Start's error. cmd.ProcessState tells the two apart.
func Run(ctx context.Context, cmd *exec.Cmd, in, out *os.File) error {
	if cmd.Process != nil {
		return errors.New("pty: command already started")
	}
	var attr syscall.SysProcAttr
	if cmd.SysProcAttr != nil {
		attr = *cmd.SysProcAttr
	}
	return run(ctx, in, out, &attr, process{
		start: func(slave *os.File, sys *syscall.SysProcAttr) (int, int, error) {
			cmd.Stdin, cmd.Stdout = slave, slave
			if cmd.Stderr == nil {
				cmd.Stderr = slave
			}
			cmd.SysProcAttr = sys
			if err := cmd.Start(); err != nil {
				return 0, -1, err
			}
			return cmd.Process.Pid, -1, nil
		},
		reap: func(_ int, exitedErr error) error {
			werr := cmd.Wait()
			if exitedErr != nil && cmd.ProcessState == nil {
				werr = exitedErr
			}
			return werr
		},
	})
}

// Proc is a command for RunProc: the program's path, argv, environment
// (nil is empty), working directory, its stderr (nil: the pty) and other
// process attributes (Pdeathsig, credentials; the session and controlling
// terminal are RunProc's).
type Proc struct {
	Path   string
	Args   []string
	Env    []string
	Dir    string
	Stderr *os.File
	Sys    *syscall.SysProcAttr
}

// RunProc is Run for a command given as a Proc: it is started with
// syscall.ForkExec rather than os/exec, whose first start in a process
// forks an extra child to probe pidfd support (a cost on every wrapped
// command, where each command is a process's first). It returns the
// command's wait status once it has been reaped; an error before that
// means it did not start (or could not be waited for).
func RunProc(ctx context.Context, p Proc, in, out *os.File) (syscall.WaitStatus, error) {
	var attr syscall.SysProcAttr
	if p.Sys != nil {
		attr = *p.Sys
	}
	env := p.Env
	if env == nil {
		env = []string{}
	}
	var ws syscall.WaitStatus
	reaped := false
	err := run(ctx, in, out, &attr, process{
		start: func(slave *os.File, sys *syscall.SysProcAttr) (int, int, error) {
			stderr := p.Stderr
			if stderr == nil {
				stderr = slave
			}
			pidfd := -1
			sys.PidFD = &pidfd // for childwait.Ended
			pid, err := syscall.ForkExec(p.Path, p.Args, &syscall.ProcAttr{
				Dir:   p.Dir,
				Env:   env,
				Files: []uintptr{slave.Fd(), slave.Fd(), stderr.Fd()},
				Sys:   sys,
			})
			return pid, pidfd, err
		},
		reap: func(pid int, exitedErr error) error {
			for {
				_, err := syscall.Wait4(pid, &ws, 0, nil)
				if errors.Is(err, syscall.EINTR) {
					continue
				}
				if err != nil {
					return fmt.Errorf("pty: wait: %w", err)
				}
				reaped = true
				return nil
			}
		},
	})
	if err == nil && !reaped {
		err = errors.New("pty: command did not run")
	}
	return ws, err
}

// process starts and reaps the command for run: os/exec's way (Run) or
// syscall.ForkExec's (RunProc).
type process struct {
	// start starts the command with slave as its stdin and stdout (and
	// stderr, unless the command has its own) and sys as its attributes.
	// pidfd is the command's pidfd, or -1 (then the wait blocks this
	// thread in waitid; see package childwait).
	start func(slave *os.File, sys *syscall.SysProcAttr) (pid, pidfd int, err error)
	// reap reaps the command, which has exited (exitedErr is the error
	// of waiting for that, if any).
	reap func(pid int, exitedErr error) error
}

func run(ctx context.Context, in, out *os.File, attr *syscall.SysProcAttr, proc process) error {
	master, slave, err := Open()
	if err != nil {
		return err
	}
	defer master.Close()
	slaveOpen := true
	defer func() {
		if slaveOpen {
			slave.Close()
		}
	}()

	// outer is the terminal whose size and settings the pty copies;
	// saved is in's own settings, to restore, when in is a terminal.
	var outer *os.File
	saved, err := getTermios(in)
	switch {
	case err == nil:
		outer = in
	case IsTerminal(out):
		saved, outer = nil, out
	default:
		saved = nil
	}
	if outer != nil {
		// Best effort: a command on an 80x24 terminal with default
		// settings still works.
		_ = copySize(outer, master)
		if t, err := getTermios(outer); err == nil {
			_ = setTermios(slave, t)
		}
	}
	var eof byte
	if saved == nil {
		eof = 4 // ^D, the default VEOF
		if t, err := getTermios(slave); err == nil {
			eof = t.Cc[unix.VEOF]
		}
	}

	attr.Setsid, attr.Setctty, attr.Ctty = true, true, 0 // Ctty: the child's fd 0
	attr.Setpgid, attr.Foreground, attr.Noctty = false, false, false

	// Subscribed before raw mode and start, so no signal between them can
	// kill the wrapper with the terminal left raw.
	sigs := make(chan os.Signal, 8)
	notifyEnabled(sigs, forwarded)
	signal.Notify(sigs, syscall.SIGWINCH, syscall.SIGCONT)
	if !oneshot.On() { // see host_pipe.go in package isolate
		defer signal.Stop(sigs)
	}

	input, err := newInputPump()
	if err != nil {
		return err
	}
	defer input.close()

	var raw *unix.Termios
	if saved != nil {
		raw = rawTermios(*saved)
		if err := setTermios(in, raw); err != nil {
			return fmt.Errorf("pty: raw mode: %w", err)
		}
		defer setTermios(in, saved)
	}

	// A command started with Pdeathsig (isolate's host backend asks for
	// it) is killed when the thread that forked it ends, and Go ends a
	// thread whose locked goroutine returns: so this goroutine holds its
	// thread until the command is reaped. Locked only now: subscribing to
	// signals from a locked thread costs more.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	phase.Mark("pty-setup")
	pid, pidfd, err := proc.start(slave, attr)
	if err != nil {
		return fmt.Errorf("pty: start: %w", err)
	}
	phase.Mark("pty-start")
	// Only the command may hold the slave: when it (and whatever it left
	// behind) closes it, the master reads EIO and the output ends.
	slave.Close()
	slaveOpen = false

	output := startOutput(master, out)
	input.start(in, master, eof)
	// This goroutine waits for the command itself, parked on its pidfd
	// (package childwait: no P held, so the runtime's sysmon can sleep
	// while the command runs); the signals are handled by a goroutine of
	// their own (relay), which stops before the command is reaped: until
	// then its pid, and so the group id, cannot belong to anyone else.
	r := &relay{pid: pid, master: master, outer: outer, in: in, raw: raw, stop: make(chan struct{})}
	go r.run(ctx, sigs)
	// Only a process that lives on tells the relay to return: waking it is
	// a thread hand-over, and once finished it signals nothing (a
	// one-shot wrapper exits soon after).
	if !oneshot.On() {
		defer close(r.stop)
	}
	err = childwait.Ended(pid, pidfd)
	r.finish()
	phase.Mark("pty-exited")
	werr := proc.reap(pid, err)
	output.drain()
	input.stop(master)
	phase.Mark("pty-drained")
	return werr
}

// relay handles the wrapper's signals while the command runs: it passes
// them on to the command's process groups, follows the window size, puts
// the terminal back in raw mode after a stop, and kills the command when
// ctx ends. It does nothing once finish has been called.
type relay struct {
	pid       int
	master    *os.File
	outer, in *os.File
	raw       *unix.Termios
	stop      chan struct{}

	mu    sync.Mutex
	ended bool
}

func (r *relay) run(ctx context.Context, sigs <-chan os.Signal) {
	done := ctx.Done()
	for {
		select {
		case sig := <-sigs:
			r.handle(sig.(syscall.Signal))
		case <-done:
			r.kill()
			done = nil
		case <-r.stop:
			return
		}
	}
}

func (r *relay) handle(sig syscall.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return // the command is gone, and the terminal is being restored
	}
	switch sig {
	case syscall.SIGWINCH:
		if r.outer != nil {
			_ = copySize(r.outer, r.master)
		}
	case syscall.SIGCONT:
		if r.raw != nil {
			_ = setTermios(r.in, r.raw)
		}
		if r.outer != nil {
			_ = copySize(r.outer, r.master)
		}
	default:
		signalGroups(r.pid, r.master, sig)
	}
}

// kill ends the command because ctx ended: every process of its session
// (the foreground job a shell put in a group of its own, background jobs
// whose parent is gone) and every descendant that moved to a session of
// its own. The command leads that session and is not reaped yet, so the
// session id is still its own.
func (r *relay) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return
	}
	// The tree first: killing the command first would hand its
	// children to init before they were found.
	proctree.Kill(r.pid, true)
	signalGroups(r.pid, r.master, syscall.SIGKILL)
}

// finish stops the relay; once it returns, the command may be reaped and
// the terminal restored.
func (r *relay) finish() {
	r.mu.Lock()
	r.ended = true
	r.mu.Unlock()
}

// signalGroups sends sig to the command's process group and, if different,
// to the pty's foreground process group. Both belong to the command's
// session, so nothing outside the command can be hit.
func signalGroups(pid int, master *os.File, sig syscall.Signal) {
	_ = syscall.Kill(-pid, sig)
	if fg, err := foregroundGroup(master); err == nil && fg > 0 && fg != pid {
		_ = syscall.Kill(-fg, sig)
	}
}

// notifyEnabled subscribes c to the signals in sigs that are not ignored:
// a signal the wrapper inherited as ignored (nohup's SIGHUP) stays ignored
// for it and, through exec, for the command.
func notifyEnabled(c chan<- os.Signal, sigs []os.Signal) {
	enabled := make([]os.Signal, 0, len(sigs))
	for _, s := range sigs {
		if !signal.Ignored(s) {
			enabled = append(enabled, s)
		}
	}
	if len(enabled) > 0 {
		signal.Notify(c, enabled...)
	}
}
