// Package shim is the flow around every command: decide (the policy's
// verdict, then a switch, a remembered grant or a human through an
// approval.Approver), run (an isolate.Backend) and record (the audit log).
// Decide is public and separate, so that a caller can ask what would happen
// without running anything; Execute is Decide, then record, run, record.
package shim

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"hermes-exec/approval"
	"hermes-exec/internal/exitcode"
	"hermes-exec/internal/ident"
	"hermes-exec/internal/phase"
	"hermes-exec/isolate"
	"hermes-exec/policy"
	"hermes-exec/policy/config"

	"github.com/sirupsen/logrus"
)

// Audit events: a command that may run is recorded twice, joined by the
// record's ID: its decision before it starts, its outcome after it ends. A
// wrapper killed on the way (SIGKILL, a crash, the machine going down)
// still leaves the decision on record. A denial is a decision alone.
// Records that are about no command run (the gateway's own entries:
// pairing, refused approvers) are notices.
const (
	EventDecision = "decision"
	EventOutcome  = "outcome"
	EventNotice   = "notice"
)

// Channels that decide without a human; an approver's own channel (its
// Channel()) names the rest.
const (
	ChannelPolicy    = "policy"    // the verdict itself: allow, or deny
	ChannelAllowlist = "allowlist" // a user allowlist entry covered every finding
	ChannelYolo      = "yolo"      // --yolo, HERMES_YOLO=1 or the session's switch
	ChannelModeOff   = "mode-off"  // approvals.mode: off
	ChannelContainer = "container" // a container backend with in_container: skip
	ChannelSession   = "session"   // approved earlier in the same session
	ChannelNone      = "none"      // asking was needed but impossible
)

// Flow holds what every command needs. One Flow serves one invocation.
type Flow struct {
	Config     *config.Config
	Classifier *policy.Classifier
	Backend    isolate.Backend
	// Contained is true when Backend is a container, which is itself the
	// security boundary: asking is then governed by approvals.in_container.
	Contained bool
	// Yolo is --yolo or HERMES_YOLO=1; the session's own yolo switch is
	// read from Sessions.
	Yolo bool
	// ForbidYolo is the administrator's approvals.forbid_yolo: the
	// session's yolo switch is ignored too.
	ForbidYolo bool
	// OpenApprover opens the approval channel when one is needed. It is
	// called at most once, only for commands that must be asked about.
	OpenApprover func() (approval.Approver, error)
	Sessions     Sessions
	SessionID    string
	Audit        Audit
	// Env is the environment the command will see (already filtered).
	Env []string
	// Secrets are values redacted from the audit log: SecretSet's, the
	// same set on every path.
	Secrets []string
	Stdin   *os.File
	Stdout  *os.File
	Stderr  *os.File
	// Log receives debug output; nil means a quiet logger.
	Log *logrus.Logger
}

// Command is one thing to run: the text a human reads and is asked about,
// and the argv that actually runs.
type Command struct {
	// Text is the shell text (or the quoted argv for `run`).
	Text string
	// Args is the argv given to the backend.
	Args []string
	// Verdict is the classification of Text.
	Verdict policy.Verdict
	// TTY asks the backend for a terminal.
	TTY bool
}

// Decision is what Decide settled for one command.
type Decision struct {
	// ID names this decision: the approval request's id and the id that
	// joins the command's audit records.
	ID string
	// Allow is true when the command may run.
	Allow bool
	// Verdict is the classifier's, with every finding, those an allowlist
	// entry covered included (Decision Allow, AllowedBy set).
	Verdict policy.Verdict
	// Channel is who or what settled it (the Channel* constants, or an
	// approver's channel such as "tty").
	Channel string
	// Approver names the human who answered, when one did.
	Approver string
	// AllowedBy are the allowlist entries that covered findings.
	AllowedBy []string
	// Reason says why, in one phrase; always set for a denial.
	Reason string
}

