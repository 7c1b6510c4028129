package isolate

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hermes-exec/internal/procstat"
	"hermes-exec/internal/testutil"
)

// testEnv is a minimal environment with the test's own PATH.
func testEnv() []string { return []string{"PATH=" + os.Getenv("PATH")} }

// runBash runs script with bash -c through the host backend in pipe mode,
// with stdin from /dev/null and stdout captured.
func runBash(t *testing.T, ctx context.Context, script string) (Status, string) {
	t.Helper()
	return runSpec(t, ctx, Spec{Args: []string{"bash", "-c", script}, Env: testEnv()})
}

// runSpec runs s; unset standard files become /dev/null (stdin and stderr)
// and a temporary file (stdout), whose content it returns.
func runSpec(t *testing.T, ctx context.Context, s Spec) (Status, string) {
	t.Helper()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	out, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if s.Stdin == nil {
		s.Stdin = devnull
	}
	if s.Stdout == nil {
		s.Stdout = out
	}
	if s.Stderr == nil {
		s.Stderr = devnull
	}
	st, err := NewHost().Run(ctx, s)
	if err != nil {
		t.Fatalf("Run(%q): %v", s.Args, err)
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return st, string(b)
}

func TestHostName(t *testing.T) {
	if got := NewHost().Name(); got != "host" {
		t.Fatalf("Name() = %q", got)
	}
}

func TestExitStatusAsBashReportsIt(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   Status
	}{
		{"exit 0", Status{Code: 0}},
		{"exit 1", Status{Code: 1}},
		{"exit 42", Status{Code: 42}},
		{"exit 255", Status{Code: 255}},
		{"exit 300", Status{Code: 44}}, // the kernel keeps the low 8 bits, as bash shows
		{"kill -KILL $$", Status{Code: 137, Signal: 9}},
		{"kill -TERM $$", Status{Code: 143, Signal: 15}},
		{"kill -SEGV $$", Status{Code: 139, Signal: 11}},
	} {
		st, _ := runBash(t, context.Background(), tc.script)
		if st != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.script, st, tc.want)
		}
	}
}

func TestBinaryStdinToStdoutUnchanged(t *testing.T) {
	// A few MB holding every byte value, through a pipe (so EOF is the
	// writer's close) and out to a file.
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(i*7 + i>>8)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		w.Write(data)
		w.Close()
	}()
	defer r.Close()
	st, out := runSpec(t, context.Background(), Spec{Args: []string{"cat"}, Env: testEnv(), Stdin: r})
	if st.Code != 0 {
		t.Fatalf("cat exited %+v (did it see EOF?)", st)
	}
	if !bytes.Equal([]byte(out), data) {
		t.Fatalf("output differs from input: %d bytes in, %d out", len(data), len(out))
	}
}

func TestStdinEOFSeen(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		io.WriteString(w, "one\ntwo\n")
		w.Close()
	}()
	defer r.Close()
	st, out := runSpec(t, context.Background(), Spec{
		Args: []string{"bash", "-c", `n=0; while read -r l; do n=$((n+1)); done; echo "lines=$n eof"`},
		Env:  testEnv(), Stdin: r,
	})
	if st.Code != 0 || out != "lines=2 eof\n" {
		t.Fatalf("got %+v %q", st, out)
	}
}

func TestCommandSharesCallersFilesAndProcessGroup(t *testing.T) {
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	// Same open file description: the command's writes land at the
	// caller's offset and its fd 1 is the very file.
	io.WriteString(out, "caller;")
	st, _ := runSpec(t, context.Background(), Spec{
		Args:   []string{"bash", "-c", `printf 'pgid=%s;' "$(cut -d' ' -f5 /proc/$$/stat)"; readlink /proc/$$/fd/1`},
		Env:    testEnv(),
		Stdout: out,
	})
	if st.Code != 0 {
		t.Fatalf("status %+v", st)
	}
	b, _ := os.ReadFile(out.Name())
	want := "caller;pgid=" + strconv.Itoa(syscall.Getpgrp()) + ";" + out.Name() + "\n"
	if string(b) != want {
		t.Fatalf("got %q, want %q", b, want)
	}
}

func TestEnvIsExactlySpecEnv(t *testing.T) {
	t.Setenv("ISOLATE_TEST_WRAPPER_ONLY", "leak")
	st, out := runSpec(t, context.Background(), Spec{
		Args: []string{"/usr/bin/env"},
		Env:  []string{"A=1", "B=two words"},
	})
	if st.Code != 0 || out != "A=1\nB=two words\n" {
		t.Fatalf("got %+v %q", st, out)
	}
	// nil is an empty environment, never the wrapper's.
	st, out = runSpec(t, context.Background(), Spec{Args: []string{"/usr/bin/env"}})
	if st.Code != 0 || out != "" {
		t.Fatalf("nil Env: got %+v %q", st, out)
	}
}

