package gateway

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hermes-exec/approval"
	"hermes-exec/approval/gatewayexec"
	gw "hermes-exec/gateway"
)

// The test binary is also the helper: started with gatewayexec.Arg, it is
// what hermes-exec-admin is for the shell.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == gatewayexec.Arg {
		os.Exit(ServePipe(os.Args[2], os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

func self() (string, error) { return os.Executable() }

// open starts a helper (this test binary) for the daemon at sock, as the
// shell does, and closes it when the test ends.
func open(t *testing.T, sock string) *gatewayexec.Approver {
	t.Helper()
	a, err := gatewayexec.Open(sock, self)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// askAsync asks through a in the background; the error arrives on the
// channel returned.
func askAsync(ctx context.Context, a *gatewayexec.Approver) <-chan error {
	errc := make(chan error, 1)
	go func() {
		_, err := a.Ask(ctx, request())
		errc <- err
	}()
	return errc
}

func TestPipeAskAnswered(t *testing.T) {
	s, sock, _ := daemon(t)
	a := open(t, sock)
	r := request()
	go func() {
		waitPending(t, s, 1)
		p := s.Pending()[0]
		if p.ID != r.ID || p.Command != r.Command || len(p.Findings) != 1 || p.Findings[0].Rule != "git-destructive" || !p.CanAlways {
			t.Errorf("the daemon got %+v", p)
		}
		s.Decide(r.ID, gw.Decision{Answer: approval.AnswerSession, By: alice})
	}()
	rep, err := a.Ask(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Answer != approval.AnswerSession || rep.Approver != "web:alice" {
		t.Fatalf("reply %+v", rep)
	}
}

func TestPipeOpenFailsClosed(t *testing.T) {
	dir := t.TempDir()
	started := false
	count := func() (string, error) { started = true; return os.Executable() }
	// No socket: not in use, and nothing is started to find that out.
	if _, err := gatewayexec.Open(filepath.Join(dir, "gateway.sock"), count); !errors.Is(err, gatewayexec.ErrNotRunning) || started {
		t.Fatalf("no socket: %v (helper started: %v)", err, started)
	}
	// A socket nobody serves: in use but down, an error (a denial).
	_, sock, stop := daemon(t)
	stop()
	os.WriteFile(sock, nil, 0o600) // the file stays behind, as after a crash
	if _, err := gatewayexec.Open(sock, self); err == nil || errors.Is(err, gatewayexec.ErrNotRunning) {
		t.Fatalf("dead daemon: %v", err)
	}
	// A helper that cannot be found: an error too, never a skip.
	_, sock, _ = daemon(t)
	missing := func() (string, error) { return "", errors.New("hermes-exec-admin: not installed next to hermes-exec") }
	if _, err := gatewayexec.Open(sock, missing); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Fatalf("missing helper: %v", err)
	}
	// A helper that is not the helper (it says nothing): an error.
	if _, err := gatewayexec.Open(sock, func() (string, error) { return "/bin/true", nil }); err == nil {
		t.Fatal("a silent helper was taken for a gateway")
	}
}

func TestPipeWithdrawCarriesTheReason(t *testing.T) {
	s, sock, _ := daemon(t)
	events, cancel := s.Subscribe()
	defer cancel()
	a := open(t, sock)
	ctx, stop := context.WithCancelCause(context.Background())
	done := make(chan approval.Reply, 1)
	go func() {
		rep, _ := a.Ask(ctx, request())
		done <- rep
	}()
	<-events // new
	stop(errors.New("answered at the terminal by root"))
	select {
	case ev := <-events:
		if ev.Kind != gw.EventWithdrawn || ev.Reason != "answered at the terminal by root" {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request was not withdrawn")
	}
	if rep := <-done; rep.Answer != approval.AnswerDeny || !strings.Contains(rep.Reason, "answered at the terminal by root") {
		t.Fatalf("a withdrawn request: %+v", rep)
	}
}

func TestPipeDaemonKilledMidWaitIsAnError(t *testing.T) {
	s, sock, stop := daemon(t)
	a := open(t, sock)
	errc := askAsync(context.Background(), a)
	waitPending(t, s, 1)
	stop()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "went away") {
			t.Fatalf("daemon gone: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the shell kept waiting for a dead daemon")
	}
}

func TestPipeHelperKilledMidWaitIsAnError(t *testing.T) {
	s, sock, _ := daemon(t)
	events, cancel := s.Subscribe()
	defer cancel()
	a := open(t, sock)
	errc := askAsync(context.Background(), a)
	<-events // new
	killHelpers(t)
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("a dead helper's silence was taken for an answer")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the shell kept waiting for a dead helper")
	}
}

// killHelpers SIGKILLs this process's helper children.
func killHelpers(t *testing.T) {
	t.Helper()
	n := 0
	for _, pid := range children(t) {
		cl, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if strings.Contains(string(cl), gatewayexec.Arg) {
			syscall.Kill(pid, syscall.SIGKILL)
			n++
		}
	}
	if n == 0 {
		t.Fatal("no helper to kill")
	}
}

// The shell ending (killed, say) ends the helper: the daemon withdraws the
// request as it did when the shell held the connection itself.
func TestPipeShellGoneWithdraws(t *testing.T) {
	s, sock, _ := daemon(t)
	events, cancel := s.Subscribe()
	defer cancel()
	a, err := gatewayexec.Open(sock, self)
	if err != nil {
		t.Fatal(err)
	}
	go a.Ask(context.Background(), request())
	<-events  // new
	a.Close() // what the shell's exit does to the pipe
	select {
	case ev := <-events:
		if ev.Kind != gw.EventWithdrawn || ev.Reason != "the wrapper went away" {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request outlived the shell")
	}
}

// children are the pids of this process's children.
func children(t *testing.T) []int {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/children")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, w := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(w); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// A process of the same uid cannot write an answer into the channel
// between the shell and its helper: it cannot open the helper's
// descriptors through /proc (a pipe can be opened so; the forged line
// was read as the gateway's answer and the command ran).
func TestPipeAnswerCannotBeForgedThroughProc(t *testing.T) {
	s, sock, _ := daemon(t)
	before := map[int]bool{}
	for _, p := range children(t) {
		before[p] = true
	}
	a := open(t, sock)
	var helper int
	for _, p := range children(t) {
		if !before[p] {
			helper = p
		}
	}
	if helper == 0 {
		t.Fatal("the helper process was not found")
	}
	forged := []byte(`{"reply":{"answer":"once","approver":"forged"}}` + "\n")
	for _, fd := range []string{"0", "1"} {
		f, err := os.OpenFile("/proc/"+strconv.Itoa(helper)+"/fd/"+fd, os.O_WRONLY, 0)
		if err == nil {
			f.Write(forged)
			f.Close()
			t.Errorf("the helper's fd %s was opened through /proc", fd)
		}
	}
	r := request()
	go func() {
		waitPending(t, s, 1)
		s.Decide(r.ID, gw.Decision{Answer: approval.AnswerDeny, By: alice})
	}()
	rep, err := a.Ask(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Answer != approval.AnswerDeny || rep.Approver != "web:alice" {
		t.Fatalf("reply %+v: not the daemon's", rep)
	}
}
