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
// signals (SIGTSTP, SIGTTIN, SIGTTOU) are left alone: the command shares the
// wrapper's process group, so the terminal already stops both.
var pipeForwarded = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGCONT,
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
