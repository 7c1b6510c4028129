package telegram

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"hermes-exec/approval"
	"hermes-exec/gateway"
	"hermes-exec/policy"
	"hermes-exec/telegram/botapitest"
	"hermes-exec/telegram/internal/fakehub"
)

const testToken = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

var (
	alice   = botapitest.User{ID: 1001, FirstName: "Alice", Username: "alice"}
	bob     = botapitest.User{ID: 1002, FirstName: "Bob"}
	mallory = botapitest.User{ID: 666, FirstName: "Mallory", Username: "mallory"}
)

// syncBuffer is a log sink safe to read while the bridge writes.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
	}
	s.changed = make(chan struct{})
	return s.b.Write(p)
}

// waitFor waits until the log holds sub.
func (s *syncBuffer) waitFor(ctx context.Context, sub string) error {
	for {
		s.mu.Lock()
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch, has := s.changed, strings.Contains(s.b.String(), sub)
		s.mu.Unlock()
		if has {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	t      testing.TB
	ctx    context.Context
	api    *botapitest.Server
	hub    *fakehub.Hub
	br     *Bridge
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error

	mu    sync.Mutex
	waits []time.Duration // every wait the bridge asked for
	// hold makes every wait last until the bridge's context ends.
	hold atomic.Bool

	ticks    chan time.Time
	tickDone chan struct{}
}

// tick makes the countdown tick at now and waits until it has edited.
func (h *harness) tick(now time.Time) {
	h.t.Helper()
	select {
	case h.ticks <- now:
	case <-h.ctx.Done():
		h.t.Fatal("the countdown is not running")
	}
	select {
	case <-h.tickDone:
	case <-h.ctx.Done():
		h.t.Fatal("the countdown did not finish its tick")
	}
}

// carded waits until the bridge has sent (or tried) every card of id.
func (h *harness) carded(id string) {
	h.t.Helper()
	h.br.mu.Lock()
	c := h.br.cards[id]
	h.br.mu.Unlock()
	if c == nil {
		h.t.Fatalf("no card for %s", id)
	}
	select {
	case <-c.sent:
	case <-h.ctx.Done():
		h.t.Fatal("the cards were never sent")
	}
}

type setup struct {
	hub     *fakehub.Hub
	allowed []int64
	started []botapitest.User // users who wrote to the bot before it started
	opts    func(*Options)
	before  func(*harness) // after the server exists, before Run
	noWait  bool           // do not wait for the bridge to subscribe
}

func newHarness(t testing.TB, s setup) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	h := &harness{t: t, ctx: ctx, cancel: cancel, api: botapitest.New(testToken), hub: s.hub, logs: &syncBuffer{}, done: make(chan error, 1)}
	if h.hub == nil {
		h.hub = fakehub.New(fakehub.Telegram(alice.ID), fakehub.Telegram(bob.ID))
	}
	if s.allowed == nil {
		s.allowed = []int64{alice.ID, bob.ID}
	}
	if s.started == nil {
		s.started = []botapitest.User{alice, bob}
	}
	for _, u := range s.started {
		h.api.AddUser(u)
		h.api.Send(u, "/start")
	}
	log := logrus.New()
	log.SetOutput(h.logs)
	log.SetLevel(logrus.DebugLevel)
	// The countdown is off unless a test turns it on; its ticks are then
	// the test's (tick).
	opts := Options{Token: testToken, APIURL: h.api.URL(), AllowedUsers: s.allowed, Logger: log, PollTimeout: 5 * time.Second, Countdown: -1}
	if s.opts != nil {
		s.opts(&opts)
	}
	br, err := newBridge(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.br = br
	h.ticks, h.tickDone = make(chan time.Time), make(chan struct{})
	br.ticker = func(time.Duration) (<-chan time.Time, func()) { return h.ticks, func() {} }
	br.ticked = func() { h.tickDone <- struct{}{} }
	// Waits are recorded and shortened, so that tests see which waits
	// the bridge chose without spending them.
	br.api.sleep = func(ctx context.Context, d time.Duration) error {
		h.mu.Lock()
		h.waits = append(h.waits, d)
		h.mu.Unlock()
		if h.hold.Load() {
			<-ctx.Done()
			return ctx.Err()
		}
		return sleepCtx(ctx, time.Millisecond)
	}
	if s.before != nil {
		s.before(h)
	}
	go func() { h.done <- br.Run(ctx, h.hub) }()
	t.Cleanup(func() {
		h.stop()
		h.api.Close()
		if t.Failed() {
			t.Logf("bridge log:\n%s", h.logs.String())
		}
	})
	// Every request of the test is made after the bridge subscribed, so
	// none is missed.
	if s.noWait {
		return h
	}
	if err := h.hub.WaitUntil(ctx, func() bool { return h.hub.Subscribers() > 0 }); err != nil {
		t.Fatalf("the bridge never subscribed: %v\n%s", err, h.logs.String())
	}
	// The users' /start is answered first, so that tests count from a
	// quiet bot.
	for _, u := range s.started {
		if h.hub.Authorized(fakehub.Telegram(u.ID)) {
			h.reply(u, 0, "hermes-exec approvals")
		}
	}
	return h
}

// stop ends Run and returns its error.
func (h *harness) stop() error {
	h.cancel()
	select {
	case err := <-h.done:
		h.done <- err
		return err
	case <-time.After(10 * time.Second):
		h.t.Fatal("Run did not return after its context ended")
		return nil
	}
}

func (h *harness) waitLog(sub string) {
	h.t.Helper()
	if err := h.logs.waitFor(h.ctx, sub); err != nil {
		h.t.Fatalf("the log never said %q: %v\n%s", sub, err, h.logs.String())
	}
}

func (h *harness) recordedWaits() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.waits...)
}

