// Command hermes-exec is the shell an AI agent runs its commands through:
// `hermes-exec -c 'CMD'` wherever it would call `bash -c 'CMD'`. Every
// command is classified, dangerous ones are put to a human, approved ones run
// on the chosen backend, and every decision is written to the audit log.
//
// It is started for every command an agent runs, so it holds only that
// path (and an agent's hook); the subcommands are hermes-exec-admin's,
// which it execs for them (admin.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"hermes-exec/cmd/internal/wrapper"
	"hermes-exec/execcheck"
	_ "hermes-exec/internal/bigstack" // the main goroutine's stack at once
	"hermes-exec/internal/exitcode"
	"hermes-exec/internal/phase"
	"hermes-exec/isolate"
	"hermes-exec/policy"
	"hermes-exec/policy/config"
	"hermes-exec/pty"
	"hermes-exec/shim"

	"github.com/sirupsen/logrus"
)

func main() {
	phase.Mark("init")
	args := os.Args[1:]
	if len(args) > 0 && args[0] == execcheck.LaunchArg {
		// The exec checks' launcher (hidden): see package execcheck.
		os.Exit(execcheck.LaunchMain(args[1:]))
	}
	// Started as bash or sh (a symlink named bash first on PATH, a login
	// shell "-bash"), hermes-exec is always the shell: `bash check` runs a
	// script named check, as bash would.
	// A leading '-' is how login(1), sshd and tmux start a login shell
	// (tmux's default-shell): that is shell mode too, whatever the name.
	shell, login := invokedAs(os.Args[0])
	if shell != "" || login || isShellMode(args, pty.IsTerminal(os.Stdin)) {
		os.Exit(runShell(os.Args[0], shell, login, args))
	}
	os.Exit(runApp(os.Args))
}

// runShell is the bash-compatible mode. It is the hot path, so it does not
// build the subcommand machinery. shell is "bash" or "sh" when hermes-exec
// was started under that name ("" otherwise: it then runs bash).
func runShell(argv0, shell string, login bool, args []string) int {
	wrapper.OneShot()
	sa, err := parseShellArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", progName(shell), err)
		return exitcode.Usage // as bash does for a bad invocation
	}
	if login {
		sa.bashOpts = append([]string{"-l"}, sa.bashOpts...)
	}
	if sa.interactive() {
		return interactiveStart(shell)
	}
	if shell == "" {
		shell = "bash"
	}
	st, err := sa.script(argv0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: %v\n", err)
		if errors.As(err, new(usageError)) {
			return exitcode.Usage
		}
		return exitcode.NotFound // a script file that cannot be read, as bash
	}
	defer st.close()
	if sa.diverges != "" {
		return wrapper.DenyEarly(st.text, errors.New(sa.diverges))
	}

	phase.Mark("args")
	s, err := wrapper.Load(sa.global)
	phase.Mark("load")
	if errors.As(err, new(usageError)) {
		fmt.Fprintf(os.Stderr, "hermes-exec: %v\n", err)
		return exitcode.Usage
	}
	if err != nil {
		return wrapper.DenyEarly(st.text, err)
	}
	// The real shell first: the PATH walk that finds it also finds the
	// shell's links (a bash first on PATH that is hermes-exec), which the
	// classifier must know to protect them.
	real, links, err := resolveShell(shell, s.Cfg.Terminal.Shell, shellPath())
	if err != nil {
		return wrapper.DenyEarly(st.text, err)
	}
	s.SetShellLinks(links)
	phase.Mark("resolve-shell")
	fl, err := s.Flow()
	if err != nil {
		return wrapper.DenyEarly(st.text, err)
	}
	phase.Mark("flow")
	verdict := fl.Classifier.Classify(st.text)
	phase.Mark("classify")
	if strings.IndexByte(st.text, 0) >= 0 {
		verdict = wrapper.NulVerdict(st.text)
	}
	// The BASH_ENV file and exported functions run too: they are checked
	// as part of the command (envcode.go).
	// Which shell reads BASH_ENV is the real one's business, not the name
	// hermes-exec was started as: `sh` with terminal.shell: /bin/bash
	// starts bash, which reads it.
	srcs, err := envCode(os.Environ(), envShell(shell, real))
	if err != nil {
		return wrapper.DenyEarly(st.text, err)
	}
	verdict = withEnvCode(verdict, fl.Classifier, srcs)
	// A session approval is remembered for the dangerous commands
	// themselves, not for the text around them: agents wrap every command
	// in text with fresh temporary paths.
	verdict.Key = shim.SessionKey(verdict)
	wrapper.GrantTopLevel(fl, verdict)

	bashArgs, err := st.argv(real, sa.bashOpts, s.BackendName() == "host" && verdict.Decision != policy.Deny)
	if err != nil {
		return wrapper.DenyEarly(st.text, err)
	}
	if s.BackendName() == "host" && verdict.Decision != policy.Deny {
		// bash's own $0 and BASH_SOURCE without root, and the checked
		// BASH_ENV text rather than the file (scriptname.go, envcode.go).
		l, err := st.launch(real, sa.bashOpts, bashArgs, fl.Env, srcs, s.Log.Debugf)
		if err != nil {
			return wrapper.DenyEarly(st.text, err)
		}
		bashArgs, fl.Env = l.args, l.env
		if l.wrap != nil {
			fl.Backend = l.wrap(fl.Backend)
		}
	}
	if st.stdin != nil {
		fl.Stdin = st.stdin
	}
	// A command the human approved in the agent's own dialog (the hook
	// left a grant) is approved once; otherwise the flow's channel.
	fl.OpenApprover = wrapper.HookGrantApprover(verdict.Key, fl.OpenApprover)
	if s.Log.IsLevelEnabled(logrus.DebugLevel) {
		if dotenv, err := config.DotEnvNames(s.Home.Env()); err == nil {
			for _, d := range isolate.DroppedNames(os.Environ(), s.Cfg.Terminal.EnvPassthrough, dotenv) {
				s.Log.Debugf("environment: %s not passed: %s", d.Name, d.Reason)
			}
		}
	}
	if st.mode == srcCommand && len(sa.bashOpts) == 0 && shell == "bash" &&
		filepath.Base(real) == "bash" && s.BackendName() == "host" {
		// One simple command of literal words runs without bash in
		// between, exactly as bash -c would exec it (direct.go).
		fl.Backend = directBackend{Backend: fl.Backend, text: st.text}
	}
	rec := &statusRecorder{Backend: fl.Backend}
	fl.Backend = rec
	code := fl.Execute(context.Background(), shim.Command{
		Text:    st.text,
		Args:    bashArgs,
		Verdict: verdict,
		TTY:     st.stdin == nil && wrapper.WantTTY(),
	})
	phase.Mark("execute")
	st.close() // before dieLike, which may not return
	dieLike(rec, code)
	return code
}

