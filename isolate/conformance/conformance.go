// Package conformance is the behaviour every backend must show, as seen by
// the agent that runs commands through hermes-exec: exact exit statuses and
// signals, binary-safe standard streams, environment filtering, a terminal
// of the right size, signals passed on, and nothing left running after a
// SIGKILLed wrapper. It is modelled on go-containerregistry's validate
// package: a backend's test hands Run a Target that starts the wrapper set
// to use that backend, and Run checks it from the outside, through the
// built binary, exactly as an agent would see it. host, sandbox (fresh and
// session) and rootless sandbox run it (tests/conformance_test.go); a new
// backend adds one Target.
package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"hermes-exec/internal/testutil"
)

// Target is one backend under test.
type Target struct {
	// Command returns the wrapper set up to run script (shell text)
	// through the backend, with env added to its environment. Its stdio
	// are left for Run to set.
	Command func(script string, env ...string) *exec.Cmd
	// NoTTY skips the terminal checks (a machine without ptys).
	NoTTY bool
}

// Run runs every check as a subtest of t.
func Run(t *testing.T, tg Target) {
	t.Run("ExitStatus", func(t *testing.T) { exitStatus(t, tg) })
	t.Run("BinaryStreams", func(t *testing.T) { binaryStreams(t, tg) })
	t.Run("Environment", func(t *testing.T) { environment(t, tg) })
	t.Run("SignalForwarded", func(t *testing.T) { signalForwarded(t, tg) })
	t.Run("KilledWrapperLeavesNothing", func(t *testing.T) { killedWrapper(t, tg) })
	if !tg.NoTTY {
		t.Run("Terminal", func(t *testing.T) { terminal(t, tg) })
		t.Run("TerminalResize", func(t *testing.T) { terminalResize(t, tg) })
	}
}

type result struct {
	code           int
	stdout, stderr []byte
}

func run(t *testing.T, c *exec.Cmd, stdin []byte) result {
	t.Helper()
	var out, errb bytes.Buffer
	c.Stdin = bytes.NewReader(stdin)
	c.Stdout, c.Stderr = &out, &errb
	ownSession(c)
	err := c.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("starting %v: %v", c.Args, err)
		}
		code = shellStatus(ee)
	}
	return result{code: code, stdout: out.Bytes(), stderr: errb.Bytes()}
}

// shellStatus is the status a shell reports for the wrapper: its exit
// code, or 128+N when it ended by signal N (a wrapper may end by the
// command's own signal, as `bash -c 'kill $$'` does).
func shellStatus(ee *exec.ExitError) int {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}

// exitStatus: the command's own status, 128+N for signal N, bash's 126 and
// 127.
func exitStatus(t *testing.T, tg Target) {
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"true", 0}, {"exit 1", 1}, {"exit 42", 42}, {"exit 255", 255},
		{"kill -TERM $$", 143}, {"kill -KILL $$", 137}, {"kill -INT $$", 130}, {"kill -SEGV $$", 139},
		{"no-such-command-conformance", 127},
		{"f=$(mktemp); printf 'x' > $f; chmod 644 $f; $f", 126},
		{"(exit 3) | (exit 4); echo ${PIPESTATUS[0]} >/dev/null; exit 5", 5},
	} {
		r := run(t, tg.Command(tc.script), nil)
		if r.code != tc.want {
			t.Errorf("%q: exit %d, want %d (stderr %q)", tc.script, r.code, tc.want, r.stderr)
		}
	}
}