// Execute decides, asks if needed, records the decision, runs, and records
// the outcome of one command. It returns the exit status the wrapper must
// exit with. It never runs a command that was not allowed, nor one whose
// decision could not be recorded: every error on the way is a denial (exit
// 126).
func (f *Flow) Execute(ctx context.Context, c Command) int {
	start := time.Now()
	if c.Verdict.Decision == policy.Ask {
		// Asking a human about a command that then cannot be recorded
		// would waste their answer: look at the log first.
		if err := f.Audit.Check(); err != nil {
			rec := f.record(c, Decision{ID: approval.NewID(), Channel: ChannelPolicy}, start)
			return f.deny(&rec, start, fmt.Sprintf("cannot write the audit log: %v", err))
		}
	}
	d := f.Decide(ctx, c)
	rec := f.record(c, d, start)
	phase.Mark("decide")
	if !d.Allow {
		return f.deny(&rec, start, d.Reason)
	}

	// The decision is on record before anything runs: a command that
	// cannot be recorded does not run (fail closed: a full disk, a
	// read-only or untrusted audit log).
	if err := f.Audit.Append(rec); err != nil {
		rec.Decision = policy.Deny.String()
		rec.Reason = Redact(fmt.Sprintf("cannot write the audit log: %v", err), f.Secrets)
		fmt.Fprintf(f.Stderr, "hermes-exec: denied: %s\n", oneLine(rec.Reason))
		return exitcode.Denied
	}
	phase.Mark("audit-decision")

	// Once running, stopping is the command's business: signals are
	// forwarded to it by the backend, so the approval context no longer
	// applies.
	st, err := f.Backend.Run(context.WithoutCancel(ctx), isolate.Spec{
		Args:    c.Args,
		Env:     f.Env,
		Stdin:   f.Stdin,
		Stdout:  f.Stdout,
		Stderr:  f.Stderr,
		TTY:     c.TTY,
		Session: f.SessionID,
	})
	phase.Mark("run")
	code := st.Code
	rec.Event = EventOutcome
	if err != nil {
		code = isolate.ExitStatus(err)
		rec.Reason = Redact(err.Error(), f.Secrets)
		fmt.Fprintf(f.Stderr, "hermes-exec: %v\n", err)
	} else if st.Reason != "" {
		rec.Reason = Redact(st.Reason, f.Secrets)
		fmt.Fprintf(f.Stderr, "hermes-exec: %s\n", st.Reason)
	}
	rec.Exit = &code
	rec.DurationMS = msSince(start)
	if err := f.Audit.Append(rec); err != nil {
		// The command already ran; say loudly that its record is missing.
		fmt.Fprintf(f.Stderr, "hermes-exec: audit log: %v\n", err)
	}
	phase.Mark("audit-outcome")
	return code
}

// record is the audit record of c as d decided it, before it runs.
func (f *Flow) record(c Command, d Decision, start time.Time) Record {
	rec := Record{
		ID:       d.ID,
		Event:    EventDecision,
		Time:     start.UTC(),
		Session:  f.SessionID,
		User:     ident.Current(),
		Cwd:      cwd(),
		Command:  Redact(c.Text, f.Secrets),
		Verdict:  c.Verdict.Decision.String(),
		Findings: redactFindings(c.Verdict.Findings, f.Secrets),
		Backend:  f.Backend.Name(),
		Channel:  d.Channel,
		Approver: d.Approver,
		Decision: policy.Deny.String(),
	}
	if d.Allow {
		rec.Decision = policy.Allow.String()
		rec.Reason = Redact(d.Reason, f.Secrets)
	}
	return rec
}

// Decide settles whether c may run: the verdict's allow or deny, else the
// switches that skip asking, a grant remembered for the session, or a
// human through the approver. It runs nothing and records nothing (an
// "always" answer does add to the allowlist, as the human asked).
func (f *Flow) Decide(ctx context.Context, c Command) Decision {
	d := f.decide(ctx, c)
	d.Verdict = c.Verdict
	return d
}

