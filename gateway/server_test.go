package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"hermes-exec/approval"
	"hermes-exec/gateway/wire"
	"hermes-exec/policy"
)

var alice = Identity{Platform: "web", ID: "a11ce", Name: "alice"}
var mallory = Identity{Platform: "web", ID: "bad", Name: "alice"} // same name, other id

type auditLog struct {
	mu sync.Mutex
	e  []AuditEntry
}

func (l *auditLog) add(e AuditEntry) { l.mu.Lock(); l.e = append(l.e, e); l.mu.Unlock() }
func (l *auditLog) all() []AuditEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]AuditEntry(nil), l.e...)
}

func newTestServer() (*Server, *auditLog) {
	log := &auditLog{}
	s := NewServer(Options{
		Authorized:   func(who Identity) bool { return who.Platform == alice.Platform && who.ID == alice.ID },
		HasApprovers: func() bool { return true },
		Audit:        log.add,
	})
	return s, log
}

func req(cmd string, timeout time.Duration) approval.Request {
	return approval.Request{
		ID: approval.NewID(), Command: cmd, Timeout: timeout,
		Findings:  []policy.Finding{{Rule: "git-destructive", Description: "d", Command: cmd, Pos: "1:1", Decision: policy.Ask}},
		CanAlways: true,
	}
}

// submit starts r and returns a channel with its result.
func submit(ctx context.Context, s *Server, r approval.Request) <-chan wire.Result {
	ch := make(chan wire.Result, 1)
	go func() {
		res, err := s.Submit(ctx, r)
		if err != nil {
			res = wire.Result{Reason: "error: " + err.Error()}
		}
		ch <- res
	}()
	return ch
}

func waitPending(t *testing.T, s *Server, n int) {
	t.Helper()
	for i := 0; i < 2000 && len(s.Pending()) != n; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	if got := len(s.Pending()); got != n {
		t.Fatalf("%d pending, want %d", got, n)
	}
}

func TestTwoRequestsAnsweredOutOfOrderGetTheirOwnAnswers(t *testing.T) {
	s, _ := newTestServer()
	r1, r2 := req("git push --force", time.Minute), req("git reset --hard", time.Minute)
	c1 := submit(context.Background(), s, r1)
	waitPending(t, s, 1)
	c2 := submit(context.Background(), s, r2)
	waitPending(t, s, 2)
	if err := s.Decide(r2.ID, Decision{Answer: approval.AnswerOnce, By: alice}); err != nil {
		t.Fatal(err)
	}
	res2 := <-c2
	if res2.ID != r2.ID || res2.Outcome != wire.OutcomeAnswered || res2.Answer != "once" || res2.Approver != "web:alice" {
		t.Fatalf("second request got %+v", res2)
	}
	select {
	case res := <-c1:
		t.Fatalf("the first request was answered by the second's answer: %+v", res)
	default:
	}
	if err := s.Decide(r1.ID, Decision{Answer: approval.AnswerDeny, Reason: "not on main", By: alice}); err != nil {
		t.Fatal(err)
	}
	res1 := <-c1
	if res1.ID != r1.ID || res1.Answer != "deny" || res1.Reason != "denied by web:alice: not on main" {
		t.Fatalf("first request got %+v", res1)
	}
}

func TestLateAndUnknownAnswers(t *testing.T) {
	s, _ := newTestServer()
	r := req("x", time.Minute)
	c := submit(context.Background(), s, r)
	waitPending(t, s, 1)
	if err := s.Decide(r.ID, Decision{Answer: approval.AnswerOnce, By: alice}); err != nil {
		t.Fatal(err)
	}
	<-c
	if err := s.Decide(r.ID, Decision{Answer: approval.AnswerDeny, By: alice}); !errors.Is(err, ErrAlreadyDecided) {
		t.Fatalf("late answer: %v", err)
	}
	if err := s.Decide(approval.NewID(), Decision{Answer: approval.AnswerOnce, By: alice}); !errors.Is(err, ErrUnknownRequest) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestUnauthorizedAnswerChangesNothingAndIsAudited(t *testing.T) {
	s, log := newTestServer()
	r := req("git push --force", time.Minute)
	c := submit(context.Background(), s, r)
	waitPending(t, s, 1)
	if err := s.Decide(r.ID, Decision{Answer: approval.AnswerOnce, By: mallory}); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("unauthorized: %v", err)
	}
	if len(s.Pending()) != 1 {
		t.Fatal("an unauthorized answer settled the request")
	}
	es := log.all()
	if len(es) != 1 || es[0].Kind != "unauthorized" || es[0].By != mallory || es[0].Request == nil || es[0].Request.ID != r.ID {
		t.Fatalf("audit: %+v", es)
	}
	s.Decide(r.ID, Decision{Answer: approval.AnswerDeny, By: alice})
	<-c
}

func TestAlwaysOnlyWhenOffered(t *testing.T) {
	s, _ := newTestServer()
	r := req("x", time.Minute)
	r.CanAlways = false
	c := submit(context.Background(), s, r)
	waitPending(t, s, 1)
	if err := s.Decide(r.ID, Decision{Answer: approval.AnswerAlways, By: alice}); !errors.Is(err, ErrNotOffered) {
		t.Fatalf("always not offered: %v", err)
	}
	s.Decide(r.ID, Decision{Answer: approval.AnswerSession, By: alice})
	if res := <-c; res.Answer != "session" {
		t.Fatalf("got %+v", res)
	}
}

