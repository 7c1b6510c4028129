package execwire

import (
	"errors"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// Forwarded are the signals an init relays to its command's process group:
// those a wrapper relays to its command.
var Forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH, unix.SIGCONT}

// RunChild is a container init's one command: it starts path in a process
// group of its own (the terminal's foreground group with tty), relays the
// Forwarded signals to that group, reaps every child (an init inherits
// orphans) and returns the command's wait status. started is called with
// the command's pid once it runs (to watch the init's lifeline). The
// signals are subscribed before the fork, so none sent once the command
// exists is lost.
func RunChild(path string, argv []string, tty bool, started func(pid int)) (unix.WaitStatus, error) {
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, append([]os.Signal{unix.SIGCHLD}, Forwarded...)...)
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true, Foreground: tty, Ctty: 0},
	})
	if err != nil {
		signal.Stop(sigs)
		return 0, err
	}
	started(pid)
	for sig := range sigs {
		if sig != unix.SIGCHLD {
			_ = unix.Kill(-pid, sig.(syscall.Signal))
			continue
		}
		for {
			var ws unix.WaitStatus
			wpid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err == unix.EINTR {
				continue
			}
			if wpid <= 0 || err != nil {
				break
			}
			if wpid == pid {
				return ws, nil
			}
			// An orphan reparented to this init: reaped, nothing more.
		}
	}
	return 0, errors.New("the signal relay stopped") // never: nothing closes sigs
}
