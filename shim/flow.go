// Package shim is the flow around every command: decide (policy), approve
// (a human, through an approval.Approver), run (an isolate.Backend) and audit.
package shim

import (
	"hermes-exec/approval"

	"hermes-exec/internal/ident"

	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"hermes-exec/isolate"
	"hermes-exec/policy"
	"hermes-exec/policy/config"

	"github.com/sirupsen/logrus"
)

// Exit statuses the wrapper uses itself, as bash does.
const (
	ExitDenied     = 126 // denied, or could not be checked: nothing ran
	ExitNotFound   = 127 // the program does not exist
	ExitCannotExec = 126 // the program exists but cannot be executed
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
	// Secrets are values redacted from the audit log.
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

// outcome is what the approval step decided.
type outcome struct {
	allow    bool
	channel  string // who or what let it through, or stopped it
	approver string
	reason   string
}

// Execute decides, asks if needed, runs and audits one command. It returns
// the exit status the wrapper must exit with. It never runs a command that
// was not allowed: every error on the way is a denial (exit 126).
func (f *Flow) Execute(ctx context.Context, c Command) int {
	start := time.Now()
	rec := Record{
		Time:     start.UTC(),
		Session:  f.SessionID,
		User:     ident.Current(),
		Cwd:      cwd(),
		Command:  Redact(c.Text, f.Secrets),
		Verdict:  c.Verdict.Decision.String(),
		Findings: redactFindings(c.Verdict.Findings, f.Secrets),
		Backend:  f.Backend.Name(),
	}

	// The audit log must be writable before anything runs: a command that
	// cannot be recorded does not run (fail closed).
	if err := f.Audit.Check(); err != nil {
		return f.deny(&rec, start, "policy", "", fmt.Sprintf("cannot write the audit log: %v", err))
	}

	out := f.decide(ctx, c)
	rec.Channel, rec.Approver = out.channel, out.approver
	if !out.allow {
		return f.deny(&rec, start, out.channel, out.approver, out.reason)
	}
	rec.Decision = policy.Allow.String()

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
	code := st.Code
	if err != nil {
		code = startFailureCode(err)
		rec.Reason = err.Error()
		fmt.Fprintf(f.Stderr, "hermes-exec: %v\n", err)
	} else if st.Reason != "" {
		rec.Reason = st.Reason
		fmt.Fprintf(f.Stderr, "hermes-exec: %s\n", st.Reason)
	}
	rec.Exit = &code
	rec.DurationMS = msSince(start)
	if err := f.Audit.Append(rec); err != nil {
		// The command already ran; say loudly that its record is missing.
		fmt.Fprintf(f.Stderr, "hermes-exec: audit log: %v\n", err)
	}
	return code
}

// decide turns a verdict into allow or deny, asking a human when the
// verdict says so and nothing else already settled it.
func (f *Flow) decide(ctx context.Context, c Command) outcome {
	v := c.Verdict
	switch v.Decision {
	case policy.Allow:
		return outcome{allow: true, channel: "policy"}
	case policy.Deny:
		return outcome{channel: "policy", reason: firstReason(v, policy.Deny)}
	}

	// Ask: the order is from the broadest switch to the narrowest grant.
	switch {
	case f.Yolo:
		return outcome{allow: true, channel: "yolo"}
	case f.Config.Approvals.Mode == "off":
		return outcome{allow: true, channel: "mode-off"}
	case f.Contained && f.Config.Approvals.InContainer != "ask":
		return outcome{allow: true, channel: "container"}
	case f.SessionID != "" && !f.ForbidYolo && f.Sessions.Yolo(f.SessionID):
		return outcome{allow: true, channel: "yolo"}
	case f.SessionID != "" && f.Sessions.Approved(f.SessionID, v.Key):
		return outcome{allow: true, channel: "session"}
	}

	if f.OpenApprover == nil {
		return outcome{channel: "none", reason: "approval required but no approver is configured: " + firstReason(v, policy.Ask)}
	}
	ap, err := f.OpenApprover()
	if err != nil {
		return outcome{channel: "none", reason: fmt.Sprintf("approval required (%s) but %v", firstReason(v, policy.Ask), err)}
	}
	if cl, ok := ap.(io.Closer); ok {
		defer cl.Close()
	}
	req := approval.Request{
		ID:        approval.NewID(),
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
		return outcome{channel: ap.Channel(), reason: fmt.Sprintf("approval channel failed: %v", err)}
	}
	o := outcome{channel: ap.Channel(), approver: reply.Approver}
	switch reply.Answer {
	case approval.AnswerOnce:
		o.allow = true
	case approval.AnswerSession:
		o.allow = true
		if f.SessionID == "" {
			f.logf("no session id: the session approval applies to this command only")
		} else if err := f.Sessions.Approve(f.SessionID, v.Key); err != nil {
			fmt.Fprintf(f.Stderr, "hermes-exec: could not remember the session approval: %v\n", err)
		}
	case approval.AnswerAlways:
		o.allow = true
		if err := f.remember(v); err != nil {
			fmt.Fprintf(f.Stderr, "hermes-exec: could not add to the allowlist: %v\n", err)
		}
	default:
		o.reason = reply.Reason
		if o.reason == "" {
			o.reason = "denied by " + ap.Channel()
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
func (f *Flow) deny(rec *Record, start time.Time, channel, approver, reason string) int {
	rec.Decision = policy.Deny.String()
	rec.Channel, rec.Approver = channel, approver
	rec.Reason = Redact(reason, f.Secrets)
	rec.DurationMS = msSince(start)
	fmt.Fprintf(f.Stderr, "hermes-exec: denied: %s\n", oneLine(rec.Reason))
	if err := f.Audit.Append(*rec); err != nil {
		fmt.Fprintf(f.Stderr, "hermes-exec: audit log: %v\n", err)
	}
	return ExitDenied
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

// startFailureCode maps a failure to start the program to bash's statuses:
// 127 for a program that does not exist, 126 for any other failure.
func startFailureCode(err error) int {
	if isolate.IsNotFound(err) {
		return ExitNotFound
	}
	return ExitCannotExec
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
