package wrapper

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"hermes-exec/agenthook"
	"hermes-exec/approval"
	"hermes-exec/internal/procstat"
	"hermes-exec/policy"
	"hermes-exec/shim"
)

// RunHook answers one hook event. Every failure blocks the call.
func RunHook(agent string, g Globals, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "hermes-exec: denied: "+format+"\n", args...)
		return agenthook.FailureExit
	}
	data, err := io.ReadAll(io.LimitReader(stdin, 16<<20))
	if err != nil {
		return fail("reading the hook event: %v", err)
	}
	in, err := agenthook.Parse(agent, data)
	if err != nil {
		return fail("%v", err)
	}
	if !in.IsShell() {
		return 0 // not a shell command: not ours to judge
	}
	s, err := Load(g)
	if err != nil {
		return fail("%v", err)
	}
	cls, err := s.Classifier()
	if err != nil {
		return fail("%v", err)
	}
	v := cls.Classify(in.Command)
	if strings.IndexByte(in.Command, 0) >= 0 {
		v = NulVerdict(in.Command)
	}
	d := v.Decision
	if d == policy.Ask && (s.Cfg.Approvals.Mode == "off" || s.Global.Yolo || Truthy(os.Getenv("HERMES_YOLO"))) {
		d = policy.Allow
	}
	reason := agenthook.Reason(policy.Verdict{Decision: d, Findings: v.Findings})
	if agent == agenthook.Codex && in.Event == "PreToolUse" && d != policy.Deny {
		// A shell the model names is started instead of hermes-exec
		// (see agenthook.CodexCall): deny it, and deny when the call
		// cannot be read. PreToolUse comes first for every call and
		// carries the transcript; PermissionRequest (0.171) does not.
		c, err := agenthook.CodexCallOf(in.TranscriptPath, in.ToolUseID)
		switch {
		case err != nil:
			d, reason = policy.Deny, "hermes-exec: denied: codex-call: cannot tell which shell Codex would start: "+err.Error()
		case c.Shell != "":
			d, reason = policy.Deny, "hermes-exec: denied: codex-shell: the call names its own shell ("+c.Shell+"), which Codex would start instead of hermes-exec; leave `shell` out"
		}
	}
	layout := s.Home
	switch d {
	case policy.Ask:
		// The agent is about to ask the human; if the human says yes,
		// the agent's shell (hermes-exec) may run this once.
		pid, start, err := agenthook.AgentProcess()
		if err == nil {
			ttl := s.Cfg.Approvals.Timeout
			if ttl <= 0 {
				ttl = approval.DefaultTimeout
			}
			g := hookGrants()
			g.Clean()
			err = g.Put(shim.SessionKey(v), agent, pid, start, ttl+time.Minute)
		}
		if err != nil {
			fmt.Fprintf(stderr, "hermes-exec: hook: the approval cannot be handed to the shell (%v); hermes-exec as the shell will deny it\n", err)
		}
	case policy.Deny:
		a := shim.Audit{Path: layout.Audit()}
		if err := a.Append(shim.Record{
			ID:       approval.NewID(),
			Event:    shim.EventDecision,
			Time:     time.Now().UTC(),
			Session:  in.SessionID,
			Command:  in.Command,
			Decision: "deny",
			Verdict:  v.Decision.String(),
			Findings: v.Findings,
			Channel:  agent + "-hook",
			Reason:   reason,
			Backend:  "none",
		}); err != nil {
			fmt.Fprintf(stderr, "hermes-exec: audit log: %v\n", err)
		}
	}
	ans := agenthook.Respond(in, d, reason)
	if len(ans.Stdout) > 0 {
		if _, err := stdout.Write(ans.Stdout); err != nil {
			return fail("writing the answer: %v", err)
		}
	}
	return ans.Exit
}

// HookGrantApprover is the approval channel for a command the human
// approved in the agent's own dialog (see agenthook.Grants): it is tried
// before the terminal. This is also where another channel (the gateway)
// plugs in: the flow's OpenApprover.
func HookGrantApprover(key string, next func() (approval.Approver, error)) func() (approval.Approver, error) {
	return func() (approval.Approver, error) {
		g := hookGrants()
		if agent, ok := g.Take(key, agenthook.Ancestors(16)); ok {
			// The approved command may run itself again through a
			// nested shell (an agent's wrapper does): those shells,
			// descendants of this one, honour the same approval.
			if start, ok := procstat.StartTime(os.Getpid()); ok {
				if err := g.PutInherited(key, agent, os.Getpid(), start, agenthook.InheritedTTL); err != nil {
					fmt.Fprintf(os.Stderr, "hermes-exec: the approval cannot be handed to nested shells: %v\n", err)
				}
			}
			return agenthook.Approver{Agent: agent}, nil
		}
		if next == nil {
			return nil, fmt.Errorf("no approval channel")
		}
		return next()
	}
}

// hookGrants is where hook grants live: HERMES_HOME as the user database
// and $HERMES_HOME give it, never $HOME (an agent may run with
// HOME=/nonexistent), the same for the hook and for the shell.
func hookGrants() agenthook.Grants {
	l := GatewayLayout()
	return agenthook.Grants{Dir: l.HookGrants(), KeyFile: l.StateKey()}
}
