package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Once a session's container runs, hermes-exec asks its reaper to start a
// command itself, without starting hermes-exec-sandbox. The helper is
// replaced by one that only records being called and fails: every command
// below that gives the right answer ran without it.
func TestSandboxSessionCommandSkipsHelper(t *testing.T) {
	s := newSandboxEnv(t, "  persist: session\n  memory: 256m\n")
	s.writeConfig(fmt.Sprintf("approvals:\n  mode: \"off\"\nterminal:\n  backend: sandbox\n  env_passthrough: [PROBE_PASS]\ncontainer:\n  workspace: %s\n  persist: session\n  memory: 256m\n", s.ws))
	sid := "HERMES_SESSION_ID=skip-helper-" + strconv.Itoa(os.Getpid())
	vars := []string{sid, "PROBE_PASS=pass-1", "OPENAI_API_KEY=SECRET-ENV-5d1e", "HERMES_SKILL_ENV=PROBE_SKILL", "PROBE_SKILL=skill-2"}

	// The first command makes the container through the real helper.
	first := s.sh("env | sort", vars...)
	if first.code != 0 {
		t.Fatalf("first session command: exit %d: %s", first.code, first.stderr)
	}

	calls := filepath.Join(s.base, "helper-calls")
	fake := filepath.Join(s.base, "fake-helper")
	write(t, fake, "#!/bin/sh\necho called >> "+calls+"\nexit 99\n")
	if err := os.Chmod(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	s.bin = fakeHelperBin(t, s.bin, fake)
	noHelper := vars

	// The environment is exactly the one the helper gave the first command.
	second := s.sh("env | sort", noHelper...)
	if second.code != 0 || second.stdout != first.stdout {
		t.Errorf("environment differs from the helper's (exit %d, %s):\nhelper: %q\ndirect: %q", second.code, second.stderr, first.stdout, second.stdout)
	}
	if !strings.Contains(second.stdout, "PROBE_PASS=pass-1") || strings.Contains(second.stdout, "SECRET-ENV-5d1e") {
		t.Errorf("passthrough missing or secret leaked:\n%s", second.stdout)
	}

	for _, tc := range []struct {
		text, stdout, stderr string
		code                 int
	}{
		{"echo out; echo err >&2; exit 3", "out\n", "err\n", 3},
		{"kill -TERM $$", "", "", 143},
		{"kill -KILL $$", "", "", 137},
		{"no-such-command-xyz", "", "no-such-command-xyz", 127},
	} {
		r := s.sh(tc.text, noHelper...)
		if r.code != tc.code || r.stdout != tc.stdout || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("%q: exit %d stdout %q stderr %q; want %d %q %q", tc.text, r.code, r.stdout, r.stderr, tc.code, tc.stdout, tc.stderr)
		}
	}

	c := s.cmd(append(append([]string(nil), s.extraEnv...), noHelper...), "-c", "tr a-z A-Z")
	c.Stdin = strings.NewReader("piped input\n")
	out, err := c.Output()
	if err != nil || string(out) != "PIPED INPUT\n" {
		t.Errorf("stdin passthrough: %q, %v", out, err)
	}

	// The memory limit's kill is explained as the helper explains it.
	bomb := s.sh(`exec /usr/bin/perl -e '$x = "a" x (1<<20); @a = (); push @a, $x . $_ for 1..100000; print "ALLOCATED\n"'`, noHelper...)
	if bomb.code != 137 || strings.Contains(bomb.stdout, "ALLOCATED") || !strings.Contains(bomb.stderr, "out of memory") {
		t.Errorf("memory bomb: exit %d, stdout %q, stderr %q; want 137 and the out-of-memory reason", bomb.code, bomb.stdout, bomb.stderr)
	}

	if b, err := os.ReadFile(calls); err == nil {
		t.Fatalf("hermes-exec-sandbox was started for a running session: %q", b)
	}

	// A session without a container still goes through the helper (here
	// the recording one, which fails on purpose).
	r := s.sh("echo RAN", "HERMES_SESSION_ID=no-container-"+strconv.Itoa(os.Getpid()))
	if b, _ := os.ReadFile(calls); r.code != 99 || !strings.Contains(string(b), "called") {
		t.Errorf("a new session did not fall back to the helper: exit %d, calls %q", r.code, b)
	}
}

