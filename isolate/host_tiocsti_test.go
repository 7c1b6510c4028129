package isolate

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"hermes-exec/pty/ptytest"
)

// injectMarker is what the probe tries to type into the caller's terminal.
const injectMarker = "echo INJECTED-BY-COMMAND\n"

// tryTIOCSTI is a command that tries to push input into a terminal every
// way it can: through /dev/tty, through each standard descriptor, and by
// opening the terminal's path (root can open any). It prints one line per
// attempt, "injected" or "refused".
func tryTIOCSTI() int {
	try := func(what string, fd int) {
		var errs []string
		for _, c := range []byte(injectMarker) {
			b := c
			if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCSTI, uintptr(unsafePointer(&b))); e != 0 {
				errs = append(errs, e.Error())
				break
			}
		}
		if len(errs) == 0 {
			fmt.Printf("%s: injected\n", what)
		} else {
			fmt.Printf("%s: refused (%s)\n", what, errs[0])
		}
	}
	if fd, err := unix.Open("/dev/tty", unix.O_RDWR|unix.O_NOCTTY, 0); err == nil {
		try("/dev/tty", fd)
	} else {
		fmt.Printf("/dev/tty: refused (%v)\n", err)
	}
	for fd := 0; fd <= 2; fd++ {
		if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
			try(fmt.Sprintf("fd %d", fd), fd)
		}
	}
	if p := os.Getenv("TIOCSTI_PATH"); p != "" {
		if fd, err := unix.Open(p, unix.O_RDWR|unix.O_NOCTTY, 0); err == nil {
			try(p, fd)
		} else {
			fmt.Printf("%s: refused (%v)\n", p, err)
		}
	}
	return 0
}

// A pipe-mode command cannot type into the terminal of the process that
// started hermes-exec (issue 6, item 13): not when the wrapper leads the
// terminal's session, not when it is a process inside it, as root or not.
func TestPipeModeCommandCannotInjectIntoCallersTerminal(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		prefix []string
	}{
		{"wrapper leads the session", nil},
		// bash forks the wrapper (two commands), so it is a member of the
		// terminal's session, not its leader.
		{"wrapper inside the session", []string{"bash", "-c", `"$@"; exit $?`, "bash"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			term := ptytest.New(t, 24, 80)
			cmd := helperCommand(t, tc.prefix, "env", helperEnv+"=tiocsti", "TIOCSTI_PATH="+term.Slave.Name(), self)
			var out bytes.Buffer
			cmd.Stdin, cmd.Stdout, cmd.Stderr = term.Slave, &out, os.Stderr
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("wrapper: %v\n%s", err, out.String())
				}
			case <-time.After(waitLimit):
				cmd.Process.Kill()
				t.Fatal("wrapper did not exit")
			}
			report := out.String()
			if strings.Contains(report, "injected") || !strings.Contains(report, "refused") {
				t.Fatalf("the command pushed input into the caller's terminal:\n%s", report)
			}
			// Without a controlling terminal there is no /dev/tty: the
			// first defence, which holds for root and non-root alike.
			if !strings.Contains(report, "/dev/tty: refused (no such device or address)") {
				t.Fatalf("the command still has a controlling terminal:\n%s", report)
			}
			n, err := unix.IoctlGetInt(int(term.Slave.Fd()), unix.TIOCINQ)
			if err != nil {
				t.Fatal(err)
			}
			if n != 0 || strings.Contains(term.Output(), "INJECTED") {
				t.Fatalf("%d bytes waiting as the caller's input; screen %q", n, term.Output())
			}
		})
	}
}

// The terminal's ^C still reaches a pipe-mode command that has no
// controlling terminal any more, exactly once, from a wrapper inside the
// terminal's session.
func TestCtrlCReachesDetachedCommandOnce(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := helperCommand(t, []string{"bash", "-c", `"$@"; exit $?`, "bash"}, "env", helperEnv+"=count-sigint", self)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = term.Slave, term.Slave, term.Slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	term.WaitFor(t, "ready", waitLimit)
	term.Type(t, "\x03")
	term.WaitFor(t, "count=", waitLimit)
	term.WaitFor(t, ".", waitLimit)
	if out := term.Output(); !strings.Contains(out, "count=1.") {
		t.Fatalf("one ^C reached the command a different number of times than once: %q", out)
	}
}

// In PTY mode the command's terminal is its own; it cannot type into the
// caller's, not even as root, which can open the caller's terminal by path
// (the seccomp filter refuses TIOCSTI there).
func TestPTYModeCommandCannotInjectIntoCallersTerminal(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	term := ptytest.New(t, 24, 80)
	res := make(chan Status, 1)
	go func() {
		st, err := NewHost().Run(t.Context(), Spec{
			Args:  []string{self},
			Env:   append(testEnv(), helperEnv+"=tiocsti", "TIOCSTI_PATH="+term.Slave.Name()),
			Stdin: term.Slave, Stdout: term.Slave, Stderr: term.Slave,
			TTY: true,
		})
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		res <- st
	}()
	if st := awaitStatus(t, res); st.Code != 0 {
		t.Fatalf("status %+v", st)
	}
	term.WaitFor(t, term.Slave.Name()+": ", waitLimit)
	if out := term.Output(); !strings.Contains(out, term.Slave.Name()+": refused") {
		t.Fatalf("the command typed into the caller's terminal %s:\n%s", term.Slave.Name(), out)
	}
}
