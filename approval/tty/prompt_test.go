package tty

import (
	"hermes-exec/approval"

	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hermes-exec/internal/testutil"
	"hermes-exec/policy"
)

// fakeClock moves only when the test says so.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	period  time.Duration // 0 for a one-shot timer
	ch      chan time.Time
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) add(d, period time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), period: period, ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	return t.ch, func() { c.mu.Lock(); t.stopped = true; c.mu.Unlock() }
}

func (c *fakeClock) NewTicker(d time.Duration) (<-chan time.Time, func()) { return c.add(d, d) }
func (c *fakeClock) NewTimer(d time.Duration) (<-chan time.Time, func())  { return c.add(d, 0) }

// Advance moves time forward and fires what is due, as the runtime does
// (a ticker that is not read drops ticks).
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		for !t.stopped && !t.at.After(c.now) {
			select {
			case t.ch <- c.now:
			default:
			}
			if t.period == 0 {
				t.stopped = true
			} else {
				t.at = t.at.Add(t.period)
			}
		}
	}
}

// waitFor polls until cond holds; it fails the test after a generous
// deadline (this is about ordering, not timing).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

type harness struct {
	out  *testutil.Buffer
	keys chan []byte
	sigs chan os.Signal
	clk  *fakeClock
	done chan approval.Reply
}

func startPrompt(t *testing.T, ctx context.Context, r approval.Request) *harness {
	t.Helper()
	h := &harness{out: &testutil.Buffer{}, keys: make(chan []byte), sigs: make(chan os.Signal, 1), clk: newFakeClock(), done: make(chan approval.Reply, 1)}
	p := &prompt{out: h.out, keys: h.keys, sigs: h.sigs, clk: h.clk, width: 80, who: "alice"}
	go func() { h.done <- p.ask(ctx, r) }()
	waitFor(t, "the prompt", func() bool { return strings.Contains(h.out.String(), "(deny in") })
	return h
}

func (h *harness) reply(t *testing.T) approval.Reply {
	t.Helper()
	select {
	case r := <-h.done:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the prompt did not return")
	}
	return approval.Reply{}
}

var dangerous = approval.Request{
	Command: "rm -rf ~/project",
	Findings: []policy.Finding{{Rule: "delete-home", Description: "recursively deletes in the home directory",
		Command: "rm -rf ~/project", Pos: "1:1", Decision: policy.Ask}},
	Timeout:   5 * time.Minute,
	CanAlways: true,
}

func TestPromptKeys(t *testing.T) {
	cases := []struct {
		chunks    []string // each is one read from the terminal
		canAlways bool
		want      approval.Answer
	}{
		{[]string{"y"}, true, approval.AnswerOnce}, {[]string{"Y"}, true, approval.AnswerOnce}, {[]string{"o"}, true, approval.AnswerOnce},
		{[]string{"s"}, true, approval.AnswerSession}, {[]string{"S"}, true, approval.AnswerSession},
		{[]string{"a"}, true, approval.AnswerAlways}, {[]string{"A"}, true, approval.AnswerAlways},
		{[]string{"n"}, true, approval.AnswerDeny}, {[]string{"d"}, true, approval.AnswerDeny}, {[]string{"\x03"}, true, approval.AnswerDeny},
		{[]string{"\x04"}, true, approval.AnswerDeny}, {[]string{"\x1b"}, true, approval.AnswerDeny},
		// Enter, space and unknown keys never answer; the next real key does.
		{[]string{"\r", "\n", " x?", "y"}, true, approval.AnswerOnce},
		// "always" is not accepted when it is not offered.
		{[]string{"a", "s"}, false, approval.AnswerSession},
		// An escape sequence (an arrow key, Alt+y) is not an Esc press.
		{[]string{"\x1b[A", "\x1by", "n"}, true, approval.AnswerDeny},
		{[]string{"\x1b[B", "y"}, true, approval.AnswerOnce},
	}
	for _, c := range cases {
		r := dangerous
		r.CanAlways = c.canAlways
		h := startPrompt(t, context.Background(), r)
		for _, k := range c.chunks {
			select {
			case h.keys <- []byte(k):
			case rep := <-h.done:
				t.Fatalf("keys %q: answered %v before all keys were read", c.chunks, rep.Answer)
			}
		}
		rep := h.reply(t)
		if rep.Answer != c.want {
			t.Errorf("keys %q (always %v): got %v, want %v", c.chunks, c.canAlways, rep.Answer, c.want)
		}
		if rep.Approver != "alice" {
			t.Errorf("approver %q", rep.Approver)
		}
		if rep.Answer == approval.AnswerDeny && rep.Reason != "denied at the terminal" {
			t.Errorf("deny reason %q", rep.Reason)
		}
	}
}

