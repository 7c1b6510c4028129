package reaper

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The tests run the package's test binary as the init (see TestMain).
func TestMain(m *testing.M) {
	if os.Getenv("REAPER_TEST_MAIN") == "1" {
		os.Exit(Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func initCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	c := exec.Command(os.Args[0], args...)
	c.Env = append(os.Environ(), "REAPER_TEST_MAIN=1")
	return c
}

// lifeline is a file whose exclusive lock the test holds, as the helper does.
func lifeline(t *testing.T) (string, *os.File) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "life")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return p, f
}

func TestExecStatuses(t *testing.T) {
	life, _ := lifeline(t)
	for script, want := range map[string]int{"exit 0": 0, "exit 42": 42, "kill -TERM $$": 143, "kill -9 $$": 137} {
		c := initCmd(t, ExecArg, life, "--", "sh", "-c", script)
		err := c.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != want {
			t.Errorf("%q: exit %d, want %d (%v)", script, code, want, err)
		}
	}
	if err := initCmd(t, ExecArg, life, "--", "no-such-program-hermes").Run(); err == nil || err.(*exec.ExitError).ExitCode() != 127 {
		t.Errorf("missing program: %v, want exit 127", err)
	}
}

func TestSignalsReachTheCommand(t *testing.T) {
	life, _ := lifeline(t)
	c := initCmd(t, ExecArg, life, "--", "sh", "-c", "trap 'exit 9' TERM; while :; do sleep 0.05; done")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	c.Process.Signal(unix.SIGTERM)
	err := c.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 9 {
		t.Errorf("SIGTERM relayed: %v, want exit 9", err)
	}
}

// When the lifeline's holder is gone, the command is killed at once.
func TestLifelineKillsTheCommand(t *testing.T) {
	life, f := lifeline(t)
	c := initCmd(t, ExecArg, life, "--", "sleep", "300")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	f.Close() // the helper dies
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 137 {
			t.Errorf("exit %v, want 137", err)
		}
	case <-time.After(10 * time.Second):
		c.Process.Kill()
		t.Fatal("the command outlived its lifeline")
	}
}

func TestRefusesWithoutMode(t *testing.T) {
	if code := Main(nil); code != 126 {
		t.Errorf("no mode: %d", code)
	}
	if code := Main([]string{"sandbox-reaper", "nonsense"}); code != 126 {
		t.Errorf("unknown mode: %d", code)
	}
}
