package shim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hermes-exec/approval"
	"hermes-exec/internal/exitcode"
	"hermes-exec/isolate"
	"hermes-exec/policy"
	"hermes-exec/policy/config"
)

// fakeBackend records whether anything ran, and what the audit log held
// at the moment it started.
type fakeBackend struct {
	ran  int
	code int
	err  error
	// audit, when set, is read as the command starts.
	audit      *Audit
	atStart    []Record
	atStartErr error
}

func (b *fakeBackend) Name() string { return "fake" }

func (b *fakeBackend) Run(ctx context.Context, s isolate.Spec) (isolate.Status, error) {
	b.ran++
	if b.audit != nil {
		b.atStart, b.atStartErr = b.audit.Tail(0)
	}
	return isolate.Status{Code: b.code}, b.err
}

// fakeApprover answers with a fixed reply or error. With wait set it
// answers nothing and gives up when the request's deadline passes, as a
// human who never answers.
type fakeApprover struct {
	reply approval.Reply
	err   error
	asked int
	wait  bool
	req   approval.Request
}

func (a *fakeApprover) Channel() string { return "fake" }

func (a *fakeApprover) Ask(ctx context.Context, r approval.Request) (approval.Reply, error) {
	a.asked++
	a.req = r
	if a.wait {
		ctx, cancel := context.WithDeadline(ctx, r.Deadline)
		defer cancel()
		<-ctx.Done()
		return approval.Reply{Answer: approval.AnswerDeny, Reason: fmt.Sprintf("no answer within %v", r.Timeout)}, nil
	}
	return a.reply, a.err
}

type flowFixture struct {
	flow    *Flow
	backend *fakeBackend
	appr    *fakeApprover
	stderr  *os.File
	home    string
}

func newFlow(t *testing.T) *flowFixture {
	t.Helper()
	home := t.TempDir()
	cfg := config.Defaults()
	cfg.Path = filepath.Join(home, "config.yaml")
	cls, err := policy.NewClassifier(policy.Rules{})
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(home, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stderr.Close() })
	fx := &flowFixture{backend: &fakeBackend{}, appr: &fakeApprover{}, stderr: stderr, home: home}
	fx.flow = &Flow{
		Config:       cfg,
		Classifier:   cls,
		Backend:      fx.backend,
		OpenApprover: func() (approval.Approver, error) { return fx.appr, nil },
		Sessions:     Sessions{Dir: filepath.Join(home, "sessions")},
		SessionID:    "s1",
		Audit:        Audit{Path: filepath.Join(home, "audit.jsonl")},
		Stdin:        os.Stdin,
		Stdout:       os.Stdout,
		Stderr:       stderr,
	}
	return fx
}

func (fx *flowFixture) exec(t *testing.T, text string) int {
	t.Helper()
	return fx.flow.Execute(context.Background(), Command{
		Text:    text,
		Args:    []string{"bash", "-c", text},
		Verdict: fx.flow.Classifier.Classify(text),
	})
}

func (fx *flowFixture) lastAudit(t *testing.T) Record {
	t.Helper()
	recs, err := fx.flow.Audit.Tail(1)
	if err != nil || len(recs) != 1 {
		t.Fatalf("audit: %v %v", recs, err)
	}
	return recs[0]
}

func (fx *flowFixture) stderrText() string {
	b, _ := os.ReadFile(fx.stderr.Name())
	return string(b)
}

const risky = "git reset --hard"

func TestFlowAllowRunsWithoutAsking(t *testing.T) {
	fx := newFlow(t)
	fx.backend.code = 3
	if code := fx.exec(t, "ls -la"); code != 3 || fx.backend.ran != 1 || fx.appr.asked != 0 {
		t.Fatalf("code %d ran %d asked %d", code, fx.backend.ran, fx.appr.asked)
	}
	if r := fx.lastAudit(t); r.Decision != "allow" || r.Exit == nil || *r.Exit != 3 || r.Backend != "fake" {
		t.Fatalf("audit %+v", r)
	}
}

