// Command hermes-exec is the shell an AI agent runs its commands through:
// `hermes-exec -c 'CMD'` wherever it would call `bash -c 'CMD'`. Every
// command is classified, dangerous ones are put to a human, approved ones run
// on the chosen backend, and every decision is written to the audit log.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"hermes-exec/approval"
	"hermes-exec/internal/exitcode"
	"hermes-exec/policy/config"
	"hermes-exec/pty"
	"hermes-exec/secretstore"
	"hermes-exec/shim"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	args := os.Args[1:]
	if isShellMode(args, pty.IsTerminal(os.Stdin)) {
		os.Exit(runShell(args))
	}
	os.Exit(runApp(os.Args))
}

// runShell is the bash-compatible mode. It is the hot path, so it does not
// build the subcommand machinery.
func runShell(args []string) int {
	sa, err := parseShellArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: %v\n", err)
		return exitcode.Usage // as bash does for a bad invocation
	}
	text, name, rest, err := sa.script()
	if err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: %v\n", err)
		if errors.As(err, new(usageError)) {
			return exitcode.Usage
		}
		return exitcode.NotFound // a script file that cannot be read, as bash
	}

	s, err := load(sa.global)
	if errors.As(err, new(usageError)) {
		fmt.Fprintf(os.Stderr, "hermes-exec: %v\n", err)
		return exitcode.Usage
	}
	if err != nil {
		return denyEarly(text, err)
	}
	fl, err := s.flow()
	if err != nil {
		return denyEarly(text, err)
	}
	bashArgs := append([]string{"bash"}, sa.bashOpts...)
	bashArgs = append(bashArgs, "-c", text, name)
	bashArgs = append(bashArgs, rest...)

	return fl.Execute(context.Background(), shim.Command{
		Text:    text,
		Args:    bashArgs,
		Verdict: fl.Classifier.Classify(text),
		TTY:     wantTTY(),
	})
}

// script returns the text to classify and run, $0, and the positional
// parameters. A script file or stdin is read whole so that exactly the text
// that was classified is what runs (no second read, no race).
func (sa shellArgs) script() (text, name string, rest []string, err error) {
	ops := sa.operands
	switch {
	case sa.command:
		name = "hermes-exec"
		if len(ops) > 1 {
			name = ops[1]
			rest = ops[2:]
		}
		return ops[0], name, rest, nil
	case len(ops) > 0 && !sa.stdin:
		b, err := os.ReadFile(ops[0])
		if err != nil {
			return "", "", nil, fmt.Errorf("%s: %w", ops[0], unwrapPathErr(err))
		}
		return string(b), ops[0], ops[1:], nil
	default:
		if pty.IsTerminal(os.Stdin) {
			return "", "", nil, usageError{"interactive shells are not supported: pass -c 'COMMAND', a script file, or a script on stdin (see hermes-exec --help)"}
		}
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return "", "", nil, fmt.Errorf("reading the script from stdin: %w", err)
		}
		return string(b), "hermes-exec", ops, nil
	}
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// denyEarly reports a failure that happened before a command could even be
// classified (config, rules, backend): nothing runs, exit 126. The denial
// is still recorded, with the same secrets masked as on every other path
// (shim.SecretSet), since the audit log's place does not depend on the
// configuration that failed. Only a HERMES_HOME that cannot be found or
// trusted gets no record: writing into another user's directory is what
// the refusal is about.
func denyEarly(text string, err error) int {
	fmt.Fprintf(os.Stderr, "hermes-exec: denied: %v\n", err)
	if errors.As(err, new(untrustedHomeError)) {
		return exitcode.Denied
	}
	home, herr := hermesHome()
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

// lookPathStatus maps a missing program in `run` to bash's statuses.
func lookPathStatus(prog string) (int, error) {
	if _, err := exec.LookPath(prog); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return exitcode.NotFound, fmt.Errorf("%s: command not found", prog)
		}
		return exitcode.CannotExec, fmt.Errorf("%s: %v", prog, unwrapPathErr(err))
	}
	return 0, nil
}
