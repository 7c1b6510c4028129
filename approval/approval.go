// Package approval is how a human is asked about a dangerous command: the
// Request (what is asked, with an id that every answer must name), the
// Reply (the answer and who gave it), and the Approver interface that every
// channel implements. The terminal prompt (approval/tty) is one channel; the
// gateway is another. Channels only ask: deciding whether to ask, and what
// an answer changes (session grants, the allowlist), is the flow's (shim).
package approval

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"hermes-exec/policy"
)

// Answer is a human's answer to an approval request.
type Answer int

const (
	AnswerDeny    Answer = iota // do not run it
	AnswerOnce                  // run it this time
	AnswerSession               // run it, and the same command again in this session
	AnswerAlways                // run it, and add it to the allowlist
)

func (a Answer) String() string {
	switch a {
	case AnswerDeny:
		return "deny"
	case AnswerOnce:
		return "once"
	case AnswerSession:
		return "session"
	case AnswerAlways:
		return "always"
	}
	return fmt.Sprintf("Answer(%d)", int(a))
}

// Request is what a human is asked about. Every channel shows the same
// fields, and every answer names ID, so two pending requests never cross.
type Request struct {
	ID        string // NewID: 128 random bits, hex
	Command   string // the command text as the user will see it
	Findings  []policy.Finding
	Session   string // HERMES_SESSION_ID, or ""
	User      string // the user the command runs as
	Host      string
	Cwd       string
	Backend   string        // host, sandbox, ...
	Timeout   time.Duration // how long to wait; 0 means DefaultTimeout
	Deadline  time.Time     // when no answer becomes a denial; zero: now+Timeout
	CanAlways bool          // false when no finding can be allowlisted
}

// DefaultTimeout applies when a request carries none: asking forever would
// hang the agent.
const DefaultTimeout = 300 * time.Second

// NewID returns a fresh request id: 128 bits from crypto/rand, as hex.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on Linux; if it ever does, no id is
		// better than a guessable one.
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// Reply is the outcome of a request.
type Reply struct {
	Answer   Answer
	Approver string // who answered: the terminal's user; "timeout"; "" when nobody did
	Reason   string // for a denial: "denied at the terminal", "no answer within 5m0s", ...
}

// Approver asks a human.
type Approver interface {
	// Channel names the approval channel: "tty", later "broker".
	Channel() string
	// Ask blocks until an answer, the timeout, or ctx is done. A timeout
	// is a denial (AnswerDeny, Approver "timeout", Reason saying so) with
	// a nil error. An error means the channel failed; the caller denies.
	Ask(ctx context.Context, r Request) (Reply, error)
}
