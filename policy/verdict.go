// Package policy classifies shell text: it parses it with mvdan.cc/sh, walks
// every command the shell would run, and matches each one against the danger
// catalog, the user's allowlist and the user's deny rules.
//
// The package is pure: it performs no I/O. What cannot be resolved statically
// is reported as dangerous (fail closed).
package policy

import "fmt"

// Decision is what the wrapper must do with a command.
type Decision int

const (
	// Allow runs the command without asking.
	Allow Decision = iota
	// Ask runs the command only after a human approves it.
	Ask
	// Deny never runs the command.
	Deny
)

func (d Decision) String() string {
	switch d {
	case Allow:
		return "allow"
	case Ask:
		return "ask"
	case Deny:
		return "deny"
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// MarshalText makes a Decision appear as "allow", "ask" or "deny" in JSON.
func (d Decision) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses "allow", "ask" or "deny".
func (d *Decision) UnmarshalText(b []byte) error {
	switch string(b) {
	case "allow":
		*d = Allow
	case "ask":
		*d = Ask
	case "deny":
		*d = Deny
	default:
		return fmt.Errorf("unknown decision %q", b)
	}
	return nil
}

// Finding is one reason a command is not simply allowed.
type Finding struct {
	// Rule is a stable identifier (a RuleID) such as "delete-system" or
	// "dynamic-command-name"; user deny rules use "user-deny". `hermes-exec
	// rules` lists them all.
	Rule string `json:"rule"`
	// Description is one human sentence saying why.
	Description string `json:"description"`
	// Command is the source text of the simple command (or construct) that
	// triggered the rule.
	Command string `json:"command"`
	// Pos is "line:col" in the top-level script text.
	Pos string `json:"pos"`
	// Decision is Ask or Deny.
	Decision Decision `json:"decision"`
	// Argv is the fully static argv of the flagged simple command after
	// unwrapping, or nil when any word is dynamic. It is what "always"
	// adds to the allowlist; a finding without Argv cannot be allowlisted.
	Argv []string `json:"-"`
	// AllowedBy is the user allowlist entry that covered this finding,
	// when one did. Such a finding is kept (with Decision Allow) so that
	// the audit log shows what the allowlist let through.
	AllowedBy string `json:"allowed_by,omitempty"`
}

// Verdict is the classification of a whole script.
type Verdict struct {
	// Decision is the strongest decision among the findings (Allow if none).
	Decision Decision `json:"decision"`
	// Findings lists every reason, in source order. Never nil in JSON.
	Findings []Finding `json:"findings"`
	// Key is a normalised form of the script (comments and insignificant
	// white space removed) under which a session approval is remembered.
	Key string `json:"-"`
}

// Rules is the user's part of the policy, taken from config.yaml.
type Rules struct {
	// Allowlist entries are argv prefixes written as shell words, such as
	// "git push" or "rm -rf ./build". An entry matches a simple command
	// whose effective argv starts with the same words (whole words only),
	// and allows only the findings its own words raise: what the
	// command's further words raise is judged as without the entry.
	Allowlist []string
	// Deny entries use the same syntax; a match is always denied, even in
	// yolo mode, and wins over the allowlist.
	Deny []string
	// ExecChecked says every program the command starts will be checked
	// when it is executed (terminal.exec_checks: on). The text then does
	// not fail closed on what only names a program at run time: a command
	// word built from variables or substitutions, eval or sh -c of text
	// built at run time, a script path in a variable. What only the text
	// shows (redirections, remote code piped to a shell, builtins) is
	// still judged from the text.
	ExecChecked bool
	// DeferPrograms (implies ExecChecked) also leaves to the exec check
	// what the text says about the programs it runs: a dangerous `rm -rf
	// ~/x` in a script is asked about when rm is executed, with its real
	// arguments and working directory, not when the script is read. For
	// text whose programs are all executed later under exec checks (the
	// top-level command, a script file a shell is given); never for the
	// argv of the exec being checked. Deny findings stay: denying early
	// costs nothing.
	DeferPrograms bool
	// Context is the caller's machine: homes, Hermes homes, working
	// directory. The zero value is valid.
	Context Context
}
