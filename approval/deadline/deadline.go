// Package deadline applies per-rule (or per-class) approval timeouts
// (approvals.timeouts in config.yaml) to every channel: it wraps an
// approval channel and sets each request's timeout from its findings
// before the channel sees it.
package deadline

import (
	"context"
	"io"
	"time"

	"hermes-exec/approval"
	"hermes-exec/policy"
)

// For is how long a request with these findings' rules waits
// (config.Approvals.TimeoutFor).
type For func(rules []string) time.Duration

// Approver wraps a channel.
type Approver struct {
	inner approval.Approver
	for_  For
	now   func() time.Time
}

var _ approval.Approver = (*Approver)(nil)

// Wrap returns inner with timeouts from f.
func Wrap(inner approval.Approver, f For) *Approver {
	return &Approver{inner: inner, for_: f, now: time.Now}
}

func (a *Approver) Channel() string { return a.inner.Channel() }

// Close closes the inner channel.
func (a *Approver) Close() error {
	if c, ok := a.inner.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Ask sets r's timeout and deadline, then asks.
func (a *Approver) Ask(ctx context.Context, r approval.Request) (approval.Reply, error) {
	var rules []string
	for _, f := range r.Findings {
		if f.Decision == policy.Ask {
			rules = append(rules, f.Rule)
		}
	}
	if d := a.for_(rules); d > 0 && d != r.Timeout {
		r.Timeout = d
		r.Deadline = a.now().Add(d)
	}
	return a.inner.Ask(ctx, r)
}