// decide turns a verdict into allow or deny, asking a human when the
// verdict says so and nothing else already settled it.
func (f *Flow) decide(ctx context.Context, c Command) Decision {
	v := c.Verdict
	id := approval.NewID()
	switch v.Decision {
	case policy.Allow:
		if entries := allowedBy(v); len(entries) > 0 {
			// A dangerous command the user's allowlist let through is
			// not an everyday command: say which entry let it through.
			return Decision{ID: id, Allow: true, Channel: ChannelAllowlist, AllowedBy: entries,
				Reason: "allowlist: " + strings.Join(entries, ", ")}
		}
		return Decision{ID: id, Allow: true, Channel: ChannelPolicy}
	case policy.Deny:
		return Decision{ID: id, Channel: ChannelPolicy, Reason: firstReason(v, policy.Deny)}
	}

	// Ask: the order is from the broadest switch to the narrowest grant.
	switch {
	case f.Yolo:
		return Decision{ID: id, Allow: true, Channel: ChannelYolo}
	case f.Config.Approvals.Mode == config.ModeOff:
		return Decision{ID: id, Allow: true, Channel: ChannelModeOff}
	case f.Contained && f.Config.Approvals.InContainer != config.InContainerAsk:
		return Decision{ID: id, Allow: true, Channel: ChannelContainer}
	case f.SessionID != "" && !f.ForbidYolo && f.Sessions.Yolo(f.SessionID):
		return Decision{ID: id, Allow: true, Channel: ChannelYolo}
	case f.SessionID != "" && f.Sessions.Approved(f.SessionID, v.Key):
		return Decision{ID: id, Allow: true, Channel: ChannelSession}
	}

	if f.OpenApprover == nil {
		return Decision{ID: id, Channel: ChannelNone, Reason: "approval required but no approver is configured: " + firstReason(v, policy.Ask)}
	}
	ap, err := f.OpenApprover()
	if err != nil {
		return Decision{ID: id, Channel: ChannelNone, Reason: fmt.Sprintf("approval required (%s) but %v", firstReason(v, policy.Ask), err)}
	}
	if cl, ok := ap.(io.Closer); ok {
		defer cl.Close()
	}
	req := approval.Request{
		ID:        id,
		Command:   c.Text,
		Findings:  v.Findings,
		Session:   f.SessionID,
		User:      ident.Current(),
		Host:      hostname(),
		Cwd:       cwd(),
		Backend:   f.Backend.Name(),
		Timeout:   f.Config.Approvals.Timeout,
		CanAlways: canAlways(v),
	}
	if req.Timeout <= 0 {
		req.Timeout = approval.DefaultTimeout
	}
	req.Deadline = time.Now().Add(req.Timeout)
	reply, err := ap.Ask(ctx, req)
	if err != nil {
		return Decision{ID: id, Channel: ap.Channel(), Reason: fmt.Sprintf("approval channel failed: %v", err)}
	}
	o := Decision{ID: id, Channel: ap.Channel(), Approver: reply.Approver, AllowedBy: allowedBy(v)}
	switch reply.Answer {
	case approval.AnswerOnce:
		o.Allow = true
	case approval.AnswerSession:
		o.Allow = true
		if f.SessionID == "" {
			f.logf("no session id: the session approval applies to this command only")
		} else if err := f.Sessions.Approve(f.SessionID, v.Key); err != nil {
			fmt.Fprintf(f.Stderr, "hermes-exec: could not remember the session approval: %v\n", err)
		}
	case approval.AnswerAlways:
		o.Allow = true
		if err := f.remember(v); err != nil {
			fmt.Fprintf(f.Stderr, "hermes-exec: could not add to the allowlist: %v\n", err)
		}
	default:
		o.Reason = reply.Reason
		if o.Reason == "" {
			o.Reason = "denied by " + ap.Channel()
		}
	}
	return o
}

// remember adds the allowlist entries that cover every finding.
func (f *Flow) remember(v policy.Verdict) error {
	var entries []string
	for _, fd := range v.Findings {
		if e, ok := policy.AllowlistEntry(fd); ok {
			entries = append(entries, e)
		}
	}
	added, err := config.AddAllowlist(f.Config.Path, entries...)
	if err == nil {
		f.logf("allowlist: added %q to %s", added, f.Config.Path)
	}
	return err
}

// deny records and reports a denial and returns the denial exit status.
func (f *Flow) deny(rec *Record, start time.Time, reason string) int {
	rec.Decision = policy.Deny.String()
	rec.Reason = Redact(reason, f.Secrets)
	rec.DurationMS = msSince(start)
	fmt.Fprintf(f.Stderr, "hermes-exec: denied: %s\n", oneLine(rec.Reason))
	if err := f.Audit.Append(*rec); err != nil {
		fmt.Fprintf(f.Stderr, "hermes-exec: audit log: %v\n", err)
	}
	return exitcode.Denied
}

func (f *Flow) logf(format string, args ...any) {
	if f.Log != nil {
		f.Log.Debugf(format, args...)
	}
}

// canAlways reports whether "always" can cover every Ask finding: a finding
// whose command is not static cannot be allowlisted, so offering "always"
// would be a lie.
func canAlways(v policy.Verdict) bool {
	n := 0
	for _, fd := range v.Findings {
		if fd.Decision != policy.Ask {
			continue
		}
		if _, ok := policy.AllowlistEntry(fd); !ok {
			return false
		}
		n++
	}
	return n > 0
}

// firstReason is the first finding of the given decision, as one phrase.
func firstReason(v policy.Verdict, d policy.Decision) string {
	for _, fd := range v.Findings {
		if fd.Decision == d {
			return fmt.Sprintf("%s: %s", fd.Rule, fd.Description)
		}
	}
	if len(v.Findings) > 0 {
		fd := v.Findings[0]
		return fmt.Sprintf("%s: %s", fd.Rule, fd.Description)
	}
	return d.String()
}

// allowedBy lists, once each and in order, the allowlist entries that
// covered findings of v.
func allowedBy(v policy.Verdict) []string {
	var out []string
	seen := map[string]bool{}
	for _, fd := range v.Findings {
		if fd.AllowedBy != "" && !seen[fd.AllowedBy] {
			seen[fd.AllowedBy] = true
			out = append(out, fd.AllowedBy)
		}
	}
	return out
}

func redactFindings(fs []policy.Finding, secrets []string) []policy.Finding {
	out := make([]policy.Finding, len(fs))
	for i, fd := range fs {
		fd.Command = Redact(fd.Command, secrets)
		out[i] = fd
	}
	return out
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func msSince(t time.Time) float64 {
	return float64(time.Since(t).Microseconds()) / 1000
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

func cwd() string {
	d, err := os.Getwd()
	if err != nil {
		return ""
	}
	return d
}
