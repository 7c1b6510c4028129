// Package doctor checks one HERMES_HOME and this machine for what makes
// hermes-exec unsafe or unable to work: file modes and owners, a
// configuration that does not parse or that turns approvals off, allowlist
// entries that let too much through, the gateway, the sandbox backend's
// prerequisites, secrets that git could pick up, and the audit chain.
// With Fix it repairs modes and ownership, and nothing else.
package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"hermes-exec/policy/config"
)

// Status is a check's outcome.
type Status int

const (
	OK Status = iota
	Warn
	Error
)

func (s Status) String() string { return [...]string{"ok", "warn", "error"}[s] }

func (s Status) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Result is one line of the report.
type Result struct {
	Check   string `json:"check"`
	Status  Status `json:"status"`
	Message string `json:"message"`
	// Fix says what to do about a warning or an error.
	Fix string `json:"fix,omitempty"`
	// Fixed says what --fix changed (the result is then ok).
	Fixed string `json:"fixed,omitempty"`
}

// Options is what the checks look at.
type Options struct {
	Home       string // HERMES_HOME
	ConfigPath string // config.yaml (normally in Home)
	// Executable is the running hermes-exec, to find the sandbox helper
	// next to it; Version is its version.
	Executable string
	Version    string
	Getenv     func(string) string
	Fix        bool
	UID, GID   int

	cfg    *config.Config // loaded once by loadConfig
	cfgErr error
}

// Run performs every check, in a fixed order.
func Run(o Options) []Result {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	var rs []Result
	for _, c := range []func(*Options) []Result{
		checkHome,
		checkFiles,
		checkConfig,
		checkSecrets,
		checkGateway,
		checkBackend,
		checkAdminPolicy,
		checkSupervisor,
		checkGit,
		checkCodex,
		checkAudit,
	} {
		rs = append(rs, c(&o)...)
	}
	return rs
}

// Errors counts the results that are errors.
func Errors(rs []Result) int {
	n := 0
	for _, r := range rs {
		if r.Status == Error {
			n++
		}
	}
	return n
}

// Print writes one line per check: "ok", "warn" or "error", the check's
// name and what it found; a line starting with "->" says what to do, one
// starting with "fixed:" what --fix changed.
func Print(w io.Writer, rs []Result) {
	for _, r := range rs {
		fmt.Fprintf(w, "%-5s  %-13s %s\n", r.Status, r.Check, oneLine(r.Message))
		if r.Fixed != "" {
			fmt.Fprintf(w, "       %-13s fixed: %s\n", "", oneLine(r.Fixed))
		}
		if r.Fix != "" && r.Status != OK {
			fmt.Fprintf(w, "       %-13s -> %s\n", "", oneLine(r.Fix))
		}
	}
	e, wn := Errors(rs), 0
	for _, r := range rs {
		if r.Status == Warn {
			wn++
		}
	}
	fmt.Fprintf(w, "%d error(s), %d warning(s)\n", e, wn)
}

// PrintJSON writes {"results":[...],"errors":N,"warnings":N}.
func PrintJSON(w io.Writer, rs []Result) error {
	wn := 0
	for _, r := range rs {
		if r.Status == Warn {
			wn++
		}
	}
	if rs == nil {
		rs = []Result{}
	}
	return json.NewEncoder(w).Encode(struct {
		Results  []Result `json:"results"`
		Errors   int      `json:"errors"`
		Warnings int      `json:"warnings"`
	}{rs, Errors(rs), wn})
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func ok(check, format string, args ...any) Result {
	return Result{Check: check, Status: OK, Message: fmt.Sprintf(format, args...)}
}

func warn(check, fix, format string, args ...any) Result {
	return Result{Check: check, Status: Warn, Message: fmt.Sprintf(format, args...), Fix: fix}
}

func fail(check, fix, format string, args ...any) Result {
	return Result{Check: check, Status: Error, Message: fmt.Sprintf(format, args...), Fix: fix}
}