func TestFlowAnswers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reply   approval.Reply
		err     error
		wait    bool
		runs    bool
		channel string
	}{
		{"once", approval.Reply{Answer: approval.AnswerOnce, Approver: "me"}, nil, false, true, "fake"},
		{"deny", approval.Reply{Answer: approval.AnswerDeny, Reason: "denied at the terminal"}, nil, false, false, "fake"},
		// Nobody answers: the deadline the flow set from
		// approvals.timeout passes and the command is denied.
		{"timeout", approval.Reply{}, nil, true, false, "fake"},
		{"channel error", approval.Reply{Answer: approval.AnswerOnce}, errors.New("broken"), false, false, "fake"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFlow(t)
			fx.appr.reply, fx.appr.err, fx.appr.wait = tc.reply, tc.err, tc.wait
			fx.flow.Config.Approvals.Timeout = 50 * time.Millisecond
			done := make(chan int, 1)
			go func() { done <- fx.exec(t, risky) }()
			var code int
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the approval never timed out")
			}
			if tc.wait {
				if fx.appr.req.Timeout != 50*time.Millisecond || !time.Now().After(fx.appr.req.Deadline) {
					t.Fatalf("request timeout %v deadline %v: not approvals.timeout", fx.appr.req.Timeout, fx.appr.req.Deadline)
				}
				if !strings.Contains(fx.stderrText(), "no answer within 50ms") {
					t.Fatalf("stderr %q", fx.stderrText())
				}
			}
			if got := fx.backend.ran == 1; got != tc.runs {
				t.Fatalf("ran = %v, want %v (exit %d)", got, tc.runs, code)
			}
			if !tc.runs {
				if code != exitcode.Denied || !strings.HasPrefix(fx.stderrText(), "hermes-exec: denied: ") {
					t.Fatalf("exit %d stderr %q", code, fx.stderrText())
				}
			}
			if r := fx.lastAudit(t); r.Channel != tc.channel || (r.Decision == "allow") != tc.runs {
				t.Fatalf("audit %+v", r)
			}
		})
	}
}

func TestFlowNoApproverDenies(t *testing.T) {
	fx := newFlow(t)
	fx.flow.OpenApprover = func() (approval.Approver, error) { return nil, errors.New("no terminal to ask on") }
	if code := fx.exec(t, risky); code != exitcode.Denied || fx.backend.ran != 0 {
		t.Fatalf("exit %d ran %d", code, fx.backend.ran)
	}
	if !strings.Contains(fx.stderrText(), "no terminal to ask on") {
		t.Fatalf("stderr %q", fx.stderrText())
	}
}

func TestFlowSwitchesSkipAskingButNotDeny(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     func(*Flow)
		channel string
	}{
		{"yolo", func(f *Flow) { f.Yolo = true }, "yolo"},
		{"mode off", func(f *Flow) { f.Config.Approvals.Mode = config.ModeOff }, "mode-off"},
		{"container", func(f *Flow) { f.Contained = true }, "container"},
		{"session yolo", func(f *Flow) { f.Sessions.SetYolo(f.SessionID, true) }, "yolo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFlow(t)
			tc.set(fx.flow)
			if code := fx.exec(t, risky); code != 0 || fx.backend.ran != 1 || fx.appr.asked != 0 {
				t.Fatalf("exit %d ran %d asked %d", code, fx.backend.ran, fx.appr.asked)
			}
			if r := fx.lastAudit(t); r.Channel != tc.channel {
				t.Fatalf("channel %q, want %q", r.Channel, tc.channel)
			}
			// A deny rule holds under the same switch.
			cls, _ := policy.NewClassifier(policy.Rules{Deny: []string{"git reset"}})
			fx.flow.Classifier = cls
			if code := fx.exec(t, risky); code != exitcode.Denied || fx.backend.ran != 1 {
				t.Fatalf("deny rule under %s: exit %d ran %d", tc.name, code, fx.backend.ran)
			}
		})
	}
}

func TestFlowContainerAskWhenConfigured(t *testing.T) {
	fx := newFlow(t)
	fx.flow.Contained = true
	fx.flow.Config.Approvals.InContainer = config.InContainerAsk
	fx.appr.reply = approval.Reply{Answer: approval.AnswerDeny, Reason: "no"}
	if code := fx.exec(t, risky); code != exitcode.Denied || fx.appr.asked != 1 {
		t.Fatalf("exit %d asked %d", code, fx.appr.asked)
	}
}

