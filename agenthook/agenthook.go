// Package agenthook speaks the hook protocols of the agents hermes-exec
// serves: it reads the JSON an agent sends a hook before it runs a shell
// command, and writes the answer in that agent's own format, so that a
// dangerous command is put to the human in the agent's own approval
// dialog (which the model cannot answer) and a denied one is refused with
// a reason the model sees. hermes-exec as the agent's shell stays the
// second line: deny rules, the audit log, the sandbox.
//
// The formats, as the agents' hook documentation and their shipped
// schemas give them (Claude Code 2.1, Codex 0.171, Gemini CLI 0.61):
//
//	Claude Code, PreToolUse (tool "Bash", tool_input.command):
//	  {"hookSpecificOutput":{"hookEventName":"PreToolUse",
//	    "permissionDecision":"allow|ask|deny","permissionDecisionReason":"..."}}
//	Claude Code and Codex, PermissionRequest (shown when the agent is
//	about to ask): {"hookSpecificOutput":{"hookEventName":"PermissionRequest",
//	    "decision":{"behavior":"allow|deny","message":"..."}}}; no output
//	    lets the agent's dialog ask the human.
//	Codex, PreToolUse (tool "Bash"): only "deny" is supported (allow and
//	    ask are rejected as unsupported and the call then runs), so an
//	    allowed or dangerous command gets no output and Codex's own
//	    approval policy (and its PermissionRequest hook) applies. A call
//	    naming its own shell is denied (CodexCallOf).
//	Gemini CLI, BeforeTool (tool "run_shell_command", tool_input.command):
//	  {"decision":"allow|ask|deny","reason":"...","systemMessage":"..."};
//	  "ask" makes Gemini CLI ask the user even in auto-approve modes.
//
// Tools other than the shell get no output: hermes-exec judges commands.
package agenthook

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"hermes-exec/policy"
)

// Agent names, as given to `hermes-exec hook AGENT`.
const (
	ClaudeCode = "claude-code"
	Codex      = "codex"
	Gemini     = "gemini"
)

// Agents lists the supported agents.
var Agents = []string{ClaudeCode, Codex, Gemini}

// Input is what the hook needs from an agent's hook event.
type Input struct {
	Agent     string
	Event     string // PreToolUse, PermissionRequest, BeforeTool
	Tool      string // Bash, run_shell_command, ...
	Command   string // the shell command, when the tool is the shell
	Cwd       string
	SessionID string
	// Codex: the session's transcript and the call's id, to read the
	// call's other arguments (CodexCallOf).
	TranscriptPath string
	ToolUseID      string
}

// IsShell reports whether the event is about the agent's shell tool.
func (in Input) IsShell() bool {
	switch in.Agent {
	case ClaudeCode, Codex:
		return in.Tool == "Bash"
	case Gemini:
		return in.Tool == "run_shell_command"
	}
	return false
}

type wireInput struct {
	SessionID string          `json:"session_id"`
	Cwd       string          `json:"cwd"`
	Event     string          `json:"hook_event_name"`
	Tool      string          `json:"tool_name"`
	ToolInput json.RawMessage `json:"tool_input"`
	// Codex sends both; null when it keeps no transcript.
	TranscriptPath *string `json:"transcript_path"`
	ToolUseID      string  `json:"tool_use_id"`
}

// Parse reads one hook event of agent.
func Parse(agent string, data []byte) (Input, error) {
	known := false
	for _, a := range Agents {
		known = known || a == agent
	}
	if !known {
		return Input{}, fmt.Errorf("unknown agent %q (choose %s)", agent, strings.Join(Agents, ", "))
	}
	var w wireInput
	if err := json.Unmarshal(data, &w); err != nil {
		return Input{}, fmt.Errorf("the hook input is not the JSON %s sends: %w", agent, err)
	}
	in := Input{Agent: agent, Event: w.Event, Tool: w.Tool, Cwd: w.Cwd, SessionID: w.SessionID, ToolUseID: w.ToolUseID}
	if w.TranscriptPath != nil {
		in.TranscriptPath = *w.TranscriptPath
	}
	if !in.IsShell() {
		return in, nil
	}
	var ti struct {
		Command *string `json:"command"`
	}
	if len(w.ToolInput) == 0 || json.Unmarshal(w.ToolInput, &ti) != nil || ti.Command == nil {
		return in, errors.New("the shell tool call has no tool_input.command")
	}
	in.Command = *ti.Command
	return in, nil
}