func dangerous(cmd string) approval.Request {
	return approval.Request{
		ID:      approval.NewID(),
		Command: cmd,
		Findings: []policy.Finding{{
			Rule: "delete-recursive-system", Description: "recursive delete of a system path", Command: cmd, Pos: "1:1", Decision: policy.Ask,
		}},
		Session: "sess-1", User: "dev", Host: "buildbox", Cwd: "/srv/app", Backend: "host",
		Timeout: 5 * time.Minute, CanAlways: true,
	}
}

// card waits for the card of request id in u's chat.
func (h *harness) card(u botapitest.User, id string) botapitest.Message {
	h.t.Helper()
	m, err := h.api.WaitMessage(h.ctx, u.ID, func(m botapitest.Message) bool {
		return strings.Contains(m.Text, id)
	})
	if err != nil {
		h.t.Fatalf("no card for %s in %s's chat: %v\n%s", id, u.FirstName, err, h.logs.String())
	}
	return m
}

// closed waits until the card message has no buttons and returns it.
func (h *harness) closed(m botapitest.Message) botapitest.Message {
	h.t.Helper()
	var cur botapitest.Message
	err := h.api.WaitUntil(h.ctx, func() bool {
		cur, _ = h.api.Message(m.Chat.ID, m.MessageID)
		return cur.ReplyMarkup == nil && cur.EditDate != 0
	})
	if err != nil {
		h.t.Fatalf("card %d in chat %d still open: %+v\n%s", m.MessageID, m.Chat.ID, cur, h.logs.String())
	}
	return cur
}

func (h *harness) click(u botapitest.User, m botapitest.Message, op, id string) botapitest.CallbackAnswer {
	h.t.Helper()
	q, err := h.api.Click(u, m, op+":"+id)
	if err != nil {
		h.t.Fatal(err)
	}
	a, err := h.api.Answer(h.ctx, q)
	if err != nil {
		h.t.Fatalf("click not acknowledged: %v\n%s", err, h.logs.String())
	}
	return a
}

func (h *harness) outcome(id string) gateway.Event {
	h.t.Helper()
	ev, err := h.hub.Wait(h.ctx, id)
	if err != nil {
		h.t.Fatalf("request %s not decided: %v\n%s", id, err, h.logs.String())
	}
	return ev
}

// reply waits for the bot's next message in u's chat after the n it had
// before, matching want.
func (h *harness) reply(u botapitest.User, before int, want string) botapitest.Message {
	h.t.Helper()
	var got botapitest.Message
	err := h.api.WaitUntil(h.ctx, func() bool {
		ms := h.api.Messages(u.ID)
		for _, m := range ms[min(before, len(ms)):] {
			if strings.Contains(m.Text, want) {
				got = m
				return true
			}
		}
		return false
	})
	if err != nil {
		h.t.Fatalf("no reply with %q in %s's chat: %v; messages: %+v\n%s", want, u.FirstName, err, h.api.Messages(u.ID), h.logs.String())
	}
	return got
}

// settle waits until the bridge has handled every update sent so far:
// updates are handled in order, so once a /status sent now is answered,
// everything before it was handled.
func (h *harness) settle(u botapitest.User) {
	h.t.Helper()
	n := len(h.api.Messages(u.ID))
	h.api.Send(u, "/status")
	h.reply(u, n, "YOLO")
}
