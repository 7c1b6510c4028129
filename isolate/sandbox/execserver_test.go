package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hermes-exec/internal/testutil"
	"hermes-exec/isolate"
)

// Session commands are started by the session's reaper (execserver.go),
// with every guarantee of a command libcontainer starts.

func TestSessionCommandsStartedByTheReaper(t *testing.T) {
	requireRoot(t)
	o := testOptions(t, "session")
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	// The reaper, not libcontainer, started it: its parent is pid 1 (a
	// libcontainer process's parent is outside the pid namespace).
	st, out := run(t, b, "fast", "echo PPID=$PPID; grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status")
	if st.Code != 0 || !strings.Contains(out, "PPID=1\n") {
		t.Fatalf("not started by the reaper: %+v %q", st, out)
	}
	for _, want := range []string{"CapEff:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q missing: the reaper's command lost a restriction:\n%s", want, out)
		}
	}
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"true", 0}, {"exit 42", 42}, {"kill -9 $$", 137}, {"kill -TERM $$", 143},
		{"sleep 0.1 & wait; exit 7", 7},
	} {
		if st, out := run(t, b, "fast", tc.script); st.Code != tc.want {
			t.Errorf("%q: %+v, want %d (%q)", tc.script, st, tc.want, out)
		}
	}
	// argv[0] looked up in the command's PATH, with bash's statuses.
	for _, tc := range []struct {
		args []string
		want int
		msg  string
	}{
		{[]string{"no-such-command-hermes"}, 127, "not found"},
		{[]string{"/etc/passwd"}, 126, "permission denied"},
		{[]string{"printenv", "PATH"}, 0, "/usr/bin:/bin"},
	} {
		var buf bytes.Buffer
		st := runArgs(t, b, "fast", tc.args, []string{"PATH=/usr/bin:/bin"}, &buf)
		if st.Code != tc.want || !strings.Contains(buf.String(), tc.msg) {
			t.Errorf("%q: %+v %q, want %d and %q", tc.args, st, buf.String(), tc.want, tc.msg)
		}
	}
	// The same environment filtering as everywhere in the sandbox.
	var env bytes.Buffer
	runArgs(t, b, "fast", []string{"env"}, []string{"PATH=/usr/bin:/bin", "GITHUB_TOKEN=ghp_fastpath", "LANG=C"}, &env)
	if strings.Contains(env.String(), "ghp_fastpath") || !strings.Contains(env.String(), "LANG=C") {
		t.Errorf("environment inside:\n%s", env.String())
	}
	// The reaper holds the exec socket: a command, although the same
	// user, can neither ptrace it nor copy its descriptors.
	st, out = run(t, b, "fast", `/usr/bin/perl -e '$r = syscall(101, 0x4206, 1, 0, 0); print "PTRACE ", ($r == -1 ? "failed" : "ok"), "\n"; $p = syscall(434, 1, 0); $r = $p < 0 ? -1 : syscall(438, $p, 4, 0); print "GETFD ", ($r == -1 ? "failed" : "ok"), "\n"'`)
	if !strings.Contains(out, "PTRACE failed") || !strings.Contains(out, "GETFD failed") {
		t.Errorf("a command can reach into the reaper: %+v\n%s", st, out)
	}
	// Standard input is the wrapper's.
	r, w, _ := os.Pipe()
	w.WriteString("from-stdin\n")
	w.Close()
	var cat bytes.Buffer
	if st := runSpec(t, b, isolate.Spec{Args: []string{"cat"}, Env: []string{"PATH=/usr/bin:/bin"}, Stdin: r, Session: "fast"}, &cat); st.Code != 0 || cat.String() != "from-stdin\n" {
		t.Errorf("stdin: %+v %q", st, cat.String())
	}
	r.Close()
}

// runArgs runs args in session and returns its status; stdout and stderr
// go to out.
func runArgs(t *testing.T, b isolate.Backend, session string, args, env []string, out *bytes.Buffer) isolate.Status {
	t.Helper()
	return runSpec(t, b, isolate.Spec{Args: args, Env: env, Session: session}, out)
}

func runSpec(t *testing.T, b isolate.Backend, s isolate.Spec, out *bytes.Buffer) isolate.Status {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { out.ReadFrom(r); close(done) }()
	s.Stdout, s.Stderr = w, w
	st, err := b.Run(context.Background(), s)
	w.Close()
	<-done
	r.Close()
	if err != nil {
		t.Fatalf("%q: %v", s.Args, err)
	}
	return st
}

// A signal the wrapper gets reaches the command; a SIGKILLed wrapper's
// command dies at once (the reaper sees the connection close), with no
// need for a next start to collect it.
func TestReaperStartedCommandFollowsItsWrapper(t *testing.T) {
	requireRoot(t)
	o := testOptions(t, "session")
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	run(t, b, "follow", "true")
	startHelper := func(script string) (*exec.Cmd, *bytes.Buffer) {
		job, _ := json.Marshal(helperJob{O: o, Args: []string{"bash", "-c", script}, Session: "follow"})
		h := exec.Command("/proc/self/exe")
		h.Env = append(os.Environ(), "SANDBOX_TEST_HELPER="+string(job))
		var out bytes.Buffer
		h.Stdout = &out
		if err := h.Start(); err != nil {
			t.Fatal(err)
		}
		return h, &out
	}
	marker := "sbx-follow-" + strconv.Itoa(os.Getpid())
	ready := filepath.Join(o.Workspace, "trap-set")
	h, out := startHelper(`trap 'echo GOT-TERM; exit 9' TERM; touch ` + ready + `; while :; do sleep 0.05; done`)
	if !testutil.WaitFor(20*time.Second, func() bool { _, err := os.Stat(ready); return err == nil }) {
		h.Process.Kill()
		t.Fatal("the command never started")
	}
	h.Process.Signal(syscall.SIGTERM)
	err = h.Wait()
	if code := h.ProcessState.ExitCode(); code != 9 || !strings.Contains(out.String(), "GOT-TERM") {
		t.Errorf("SIGTERM to the wrapper: exit %d (%v), output %q; want the command's trap and 9", code, err, out.String())
	}

	h, _ = startHelper("exec -a " + marker + " sleep 300")
	var pid int
	if !testutil.WaitFor(20*time.Second, func() bool { pid = findProc(marker); return pid != 0 }) {
		h.Process.Kill()
		t.Fatal("the command never started")
	}
	h.Process.Kill()
	h.Wait()
	if !testutil.WaitFor(5*time.Second, func() bool { return findProc(marker) == 0 }) {
		t.Fatal("the command outlived its SIGKILLed wrapper")
	}
	if st, _ := run(t, b, "follow", "true"); st.Code != 0 {
		t.Errorf("the session is unusable after: %+v", st)
	}
	if socks, _ := filepath.Glob(filepath.Join(o.StateDir, "*", execSocketName)); len(socks) != 1 {
		t.Errorf("exec sockets %v, want the session's one", socks)
	}
}
