// Package gateway is the per-user approval daemon: wrappers hand it the
// requests a human must answer, and it puts them to approvers on the web
// page and on chat bridges, under one authorization function.
//
// This file is the contract between the gateway and its chat bridges
// (Telegram first). The gateway owns every request; a bridge only renders
// requests to its users and relays their answers, so that no bridge can
// decide anything the gateway did not authorize.
package gateway

import (
	"context"
	"errors"
	"time"

	"hermes-exec/approval"
)

// A Bridge is a chat platform that shows pending requests to its users.
type Bridge interface {
	// Platform names it as in <PLATFORM>_ALLOWED_USERS and in approver
	// identities: "telegram".
	Platform() string
	// Run serves until ctx is done or the bridge fails for good.
	Run(ctx context.Context, h Hub) error
}

// Hub is what the gateway offers a bridge.
type Hub interface {
	// Pending lists the requests waiting for an answer, oldest first.
	Pending() []Pending
	// Subscribe delivers every later event until cancel is called. A
	// subscriber that falls 1024 events behind has its channel closed:
	// it should subscribe again and re-read Pending.
	Subscribe() (events <-chan Event, cancel func())
	// Decide answers request id. It authorizes d.By itself (a bridge's
	// own check is not trusted), and returns ErrUnauthorized,
	// ErrUnknownRequest or ErrAlreadyDecided.
	Decide(id string, d Decision) error
	// Authorized is the gateway's one authorization function:
	// GATEWAY_ALLOW_ALL_USERS, then GATEWAY_ALLOWED_USERS and
	// <PLATFORM>_ALLOWED_USERS, then pairing records, else no.
	Authorized(who Identity) bool
	// RequestPairing issues a pairing code for an unknown user, under the
	// gateway's pairing rules. It returns ErrStrangersIgnored when an
	// allowlist is configured and pairing was not asked for explicitly,
	// ErrRateLimited or ErrLocked.
	RequestPairing(who Identity) (code string, err error)
	// Yolo reports, and SetYolo changes, a session's "skip approvals"
	// switch; SetYolo authorizes who and audits the change.
	Yolo(session string) bool
	SetYolo(session string, on bool, who Identity) error
}

// Identity is an approver: a stable id on a platform, never a display name.
type Identity struct {
	Platform string // "web", "telegram", "tty"
	ID       string // numeric or opaque id on that platform
	Name     string // for display only; never used to authorize
}

// String is the audit log's form: "telegram:12345".
func (i Identity) String() string { return i.Platform + ":" + i.ID }

// Decision is an approver's answer to one request.
type Decision struct {
	Answer approval.Answer
	Reason string // for a denial: shown to the agent on stderr
	By     Identity
}

// Pending is a request waiting for an answer.
type Pending struct {
	approval.Request
	Created time.Time
}

// EventKind says what happened to a request.
type EventKind string

const (
	EventNew       EventKind = "new"       // a request is waiting
	EventResolved  EventKind = "resolved"  // an approver answered it
	EventExpired   EventKind = "expired"   // its deadline passed: denied
	EventWithdrawn EventKind = "withdrawn" // the wrapper went away, or another channel answered
)

// Event is one change to a request.
type Event struct {
	Kind    EventKind
	Request Pending
	// Answer and By are set for EventResolved.
	Answer approval.Answer
	// Reason is the approver's reason for EventResolved, and says why for
	// EventExpired and EventWithdrawn ("the wrapper went away",
	// "answered at the terminal").
	Reason string
	By     Identity
}

var (
	ErrUnauthorized     = errors.New("not authorized to approve commands")
	ErrUnknownRequest   = errors.New("no such request")
	ErrAlreadyDecided   = errors.New("already decided")
	ErrStrangersIgnored = errors.New("pairing is closed: an allowlist is configured")
	ErrRateLimited      = errors.New("a pairing code was issued recently; try again later")
	ErrLocked           = errors.New("pairing is locked after repeated failures; try again later")
)
