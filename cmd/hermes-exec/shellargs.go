package main

import (
	"fmt"
	"os"
	"strings"

	"hermes-exec/cmd/internal/wrapper"
	"hermes-exec/policy"
	"hermes-exec/pty"
)

// globalOpts are hermes-exec's own options (the subcommands take them too).
type globalOpts = wrapper.Globals

// shellArgs is a bash-style invocation: `hermes-exec [opts] -c TEXT [NAME [ARGS...]]`,
// `hermes-exec [opts] FILE [ARGS...]`, or `hermes-exec [opts] [-s] [ARGS...]`
// with the script on stdin.
type shellArgs struct {
	global globalOpts
	// bashOpts are passed on to bash unchanged (-l, -e, -x, -o pipefail...).
	bashOpts []string
	command  bool // -c: the first operand is the script text
	stdin    bool // -s: read the script from stdin even with operands
	operands []string
	// diverges names a bash option that makes bash read the text
	// differently from the classifier (-k, +o interactive-comments): the
	// command is denied.
	diverges string
}

// usageError is a mistake in the command line; bash exits 2 for these.
type usageError = wrapper.UsageError

// valueFlags are hermes-exec's options that take a value.
var valueFlags = map[string]func(*globalOpts, string){
	"config":    func(g *globalOpts, v string) { g.Config = v },
	"backend":   func(g *globalOpts, v string) { g.Backend = v },
	"log-level": func(g *globalOpts, v string) { g.LogLevel = v },
}

// bashLongOpts are bash's own long options that we pass through.
func bashLongOpts(s string) bool {
	switch s {
	case "login", "noprofile", "norc", "posix",
		"verbose", "noediting":
		return true
	}
	return false
}

// takeGlobal consumes a hermes-exec option at args[i], if it is one, and
// returns how many arguments it used (0 when it is not ours).
func takeGlobal(g *globalOpts, args []string, i int) (int, error) {
	a := args[i]
	if !strings.HasPrefix(a, "--") {
		return 0, nil
	}
	name, val, hasVal := strings.Cut(a[2:], "=")
	if name == "yolo" {
		if hasVal {
			return 0, usageError(fmt.Sprintf("--yolo takes no value (got %q)", a))
		}
		g.Yolo = true
		return 1, nil
	}
	set, ok := valueFlags[name]
	if !ok {
		return 0, nil
	}
	if hasVal {
		set(g, val)
		return 1, nil
	}
	if i+1 >= len(args) {
		return 0, usageError(fmt.Sprintf("--%s: option requires an argument", name))
	}
	set(g, args[i+1])
	return 2, nil
}

// parseShellArgs reads a bash-style command line (without the program name).
func parseShellArgs(args []string) (shellArgs, error) {
	var s shellArgs
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" || a == "-" {
			i++
			break
		}
		n, err := takeGlobal(&s.global, args, i)
		if err != nil {
			return s, err
		}
		if n > 0 {
			i += n
			continue
		}
		if strings.HasPrefix(a, "--") {
			if !bashLongOpts(a[2:]) {
				return s, usageError(fmt.Sprintf("%s: invalid option (see hermes-exec --help)", a))
			}
			s.bashOpts = append(s.bashOpts, a)
			i++
			continue
		}
		if len(a) < 2 || (a[0] != '-' && a[0] != '+') {
			break // the first operand
		}
		// A cluster of single-letter options such as -lc or +x.
		used := 1
		for _, ch := range a[1:] {
			val := ""
			if (ch == 'o' || ch == 'O') && i+used < len(args) {
				val = args[i+used]
			}
			if why := policy.ShellOptionDiverges(a[0], ch, val); why != "" && s.diverges == "" {
				s.diverges = why
			}
			switch {
			case ch == 'c' && a[0] == '-':
				s.command = true
			case ch == 's' && a[0] == '-':
				s.stdin = true
			case ch == 'o' || ch == 'O':
				if i+used >= len(args) {
					return s, usageError(fmt.Sprintf("%c%c: option requires an argument", a[0], ch))
				}
				s.bashOpts = append(s.bashOpts, string(a[0])+string(ch), args[i+used])
				used++
			case strings.ContainsRune("abefhiklmnprtuvxBCEHPT", ch):
				s.bashOpts = append(s.bashOpts, string(a[0])+string(ch))
			default:
				return s, usageError(fmt.Sprintf("%c%c: invalid option (see hermes-exec --help)", a[0], ch))
			}
		}
		i += used
	}
	s.operands = args[i:]
	if s.command && len(s.operands) == 0 {
		return s, usageError("-c: option requires an argument")
	}
	return s, nil
}

// subcommands are the words that select a subcommand instead of shell mode.
// A script file with one of these names must be given as ./NAME.
func subcommands(s string) bool {
	switch s {
	case "check", "run", "allowlist", "audit",
		"yolo", "version", "sandbox", "help",
		"--help", "--version", "rules",
		"doctor", "secrets",
		"gateway", "pairing", "hook", "env",
		"supervisor", "policy", "image":
		return true
	}
	return false
}

// leadingGlobals reads the hermes-exec options at the start of args and
// says where the rest begins.
func leadingGlobals(args []string) (globalOpts, int) {
	var g globalOpts
	i := 0
	for i < len(args) {
		n, err := takeGlobal(&g, args, i)
		if err != nil || n == 0 {
			break
		}
		i += n
	}
	return g, i
}

// isShellMode reports whether the command line is a bash-style invocation
// rather than a subcommand. Bare `hermes-exec` is shell mode only when a
// script arrives on stdin.
func isShellMode(args []string, stdinIsTerminal bool) bool {
	_, i := leadingGlobals(args)
	if i == len(args) {
		return !stdinIsTerminal
	}
	return !subcommands(args[i])
}

// interactive reports an interactive start: no -c, no script file, and
// the terminal as stdin (tmux's default-shell, a login shell on a
// terminal, `bash -i` alone).
func (sa shellArgs) interactive() bool {
	return !sa.command && (len(sa.operands) == 0 || sa.stdin) && pty.IsTerminal(os.Stdin)
}

// interactiveStart explains, in one line, why there is no prompt: an
// interactive shell would run what a human types without a second look,
// which is not what hermes-exec is for.
func interactiveStart(shell string) int {
	fmt.Fprintf(os.Stderr, "%s: hermes-exec is the shell for commands an agent runs (-c 'CMD' or a script), not an interactive shell; use /bin/bash for interactive terminals (tmux: set -g default-shell /bin/bash)\n", progName(shell))
	return 2
}
