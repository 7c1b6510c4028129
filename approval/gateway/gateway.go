// Package gateway is the approval channel that hands a request to the
// user's gateway daemon (`hermes-exec gateway run`) over its private unix
// socket, and waits for the daemon's outcome. It fails closed: a daemon
// that cannot be reached, goes away mid-wait (killed, restarted), or
// replies with anything but a well-formed outcome for this very request is
// an error, which the flow turns into a denial.
package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"hermes-exec/approval"
	"hermes-exec/approval/gatewayexec"
	"hermes-exec/gateway/wire"
)

// Approver asks through the gateway.
type Approver struct {
	socket string
	client *http.Client
}

var _ approval.Approver = (*Approver)(nil)

// grace is how long past the deadline the wrapper waits for the daemon's
// own "timed out" before giving up by itself.
const grace = 5 * time.Second

// ErrNotRunning says no gateway socket exists: the gateway is not in use.
var ErrNotRunning = gatewayexec.ErrNotRunning

// New returns an approver for the daemon at socket. It does not connect.
func New(socket string) *Approver {
	return &Approver{socket: socket, client: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}}}
}

// Open returns an approver when a gateway socket exists, ErrNotRunning
// when none does, and an error when one exists but no daemon answers on
// it (the gateway is in use but down: the caller must deny, not skip it).
func Open(socket string) (*Approver, error) {
	if _, err := os.Stat(socket); err != nil {
		return nil, ErrNotRunning
	}
	a := New(socket)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := a.Status(ctx); err != nil {
		return nil, fmt.Errorf("the gateway is unreachable: %w", err)
	}
	return a, nil
}

// Channel is "gateway".
func (a *Approver) Channel() string { return "gateway" }

// Status asks the daemon for its status.
func (a *Approver) Status(ctx context.Context) (wire.Status, error) {
	var st wire.Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://gateway/v1/status", nil)
	if err != nil {
		return st, err
	}
	res, err := a.client.Do(req)
	if err != nil {
		return st, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return st, fmt.Errorf("status: HTTP %d", res.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&st); err != nil {
		return st, fmt.Errorf("status: %w", err)
	}
	if !st.Running {
		return st, errors.New("status: the daemon says it is not running")
	}
	return st, nil
}

// Ask sends r and waits. When ctx is cancelled (another channel answered
// first), the request is withdrawn with ctx's cause as the reason, so its
// card says why.
func (a *Approver) Ask(ctx context.Context, r approval.Request) (approval.Reply, error) {
	r, err := wire.Outgoing(r)
	if err != nil {
		return approval.Reply{}, err
	}
	body, err := json.Marshal(wire.FromRequest(r))
	if err != nil {
		return approval.Reply{}, err
	}
	// The HTTP request gets a context of its own, so that a cancelled
	// ctx can first withdraw the request with its reason.
	hctx, hcancel := context.WithDeadline(context.WithoutCancel(ctx), r.Deadline.Add(grace))
	defer hcancel()
	stop := context.AfterFunc(ctx, func() {
		reason := "withdrawn by the wrapper"
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			reason = c.Error()
		}
		wctx, wcancel := context.WithTimeout(context.Background(), 2*time.Second)
		a.withdraw(wctx, r.ID, reason)
		wcancel()
		hcancel()
	})
	defer stop()

	req, err := http.NewRequestWithContext(hctx, http.MethodPost, "http://gateway/v1/requests", bytes.NewReader(body))
	if err != nil {
		return approval.Reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := a.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return approval.Reply{Answer: approval.AnswerDeny, Reason: "withdrawn: " + context.Cause(ctx).Error()}, nil
		}
		if errors.Is(hctx.Err(), context.DeadlineExceeded) {
			return approval.Reply{}, fmt.Errorf("the gateway gave no outcome by the deadline (%s)", r.Timeout)
		}
		return approval.Reply{}, fmt.Errorf("the gateway went away while waiting for an answer: %w", err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		if ctx.Err() != nil {
			return approval.Reply{Answer: approval.AnswerDeny, Reason: "withdrawn: " + context.Cause(ctx).Error()}, nil
		}
		return approval.Reply{}, fmt.Errorf("the gateway went away while waiting for an answer: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return approval.Reply{}, fmt.Errorf("the gateway refused the request: HTTP %d: %s", res.StatusCode, bytes.TrimSpace(data))
	}
	return parseResult(r.ID, data)
}

// parseResult checks the daemon's reply strictly: it must answer this
// request, with a known outcome and answer.
func parseResult(id string, data []byte) (approval.Reply, error) {
	var res wire.Result
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		return approval.Reply{}, fmt.Errorf("bad reply from the gateway: %w", err)
	}
	if res.ID != id {
		return approval.Reply{}, fmt.Errorf("bad reply from the gateway: it answers request %q, not %q", res.ID, id)
	}
	switch res.Outcome {
	case wire.OutcomeAnswered:
		ans, err := wire.ParseAnswer(res.Answer)
		if err != nil {
			return approval.Reply{}, fmt.Errorf("bad reply from the gateway: %w", err)
		}
		if res.Approver == "" {
			return approval.Reply{}, errors.New("bad reply from the gateway: an answer without an approver")
		}
		rep := approval.Reply{Answer: ans, Approver: res.Approver}
		if ans == approval.AnswerDeny {
			rep.Reason = res.Reason
			if rep.Reason == "" {
				rep.Reason = "denied by " + res.Approver
			}
		}
		return rep, nil
	case wire.OutcomeTimeout:
		return approval.Reply{Answer: approval.AnswerDeny, Approver: "timeout", Reason: nonEmpty(res.Reason, "no answer in time")}, nil
	case wire.OutcomeNoApprover:
		return approval.Reply{Answer: approval.AnswerDeny, Reason: nonEmpty(res.Reason, "no approver available on the gateway")}, nil
	case wire.OutcomeWithdrawn:
		return approval.Reply{Answer: approval.AnswerDeny, Reason: "withdrawn: " + nonEmpty(res.Reason, "by the gateway")}, nil
	}
	return approval.Reply{}, fmt.Errorf("bad reply from the gateway: unknown outcome %q", res.Outcome)
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (a *Approver) withdraw(ctx context.Context, id, reason string) {
	b, _ := json.Marshal(wire.Withdraw{Reason: reason})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://gateway/v1/requests/"+id+"/withdraw", bytes.NewReader(b))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if res, err := a.client.Do(req); err == nil {
		res.Body.Close()
	}
}