func TestPromptShowsChoicesAndEchoesAnswer(t *testing.T) {
	h := startPrompt(t, context.Background(), dangerous)
	h.keys <- []byte("s")
	h.reply(t)
	out := h.out.String()
	for _, want := range []string{"rm -rf ~/project", "delete-home: recursively deletes in the home directory", "at 1:1: rm -rf ~/project",
		"[y]es once  [s]ession  [a]lways  [n]o", "(deny in 5:00)", "yes, for this session\r\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
	r := dangerous
	r.CanAlways = false
	h = startPrompt(t, context.Background(), r)
	h.keys <- []byte("n")
	h.reply(t)
	if out := h.out.String(); strings.Contains(out, "[a]lways") || !strings.Contains(out, "no (denied at the terminal)") {
		t.Errorf("without always: %q", out)
	}
}

func TestPromptCountdownAndTimeout(t *testing.T) {
	r := dangerous
	r.Timeout = 3 * time.Second
	h := startPrompt(t, context.Background(), r)
	if !strings.Contains(h.out.String(), "(deny in 0:03)") {
		t.Fatalf("initial countdown: %q", h.out.String())
	}
	h.clk.Advance(time.Second)
	waitFor(t, "0:02", func() bool {
		return strings.Contains(h.out.String(), "\r\x1b[K[y]es once  [s]ession  [a]lways  [n]o  (deny in 0:02)")
	})
	h.clk.Advance(time.Second)
	waitFor(t, "0:01", func() bool { return strings.Contains(h.out.String(), "(deny in 0:01)") })
	h.clk.Advance(time.Second)
	rep := h.reply(t)
	if rep.Answer != approval.AnswerDeny || rep.Approver != "timeout" || rep.Reason != "no answer within 3s" {
		t.Fatalf("timeout reply %+v", rep)
	}
	if !strings.HasSuffix(h.out.String(), "answer: no (no answer within 3s)\r\n") {
		t.Fatalf("final line: %q", h.out.String())
	}
}

func TestPromptEndsOnCancelSignalAndEOF(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	h := startPrompt(t, ctx, dangerous)
	cancel(errors.New("agent stopped"))
	if rep := h.reply(t); rep.Answer != approval.AnswerDeny || !strings.Contains(rep.Reason, "agent stopped") {
		t.Fatalf("cancel: %+v", rep)
	}

	h = startPrompt(t, context.Background(), dangerous)
	h.sigs <- syscall.SIGTERM
	if rep := h.reply(t); rep.Answer != approval.AnswerDeny || !strings.Contains(rep.Reason, "terminated") {
		t.Fatalf("signal: %+v", rep)
	}

	h = startPrompt(t, context.Background(), dangerous)
	close(h.keys)
	if rep := h.reply(t); rep.Answer != approval.AnswerDeny || !strings.Contains(rep.Reason, "closed") {
		t.Fatalf("EOF: %+v", rep)
	}
}

// A command cannot repaint the prompt or hide text with control or
// invisible characters: they are shown as escapes.
func TestPromptNeutralisesTerminalControl(t *testing.T) {
	evil := "echo safe\x1b[2K\r\x1b[1Aecho totally-safe\x07\x08\x7f \u202egnp.exe\u200b \xff\x9b31m"
	r := approval.Request{Command: evil, Findings: []policy.Finding{{Rule: "x\x1b[31m", Description: "d\r", Command: "c\x1b]0;title\x07", Pos: "1:1"}}, Timeout: time.Minute}
	h := startPrompt(t, context.Background(), r)
	h.keys <- []byte("n")
	h.reply(t)
	out := h.out.String()
	// Only the prompt's own sequences may carry ESC.
	rest := out
	for _, own := range []string{"\x1b[K", "\x1b[1m", "\x1b[0m"} {
		rest = strings.ReplaceAll(rest, own, "")
	}
	if strings.ContainsAny(rest, "\x1b\x07\x08\x7f\u202e\u200b\u009b") {
		t.Fatalf("raw control characters reached the terminal: %q", rest)
	}
	// Carriage returns appear only in the prompt's own line ends and
	// redraws.
	if strings.Count(rest, "\r") != strings.Count(rest, "\r\n")+strings.Count(out, "\r\x1b[K") {
		t.Fatalf("stray carriage return: %q", out)
	}
	for _, want := range []string{`echo safe\x1b[2K\r\x1b[1Aecho totally-safe\x07\x08\x7f`, `\u202egnp.exe\u200b`, `\xff\x9b31m`, `x\x1b[31m: d\r`, `c\x1b]0;title\x07`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
}

func TestPromptWrapsAndElidesLongCommands(t *testing.T) {
	long := "curl https://example.com/" + strings.Repeat("a", 300)
	h := startPrompt(t, context.Background(), approval.Request{Command: long, Timeout: time.Minute})
	h.keys <- []byte("n")
	h.reply(t)
	for _, l := range strings.Split(h.out.String(), "\r\n") {
		if len(l) > 80 && !strings.Contains(l, "\x1b[K") {
			t.Fatalf("line wider than the terminal: %q", l)
		}
	}
	if got := strings.Count(strings.ReplaceAll(h.out.String(), "\r\n", ""), "a"); got < 300 {
		t.Fatalf("wrapped command lost text: %d a's", got)
	}

	var lines []string
	for i := 1; i <= 100; i++ {
		lines = append(lines, "echo line"+strings.Repeat("x", i%3)+" "+string(rune('A'+i%26)))
	}
	lines[99] = "rm -rf / # the last line"
	h = startPrompt(t, context.Background(), approval.Request{Command: strings.Join(lines, "\n"), Timeout: time.Minute})
	h.keys <- []byte("n")
	h.reply(t)
	out := h.out.String()
	for _, want := range []string{"   1| echo line", "... 81 more lines not shown ...", " 100| rm -rf / # the last line"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "  50| ") {
		t.Error("the middle of a long script should be elided")
	}
}

func TestAnswerString(t *testing.T) {
	for a, want := range map[approval.Answer]string{approval.AnswerDeny: "deny", approval.AnswerOnce: "once", approval.AnswerSession: "session", approval.AnswerAlways: "always"} {
		if a.String() != want {
			t.Errorf("%d: %q", a, a.String())
		}
	}
}

func TestCountdown(t *testing.T) {
	for d, want := range map[time.Duration]string{
		300 * time.Second: "5:00", 299*time.Second + time.Millisecond: "5:00", 299 * time.Second: "4:59",
		time.Millisecond: "0:01", 0: "0:00", -time.Second: "0:00", 2*time.Hour + 3*time.Second: "2:00:03",
	} {
		if got := countdown(d); got != want {
			t.Errorf("countdown(%v) = %q, want %q", d, got, want)
		}
	}
}
