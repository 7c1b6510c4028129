package pty_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"hermes-exec/internal/procstat"
	"hermes-exec/internal/testutil"
	"hermes-exec/pty"
	"hermes-exec/pty/ptytest"
)

// wait is the upper bound for things that take milliseconds; it only
// matters when the code is broken.
const wait = 10 * time.Second

// start runs script with bash on a pty attached to term and returns the
// channel Run's result arrives on.
func start(t *testing.T, ctx context.Context, term *ptytest.Terminal, script string) (*exec.Cmd, <-chan error) {
	t.Helper()
	cmd := exec.Command("bash", "-c", script)
	res := make(chan error, 1)
	go func() { res <- pty.Run(ctx, cmd, term.Slave, term.Slave) }()
	return cmd, res
}

func result(t *testing.T, res <-chan error) error {
	t.Helper()
	select {
	case err := <-res:
		return err
	case <-time.After(wait):
		t.Fatal("Run did not return")
		return nil
	}
}

// exitStatus returns bash's view of how Run's command ended.
func exitStatus(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("Run: %v (not an exit status)", err)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func TestCommandSeesATerminal(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	_, res := start(t, context.Background(), term,
		`test -t 0 && test -t 1 && test -t 2 && echo TTY-OK; echo "tty=$(tty)."; echo END`)
	if err := result(t, res); err != nil {
		t.Fatalf("Run: %v; output %q", err, term.Output())
	}
	// The fake terminal shows output a moment after Run wrote it.
	term.WaitFor(t, "END", wait)
	out := term.Output()
	if !strings.Contains(out, "TTY-OK") {
		t.Fatalf("stdin/stdout/stderr are not all terminals: %q", out)
	}
	if !strings.Contains(out, "tty=/dev/pts/") || strings.Contains(out, "tty="+term.Slave.Name()+".") {
		t.Fatalf("command runs on the caller's terminal %s, not a new one: %q", term.Slave.Name(), out)
	}
}

func TestCommandGetsOwnSessionWithControllingTerminal(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	// /dev/tty opens only with a controlling terminal; field 6 of
	// /proc/PID/stat is the session id.
	cmd, res := start(t, context.Background(), term,
		`exec 3</dev/tty && echo CTTY-OK; echo "sid=$(cut -d' ' -f6 /proc/$$/stat)."`)
	if err := result(t, res); err != nil {
		t.Fatalf("Run: %v; output %q", err, term.Output())
	}
	// The session id is the command's pid: it leads a new session.
	term.WaitFor(t, "sid="+strconv.Itoa(cmd.Process.Pid)+".", wait)
	if out := term.Output(); !strings.Contains(out, "CTTY-OK") {
		t.Fatalf("no controlling terminal: %q", out)
	}
}

func TestSizeIsCopied(t *testing.T) {
	term := ptytest.New(t, 37, 101)
	_, res := start(t, context.Background(), term, `stty size`)
	if err := result(t, res); err != nil {
		t.Fatalf("Run: %v", err)
	}
	term.WaitFor(t, "37 101", wait)
}

func TestResizeReachesCommand(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	_, res := start(t, context.Background(), term,
		`trap 'echo "size=$(stty size)"; exit 3' WINCH; echo ready; while :; do sleep 0.02; done`)
	term.WaitFor(t, "ready", wait)
	term.Resize(t, 50, 132)
	// A terminal emulator's resize signals the foreground group of the
	// terminal, which the wrapper is in.
	if err := syscall.Kill(os.Getpid(), syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	if got := exitStatus(t, result(t, res)); got != 3 {
		t.Fatalf("exit status %d, want 3 (WINCH trap); output %q", got, term.Output())
	}
	term.WaitFor(t, "size=50 132", wait)
}

func TestOutputOfQuickCommandIsNotLost(t *testing.T) {
	// The command writes and exits at once: the bytes are still in the
	// pty when Run learns of the exit. Repeated to catch a racy drain.
	for i := 0; i < 20; i++ {
		term := ptytest.New(t, 24, 80)
		_, res := start(t, context.Background(), term, `printf 'line%s\n' $(seq 1 300); printf END-OF-OUTPUT`)
		if err := result(t, res); err != nil {
			t.Fatalf("Run: %v", err)
		}
		// Lost bytes would never show up: WaitFor fails.
		term.WaitFor(t, "line300\r\nEND-OF-OUTPUT", wait)
		if out := term.Output(); !strings.HasPrefix(out, "line1\r\nline2\r\n") {
			t.Fatalf("run %d lost the start of the output: %q", i, tail(out, 40))
		}
	}
}

func TestLargeOutputArrivesWhole(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	// 2 MB without newlines: far more than the pty buffers, so the copy
	// loop must keep up while the command runs.
	_, res := start(t, context.Background(), term, `head -c 2000000 /dev/zero | tr '\0' x; printf DONE`)
	if err := result(t, res); err != nil {
		t.Fatalf("Run: %v", err)
	}
	term.WaitFor(t, "DONE", wait)
	out := term.Output()
	if n := strings.Count(out, "x"); n != 2000000 || !strings.HasSuffix(out, "DONE") {
		t.Fatalf("got %d x's (want 2000000), ends %q", n, tail(out, 20))
	}
}

func TestTypedInputReachesCommand(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	_, res := start(t, context.Background(), term, `echo ready; read -r line; echo "got:$line"`)
	term.WaitFor(t, "ready", wait)
	term.Type(t, "hello world\r")
	if err := result(t, res); err != nil {
		t.Fatalf("Run: %v; output %q", err, term.Output())
	}
	term.WaitFor(t, "got:hello world", wait)
}

func TestRawModeDuringRunAndRestoredAfter(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	before := term.Termios(t)
	if before.Lflag&unix.ICANON == 0 {
		t.Fatal("test terminal does not start in canonical mode")
	}
	_, res := start(t, context.Background(), term, `echo ready; read -r line`)
	term.WaitFor(t, "ready", wait)
	during := term.Termios(t)
	if during.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 || during.Oflag&unix.OPOST != 0 {
		t.Errorf("caller's terminal not raw while the command runs: lflag %#x oflag %#x", during.Lflag, during.Oflag)
	}
	term.Type(t, "\r")
	if err := result(t, res); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if after := term.Termios(t); after != before {
		t.Fatalf("terminal settings not restored:\nbefore %+v\nafter  %+v", before, after)
	}
}

func TestRestoredAfterFailedStart(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	before := term.Termios(t)
	cmd := exec.Command("/nonexistent/program")
	err := pty.Run(context.Background(), cmd, term.Slave, term.Slave)
	if err == nil || cmd.ProcessState != nil {
		t.Fatalf("Run of a missing program: err %v, state %v", err, cmd.ProcessState)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v does not wrap the cause (ENOENT)", err)
	}
	if after := term.Termios(t); after != before {
		t.Fatalf("terminal settings not restored after a failed start")
	}
}

func TestCtrlCInterruptsCommand(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	// Not exec'd: bash waits for sleep, so ^C must reach the whole
	// foreground group, as on a real terminal.
	_, res := start(t, context.Background(), term, `echo ready; sleep 30; echo not-interrupted`)
	term.WaitFor(t, "ready", wait)
	term.Type(t, "\x03")
	if got := exitStatus(t, result(t, res)); got != 130 {
		t.Fatalf("exit status %d after ^C, want 130; output %q", got, term.Output())
	}
}

func TestSignalsAreForwarded(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{
		{syscall.SIGTERM, "TERM", 7},
		{syscall.SIGHUP, "HUP", 8},
		{syscall.SIGINT, "INT", 9},
		{syscall.SIGUSR1, "USR1", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			term := ptytest.New(t, 24, 80)
			_, res := start(t, context.Background(), term,
				"trap 'exit "+strconv.Itoa(tc.code)+"' "+tc.name+"; echo ready; while :; do sleep 0.02; done")
			term.WaitFor(t, "ready", wait)
			// Run catches these while the command runs, so signalling
			// the test process itself plays "kill <wrapper>".
			if err := syscall.Kill(os.Getpid(), tc.sig); err != nil {
				t.Fatal(err)
			}
			if got := exitStatus(t, result(t, res)); got != tc.code {
				t.Fatalf("exit status %d, want %d; output %q", got, tc.code, term.Output())
			}
		})
	}
}

func TestContextCancelKillsCommandGroup(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, res := start(t, ctx, term, `trap '' TERM INT; echo ready; sleep 30`)
	term.WaitFor(t, "ready", wait)
	cancel()
	if got := exitStatus(t, result(t, res)); got != 137 {
		t.Fatalf("exit status %d after cancel, want 137 (SIGKILL)", got)
	}
}

// A cancel kills the command's whole session (a background job whose
// parent already exited included) and descendants in sessions of their
// own, not only its process group.
func TestContextCancelKillsBackgroundJobs(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pidfile := t.TempDir() + "/pids"
	// set -m: the first job gets a process group of its own (in the
	// session), as an interactive shell's background jobs do.
	cmd, res := start(t, ctx, term, `set -m; ( sleep 1000 & echo $! >> `+pidfile+` ); set +m; ( exec setsid sleep 1000 ) & echo $! >> `+pidfile+`; echo ready; sleep 1000`)
	term.WaitFor(t, "ready", wait)
	b, _ := os.ReadFile(pidfile)
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		p, _ := strconv.Atoi(f)
		pids = append(pids, p)
	}
	t.Cleanup(func() {
		for _, p := range pids { // only what a broken cancel left of ours
			if testutil.Alive(p) {
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
	})
	if len(pids) != 2 {
		t.Fatalf("pids %q", b)
	}
	if !testutil.WaitFor(wait, func() bool {
		_, pg, _, _ := procstat.IDs(pids[0])
		_, _, sid, _ := procstat.IDs(pids[1])
		return pg != 0 && pg != cmd.Process.Pid && sid == pids[1]
	}) {
		t.Fatal("setup: the jobs did not get a group and a session of their own")
	}
	cancel()
	if got := exitStatus(t, result(t, res)); got != 137 {
		t.Fatalf("exit status %d after cancel, want 137 (SIGKILL)", got)
	}
	for _, p := range pids {
		if !testutil.WaitFor(wait, func() bool { return !testutil.Alive(p) }) {
			t.Errorf("background job %d outlived the cancelled command", p)
		}
	}
}

func TestBackgroundProcessHoldingTerminalDoesNotBlock(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	// The background sleep ignores the hangup that ends its session and
	// keeps the pty open: the output never reaches EOF.
	cmd, res := start(t, context.Background(), term, `trap '' HUP; sleep 30 & echo bye`)
	defer func() {
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}()
	select {
	case err := <-res:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run waits for a background process that keeps the pty open")
	}
	term.WaitFor(t, "bye", wait)
}

func TestStderrKeptWhenSet(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("bash", "-c", `test -t 2 || echo to-stderr >&2; echo to-stdout`)
	cmd.Stderr = w
	err = pty.Run(context.Background(), cmd, term.Slave, term.Slave)
	w.Close()
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	buf := make([]byte, 100)
	n, _ := r.Read(buf)
	if got := string(buf[:n]); got != "to-stderr\n" {
		t.Fatalf("stderr pipe got %q", got)
	}
	term.WaitFor(t, "to-stdout", wait)
	if out := term.Output(); strings.Contains(out, "to-stderr") {
		t.Fatalf("terminal got %q", out)
	}
}

func TestIsTerminal(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	if !pty.IsTerminal(term.Slave) {
		t.Error("pty slave is not a terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if pty.IsTerminal(r) || pty.IsTerminal(nil) {
		t.Error("pipe or nil reported as a terminal")
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func TestContinueReappliesRawMode(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	cooked := term.Termios(t)
	_, res := start(t, context.Background(), term, `echo ready; read -r line`)
	term.WaitFor(t, "ready", wait)
	// As if the wrapper had been stopped and the shell had reset the
	// terminal before continuing it.
	term.SetTermios(t, cooked)
	if err := syscall.Kill(os.Getpid(), syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for term.Termios(t).Lflag&unix.ICANON != 0 {
		if time.Now().After(deadline) {
			t.Fatal("raw mode not re-applied after SIGCONT")
		}
		time.Sleep(5 * time.Millisecond)
	}
	term.Type(t, "\r")
	if err := result(t, res); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if term.Termios(t) != cooked {
		t.Fatal("settings not restored")
	}
}

func TestSignalReachesForegroundJobOfInteractiveShell(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	// With job control (set -m) the shell runs sleep in a process group
	// of its own, which becomes the terminal's foreground group: a
	// signal sent only to the shell's group would not stop it.
	_, res := start(t, context.Background(), term,
		`trap 'echo shell-got-term' TERM; set -m; bash -c 'echo ready; exec sleep 30'; echo "sleep-status=$?"`)
	// The job prints ready once it is in the foreground.
	term.WaitFor(t, "ready", wait)
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := result(t, res); err != nil {
		t.Fatalf("Run: %v; output %q", err, term.Output())
	}
	term.WaitFor(t, "sleep-status=143", wait)
}

func TestEndOfNonTerminalInputReachesCommand(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		w.WriteString("first line\nsecond line\n")
		w.Close()
	}()
	cmd := exec.Command("bash", "-c", `n=0; while read -r l; do n=$((n+1)); done; echo "lines=$n end"`)
	res := make(chan error, 1)
	go func() { res <- pty.Run(context.Background(), cmd, r, term.Slave) }()
	if err := result(t, res); err != nil {
		t.Fatalf("Run: %v", err)
	}
	term.WaitFor(t, "lines=2 end", wait)
}

// A regular file as input (which epoll refuses, so the pump polls it)
// still reaches the command whole, and its end too.
func TestEndOfRegularFileInputReachesCommand(t *testing.T) {
	term := ptytest.New(t, 24, 80)
	file := t.TempDir() + "/in"
	if err := os.WriteFile(file, []byte("first line\nsecond line\nthird\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cmd := exec.Command("bash", "-c", `n=0; while read -r l; do n=$((n+1)); done; echo "lines=$n end"`)
	res := make(chan error, 1)
	go func() { res <- pty.Run(context.Background(), cmd, in, term.Slave) }()
	if err := result(t, res); err != nil {
		t.Fatalf("Run: %v", err)
	}
	term.WaitFor(t, "lines=3 end", wait)
}
