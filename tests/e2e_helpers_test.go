// Package tests holds end-to-end tests of the built hermes-exec binary.
package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"hermes-exec/internal/testutil"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// e2eBinary builds hermes-exec and hermes-exec-sandbox once for the whole
// package, with the Makefile. HERMES_E2E_BIN tests binaries built elsewhere
// (installed ones, say) instead.
func e2eBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: not run with -short (make test-short)")
	}
	buildOnce.Do(func() {
		if p := os.Getenv("HERMES_E2E_BIN"); p != "" {
			builtBin = p // its hermes-exec-admin and hermes-exec-sandbox must be next to it
			return
		}
		dir, err := os.MkdirTemp("", "hermes-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "hermes-exec")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Dir(filepath.Dir(file))
		cmd := exec.Command("make", "build", "BINDIR="+dir, "VERSION=e2e")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New("make build: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// env is one isolated hermes-exec home for a test.
type env struct {
	t    *testing.T
	bin  string
	home string // HERMES_HOME
	dir  string // working directory for commands
	// ttyShell, when set, is the shell line startTTY's terminal program
	// runs instead of hermes-exec itself ($HERMES_E2E_BIN names it).
	ttyShell string
	// ttyOnTerminal: in startTTY's pipes mode, hermes-exec's stdin and
	// stdout are the terminal program's terminal too (PTY mode: the
	// command gets a pseudo-terminal of its own).
	ttyOnTerminal bool
	// uid, when not 0, is the user (in group nobody) cmd runs hermes-exec
	// as (asUser).
	uid uint32
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, bin: e2eBinary(t), home: t.TempDir(), dir: t.TempDir()}
	return e
}

// writeConfig replaces config.yaml.
func (e *env) writeConfig(yaml string) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.home, "config.yaml"), []byte(yaml), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// baseEnv is a small, predictable environment without a session id unless
// the test sets one.
func (e *env) baseEnv(extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"HERMES_HOME=" + e.home,
		"LANG=C",
	}, extra...)
}

// cmd prepares hermes-exec with ARGS, no terminal anywhere: stdin is
// /dev/null and the process gets its own session, so /dev/tty cannot be
// opened (as for an agent running it in the background).
func (e *env) cmd(extraEnv []string, args ...string) *exec.Cmd {
	c := exec.Command(e.bin, args...)
	c.Dir = e.dir
	c.Env = e.baseEnv(extraEnv...)
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: e.credential()}
	return c
}

// credential is e.uid's, or nil for the test's own user.
func (e *env) credential() *syscall.Credential {
	if e.uid == 0 {
		return nil
	}
	return &syscall.Credential{Uid: e.uid, Gid: nobodyGID, Groups: []uint32{}}
}

type result struct {
	code           int
	stdout, stderr string
}

func (e *env) run(extraEnv []string, args ...string) result {
	e.t.Helper()
	return runCmd(e.t, e.cmd(extraEnv, args...))
}

// runCmd runs c to the end and returns its exit status and output; only a
// failure to start it at all fails the test.
func runCmd(t *testing.T, c *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("running %v: %v", c.Args, err)
		}
		code = ee.ExitCode()
		// hermes-exec dies of the signal its command died of, as bash
		// -c does; a calling shell reports that as 128+N.
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// auditRecords reads every line of the audit log as JSON.
func (e *env) auditRecords() []map[string]any {
	e.t.Helper()
	f, err := os.Open(filepath.Join(e.home, "audit.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	var recs []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			e.t.Fatalf("audit line is not JSON: %v: %s", err, sc.Text())
		}
		if _, ok := m["chain"]; ok {
			continue // the hash chain's own genesis/rotation record, no command
		}
		recs = append(recs, m)
	}
	return recs
}

func (e *env) lastAudit() map[string]any {
	e.t.Helper()
	recs := e.auditRecords()
	if len(recs) == 0 {
		e.t.Fatal("no audit record")
	}
	return recs[len(recs)-1]
}

