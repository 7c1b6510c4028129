package isolate

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hermes-exec/internal/testutil"
	"hermes-exec/pty/ptytest"
)

const waitLimit = 10 * time.Second

// startHelper starts the helper wrapper on script (run by bash) and waits
// until the script prints its first line, which it returns.
func startHelper(t *testing.T, prefix []string, script string) (*exec.Cmd, string) {
	t.Helper()
	cmd := helperCommand(t, prefix, "bash", "-c", script)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(l)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case l := <-line:
		return cmd, l
	case <-time.After(waitLimit):
		t.Fatal("helper's command never started")
		return nil, ""
	}
}

// exitCode waits for the helper and returns its exit status.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err == nil {
			return 0
		}
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		t.Fatalf("wait: %v", err)
	case <-time.After(waitLimit):
		t.Fatal("helper did not exit")
	}
	return -1
}

func TestSignalsToWrapperReachCommand(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{
		{syscall.SIGTERM, "TERM", 7},
		{syscall.SIGINT, "INT", 8},
		{syscall.SIGHUP, "HUP", 9},
		{syscall.SIGQUIT, "QUIT", 10},
		{syscall.SIGUSR1, "USR1", 11},
		{syscall.SIGUSR2, "USR2", 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, _ := startHelper(t, nil,
				"trap 'exit "+strconv.Itoa(tc.code)+"' "+tc.name+"; echo ready; while :; do sleep 0.02; done")
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			if got := exitCode(t, cmd); got != tc.code {
				t.Fatalf("wrapper exited %d, want %d (the command's trap)", got, tc.code)
			}
		})
	}
}

func TestUntrappedSignalKillsCommandLikeBash(t *testing.T) {
	cmd, _ := startHelper(t, nil, "echo ready; exec sleep 30")
	cmd.Process.Signal(syscall.SIGTERM)
	if got := exitCode(t, cmd); got != 143 {
		t.Fatalf("wrapper exited %d, want 143", got)
	}
}

func TestIgnoredSignalStaysIgnored(t *testing.T) {
	// nohup-style: the wrapper starts with SIGHUP ignored. The command must
	// inherit the ignore, and a SIGHUP to the wrapper must neither kill it
	// nor reach the command.
	cmd, line := startHelper(t, []string{"bash", "-c", `trap '' HUP; exec "$@"`, "bash"},
		`echo "$(grep '^SigIgn' /proc/$$/status)"; sleep 0.3; exit 5`)
	mask, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(line, "SigIgn:")), 16, 64)
	if err != nil {
		t.Fatalf("parse %q: %v", line, err)
	}
	if mask&(1<<(syscall.SIGHUP-1)) == 0 {
		t.Errorf("command does not inherit SIGHUP ignored (SigIgn %#x)", mask)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	if got := exitCode(t, cmd); got != 5 {
		t.Fatalf("wrapper exited %d, want 5", got)
	}
}

func TestCommandDiesWithKilledWrapper(t *testing.T) {
	cmd, line := startHelper(t, nil, "echo $$; exec sleep 60")
	pid, err := strconv.Atoi(line)
	if err != nil {
		t.Fatalf("child pid %q: %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	deadline := time.Now().Add(waitLimit)
	for testutil.Alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("command %d still running after its wrapper was SIGKILLed", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCtrlCInTerminalReachesCommandOnce(t *testing.T) {
	// The wrapper leads a terminal's session and runs in its foreground
	// (pipe mode: the command gets a session of its own, so the terminal
	// signals only the wrapper, which must relay exactly one copy).
	// TestCtrlCReachesDetachedCommandOnce is the case of a wrapper inside
	// the session, whose command the terminal signals itself.
	term := ptytest.New(t, 24, 80)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := helperCommand(t, nil, "env", helperEnv+"=count-sigint", self)
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
	if got := exitCode(t, cmd); got != 0 {
		t.Fatalf("wrapper exited %d", got)
	}
}

// A one-shot wrapper keeps its signal subscriptions to the exit: a signal
// that comes after the command ended no longer kills it before it has
// done what follows (the outcome record), and it still exits with the
// command's status. A wrapper that lives on gives the signals back.
func TestSignalAfterCommandEndedOneShot(t *testing.T) {
	for _, tc := range []struct {
		oneshot  string
		wantOut  string
		wantCode int
	}{
		{"1", "finished its work\n", 3},
		{"0", "", 128 + int(syscall.SIGTERM)},
	} {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(self, "bash", "-c", "exit 3")
		cmd.Env = append(os.Environ(), helperEnv+"=after-end", "ONESHOT="+tc.oneshot)
		out, err := cmd.Output()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
		} else if err != nil {
			t.Fatal(err)
		}
		if string(out) != tc.wantOut || code != tc.wantCode {
			t.Errorf("oneshot=%s: output %q, status %d; want %q, %d", tc.oneshot, out, code, tc.wantOut, tc.wantCode)
		}
	}
}
