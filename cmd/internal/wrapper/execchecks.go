package wrapper

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"hermes-exec/approval"
	"hermes-exec/approval/tty"
	"hermes-exec/execcheck"
	"hermes-exec/internal/ident"
	"hermes-exec/policy"
	"hermes-exec/policy/config"
	"hermes-exec/pty"
	"hermes-exec/shim"
)

// execChecked reports whether exec checks apply to this invocation:
// terminal.exec_checks: on with the host backend (the launcher) or the
// sandbox (libcontainer's seccomp agent hands the listeners over). The
// containerd backend has no hook yet: there the option changes nothing, and
// the classifier keeps failing closed.
func (s *Setup) execChecked() bool {
	if s.Cfg.Terminal.ExecChecks != config.ExecChecksOn {
		return false
	}
	switch s.BackendName() {
	case config.BackendHost, config.BackendSandbox:
		return true
	}
	return false
}

// wireExecChecks puts the flow's backend under exec checks when they
// apply: the command starts through the launcher, and every exec in its
// process tree is classified and, when dangerous, decided by the flow's
// own decision step (same switches, same approval channels) and recorded.
func wireExecChecks(s *Setup, fl *shim.Flow) error {
	if !s.execChecked() {
		return nil
	}
	if s.BackendName() != config.BackendHost {
		// The classifier already relies on the exec checks: a backend
		// that cannot deliver them must not run the command.
		if d, ok := fl.Backend.(execcheck.Delivers); !ok || !d.DeliversExecChecks() {
			return fmt.Errorf("exec checks: the %s backend cannot deliver them here (terminal.exec_checks: on)", s.BackendName())
		}
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("exec checks: cannot find the hermes-exec binary: %w", err)
	}
	timeout := s.Cfg.Approvals.Timeout
	if timeout <= 0 {
		timeout = approval.DefaultTimeout
	}
	argvCls, err := s.ArgvClassifier(fl)
	if err != nil {
		return err
	}
	sup := &execcheck.Supervisor{
		Classifier: argvCls,
		Scripts:    fl.Classifier,
		// The approval channel enforces its own deadline; this one
		// only guards against a channel that never returns.
		Timeout: timeout + 30*time.Second,
		Errorf:  func(format string, args ...any) { fmt.Fprintf(fl.Stderr, "hermes-exec: "+format+"\n", args...) },
	}
	sup.Judge = func(ctx context.Context, e *execcheck.Exec) bool { return judgeExec(ctx, fl, e) }
	fl.Backend = &execcheck.Backend{Inner: fl.Backend, Self: self, Supervisor: sup, Hold: holdTerminal}
	return nil
}

// The host backend gives the wrapper's controlling terminal up while a
// pipe-mode command runs (so that the command cannot type into it), which
// leaves nothing to open when an exec must be asked about. The terminal
// approver is therefore opened before the command starts and kept until it
// ends; asking on it needs no controlling terminal.
var held struct {
	sync.Mutex
	a *tty.Approver
}

// holdTerminal opens the terminal approver, when there is one to open, and
// returns what closes it.
func holdTerminal() func() {
	a, err := tty.Open()
	if err != nil {
		return func() {}
	}
	held.Lock()
	held.a = a
	held.Unlock()
	return func() {
		held.Lock()
		held.a = nil
		held.Unlock()
		a.Close()
	}
}

// heldTerminal is the terminal approver holdTerminal opened, without a
// Close of its own (the flow closes what OpenApprover returns).
func heldTerminal() (approval.Approver, bool) {
	held.Lock()
	defer held.Unlock()
	if held.a == nil {
		return nil, false
	}
	return keptTTY{held.a}, true
}

type keptTTY struct{ t *tty.Approver }

func (k keptTTY) Channel() string { return k.t.Channel() }
func (k keptTTY) Ask(ctx context.Context, r approval.Request) (approval.Reply, error) {
	// In PTY mode the wrapper passes the caller's keys to the command:
	// while the question is open they are the answer's.
	release := pty.HoldInput()
	defer release()
	return k.t.Ask(ctx, r)
}

// ArgvClassifier classifies an argv that is executed as it is (`run`, and
// every exec the exec checks see): with exec checks it relaxes what a later
// exec will see (policy.Rules.ExecChecked) but never defers the program
// itself, since the launcher's own exec is not checked again.
func (s *Setup) ArgvClassifier(fl *shim.Flow) (*policy.Classifier, error) {
	if !s.execChecked() {
		return fl.Classifier, nil
	}
	// The machine as the text's classifier knows it, but no working
	// directory: each exec is judged in its own (see execcheck).
	c, err := policy.NewClassifier(policy.Rules{
		Allowlist:   s.Cfg.Approvals.Allowlist,
		Deny:        s.Cfg.Approvals.Deny,
		ExecChecked: true,
		Context:     s.policyContext(""),
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Cfg.Path, err)
	}
	return c, nil
}

// GrantTopLevel tells exec checks that the top-level command was decided:
// the execs it names itself are not asked about a second time. Backend.Run
// happens only for an allowed command, so granting before Execute is safe.
func GrantTopLevel(fl *shim.Flow, v policy.Verdict) {
	if b, ok := fl.Backend.(*execcheck.Backend); ok {
		b.Supervisor.Grant(v)
	}
}

// judgeExec decides one exec that the policy did not simply allow, and
// records the decision with the chain of processes that led to it. An
// exec whose decision cannot be recorded does not run.
func judgeExec(ctx context.Context, fl *shim.Flow, e *execcheck.Exec) bool {
	start := time.Now()
	d := fl.Decide(ctx, shim.Command{
		Text:    e.Chain(),
		Args:    e.Argv,
		Verdict: e.Verdict,
	})
	allow, channel, approver, reason := d.Allow, d.Channel, d.Approver, d.Reason
	if ctx.Err() != nil {
		allow, reason = false, "no decision in time"
	}
	parents := make([]string, len(e.Parents))
	for i, p := range e.Parents {
		parents[i] = shim.Redact(p, fl.Secrets)
	}
	findings := make([]policy.Finding, len(e.Verdict.Findings))
	for i, f := range e.Verdict.Findings {
		f.Command = shim.Redact(f.Command, fl.Secrets)
		findings[i] = f
	}
	rec := shim.Record{
		ID:         d.ID,
		Event:      shim.EventDecision,
		Time:       start.UTC(),
		Session:    fl.SessionID,
		User:       ident.Current(),
		Cwd:        procCwd(e.Pid),
		Command:    shim.Redact(e.Command(), fl.Secrets),
		Parents:    parents,
		Decision:   policy.Deny.String(),
		Verdict:    e.Verdict.Decision.String(),
		Findings:   findings,
		Approver:   approver,
		Channel:    channel,
		Reason:     shim.Redact("exec check: "+reason, fl.Secrets),
		Backend:    fl.Backend.Name(),
		DurationMS: float64(time.Since(start).Microseconds()) / 1000,
	}
	if allow {
		rec.Decision = policy.Allow.String()
		if reason == "" {
			rec.Reason = "exec check"
		}
	}
	if err := fl.Audit.Append(rec); err != nil {
		fmt.Fprintf(fl.Stderr, "hermes-exec: denied: %s: cannot write the audit log: %v\n", e.Command(), err)
		return false
	}
	if !allow {
		fmt.Fprintf(fl.Stderr, "hermes-exec: denied: %s (in %s): %s\n", e.Command(), e.Chain(), reason)
	}
	return allow
}

// procCwd is the working directory of the process making the exec.
func procCwd(pid int) string {
	d, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	if err != nil {
		return ""
	}
	return d
}
