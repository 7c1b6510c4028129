package first

import (
	"context"
	"errors"
	"testing"
	"time"

	"hermes-exec/approval"
)

// fake answers after a delay, or reports ctx's cause when cancelled first.
type fake struct {
	name  string
	delay time.Duration
	rep   approval.Reply
	err   error
	cause chan error
}

func (f *fake) Channel() string { return f.name }
func (f *fake) Ask(ctx context.Context, r approval.Request) (approval.Reply, error) {
	select {
	case <-time.After(f.delay):
		return f.rep, f.err
	case <-ctx.Done():
		if f.cause != nil {
			f.cause <- context.Cause(ctx)
		}
		return approval.Reply{Answer: approval.AnswerDeny, Reason: "cancelled"}, nil
	}
}

func TestFirstAnswerWinsAndTheOtherIsWithdrawn(t *testing.T) {
	tty := &fake{name: "tty", delay: 10 * time.Millisecond, rep: approval.Reply{Answer: approval.AnswerOnce, Approver: "root"}}
	gw := &fake{name: "gateway", delay: time.Hour, cause: make(chan error, 1)}
	a := New(tty, gw)
	if a.Channel() != "tty+gateway" {
		t.Fatalf("channel before asking: %q", a.Channel())
	}
	rep, err := a.Ask(context.Background(), approval.Request{ID: approval.NewID()})
	if err != nil || rep.Answer != approval.AnswerOnce || rep.Approver != "root" {
		t.Fatalf("reply %+v %v", rep, err)
	}
	if a.Channel() != "tty" {
		t.Fatalf("channel after a terminal answer: %q", a.Channel())
	}
	cause := <-gw.cause
	var ae AnsweredElsewhere
	if !errors.As(cause, &ae) || cause.Error() != "answered at the terminal by root" {
		t.Fatalf("withdrawn with %v", cause)
	}
}

func TestAFailedChannelLeavesTheOther(t *testing.T) {
	tty := &fake{name: "tty", err: errors.New("not in the foreground")}
	gw := &fake{name: "gateway", delay: 20 * time.Millisecond, rep: approval.Reply{Answer: approval.AnswerDeny, Approver: "web:alice"}}
	rep, err := New(tty, gw).Ask(context.Background(), approval.Request{})
	if err != nil || rep.Approver != "web:alice" || rep.Answer != approval.AnswerDeny {
		t.Fatalf("reply %+v %v", rep, err)
	}
}

func TestAllChannelsFailing(t *testing.T) {
	_, err := New(&fake{name: "tty", err: errors.New("a")}, &fake{name: "gateway", err: errors.New("b")}).Ask(context.Background(), approval.Request{})
	if err == nil || err.Error() != "tty: a\ngateway: b" {
		t.Fatalf("err %v", err)
	}
}

func TestSingleChannelIsItself(t *testing.T) {
	f := &fake{name: "tty"}
	if New(f) != approval.Approver(f) {
		t.Fatal("one channel was wrapped")
	}
}
