package shim

import (
	"hermes-exec/approval"

	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hermes-exec/isolate"
	"hermes-exec/policy"
	"hermes-exec/policy/config"
)

// fakeBackend records whether anything ran.
type fakeBackend struct {
	ran  int
	code int
	err  error
}

func (b *fakeBackend) Name() string { return "fake" }

func (b *fakeBackend) Run(ctx context.Context, s isolate.Spec) (isolate.Status, error) {
	b.ran++
	return isolate.Status{Code: b.code}, b.err
}

// fakeApprover answers with a fixed reply or error.
type fakeApprover struct {
	reply approval.Reply
	err   error
	asked int
}

func (a *fakeApprover) Channel() string { return "fake" }

func (a *fakeApprover) Ask(ctx context.Context, r approval.Request) (approval.Reply, error) {
	a.asked++
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
		runs    bool
		channel string
	}{
		{"once", approval.Reply{Answer: approval.AnswerOnce, Approver: "me"}, nil, true, "fake"},
		{"deny", approval.Reply{Answer: approval.AnswerDeny, Reason: "denied at the terminal"}, nil, false, "fake"},
		{"timeout", approval.Reply{Answer: approval.AnswerDeny, Reason: "no answer within 5m0s"}, nil, false, "fake"},
		{"channel error", approval.Reply{Answer: approval.AnswerOnce}, errors.New("broken"), false, "fake"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFlow(t)
			fx.appr.reply, fx.appr.err = tc.reply, tc.err
			code := fx.exec(t, risky)
			if got := fx.backend.ran == 1; got != tc.runs {
				t.Fatalf("ran = %v, want %v (exit %d)", got, tc.runs, code)
			}
			if !tc.runs {
				if code != ExitDenied || !strings.HasPrefix(fx.stderrText(), "hermes-exec: denied: ") {
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
	if code := fx.exec(t, risky); code != ExitDenied || fx.backend.ran != 0 {
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
			if code := fx.exec(t, risky); code != ExitDenied || fx.backend.ran != 1 {
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
	if code := fx.exec(t, risky); code != ExitDenied || fx.appr.asked != 1 {
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
	if code := fx.exec(t, risky); code != ExitDenied {
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
	if code := fx.exec(t, "ls"); code != ExitDenied || fx.backend.ran != 0 {
		t.Fatalf("exit %d ran %d", code, fx.backend.ran)
	}
	if !strings.Contains(fx.stderrText(), "audit log") {
		t.Fatalf("stderr %q", fx.stderrText())
	}
}

func TestFlowStartFailureStatuses(t *testing.T) {
	fx := newFlow(t)
	fx.backend.err = &isolate.StartError{Op: "lookup", Path: "nope", Err: os.ErrNotExist}
	if code := fx.exec(t, "ls"); code != ExitNotFound {
		t.Fatalf("not found: exit %d", code)
	}
	fx.backend.err = &isolate.StartError{Op: "exec", Path: "x", Err: os.ErrPermission}
	if code := fx.exec(t, "ls"); code != ExitCannotExec {
		t.Fatalf("permission: exit %d", code)
	}
}