func TestFlowSessionAndAlwaysAreRemembered(t *testing.T) {
	fx := newFlow(t)
	fx.appr.reply = approval.Reply{Answer: approval.AnswerSession}
	fx.exec(t, risky)
	fx.appr.reply = approval.Reply{Answer: approval.AnswerDeny}
	if code := fx.exec(t, risky+"  # same command"); code != 0 || fx.appr.asked != 1 {
		t.Fatalf("session approval not used: exit %d asked %d", code, fx.appr.asked)
	}
	if r := fx.lastAudit(t); r.Channel != "session" {
		t.Fatalf("channel %q", r.Channel)
	}
	fx.flow.SessionID = "other"
	if code := fx.exec(t, risky); code != exitcode.Denied {
		t.Fatalf("another session used the approval: exit %d", code)
	}

	fx.appr.reply = approval.Reply{Answer: approval.AnswerAlways}
	fx.exec(t, "git clean -fdx")
	cfg, err := config.Load(fx.flow.Config.Path)
	if err != nil || len(cfg.Approvals.Allowlist) != 1 || cfg.Approvals.Allowlist[0] != "git clean -fdx" {
		t.Fatalf("allowlist after always: %v %v", cfg.Approvals.Allowlist, err)
	}
}

func TestFlowUnwritableAuditLogDenies(t *testing.T) {
	fx := newFlow(t)
	fx.flow.Audit = Audit{Path: filepath.Join(fx.home, "not-a-dir", "audit.jsonl")}
	os.WriteFile(filepath.Join(fx.home, "not-a-dir"), nil, 0o600) // a file where the directory should be
	if code := fx.exec(t, "ls"); code != exitcode.Denied || fx.backend.ran != 0 {
		t.Fatalf("exit %d ran %d", code, fx.backend.ran)
	}
	if !strings.Contains(fx.stderrText(), "audit log") {
		t.Fatalf("stderr %q", fx.stderrText())
	}
}

// Nobody is asked about a command whose decision could not be recorded.
func TestFlowUnwritableAuditLogDeniesBeforeAsking(t *testing.T) {
	fx := newFlow(t)
	fx.flow.Audit = Audit{Path: filepath.Join(fx.home, "not-a-dir", "audit.jsonl")}
	os.WriteFile(filepath.Join(fx.home, "not-a-dir"), nil, 0o600)
	if code := fx.exec(t, risky); code != exitcode.Denied || fx.backend.ran != 0 || fx.appr.asked != 0 {
		t.Fatalf("exit %d ran %d asked %d", code, fx.backend.ran, fx.appr.asked)
	}
}

func TestFlowStartFailureStatuses(t *testing.T) {
	fx := newFlow(t)
	fx.backend.err = &isolate.StartError{Op: "lookup", Path: "nope", Err: os.ErrNotExist}
	if code := fx.exec(t, "ls"); code != exitcode.NotFound {
		t.Fatalf("not found: exit %d", code)
	}
	fx.backend.err = &isolate.StartError{Op: "exec", Path: "x", Err: os.ErrPermission}
	if code := fx.exec(t, "ls"); code != exitcode.CannotExec {
		t.Fatalf("permission: exit %d", code)
	}
}

// The decision is on record before the command starts (issue 6, item 7):
// a wrapper killed while the command runs still leaves it. The outcome
// follows under the same id.
func TestFlowRecordsDecisionBeforeRunning(t *testing.T) {
	fx := newFlow(t)
	fx.backend.audit = &fx.flow.Audit
	fx.backend.code = 4
	if code := fx.exec(t, "ls -la"); code != 4 {
		t.Fatalf("exit %d", code)
	}
	if fx.backend.atStartErr != nil || len(fx.backend.atStart) != 1 {
		t.Fatalf("audit at start: %v %v", fx.backend.atStart, fx.backend.atStartErr)
	}
	d := fx.backend.atStart[0]
	if d.Event != EventDecision || d.Decision != "allow" || d.ID == "" || d.Exit != nil || d.Command != "ls -la" {
		t.Fatalf("decision record %+v", d)
	}
	recs, err := fx.flow.Audit.Tail(0)
	if err != nil || len(recs) != 2 {
		t.Fatalf("records %v %v", recs, err)
	}
	o := recs[1]
	if o.Event != EventOutcome || o.ID != d.ID || o.Exit == nil || *o.Exit != 4 || o.Decision != "allow" {
		t.Fatalf("outcome record %+v", o)
	}
}

