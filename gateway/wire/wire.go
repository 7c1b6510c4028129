// Package wire holds the JSON shapes the gateway speaks: on the private
// unix socket between wrappers and the daemon (version v1), and on the
// approver API (/api/v1). Both sides import these types, so a field is
// named once.
package wire

import (
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"hermes-exec/approval"
	"hermes-exec/policy"
)

// Outcome is how a request ended.
type Outcome string

const (
	OutcomeAnswered   Outcome = "answered"    // an approver answered: see Answer
	OutcomeTimeout    Outcome = "timeout"     // the deadline passed with no answer: denied
	OutcomeWithdrawn  Outcome = "withdrawn"   // the wrapper went away or another channel answered
	OutcomeNoApprover Outcome = "no_approver" // the deadline passed and nobody was authorized to answer
)

// Finding is one finding of the classifier, as shown to approvers.
type Finding struct {
	Rule        string `json:"rule"`
	Description string `json:"description"`
	Command     string `json:"command"`
	Pos         string `json:"pos"`
	Decision    string `json:"decision"`
}

// Request is a request as the wrapper sends it (POST /v1/requests) and as
// the approver API lists it (GET /api/v1/requests).
type Request struct {
	ID        string    `json:"id"`
	Command   string    `json:"command"`
	Findings  []Finding `json:"findings"`
	Session   string    `json:"session,omitempty"`
	User      string    `json:"user"`
	Host      string    `json:"host"`
	Cwd       string    `json:"cwd"`
	Backend   string    `json:"backend"`
	TimeoutMS int64     `json:"timeout_ms"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	ExpiresAt time.Time `json:"expires_at"`
	CanAlways bool      `json:"can_always"`
}

// Result is the daemon's answer to POST /v1/requests: it names the
// request it answers, and the wrapper checks that it does.
type Result struct {
	ID      string  `json:"id"`
	Outcome Outcome `json:"outcome"`
	// Answer is set when Outcome is "answered": once, session, always, deny.
	Answer string `json:"answer,omitempty"`
	// Approver names who answered: "web:alice", "telegram:12345".
	Approver string `json:"approver,omitempty"`
	// Channel is the platform the answer came through: "web", "telegram".
	Channel string `json:"channel,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Withdraw is the body of POST /v1/requests/{id}/withdraw.
type Withdraw struct {
	Reason string `json:"reason"`
}

// Approver is one authorized approver in Status.
type Approver struct {
	Platform string `json:"platform"`
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Source   string `json:"source"`
}

// Status is GET /v1/status.
type Status struct {
	Running        bool       `json:"running"`
	Listen         string     `json:"listen"`
	URL            string     `json:"url,omitempty"`
	TLS            bool       `json:"tls"`
	TLSFingerprint string     `json:"tls_fingerprint,omitempty"`
	Pending        int        `json:"pending"`
	Approvers      []Approver `json:"approvers"`
	Bridges        []string   `json:"bridges"`
	PID            int        `json:"pid"`
}

// Decision is the body of POST /api/v1/requests/{id}/decision.
type Decision struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason,omitempty"`
}

// Event is one item of GET /api/v1/events.
type Event struct {
	Kind    string  `json:"kind"` // new, resolved, expired, withdrawn
	Request Request `json:"request"`
	Answer  string  `json:"answer,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	By      string  `json:"by,omitempty"`
}

// Compiled on first use, not at start-up (every command initialises this
// package; {32} makes the program large to build).
var idRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{32}$`) })

// ValidID reports whether id looks like approval.NewID's: 128 bits, hex.
func ValidID(id string) bool { return idRE().MatchString(id) }

// ParseAnswer reads once/session/always/deny.
func ParseAnswer(s string) (approval.Answer, error) {
	switch s {
	case "once":
		return approval.AnswerOnce, nil
	case "session":
		return approval.AnswerSession, nil
	case "always":
		return approval.AnswerAlways, nil
	case "deny":
		return approval.AnswerDeny, nil
	}
	return approval.AnswerDeny, fmt.Errorf("decision %q is not one of once, session, always, deny", s)
}

// Outgoing is r as a client sends it to the gateway: refused without a
// valid id, with the default timeout and a deadline filled in where the
// caller left them out. Both clients (HTTP, and the shell's helper pipe)
// go through it, so the daemon sees the same request from either.
func Outgoing(r approval.Request) (approval.Request, error) {
	if !ValidID(r.ID) {
		return r, errors.New("gateway: the request has no valid id")
	}
	if r.Timeout <= 0 {
		r.Timeout = approval.DefaultTimeout
	}
	if r.Deadline.IsZero() {
		r.Deadline = time.Now().Add(r.Timeout)
	}
	return r, nil
}

// FromRequest converts an approval.Request.
func FromRequest(r approval.Request) Request {
	w := Request{
		ID: r.ID, Command: r.Command, Session: r.Session, User: r.User, Host: r.Host,
		Cwd: r.Cwd, Backend: r.Backend, TimeoutMS: r.Timeout.Milliseconds(),
		ExpiresAt: r.Deadline.UTC(), CanAlways: r.CanAlways,
		Findings: make([]Finding, 0, len(r.Findings)),
	}
	for _, f := range r.Findings {
		w.Findings = append(w.Findings, Finding{Rule: f.Rule, Description: f.Description, Command: f.Command, Pos: f.Pos, Decision: f.Decision.String()})
	}
	return w
}

// ToRequest converts back. Findings keep their text; Argv is not sent (an
// approver never edits the allowlist: the wrapper does, from its own
// classification).
func (w Request) ToRequest() approval.Request {
	r := approval.Request{
		ID: w.ID, Command: w.Command, Session: w.Session, User: w.User, Host: w.Host,
		Cwd: w.Cwd, Backend: w.Backend, Timeout: time.Duration(w.TimeoutMS) * time.Millisecond,
		Deadline: w.ExpiresAt, CanAlways: w.CanAlways,
	}
	for _, f := range w.Findings {
		d := policy.Ask
		if f.Decision == policy.Deny.String() {
			d = policy.Deny
		}
		r.Findings = append(r.Findings, policy.Finding{Rule: f.Rule, Description: f.Description, Command: f.Command, Pos: f.Pos, Decision: d})
	}
	return r
}
