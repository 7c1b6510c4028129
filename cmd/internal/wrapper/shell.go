package wrapper

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"

	"hermes-exec/approval"
	"hermes-exec/internal/exitcode"
	"hermes-exec/internal/oneshot"
	"hermes-exec/policy"
	"hermes-exec/policy/config"
	"hermes-exec/secretstore"
	"hermes-exec/shim"
)

// OneShot tunes the garbage collector for a process that does one
// command's worth of work and exits (shell mode, check): collecting would
// only cost time, since a long allowlist or a large script allocates a lot,
// briefly. The memory limit brings the collector back should a huge script
// need it. Not for the daemons (gateway run), which live on. The backends
// also leave their signal subscriptions to the exit (package oneshot).
func OneShot() {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(512 << 20)
	oneshot.Set()
}

// NulVerdict denies text that holds NUL bytes: bash cannot be handed such
// text as it is (an argument cannot hold NUL, and bash drops or refuses
// NULs in scripts), so what would run is not the text that was checked.
func NulVerdict(text string) policy.Verdict {
	return policy.Verdict{
		Decision: policy.Deny,
		Findings: []policy.Finding{{
			Rule:        "nul-byte",
			Description: "the script holds NUL bytes (a binary file?); bash would not run it as written, so it cannot be checked",
			Command:     strings.ReplaceAll(firstLine(text), "\x00", `\0`),
			Pos:         "1:1",
			Decision:    policy.Deny,
		}},
		Key: text,
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// DenyEarly reports a failure that happened before a command could even be
// classified (config, rules, backend): nothing runs, exit 126. The denial
// is still recorded, with the same secrets masked as on every other path
// (shim.SecretSet), since the audit log's place does not depend on the
// configuration that failed. Only a HERMES_HOME that cannot be found or
// trusted gets no record: writing into another user's directory is what
// the refusal is about.
func DenyEarly(text string, err error) int {
	fmt.Fprintf(os.Stderr, "hermes-exec: denied: %v\n", err)
	if errors.As(err, new(UntrustedHomeError)) {
		return exitcode.Denied
	}
	home, herr := HermesHome()
	if herr != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: not recorded in the audit log: %v\n", herr)
		return exitcode.Denied
	}
	environ := os.Environ()
	names, nerr := config.DotEnvNames(home.Env())
	ageNames, ageValues, aerr := secretstore.Gather(home.Dir)
	secrets := shim.SecretSet(environ, append(names, ageNames...), nerr == nil && aerr == nil, ageValues...)
	// Append fills in time, user and cwd.
	a := shim.Audit{Path: home.Audit()}
	if aerr := a.Append(shim.Record{
		ID:       approval.NewID(),
		Event:    shim.EventDecision,
		Session:  shim.SessionID(),
		Command:  shim.Redact(text, secrets),
		Decision: "deny",
		Verdict:  "deny",
		Channel:  shim.ChannelPolicy,
		Reason:   shim.Redact(err.Error(), secrets),
	}); aerr != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: audit log: %v\n", aerr)
	}
	return exitcode.Denied
}

// LookPathStatus maps a missing program in `run` to bash's statuses.
func LookPathStatus(prog string) (int, error) {
	if _, err := exec.LookPath(prog); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return exitcode.NotFound, fmt.Errorf("%s: command not found", prog)
		}
		return exitcode.CannotExec, fmt.Errorf("%s: %v", prog, UnwrapPathErr(err))
	}
	return 0, nil
}

// UnwrapPathErr is the error inside a *os.PathError, as bash words it
// ("No such file or directory"), without Go's "open PATH:" in front.
func UnwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