// A SIGKILLed wrapper cannot tell the reaper anything, but its end closes
// the connection, on which the reaper kills the command.
func TestSandboxSessionDirectKilledWrapperKillsCommand(t *testing.T) {
	s := newSandboxEnv(t, "  persist: session\n  memory: 256m\n")
	sid := "HERMES_SESSION_ID=kill-direct-" + strconv.Itoa(os.Getpid())
	if r := s.sh("true", sid); r.code != 0 {
		t.Fatalf("first session command: exit %d: %s", r.code, r.stderr)
	}
	calls := filepath.Join(s.base, "helper-calls")
	fake := filepath.Join(s.base, "fake-helper")
	write(t, fake, "#!/bin/sh\necho called >> "+calls+"\nexit 99\n")
	if err := os.Chmod(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	s.bin = fakeHelperBin(t, s.bin, fake)
	marker := "hermes-direct-" + strconv.Itoa(os.Getpid())
	c := s.cmd(append(append([]string(nil), s.extraEnv...), sid), "-c", "exec -a "+marker+" sleep 300")
	sleeper := startMarked(t, c, marker)
	c.Process.Signal(syscall.SIGKILL)
	c.Wait()
	if !waitFor(10*time.Second, func() bool { return !alive(sleeper) }) {
		t.Error("the command outlived its SIGKILLed wrapper")
	}

	// A signal to the wrapper reaches the command, whose end by it is
	// the wrapper's status.
	marker += "-term"
	c = s.cmd(append(append([]string(nil), s.extraEnv...), sid), "-c", "exec -a "+marker+" sleep 300")
	sleeper = startMarked(t, c, marker)
	c.Process.Signal(syscall.SIGTERM)
	c.Wait()
	if code := c.ProcessState.ExitCode(); code != 143 {
		t.Errorf("SIGTERM to the wrapper: exit %d, want 143", code)
	}
	if alive(sleeper) {
		t.Error("the command outlived the SIGTERM relayed to it")
	}
	if b, err := os.ReadFile(calls); err == nil {
		t.Errorf("hermes-exec-sandbox was started for a running session: %q", b)
	}
}

// fakeHelperBin copies hermes-exec (and hermes-exec-admin) into a directory
// of its own beside fake as its hermes-exec-sandbox (a wrapper finds its helpers next to itself
// only) and returns the copy's path.
func fakeHelperBin(t *testing.T, bin, fake string) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "hermes-exec"), string(b))
	f, err := os.ReadFile(fake)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "hermes-exec-sandbox"), string(f))
	a, err := os.ReadFile(filepath.Join(filepath.Dir(bin), "hermes-exec-admin"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "hermes-exec-admin"), string(a))
	for _, n := range []string{"hermes-exec", "hermes-exec-admin", "hermes-exec-sandbox"} {
		if err := os.Chmod(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "hermes-exec")
}

// The helper is found next to hermes-exec, never through a variable the
// agent's environment could set: a program of its own there would run
// "sandboxed" commands on the host.
func TestSandboxHelperIsNotTakenFromTheEnvironment(t *testing.T) {
	s := newSandboxEnv(t, "  memory: 256m\n")
	calls := filepath.Join(s.base, "helper-calls")
	fake := filepath.Join(s.base, "fake-helper")
	write(t, fake, "#!/bin/sh\necho called >> "+calls+"\nexec /bin/sh -c 'echo ON-THE-HOST'\n")
	if err := os.Chmod(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"HERMES_SANDBOX_HELPER", "HERMES_CONTAINERD_HELPER"} {
		r := s.sh("echo RAN", v+"="+fake)
		if b, err := os.ReadFile(calls); err == nil || strings.Contains(r.stdout, "ON-THE-HOST") {
			t.Fatalf("%s=%s started the stand-in: %q %+v", v, fake, b, r)
		}
		if r.code != 0 || !strings.Contains(r.stdout, "RAN") {
			t.Errorf("%s set: exit %d %+v", v, r.code, r)
		}
	}
}