// ttySession runs hermes-exec with a fresh pseudo-terminal as its
// controlling terminal. When pipes is true, stdin/stdout/stderr are pipes
// (the agent case: only /dev/tty is a terminal); otherwise all three are
// the terminal.
type ttySession struct {
	t      *testing.T
	cmd    *exec.Cmd
	master *os.File
	mu     sync.Mutex
	screen bytes.Buffer
	stdout bytes.Buffer
	done   chan struct{}
	err    error
	// outFile holds hermes-exec's stdout and stderr in pipes mode.
	outFile string
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (e *env) startTTY(pipes bool, extraEnv []string, args ...string) *ttySession {
	e.t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		testutil.Skip(e.t, "no pseudo-terminals on this machine: %v", err)
	}
	if err := pty.Setsize(master, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		e.t.Fatal(err)
	}
	c := exec.Command(e.bin, args...)
	c.Dir = e.dir
	c.Env = e.baseEnv(append([]string{"TERM=xterm"}, extraEnv...)...)
	s := &ttySession{t: e.t, cmd: c, master: master, done: make(chan struct{})}
	if pipes {
		// A human's terminal, modelled honestly: hermes-exec refuses to
		// ask on a PTY whose master a program it can see holds (this
		// test is such a program, and could answer). So the terminal is
		// allocated, and its session started, by a party hermes-exec
		// cannot see (testutil.HumanTerminal: outside its PID namespace,
		// as sshd is for an ordinary user); script(1) is the terminal
		// program on it, holding the master of hermes-exec's terminal
		// and relaying this test's keys to it; a shell runs on that, and
		// hermes-exec from the shell. hermes-exec's stdin is empty and
		// its output goes to a file, as pipes would.
		out := filepath.Join(e.t.TempDir(), "out")
		s.outFile = out
		inner := `exec "$HERMES_E2E_BIN" "$@" </dev/null >` + out + ` 2>&1`
		if e.ttyOnTerminal {
			inner = `exec "$HERMES_E2E_BIN" "$@"`
		}
		if e.ttyShell != "" {
			// The terminal program runs a shell line that starts
			// hermes-exec itself (several of them, say).
			inner = "(" + e.ttyShell + `) </dev/null >` + out + ` 2>&1`
		}
		line := "sh -c " + shQuote(inner) + " hermes-exec"
		for _, a := range args {
			line += " " + shQuote(a)
		}
		argv := testutil.HumanTerminal(e.t, "script", "-qfec", line, "/dev/null")
		c = exec.Command(argv[0], argv[1:]...)
		c.Dir = e.dir
		c.Env = append(e.baseEnv(append([]string{"TERM=xterm"}, extraEnv...)...), "HERMES_E2E_BIN="+e.bin)
		s.cmd = c
		c.Stdin, c.Stdout, c.Stderr = slave, slave, slave
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	} else {
		c.Stdin, c.Stdout, c.Stderr = slave, slave, slave
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	}
	s.start(slave)
	e.t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			c.Process.Kill()
			<-s.done
		}
		master.Close()
	})
	return s
}

// start starts s.cmd on the terminal whose other end is slave, then keeps
// s.screen filled with what the master reads and sets s.err and closes
// s.done when the command exits.
func (s *ttySession) start(slave *os.File) {
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	slave.Close()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := s.master.Read(buf)
			s.mu.Lock()
			s.screen.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
}

// waitScreen waits until the terminal shows substr.
func (s *ttySession) waitScreen(substr string, timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		ok := strings.Contains(s.screen.String(), substr)
		s.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("terminal never showed %q; it shows:\n%s", substr, s.screenText())
}

func (s *ttySession) screenText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.screen.String()
}

func (s *ttySession) outText() string {
	if s.outFile != "" {
		b, _ := os.ReadFile(s.outFile)
		return string(b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stdout.String()
}

func (s *ttySession) send(keys string) {
	s.t.Helper()
	if _, err := s.master.Write([]byte(keys)); err != nil {
		s.t.Fatal(err)
	}
}

// wait returns the exit status.
func (s *ttySession) wait(timeout time.Duration) int {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(timeout):
		s.t.Fatalf("hermes-exec did not exit within %v; terminal:\n%s", timeout, s.screenText())
	}
	if s.err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		return ee.ExitCode()
	}
	s.t.Fatal(s.err)
	return -1
}