// A decision that cannot be written stops the command: an audit.jsonl that
// is a link to /dev/full or to another file (never written through), or a
// FIFO (refused without hanging). The full disk itself is tests/'s
// TestFullDiskDeniesBeforeRunning.
func TestFlowDeniesWhenTheDecisionCannotBeRecorded(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(path string) error
	}{
		{"device", func(p string) error { return os.Symlink("/dev/full", p) }},
		{"symlink", func(p string) error {
			target := filepath.Join(filepath.Dir(p), "elsewhere")
			if err := os.WriteFile(target, nil, 0o600); err != nil {
				return err
			}
			return os.Symlink(target, p)
		}},
		{"fifo", func(p string) error { return mkfifo(p) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFlow(t)
			if err := tc.make(fx.flow.Audit.Path); err != nil {
				t.Fatal(err)
			}
			done := make(chan int, 1)
			go func() { done <- fx.exec(t, "ls") }()
			select {
			case code := <-done:
				if code != exitcode.Denied || fx.backend.ran != 0 {
					t.Fatalf("exit %d ran %d", code, fx.backend.ran)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the audit log's open hung")
			}
			if !strings.Contains(fx.stderrText(), "hermes-exec: denied: cannot write the audit log") {
				t.Fatalf("stderr %q", fx.stderrText())
			}
			if b, _ := os.ReadFile(filepath.Join(fx.home, "elsewhere")); len(b) != 0 {
				t.Fatalf("written through the link: %q", b)
			}
		})
	}
}

// An allowlisted dangerous command is not audited like ls (issue 7): its
// findings stay, the channel is "allowlist", and the entry that let it
// through is named. The verdict is built by hand, as the classifier gives
// it: findings covered by an entry carry Decision Allow and AllowedBy.
func TestFlowAllowlistedCommandKeepsItsFindings(t *testing.T) {
	fx := newFlow(t)
	v := policy.Verdict{Decision: policy.Allow, Findings: []policy.Finding{{
		Rule: "git-force-push", Description: "force-pushes", Command: "git push --force",
		Pos: "1:1", Decision: policy.Allow, AllowedBy: "git push",
	}}}
	c := Command{Text: "git push --force", Args: []string{"true"}, Verdict: v}
	d := fx.flow.Decide(context.Background(), c)
	if !d.Allow || d.Channel != ChannelAllowlist || len(d.AllowedBy) != 1 || d.AllowedBy[0] != "git push" || len(d.Verdict.Findings) != 1 {
		t.Fatalf("decision %+v", d)
	}
	if fx.backend.ran != 0 || fx.appr.asked != 0 {
		t.Fatal("Decide ran or asked")
	}
	if code := fx.flow.Execute(context.Background(), c); code != 0 || fx.backend.ran != 1 || fx.appr.asked != 0 {
		t.Fatalf("exit %d ran %d asked %d", code, fx.backend.ran, fx.appr.asked)
	}
	r := fx.lastAudit(t)
	if r.Channel != ChannelAllowlist || len(r.Findings) != 1 || r.Findings[0].AllowedBy != "git push" || !strings.Contains(r.Reason, "git push") {
		t.Fatalf("audit %+v", r)
	}
	// An everyday command stays plain policy.
	fx.exec(t, "ls")
	if r := fx.lastAudit(t); r.Channel != ChannelPolicy || len(r.Findings) != 0 {
		t.Fatalf("ls audited as %+v", r)
	}
}

// Decide settles without running or recording.
func TestDecideRunsAndRecordsNothing(t *testing.T) {
	fx := newFlow(t)
	fx.appr.reply = approval.Reply{Answer: approval.AnswerOnce, Approver: "me"}
	c := Command{Text: risky, Args: []string{"true"}, Verdict: fx.flow.Classifier.Classify(risky)}
	d := fx.flow.Decide(context.Background(), c)
	if !d.Allow || d.Channel != "fake" || d.Approver != "me" || d.ID == "" || d.ID != fx.appr.req.ID || len(d.Verdict.Findings) == 0 {
		t.Fatalf("decision %+v (request id %q)", d, fx.appr.req.ID)
	}
	if fx.backend.ran != 0 {
		t.Fatal("Decide ran the command")
	}
	if recs, _ := fx.flow.Audit.Tail(0); len(recs) != 0 {
		t.Fatalf("Decide recorded %v", recs)
	}
}
