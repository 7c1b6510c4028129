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
	"path/filepath"

	"hermes-exec/execcheck"
	"hermes-exec/policy/config"
	"hermes-exec/pty"
	"hermes-exec/shim"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == execcheck.LaunchArg {
		// The exec checks' launcher (hidden): see package execcheck.
		os.Exit(execcheck.LaunchMain(args[1:]))
	}
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
		return 2 // as bash does for a bad invocation
	}
	text, name, rest, err := sa.script()
	if err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: %v\n", err)
		if errors.As(err, new(usageError)) {
			return 2
		}
		return shim.ExitNotFound // a script file that cannot be read, as bash
	}

	s, err := load(sa.global)
	if errors.As(err, new(usageError)) {
		fmt.Fprintf(os.Stderr, "hermes-exec: %v\n", err)
		return 2
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

	v := fl.Classifier.Classify(text)
	grantTopLevel(fl, v)
	return fl.Execute(context.Background(), shim.Command{
		Text:    text,
		Args:    bashArgs,
		Verdict: v,
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
// is still recorded: the audit log's place does not depend on the
// configuration that failed.
func denyEarly(text string, err error) int {
	fmt.Fprintf(os.Stderr, "hermes-exec: denied: %v\n", err)
	// Append fills in time, user and cwd and redacts secrets.
	a := shim.Audit{Path: filepath.Join(config.Home(), "audit.jsonl")}
	if aerr := a.Append(shim.Record{
		Session:  shim.SessionID(),
		Command:  text,
		Decision: "deny",
		Verdict:  "deny",
		Channel:  "policy",
		Reason:   err.Error(),
	}); aerr != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: audit log: %v\n", aerr)
	}
	return shim.ExitDenied
}

// lookPathStatus maps a missing program in `run` to bash's statuses.
func lookPathStatus(prog string) (int, error) {
	if _, err := exec.LookPath(prog); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return shim.ExitNotFound, fmt.Errorf("%s: command not found", prog)
		}
		return shim.ExitCannotExec, fmt.Errorf("%s: %v", prog, unwrapPathErr(err))
	}
	return 0, nil
}