// Answer is the hook's reply: what to print on stdout (nil for nothing)
// and the exit status (0: the agent reads stdout).
type Answer struct {
	Stdout []byte
	Exit   int
}

// Respond turns a verdict into the agent's reply. reason is the one line
// shown to the human (ask) or to the model (deny).
func Respond(in Input, d policy.Decision, reason string) Answer {
	switch in.Agent {
	case ClaudeCode:
		if in.Event == "PermissionRequest" {
			return permissionRequest(d, reason)
		}
		return jsonAnswer(map[string]any{"hookSpecificOutput": map[string]any{
			"hookEventName":            "PreToolUse",
			"permissionDecision":       d.String(),
			"permissionDecisionReason": reason,
		}})
	case Codex:
		if in.Event == "PermissionRequest" {
			return permissionRequest(d, reason)
		}
		if d != policy.Deny {
			return Answer{}
		}
		return jsonAnswer(map[string]any{"hookSpecificOutput": map[string]any{
			"hookEventName":            "PreToolUse",
			"permissionDecision":       "deny",
			"permissionDecisionReason": reason,
		}})
	case Gemini:
		out := map[string]any{"decision": d.String()}
		switch d {
		case policy.Deny:
			out["reason"] = reason
		case policy.Ask:
			out["systemMessage"] = reason
		}
		return jsonAnswer(out)
	}
	return Answer{}
}

// permissionRequest answers Claude Code's and Codex's PermissionRequest:
// allow and deny decide; ask says nothing, so the agent shows its dialog.
func permissionRequest(d policy.Decision, reason string) Answer {
	switch d {
	case policy.Allow:
		return jsonAnswer(map[string]any{"hookSpecificOutput": map[string]any{
			"hookEventName": "PermissionRequest",
			"decision":      map[string]any{"behavior": "allow"},
		}})
	case policy.Deny:
		return jsonAnswer(map[string]any{"hookSpecificOutput": map[string]any{
			"hookEventName": "PermissionRequest",
			"decision":      map[string]any{"behavior": "deny", "message": reason},
		}})
	}
	return Answer{}
}

func jsonAnswer(v any) Answer {
	b, err := json.Marshal(v)
	if err != nil {
		// Only maps of strings are marshalled; this cannot fail.
		panic(err)
	}
	return Answer{Stdout: append(b, '\n')}
}

// Failure is the reply when the hook cannot decide (unreadable input, a
// broken config): every agent is told to block the call, by exit status
// 2 with the reason on stderr, which all three read as "deny" (fail
// closed, never silently allow).
const FailureExit = 2

// Reason is the one line a verdict is explained with.
func Reason(v policy.Verdict) string {
	switch v.Decision {
	case policy.Allow:
		return "hermes-exec: no danger rule matched"
	}
	var parts []string
	for _, f := range v.Findings {
		if f.Decision != v.Decision {
			continue
		}
		cmd := strings.Join(strings.Fields(f.Command), " ")
		if len(cmd) > 120 {
			cmd = cmd[:117] + "..."
		}
		parts = append(parts, fmt.Sprintf("%s: %s (`%s`)", f.Rule, f.Description, cmd))
		if len(parts) == 3 {
			break
		}
	}
	verb := "needs your approval"
	if v.Decision == policy.Deny {
		verb = "denied"
	}
	return "hermes-exec: " + verb + ": " + strings.Join(parts, "; ")
}