// progName is how error messages name the program.
func progName(shell string) string {
	if shell != "" {
		return shell
	}
	return "hermes-exec"
}

// scriptSource is the text to classify and how bash will be given it.
type scriptSource struct {
	text   string
	mode   int      // srcCommand, srcFile or srcStdin
	name   string   // $0
	rest   []string // the positional parameters
	file   *os.File // the script file as read (srcFile)
	stdin  *os.File // the sealed copy bash reads as its stdin (srcStdin)
	sealed *os.File // a sealed copy named by path (long text)
	canPin bool     // the exact script-file form is allowed (launch)
	// cleanup undoes what launch set up (scriptname.go), once.
	cleanup []func()
}

const (
	srcCommand = iota
	srcFile
	srcStdin
)

func (st *scriptSource) close() {
	for _, f := range []*os.File{st.file, st.stdin, st.sealed} {
		if f != nil {
			f.Close()
		}
	}
	for _, f := range st.cleanup {
		f()
	}
	st.cleanup = nil
}

// script returns the text to classify and run, $0, and the positional
// parameters. A script file or stdin is read whole, once, so that exactly
// the text that was classified is what runs (no second read, no race).
func (sa shellArgs) script(argv0 string) (*scriptSource, error) {
	ops := sa.operands
	switch {
	case sa.command:
		st := &scriptSource{text: ops[0], mode: srcCommand, name: "hermes-exec"}
		if shell, _ := invokedAs(argv0); shell != "" {
			st.name = strings.TrimPrefix(argv0, "-")
		}
		if len(ops) > 1 {
			st.name, st.rest = ops[1], ops[2:]
		}
		return st, nil
	case len(ops) > 0 && !sa.stdin:
		f, err := os.Open(ops[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ops[0], unwrapPathErr(err))
		}
		b, err := io.ReadAll(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", ops[0], unwrapPathErr(err))
		}
		return &scriptSource{text: string(b), mode: srcFile, name: ops[0], rest: ops[1:], file: f}, nil
	default:
		if pty.IsTerminal(os.Stdin) {
			return nil, usageError("interactive shells are not supported: pass -c 'COMMAND', a script file, or a script on stdin (see hermes-exec --help)")
		}
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("reading the script from stdin: %w", err)
		}
		return &scriptSource{text: string(b), mode: srcStdin, rest: ops}, nil
	}
}

// argv is the command line of the real shell for this script. pin allows
// the exact script-file form, for the host backend: launch (scriptname.go)
// then chooses it (bash's own $0 and BASH_SOURCE) where it can.
//
//   - -c TEXT: shell [opts] -c TEXT NAME ARGS, as given.
//   - FILE: shell [opts] -c TEXT FILE ARGS ($0 is FILE, BASH_SOURCE is
//     empty), or, for text too long for an argument, shell [opts]
//     /proc/PID/fd/N ARGS on a sealed copy.
//   - stdin: shell [opts] -s ARGS reading a sealed copy of the text as its
//     stdin, so commands of the script that read stdin see the rest of it,
//     as with `... | bash`.
func (st *scriptSource) argv(shell string, opts []string, pin bool) ([]string, error) {
	a := append([]string{shell}, opts...)
	switch st.mode {
	case srcCommand:
		return append(append(a, "-c", st.text, st.name), st.rest...), nil
	case srcStdin:
		f, err := sealedText(st.text)
		if err != nil {
			return nil, err
		}
		st.stdin = f
		return append(append(a, "-s"), st.rest...), nil
	}
	st.canPin = pin
	if len(st.text) <= maxArgText {
		return append(append(a, "-c", st.text, st.name), st.rest...), nil
	}
	f, err := sealedText(st.text)
	if err != nil {
		return nil, err
	}
	st.sealed = f
	return append(append(a, procFDPath(f)), st.rest...), nil
}

func unwrapPathErr(err error) error { return wrapper.UnwrapPathErr(err) }