// binaryStreams: every byte value passes stdin to stdout unchanged, and
// stderr stays separate.
func binaryStreams(t *testing.T, tg Target) {
	var in []byte
	for i := 0; i < 2000; i++ {
		for b := 0; b < 256; b++ {
			in = append(in, byte(b))
		}
	}
	r := run(t, tg.Command("cat"), in)
	if r.code != 0 || !bytes.Equal(r.stdout, in) {
		t.Errorf("cat: exit %d, %d bytes out of %d, equal %v (stderr %q)", r.code, len(r.stdout), len(in), bytes.Equal(r.stdout, in), r.stderr)
	}
	r = run(t, tg.Command("printf 'out\\0x'; printf 'err\\n' >&2; exit 3"), nil)
	if r.code != 3 || string(r.stdout) != "out\x00x" || string(r.stderr) != "err\n" {
		t.Errorf("streams: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

// environment: secret-named variables never reach the command; ordinary
// locale settings do.
func environment(t *testing.T, tg Target) {
	r := run(t, tg.Command("env", "CONFORMANCE_API_TOKEN=tok-secret-8e1f", "AWS_SECRET_ACCESS_KEY=aws-secret-2b7c", "LANG=C.UTF-8"), nil)
	if r.code != 0 {
		t.Fatalf("env: exit %d %s", r.code, r.stderr)
	}
	out := string(r.stdout)
	for _, leak := range []string{"tok-secret-8e1f", "aws-secret-2b7c", "HERMES_YOLO"} {
		if strings.Contains(out, leak) {
			t.Errorf("%s reached the command:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "LANG=C.UTF-8") {
		t.Errorf("LANG did not reach the command:\n%s", out)
	}
}

// signalForwarded: SIGTERM to the wrapper reaches the command, whose own
// exit status comes back.
func signalForwarded(t *testing.T, tg Target) {
	c := tg.Command(`trap 'echo GOT-TERM; exit 3' TERM; echo READY; while :; do sleep 0.05; done`)
	ownSession(c)
	var out testutil.Buffer
	c.Stdout = &out
	c.Stderr = &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Process.Kill()
	if !testutil.WaitFor(20*time.Second, func() bool { return strings.Contains(out.String(), "READY") }) {
		t.Fatalf("the command never started: %q", out.String())
	}
	_ = c.Process.Signal(syscall.SIGTERM)
	err := c.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || shellStatus(ee) != 3 || !strings.Contains(out.String(), "GOT-TERM") {
		t.Errorf("after SIGTERM: %v, output %q; want exit 3 and GOT-TERM", err, out.String())
	}
}

// killedWrapper: a SIGKILLed wrapper takes its command with it.
func killedWrapper(t *testing.T, tg Target) {
	marker := fmt.Sprintf("conformance-%d-%d", os.Getpid(), time.Now().UnixNano())
	c := tg.Command("exec -a " + marker + " sleep 300")
	ownSession(c)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	if !testutil.WaitFor(20*time.Second, func() bool { pid = FindProcess(marker); return pid != 0 }) {
		c.Process.Kill()
		c.Wait()
		t.Fatal("the command never started")
	}
	_ = c.Process.Signal(syscall.SIGKILL)
	_ = c.Wait()
	if !testutil.WaitFor(10*time.Second, func() bool { return FindProcess(marker) == 0 }) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Error("the command outlived its SIGKILLed wrapper")
	}
}

// terminal: on a terminal the command gets one, of the caller's size.
func terminal(t *testing.T, tg Target) {
	r := startOnTerminal(t, tg, "test -t 0 && test -t 1 && stty size && echo TTY-OK", 33, 77)
	defer r.master.Close()
	var err error
	select {
	case err = <-r.done:
	case <-time.After(30 * time.Second):
		r.cmd.Process.Kill()
		t.Fatal("timed out")
	}
	if !testutil.WaitFor(2*time.Second, func() bool { return strings.Contains(r.screen.String(), "TTY-OK") }) || !strings.Contains(r.screen.String(), "33 77") {
		t.Errorf("on a terminal: %v, screen %q; want a terminal of 33 rows and 77 columns", err, r.screen.String())
	}
}

// terminalResize: a change of the caller's terminal size reaches the
// command, as SIGWINCH and the new size.
func terminalResize(t *testing.T, tg Target) {
	r := startOnTerminal(t, tg, `trap 'stty size; exit 0' WINCH; echo READY; while :; do sleep 0.05; done`, 30, 90)
	defer r.master.Close()
	var err error
	defer func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Kill()
			<-r.done
		}
	}()
	if !testutil.WaitFor(20*time.Second, func() bool { return strings.Contains(r.screen.String(), "READY") }) {
		t.Fatalf("the command never started: %q", r.screen.String())
	}
	if err := pty.Setsize(r.master, &pty.Winsize{Rows: 44, Cols: 111}); err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-r.done:
		r.done <- err
	case <-time.After(10 * time.Second):
	}
	if !testutil.WaitFor(2*time.Second, func() bool { return strings.Contains(r.screen.String(), "44 111") }) {
		t.Errorf("after a resize to 44x111: %v, screen %q", err, r.screen.String())
	}
}

// termRun is a target's command running on a pseudo-terminal of its own:
// screen collects what the terminal shows, done receives the command's
// exit once. The caller closes master.
type termRun struct {
	master *os.File
	cmd    *exec.Cmd
	screen testutil.Buffer
	done   chan error
}

// startOnTerminal starts script on tg with a new pseudo-terminal of rows x
// cols as its controlling terminal and standard streams, in a session of
// its own, as an agent's terminal would be.
func startOnTerminal(t *testing.T, tg Target, script string, rows, cols uint16) *termRun {
	master, slave, err := pty.Open()
	if err != nil {
		testutil.Skip(t, "no pseudo-terminals: %v", err)
	}
	if err := pty.Setsize(master, &pty.Winsize{Rows: rows, Cols: cols}); err != nil {
		master.Close()
		t.Fatal(err)
	}
	c := tg.Command(script, "TERM=xterm")
	c.Stdin, c.Stdout, c.Stderr = slave, slave, slave
	ownSession(c)
	c.SysProcAttr.Setctty, c.SysProcAttr.Ctty = true, 0
	if err := c.Start(); err != nil {
		master.Close()
		t.Fatal(err)
	}
	slave.Close()
	r := &termRun{master: master, cmd: c, done: make(chan error, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			r.screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	go func() { r.done <- c.Wait() }()
	return r
}

// ownSession starts c in a session of its own (no terminal anywhere unless
// one is given, as for an agent in the background), keeping the target's
// other process attributes (a rootless target's credentials).
func ownSession(c *exec.Cmd) {
	if c.SysProcAttr == nil {
		c.SysProcAttr = &syscall.SysProcAttr{}
	}
	c.SysProcAttr.Setsid = true
}

// FindProcess is the host pid of the live (not zombie) process whose
// argv[0] is name, or 0.
func FindProcess(name string) int {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, _ := os.ReadFile(p); strings.HasPrefix(string(b), name+"\x00") {
			stat, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "stat"))
			if strings.Contains(string(stat), ") Z ") {
				continue
			}
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			return pid
		}
	}
	return 0
}
