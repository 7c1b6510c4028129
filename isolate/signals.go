package isolate

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// pipeForwarded are the signals the wrapper relays to a pipe-mode command.
// An agent stops a command by signalling the process it started, which is
// the wrapper; bash -c would have exec'd the command in its place, so the
// command must see these as if it had been signalled itself. Job control
// signals (SIGTSTP, SIGTTIN, SIGTTOU) are handled apart (jobControl).
var pipeForwarded = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGCONT,
}

// jobControl are the stop signals a terminal sends to its foreground group.
// A pipe-mode command in a session of its own does not get them from the
// terminal, so the wrapper passes them on and then stops itself.
var jobControl = []os.Signal{syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU}

func isJobControl(sig os.Signal) bool {
	return sig == syscall.SIGTSTP || sig == syscall.SIGTTIN || sig == syscall.SIGTTOU
}

// notifyForwarded subscribes c to the signals in sigs that are not ignored.
//
// A signal the wrapper was started with ignored (nohup ignores SIGHUP, a
// non-interactive shell's "cmd &" ignores SIGINT and SIGQUIT) must stay
// ignored: signal.Notify would install a handler, and since exec resets
// handled signals to their default, the command would lose the SIG_IGN it
// was meant to inherit.
func notifyForwarded(c chan<- os.Signal, sigs []os.Signal) {
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

// isKeyboardSignal reports the signals a terminal sends for ^C and ^\.
func isKeyboardSignal(sig os.Signal) bool {
	return sig == syscall.SIGINT || sig == syscall.SIGQUIT
}

// foregroundOnTerminal reports whether the wrapper's process group is the
// foreground group of its controlling terminal.
//
// Then a SIGINT or SIGQUIT it receives almost surely came from the user's
// ^C or ^\, which the kernel sends to the whole group, the command
// included: relaying it would deliver it twice, and programs that read a
// second ^C as "force quit now" (terraform, docker compose, many REPLs)
// would skip their clean shutdown. The price: a kill -INT aimed at the
// wrapper alone while it runs in the foreground of a terminal is not
// relayed. An agent, which has no terminal, is never in that case.
func foregroundOnTerminal() bool {
	fd, err := unix.Open("/dev/tty", unix.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false // no controlling terminal
	}
	defer unix.Close(fd)
	fg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil && fg == syscall.Getpgrp()
}

// terminalState is how a pipe-mode command stands to the caller's
// controlling terminal.
type terminalState struct {
	// shared: the command keeps the terminal (hermes-exec's own helpers
	// only, Spec.ShareTerminal).
	shared bool
	// newSession: the command runs in a session of its own.
	newSession bool
	// detached: the wrapper gave up its controlling terminal before the
	// fork, so the command inherits none; wasForeground is whether the
	// wrapper's group was the terminal's foreground group then.
	detached, wasForeground bool
}

// foreground is foregroundOnTerminal, or its value from before the wrapper
// gave up the terminal (the question cannot be asked without one).
func (t terminalState) foreground() bool {
	if t.detached {
		return t.wasForeground
	}
	return foregroundOnTerminal()
}

// detachTerminal makes sure a pipe-mode command will have no controlling
// terminal, so that the kernel refuses it TIOCSTI on the caller's terminal
// (a process without CAP_SYS_ADMIN may push input only into its own
// controlling terminal), and it cannot open /dev/tty.
//
// Without a controlling terminal there is nothing to do. Otherwise the
// wrapper drops its own with TIOCNOTTY before forking, and the command
// inherits the lack: for a process that does not lead its session that
// changes nothing else (no hang-up, and the process group stays, so the
// terminal's ^C and ^Z and an agent's kill of the group still reach the
// command). A session leader cannot do that without hanging up its
// terminal, so then the command gets a session of its own instead
// (Setsid) and the wrapper relays every signal to its process group.
func detachTerminal() terminalState {
	fd, err := unix.Open("/dev/tty", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return terminalState{} // no controlling terminal
	}
	defer unix.Close(fd)
	if sid, err := unix.Getsid(0); err != nil || sid == unix.Getpid() {
		return terminalState{newSession: true}
	}
	fg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	wasFg := err == nil && fg == unix.Getpgrp()
	if err := unix.IoctlSetInt(fd, unix.TIOCNOTTY, 0); err != nil {
		return terminalState{newSession: true}
	}
	return terminalState{detached: true, wasForeground: wasFg}
}
