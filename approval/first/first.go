// Package first asks several approval channels at once (the terminal and
// the gateway): the first answer wins, and the others are withdrawn with
// the reason, so a card on a phone says "answered at the terminal".
package first

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"hermes-exec/approval"
)

// Approver asks every channel.
type Approver struct {
	channels []approval.Approver
	mu       sync.Mutex
	winner   string
}

var _ approval.Approver = (*Approver)(nil)

// New combines channels; with one, that one is returned as it is.
func New(channels ...approval.Approver) approval.Approver {
	if len(channels) == 1 {
		return channels[0]
	}
	return &Approver{channels: channels}
}

// Channel is the channel of the last answer (after Ask), else the names
// joined with "+": the audit log then says which channel decided.
func (a *Approver) Channel() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.winner != "" {
		return a.winner
	}
	names := make([]string, len(a.channels))
	for i, c := range a.channels {
		names[i] = c.Channel()
	}
	return strings.Join(names, "+")
}

// Close closes the channels that can be closed.
func (a *Approver) Close() error {
	var errs []error
	for _, c := range a.channels {
		if cl, ok := c.(io.Closer); ok {
			errs = append(errs, cl.Close())
		}
	}
	return errors.Join(errs...)
}

type result struct {
	i   int
	ch  approval.Approver
	rep approval.Reply
	err error
}

// AnsweredElsewhere is the cause the losing channels are cancelled with.
type AnsweredElsewhere struct{ Channel, Approver string }

func (e AnsweredElsewhere) Error() string {
	by := ""
	if e.Approver != "" {
		by = " by " + e.Approver
	}
	switch e.Channel {
	case "tty":
		return "answered at the terminal" + by
	}
	return "answered on " + e.Channel + by
}

// Ask puts r to every channel. The first reply wins; a channel that fails
// is left out, and only when every channel failed is the result an error.
// It returns once every channel has finished, so that the terminal is
// restored before the command runs.
func (a *Approver) Ask(ctx context.Context, r approval.Request) (approval.Reply, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	results := make(chan result, len(a.channels))
	for i, c := range a.channels {
		go func() {
			rep, err := c.Ask(ctx, r)
			results <- result{i, c, rep, err}
		}()
	}
	// Errors are reported in the channels' order, whichever came first.
	errs := make([]error, len(a.channels))
	var win *result
	for range a.channels {
		res := <-results
		if win != nil {
			continue // a loser finishing after the cancel
		}
		if res.err != nil {
			errs[res.i] = fmt.Errorf("%s: %w", res.ch.Channel(), res.err)
			continue
		}
		win = &res
		cancel(AnsweredElsewhere{Channel: res.ch.Channel(), Approver: res.rep.Approver})
	}
	if win == nil {
		return approval.Reply{}, errors.Join(errs...)
	}
	a.mu.Lock()
	a.winner = win.ch.Channel()
	a.mu.Unlock()
	return win.rep, nil
}
