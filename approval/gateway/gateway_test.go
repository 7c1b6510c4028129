package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hermes-exec/approval"
	gw "hermes-exec/gateway"
	"hermes-exec/gateway/wire"
	"hermes-exec/policy"
)

var alice = gw.Identity{Platform: "web", ID: "a", Name: "alice"}

// daemon starts a real request table behind a real socket.
func daemon(t *testing.T) (*gw.Server, string, func()) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "run", "gateway.sock")
	s := gw.NewServer(gw.Options{Authorized: func(w gw.Identity) bool { return w == alice }, HasApprovers: func() bool { return true }})
	l, err := gw.ListenSocket(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		gw.ServeSocket(ctx, l, gw.SocketHandler(s, func() wire.Status { return wire.Status{Running: true, Pending: len(s.Pending())} }))
		close(done)
	}()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return s, sock, stop
}

func request() approval.Request {
	return approval.Request{ID: approval.NewID(), Command: "git push --force", Timeout: time.Minute, CanAlways: true,
		Findings: []policy.Finding{{Rule: "git-destructive", Description: "d", Command: "git push --force", Pos: "1:1", Decision: policy.Ask}}}
}

func waitPending(t *testing.T, s *gw.Server, n int) {
	t.Helper()
	for i := 0; i < 1000 && len(s.Pending()) != n; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	if len(s.Pending()) != n {
		t.Fatalf("%d pending, want %d", len(s.Pending()), n)
	}
}

func TestSocketIsPrivate(t *testing.T) {
	_, sock, _ := daemon(t)
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket %v %v", fi.Mode(), err)
	}
	di, _ := os.Stat(filepath.Dir(sock))
	if di.Mode().Perm() != 0o700 {
		t.Fatalf("socket dir mode %v", di.Mode().Perm())
	}
	// A second daemon does not take over a live socket.
	if _, err := gw.ListenSocket(sock); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second daemon: %v", err)
	}
}

func TestAskAnswered(t *testing.T) {
	s, sock, _ := daemon(t)
	a, err := Open(sock)
	if err != nil {
		t.Fatal(err)
	}
	r := request()
	go func() {
		waitPending(t, s, 1)
		p := s.Pending()[0]
		if p.Command != r.Command || len(p.Findings) != 1 || p.Findings[0].Rule != "git-destructive" || !p.CanAlways {
			t.Errorf("the daemon got %+v", p)
		}
		s.Decide(r.ID, gw.Decision{Answer: approval.AnswerDeny, Reason: "not today", By: alice})
	}()
	rep, err := a.Ask(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Answer != approval.AnswerDeny || rep.Approver != "web:alice" || rep.Reason != "denied by web:alice: not today" {
		t.Fatalf("reply %+v", rep)
	}
}

func TestOpenWithoutDaemon(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "gateway.sock")); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("no socket: %v", err)
	}
	// A stale socket file: the gateway is in use but down.
	p := filepath.Join(dir, "stale.sock")
	l, _ := net.Listen("unix", p)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if _, err := Open(p); err == nil || errors.Is(err, ErrNotRunning) {
		t.Fatalf("stale socket: %v", err)
	}
}

func TestDaemonKilledMidWaitIsAnError(t *testing.T) {
	s, sock, stop := daemon(t)
	a := New(sock)
	errc := make(chan error, 1)
	go func() {
		_, err := a.Ask(context.Background(), request())
		errc <- err
	}()
	waitPending(t, s, 1)
	stop()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "went away") {
			t.Fatalf("daemon gone: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the wrapper kept waiting for a dead daemon")
	}
}

func TestWithdrawCarriesTheReason(t *testing.T) {
	s, sock, _ := daemon(t)
	events, cancel := s.Subscribe()
	defer cancel()
	a := New(sock)
	ctx, stop := context.WithCancelCause(context.Background())
	done := make(chan approval.Reply, 1)
	go func() {
		rep, _ := a.Ask(ctx, request())
		done <- rep
	}()
	<-events // new
	stop(errors.New("answered at the terminal by root"))
	ev := <-events
	if ev.Kind != gw.EventWithdrawn || ev.Reason != "answered at the terminal by root" {
		t.Fatalf("event %+v", ev)
	}
	if rep := <-done; rep.Answer != approval.AnswerDeny {
		t.Fatalf("a withdrawn request allowed: %+v", rep)
	}
}

// fakeDaemon answers with a fixed body.
func fakeDaemon(t *testing.T, body string) string {
	sock := filepath.Join(t.TempDir(), "g.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(body))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock
}

func TestBadRepliesAreErrors(t *testing.T) {
	r := request()
	other := approval.NewID()
	for name, body := range map[string]string{
		"another id":      `{"id":"` + other + `","outcome":"answered","answer":"once","approver":"web:x"}`,
		"unknown outcome": `{"id":"` + r.ID + `","outcome":"maybe"}`,
		"unknown answer":  `{"id":"` + r.ID + `","outcome":"answered","answer":"yes","approver":"web:x"}`,
		"no approver":     `{"id":"` + r.ID + `","outcome":"answered","answer":"once"}`,
		"not json":        `once`,
		"extra field":     `{"id":"` + r.ID + `","outcome":"answered","answer":"once","approver":"web:x","run":true}`,
	} {
		a := New(fakeDaemon(t, body))
		rep, err := a.Ask(context.Background(), r)
		if err == nil {
			t.Errorf("%s: accepted as %+v", name, rep)
		}
	}
	// A well-formed one passes, for contrast.
	a := New(fakeDaemon(t, `{"id":"`+r.ID+`","outcome":"answered","answer":"once","approver":"web:x"}`))
	if rep, err := a.Ask(context.Background(), r); err != nil || rep.Answer != approval.AnswerOnce {
		t.Fatalf("good reply: %+v %v", rep, err)
	}
}
