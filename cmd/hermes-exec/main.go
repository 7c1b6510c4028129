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
	"runtime/debug"
	"strings"

	"hermes-exec/approval"
	"hermes-exec/execcheck"
	"hermes-exec/internal/exitcode"
	"hermes-exec/internal/oneshot"
	"hermes-exec/internal/phase"
	"hermes-exec/isolate"
	"hermes-exec/policy"
	"hermes-exec/policy/config"
	"hermes-exec/pty"
	"hermes-exec/secretstore"
	"hermes-exec/shim"

	"github.com/sirupsen/logrus"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

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
	oneShot()
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
		return denyEarly(st.text, errors.New(sa.diverges))
	}

	phase.Mark("args")
	s, err := load(sa.global)
	phase.Mark("load")
	if errors.As(err, new(usageError)) {
		fmt.Fprintf(os.Stderr, "hermes-exec: %v\n", err)
		return exitcode.Usage
	}
	if err != nil {
		return denyEarly(st.text, err)
	}
	fl, err := s.flow()
	if err != nil {
		return denyEarly(st.text, err)
	}
	phase.Mark("flow")
	real, err := resolveShell(shell, s.cfg.Terminal.Shell, shellPath())
	if err != nil {
		return denyEarly(st.text, err)
	}
	phase.Mark("resolve-shell")
	verdict := fl.Classifier.Classify(st.text)
	phase.Mark("classify")
	if strings.IndexByte(st.text, 0) >= 0 {
		verdict = nulVerdict(st.text)
	}
	// The BASH_ENV file and exported functions run too: they are checked
	// as part of the command (envcode.go).
	// Which shell reads BASH_ENV is the real one's business, not the name
	// hermes-exec was started as: `sh` with terminal.shell: /bin/bash
	// starts bash, which reads it.
	srcs, err := envCode(os.Environ(), envShell(shell, real))
	if err != nil {
		return denyEarly(st.text, err)
	}
	verdict = withEnvCode(verdict, fl.Classifier, srcs)
	// A session approval is remembered for the dangerous commands
	// themselves, not for the text around them: agents wrap every command
	// in text with fresh temporary paths.
	verdict.Key = shim.SessionKey(verdict)
	grantTopLevel(fl, verdict)

	bashArgs, err := st.argv(real, sa.bashOpts, s.backendName() == "host" && verdict.Decision != policy.Deny)
	if err != nil {
		return denyEarly(st.text, err)
	}
	if s.backendName() == "host" && verdict.Decision != policy.Deny {
		// bash's own $0 and BASH_SOURCE without root, and the checked
		// BASH_ENV text rather than the file (scriptname.go, envcode.go).
		l, err := st.launch(real, sa.bashOpts, bashArgs, fl.Env, srcs, s.log.Debugf)
		if err != nil {
			return denyEarly(st.text, err)
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
	fl.OpenApprover = hookGrantApprover(verdict.Key, fl.OpenApprover)
	if s.log.IsLevelEnabled(logrus.DebugLevel) {
		if dotenv, err := config.DotEnvNames(s.home.Env()); err == nil {
			for _, d := range isolate.DroppedNames(os.Environ(), s.cfg.Terminal.EnvPassthrough, dotenv) {
				s.log.Debugf("environment: %s not passed: %s", d.Name, d.Reason)
			}
		}
	}
	if st.mode == srcCommand && len(sa.bashOpts) == 0 && shell == "bash" &&
		filepath.Base(real) == "bash" && s.backendName() == "host" {
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
		TTY:     st.stdin == nil && wantTTY(),
	})
	phase.Mark("execute")
	st.close() // before dieLike, which may not return
	dieLike(rec, code)
	return code
}

// oneShot tunes the garbage collector for a process that does one
// command's worth of work and exits (shell mode, check): collecting would
// only cost time, since a long allowlist or a large script allocates a lot,
// briefly. The memory limit brings the collector back should a huge script
// need it. Not for the daemons (gateway run), which live on. The backends
// also leave their signal subscriptions to the exit (package oneshot).
func oneShot() {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(512 << 20)
	oneshot.Set()
}

// progName is how error messages name the program.
func progName(shell string) string {
	if shell != "" {
		return shell
	}
	return "hermes-exec"
}

// nulVerdict denies text that holds NUL bytes: bash cannot be handed such
// text as it is (an argument cannot hold NUL, and bash drops or refuses
// NULs in scripts), so what would run is not the text that was checked.
func nulVerdict(text string) policy.Verdict {
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
			return nil, usageError{"interactive shells are not supported: pass -c 'COMMAND', a script file, or a script on stdin (see hermes-exec --help)"}
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