func TestOutcomes(t *testing.T) {
	s, _ := newTestServer()
	events, cancel := s.Subscribe()
	defer cancel()

	// Timed out.
	r := req("a", 50*time.Millisecond)
	if res := <-submit(context.Background(), s, r); res.Outcome != wire.OutcomeTimeout || res.ID != r.ID {
		t.Fatalf("timeout: %+v", res)
	}
	expect(t, events, EventNew, r.ID)
	expect(t, events, EventExpired, r.ID)

	// Withdrawn: the wrapper went away.
	ctx, stop := context.WithCancel(context.Background())
	r = req("b", time.Minute)
	c := submit(ctx, s, r)
	expect(t, events, EventNew, r.ID)
	stop()
	if res := <-c; res.Outcome != wire.OutcomeWithdrawn {
		t.Fatalf("withdrawn: %+v", res)
	}
	if ev := expect(t, events, EventWithdrawn, r.ID); ev.Reason != "the wrapper went away" {
		t.Fatalf("withdrawn reason %q", ev.Reason)
	}

	// Withdrawn: answered at the terminal.
	r = req("c", time.Minute)
	c = submit(context.Background(), s, r)
	expect(t, events, EventNew, r.ID)
	s.Withdraw(r.ID, "answered at the terminal by bob")
	<-c
	if ev := expect(t, events, EventWithdrawn, r.ID); ev.Reason != "answered at the terminal by bob" {
		t.Fatalf("withdrawn reason %q", ev.Reason)
	}
	if err := s.Decide(r.ID, Decision{Answer: approval.AnswerOnce, By: alice}); !errors.Is(err, ErrAlreadyDecided) {
		t.Fatalf("answer after withdrawal: %v", err)
	}

	// No approver.
	s2 := NewServer(Options{HasApprovers: func() bool { return false }})
	if res := <-submit(context.Background(), s2, req("d", 20*time.Millisecond)); res.Outcome != wire.OutcomeNoApprover {
		t.Fatalf("no approver: %+v", res)
	}
}

func expect(t *testing.T, events <-chan Event, kind EventKind, id string) Event {
	t.Helper()
	select {
	case ev := <-events:
		if ev.Kind != kind || ev.Request.ID != id {
			t.Fatalf("event %s %s, want %s %s", ev.Kind, ev.Request.ID, kind, id)
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s event", kind)
	}
	return Event{}
}

func TestBadRequestsAreRefused(t *testing.T) {
	s, _ := newTestServer()
	r := req("x", time.Minute)
	r.ID = "1234"
	if _, err := s.Submit(context.Background(), r); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("short id: %v", err)
	}
	r = req("x", time.Minute)
	c := submit(context.Background(), s, r)
	waitPending(t, s, 1)
	if _, err := s.Submit(context.Background(), r); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate id: %v", err)
	}
	s.Decide(r.ID, Decision{Answer: approval.AnswerDeny, By: alice})
	<-c
}

// 200 requests pending at once are all held, listed, and each answered
// with its own answer.
func TestTwoHundredConcurrentPending(t *testing.T) {
	s, _ := newTestServer()
	const n = 200
	reqs := make([]approval.Request, n)
	chans := make([]<-chan wire.Result, n)
	for i := range reqs {
		reqs[i] = req(fmt.Sprintf("cmd %d", i), time.Minute)
		chans[i] = submit(context.Background(), s, reqs[i])
	}
	waitPending(t, s, n)
	answers := []approval.Answer{approval.AnswerDeny, approval.AnswerOnce, approval.AnswerSession}
	var wg sync.WaitGroup
	for i := n - 1; i >= 0; i-- {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Decide(reqs[i].ID, Decision{Answer: answers[i%3], By: alice}); err != nil {
				t.Errorf("decide %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	for i, c := range chans {
		res := <-c
		if res.ID != reqs[i].ID || res.Answer != answers[i%3].String() {
			t.Fatalf("request %d got %+v", i, res)
		}
	}
	if len(s.Pending()) != 0 {
		t.Fatal("requests left pending")
	}
}

func TestYoloNeedsAuthorization(t *testing.T) {
	y := &fakeYolo{m: map[string]bool{}}
	log := &auditLog{}
	s := NewServer(Options{Authorized: func(w Identity) bool { return w == alice }, Yolo: y, Audit: log.add})
	if err := s.SetYolo("sess", true, mallory); !errors.Is(err, ErrUnauthorized) || s.Yolo("sess") {
		t.Fatalf("unauthorized yolo: %v", err)
	}
	if err := s.SetYolo("sess", true, alice); err != nil || !s.Yolo("sess") {
		t.Fatalf("yolo: %v", err)
	}
	es := log.all()
	if len(es) != 2 || es[0].Kind != "unauthorized" || es[1].Kind != "yolo" {
		t.Fatalf("audit %+v", es)
	}
}

type fakeYolo struct {
	mu sync.Mutex
	m  map[string]bool
}

func (f *fakeYolo) Yolo(s string) bool { f.mu.Lock(); defer f.mu.Unlock(); return f.m[s] }
func (f *fakeYolo) SetYolo(s string, on bool) error {
	f.mu.Lock()
	f.m[s] = on
	f.mu.Unlock()
	return nil
}
