package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// Any program that starts hermes-exec on a PTY it owns can read the
// prompt and write "y": this test is such a program. hermes-exec must not
// ask there, so typing "y" (and "a") approves nothing, and the reason is
// given.
func TestProgramOwningThePTYCannotApprove(t *testing.T) {
	e := newEnv(t)
	marker := filepath.Join(e.dir, "ran")
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	defer master.Close()
	c := exec.Command(e.bin, "-c", "git push --force origin main; touch "+marker)
	c.Dir = e.dir
	c.Env = e.baseEnv("TERM=xterm")
	c.Stdin, c.Stdout, c.Stderr = slave, slave, slave
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var mu sync.Mutex
	var screen strings.Builder
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	// Answer as an agent would, repeatedly, whatever is on the screen.
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				master.Write([]byte("ya"))
			}
		}
	}()
	err = c.Wait()
	close(stop)
	// Everything hermes-exec wrote is read once the terminal hangs up.
	select {
	case <-readDone:
	case <-time.After(10 * time.Second):
	}
	if exitCode(err) != 126 {
		t.Fatalf("exit %d, want 126", exitCode(err))
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the command ran")
	}
	mu.Lock()
	out := screen.String()
	mu.Unlock()
	if !strings.Contains(out, "no human terminal to ask on") || !strings.Contains(out, "made for this command") {
		t.Errorf("the denial does not say why:\n%s", out)
	}
	rec := e.lastAudit()
	if rec["decision"] != "deny" || rec["channel"] == "tty" {
		t.Errorf("audited as %v", rec)
	}
}

// A terminal that carries an agent's environment but is not the terminal
// that agent was started on (tmux send-keys into a pane an agent set up)
// is not asked on either, even behind a terminal program.
func TestAgentEnvironmentOnAnotherTerminalIsNotAskedOn(t *testing.T) {
	e := newEnv(t)
	s := e.startTTY(true, []string{"CLAUDECODE=1"}, "-c", "git push --force origin main")
	code := s.wait(20 * time.Second)
	if code != 126 || !strings.Contains(s.outText(), "no human terminal to ask on") {
		t.Fatalf("exit %d, output:\n%s\nscreen:\n%s", code, s.outText(), s.screenText())
	}
}

// Two commands asking at once (xargs -P2) take turns on the terminal: the
// second prompt appears only after the first was answered, so one key
// answers one prompt.
func TestConcurrentPromptsTakeTurns(t *testing.T) {
	e := newEnv(t)
	a, b := filepath.Join(e.dir, "a"), filepath.Join(e.dir, "b")
	// Both are started by the terminal's own shell: a command that
	// hermes-exec runs has no controlling terminal to ask on (it must not
	// reach the caller's terminal at all), so nesting them under a
	// hermes-exec would deny both.
	e.ttyShell = `printf '%s\n' ` + a + ` ` + b + ` | xargs -P2 -I{} "$HERMES_E2E_BIN" -c 'git reset --hard 2>/dev/null; touch {}'`
	s := e.startTTY(true, nil)
	s.waitScreen("approve this command?", 20*time.Second)
	time.Sleep(300 * time.Millisecond) // give a second prompt the chance to (wrongly) appear
	if n := strings.Count(s.screenText(), "approve this command?"); n != 1 {
		t.Fatalf("%d prompts on the terminal at once:\n%s", n, s.screenText())
	}
	s.send("y")
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(s.screenText(), "approve this command?") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the second prompt never came:\n%s", s.screenText())
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.send("n")
	s.wait(20 * time.Second)
	_, errA := os.Stat(a)
	_, errB := os.Stat(b)
	if (errA == nil) == (errB == nil) {
		t.Fatalf("want exactly one of the two commands to run (a: %v, b: %v)\n%s", errA, errB, s.screenText())
	}
}
