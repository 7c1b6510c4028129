package isolate

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"hermes-exec/pty/ptytest"
)

// runOnTerminal runs script with bash in PTY mode on a fake user terminal
// (stderr too, unless stderr is given) and returns the result channel.
func runOnTerminal(t *testing.T, ctx context.Context, term *ptytest.Terminal, stderr *os.File, script string) <-chan Status {
	t.Helper()
	if stderr == nil {
		stderr = term.Slave
	}
	res := make(chan Status, 1)
	go func() {
		st, err := NewHost().Run(ctx, Spec{
			Args:  []string{"bash", "-c", script},
			Env:   append(testEnv(), "TERM=xterm"),
			Stdin: term.Slave, Stdout: term.Slave, Stderr: stderr,
			TTY: true,
		})
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		res <- st
	}()
	return res
}

func awaitStatus(t *testing.T, res <-chan Status) Status {
	t.Helper()
	select {
	case st := <-res:
		return st
	case <-time.After(waitLimit):
		t.Fatal("Run did not return")
		return Status{}
	}
}

func TestPTYCommandSeesTerminalAndExitStatus(t *testing.T) {
	term := ptytest.New(t, 30, 90)
	st := awaitStatus(t, runOnTerminal(t, context.Background(), term, nil,
		`test -t 0 && test -t 1 && test -t 2 && echo "tty-ok $(stty size) $TERM"; exit 42`))
	if st != (Status{Code: 42}) {
		t.Fatalf("status %+v, want 42", st)
	}
	term.WaitFor(t, "tty-ok 30 90 xterm", waitLimit)
}

func TestPTYCtrlCIs130(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	res := runOnTerminal(t, context.Background(), term, nil, `echo ready; sleep 30`)
	term.WaitFor(t, "ready", waitLimit)
	term.Type(t, "\x03")
	if st := awaitStatus(t, res); st != (Status{Code: 130, Signal: 2}) {
		t.Fatalf("status %+v after ^C, want 130/2", st)
	}
}

func TestPTYRedirectedStderrStaysRedirected(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	errFile, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	st := awaitStatus(t, runOnTerminal(t, context.Background(), term, errFile,
		`test -t 2 || echo to-file >&2; echo to-terminal`))
	if st.Code != 0 {
		t.Fatalf("status %+v", st)
	}
	b, _ := os.ReadFile(errFile.Name())
	if string(b) != "to-file\n" {
		t.Fatalf("stderr file has %q", b)
	}
	term.WaitFor(t, "to-terminal", waitLimit)
	if out := term.Output(); strings.Contains(out, "to-file") {
		t.Fatalf("terminal shows %q", out)
	}
}

func TestPTYContextCancel(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := runOnTerminal(t, ctx, term, nil, `trap '' TERM INT HUP; echo ready; sleep 30`)
	term.WaitFor(t, "ready", waitLimit)
	cancel()
	st := awaitStatus(t, res)
	if st.Code != 137 || st.Signal != 9 || !strings.Contains(st.Reason, "canceled") {
		t.Fatalf("status %+v, want 137/9 with a reason", st)
	}
}

func TestPTYStartFailure(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	before := term.Termios(t)
	_, err := NewHost().Run(context.Background(), Spec{
		Args:  []string{"/nonexistent/prog"},
		Stdin: term.Slave, Stdout: term.Slave, Stderr: term.Slave, TTY: true,
	})
	if !IsNotFound(err) {
		t.Fatalf("err %v, want not found", err)
	}
	if term.Termios(t) != before {
		t.Fatal("terminal left changed after a failed start")
	}
}
