package reaper

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"hermes-exec/isolate/seccompbpf"
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

// writeSetup stores a setup for the init: prog, then env.
func writeSetup(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "setup")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A fresh container's init installs the stored filter before the command
// runs, and the command gets the setup's environment, not the init's.
func TestSeccompSetupIsInForce(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare(1) to probe the filter with")
	}
	// unshare(2) fails with EPERM; everything else is allowed.
	prog := &seccompbpf.Program{Insns: []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: unix.SYS_UNSHARE},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}}
	setup := writeSetup(t, seccompbpf.Setup(prog, []string{"PATH=" + os.Getenv("PATH"), "FROM_SETUP=yes"}))
	life, _ := lifeline(t)
	c := initCmd(t, ReaperArg, "run", SeccompArg, setup, life, "--", "sh", "-c",
		`echo "setup=$FROM_SETUP init=$REAPER_TEST_MAIN"; grep '^Seccomp:' /proc/self/status; unshare -n true 2>&1; echo "unshare=$?"`)
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"setup=yes init=\n", "Seccomp:\t2\n", "Operation not permitted", "unshare=1\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// Without its filter no command runs: a missing, damaged or unloadable
// setup is a denial (126) with the reason.
func TestSeccompSetupFailsClosed(t *testing.T) {
	bad := &seccompbpf.Program{Insns: []unix.SockFilter{{Code: 0xffff}}} // the kernel refuses it
	for name, setup := range map[string]string{
		"missing":    filepath.Join(t.TempDir(), "no-setup"),
		"damaged":    writeSetup(t, []byte("hermes-exec seccomp 1\nxx")),
		"unloadable": writeSetup(t, seccompbpf.Setup(bad, nil)),
	} {
		life, _ := lifeline(t)
		marker := filepath.Join(t.TempDir(), "ran")
		c := initCmd(t, ReaperArg, "run", SeccompArg, setup, life, "--", "touch", marker)
		out, err := c.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 126 || !strings.Contains(string(out), "hermes-exec: denied: containerd init: seccomp") {
			t.Errorf("%s setup: %v %q, want 126 and the reason", name, err, out)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Errorf("%s setup: the command ran", name)
		}
	}
}
