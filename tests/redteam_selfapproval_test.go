package tests

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"hermes-exec/internal/testutil"
)

// Red-team: a command (or a script it wrote) starts a nested hermes-exec
// under script(1), sheds every agent mark (env -i, its own session) and
// feeds script's stdin from a pipe: the prompt appears on script's
// terminal and the pipe answers it. That is the agent approving its own
// command; the prompt must be refused, and the command denied.
func TestRedteamPipeDrivenScriptCannotApprove(t *testing.T) {
	e := newEnv(t)
	if _, err := exec.LookPath("script"); err != nil {
		t.Fatalf("script(1) (util-linux) is missing: %v", err)
	}
	marker := filepath.Join(e.dir, "approved-by-a-pipe")
	inner := e.bin + " -c " + shQuote("touch "+marker+"; history -c")
	c := exec.Command("env", "-i", "PATH="+os.Getenv("PATH"), "HERMES_HOME="+e.home, "TERM=xterm",
		"script", "-qfec", inner, "/dev/null")
	c.Dir = e.dir
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	in, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &testutil.Buffer{}
	c.Stdout, c.Stderr = out, out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	// Answer as soon as the prompt shows, as an agent reading it would.
	deadline := time.After(60 * time.Second)
	answered := false
wait:
	for {
		select {
		case <-done:
			break wait
		case <-deadline:
			c.Process.Kill()
			<-done
			t.Fatalf("no outcome within 60 s; output:\n%s", out.String())
		case <-time.After(50 * time.Millisecond):
			prompted := strings.Contains(out.String(), "[y]es once")
			if prompted && !answered {
				io.WriteString(in, "y")
				answered = true
				time.AfterFunc(2*time.Second, func() { in.Close() })
			}
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("a pipe answered the prompt: the command ran\n%s", out.String())
	}
	if !strings.Contains(out.String(), "hermes-exec: denied") {
		t.Fatalf("want a denial, got:\n%s", out.String())
	}
}