func TestPathLookupUsesCommandsPATH(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "isolate-test-prog")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\necho from-temp-path \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Not executable: skipped by the search, as by bash.
	if err := os.WriteFile(filepath.Join(dir, "isolate-test-noexec"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, out := runSpec(t, context.Background(), Spec{
		Args: []string{"isolate-test-prog", "x"},
		Env:  []string{"PATH=/nonexistent:" + dir},
	})
	if st.Code != 0 || out != "from-temp-path x\n" {
		t.Fatalf("got %+v %q", st, out)
	}
	_, err := NewHost().Run(context.Background(), Spec{Args: []string{"isolate-test-noexec"}, Env: []string{"PATH=" + dir}})
	if !IsNotFound(err) {
		t.Fatalf("non-executable file found by PATH search: %v", err)
	}
}

func TestWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	st, out := runSpec(t, context.Background(), Spec{Args: []string{"/bin/pwd"}, Dir: dir})
	if st.Code != 0 || out != dir+"\n" {
		t.Fatalf("got %+v %q, want %q", st, out, dir)
	}
}

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec")
	os.WriteFile(noexec, []byte("echo hi\n"), 0o644)
	badInterp := filepath.Join(dir, "badinterp")
	os.WriteFile(badInterp, []byte("#!/nonexistent/interpreter\n"), 0o755)

	for _, tc := range []struct {
		name     string
		spec     Spec
		notFound bool // bash: 127, else 126
		cause    error
	}{
		{"missing in PATH", Spec{Args: []string{"no-such-command-xyz"}, Env: testEnv()}, true, nil},
		{"missing path", Spec{Args: []string{"/nonexistent/prog"}}, true, syscall.ENOENT},
		{"missing interpreter", Spec{Args: []string{badInterp}}, true, syscall.ENOENT},
		{"not executable", Spec{Args: []string{noexec}}, false, syscall.EACCES},
		{"directory", Spec{Args: []string{dir}}, false, syscall.EACCES},
		{"missing dir", Spec{Args: []string{"/bin/true"}, Dir: filepath.Join(dir, "gone")}, false, syscall.ENOENT},
		{"dir is a file", Spec{Args: []string{"/bin/true"}, Dir: noexec}, false, syscall.ENOTDIR},
		{"no args", Spec{}, false, nil},
	} {
		st, err := NewHost().Run(context.Background(), tc.spec)
		if err == nil {
			t.Errorf("%s: no error, status %+v", tc.name, st)
			continue
		}
		if IsNotFound(err) != tc.notFound {
			t.Errorf("%s: IsNotFound(%v) = %v, want %v", tc.name, err, !tc.notFound, tc.notFound)
		}
		if tc.cause != nil && !errors.Is(err, tc.cause) {
			t.Errorf("%s: error %v does not wrap %v", tc.name, err, tc.cause)
		}
		var se *StartError
		if !errors.As(err, &se) {
			t.Errorf("%s: %T is not a *StartError", tc.name, err)
		}
	}
}

func TestContextCancelKillsCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	// TERM and INT trapped: only SIGKILL ends it.
	st, _ := runBash(t, ctx, `trap '' TERM INT; sleep 30; exit 3`)
	if st.Code != 137 || st.Signal != 9 {
		t.Fatalf("status %+v, want 137/9", st)
	}
	if !strings.Contains(st.Reason, "deadline exceeded") {
		t.Errorf("Reason %q does not say why", st.Reason)
	}
}

// A cancelled command takes what it started with it: a `sleep 1000 &`,
// and a child that moved to a session of its own, do not outlive it.
func TestContextCancelKillsBackgroundChildren(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pids")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var pids []int
	t.Cleanup(func() {
		for _, p := range pids { // only what a broken cancel left of ours
			if testutil.Alive(p) {
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
	})
	go func() {
		testutil.WaitFor(10*time.Second, func() bool {
			b, _ := os.ReadFile(pidfile)
			f := strings.Fields(string(b))
			if len(f) < 2 {
				return false
			}
			p, _ := strconv.Atoi(f[1])
			_, _, sid, _ := procstat.IDs(p)
			return sid == p // the second child is in its own session
		})
		cancel()
	}()
	st, _ := runBash(t, ctx, `sleep 1000 & echo $! >> `+pidfile+`; ( exec setsid sleep 1000 ) & echo $! >> `+pidfile+`; sleep 1000`)
	if st.Code != 137 {
		t.Fatalf("status %+v, want 137", st)
	}
	b, _ := os.ReadFile(pidfile)
	for _, f := range strings.Fields(string(b)) {
		p, _ := strconv.Atoi(f)
		pids = append(pids, p)
	}
	if len(pids) != 2 {
		t.Fatalf("pids %q", b)
	}
	for _, p := range pids {
		if !testutil.WaitFor(10*time.Second, func() bool { return !testutil.Alive(p) }) {
			t.Errorf("background child %d outlived the cancelled command", p)
		}
	}
}

func TestCancelledContextDoesNotStart(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	mark := filepath.Join(dir, "ran")
	_, err := NewHost().Run(ctx, Spec{Args: []string{"/usr/bin/touch", mark}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("command ran despite a cancelled context")
	}
}
