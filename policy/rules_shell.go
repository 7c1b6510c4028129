package policy

import (
	"strings"
)

// Shells, eval and source: code handed to a shell is parsed again and
// classified like the top-level text.

var shellNames = []string{"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "rbash", "yash", "posh",
	"csh", "tcsh", "ksh93", "pdksh", "oksh", "loksh", "hush", "elvish", "nu", "xonsh", "oil", "osh", "ysh"}

func init() {
	register(shellRule, shellNames...)
	register(evalRule, "eval")
	register(sourceRule, "source", ".")
	register(aliasRule, "alias")
	register(trapRule, "trap")
}

// trapRule: trap ACTION SIGNAL... runs ACTION as shell code later (on EXIT,
// ERR, a signal), so ACTION is classified like any other text.
func trapRule(c *cmd) {
	args := c.args()
	if len(args) > 0 && args[0].static && (args[0].is("-l", "-p") || args[0].s == "--") {
		if args[0].s != "--" {
			return // listing only
		}
		args = args[1:]
	}
	if len(args) < 2 {
		return // `trap SIG` resets, `trap` alone lists
	}
	if args[0].static && (args[0].s == "" || args[0].s == "-") {
		return // ignore or reset the signals
	}
	c.w.sameShellText(args[0], "trap", c)
}

// shellRule: sh [options] [-c string | -s | file] ...
func shellRule(c *cmd) {
	args := c.args()
	cmdMode, stdinMode, interactive := false, false, false
	i := 0
scan:
	for ; i < len(args); i++ {
		a := args[i]
		if !a.static {
			break
		}
		s := a.s
		switch {
		case s == "--":
			i++
			break scan
		case s == "-":
			stdinMode = true
			i++
			break scan
		case strings.HasPrefix(s, "--"):
			switch s {
			case "--rcfile", "--init-file", "--command":
				if s == "--command" {
					cmdMode = true
					i++
					break scan
				}
				i++
				if i < len(args) {
					// The start-up file runs as shell code before anything else.
					c.w.scriptOperand(c, args[i], "sh", c.name+" "+s)
				}
			case "--interactive":
				interactive = true
			}
		case len(s) > 1 && (s[0] == '-' || s[0] == '+'):
			needArg := false
			for _, ch := range s[1:] {
				switch ch {
				case 'c':
					cmdMode = true
				case 's':
					stdinMode = true
				case 'i':
					interactive = true
				case 'o', 'O':
					needArg = true
				}
			}
			if needArg {
				i++
			}
		default:
			break scan
		}
	}
	var operands []arg
	if i < len(args) {
		operands = args[i:]
	}
	how := c.name
	if cmdMode {
		if len(operands) > 0 {
			c.w.shellTextArgs(operands[0], c.name+" -c", c, operands[1:])
		}
		return
	}
	if interactive && c.w.pipelineHasNetwork() {
		fd := c.emit(RuleReverseShell, "an interactive shell wired to a network connection in a pipeline (reverse shell)")
		fd.sticky = true
	}
	if stdinMode || len(operands) == 0 {
		c.w.codeFromFeed(c, c.stdin, "sh", how+" reading commands from stdin")
		return
	}
	c.w.scriptOperand(c, operands[0], "sh", how)
}

// scriptOperand judges a script file given to a shell or interpreter.
func (w *walker) scriptOperand(c *cmd, op arg, lang, how string) {
	if len(op.procs) > 0 {
		w.codeFromFeed(c, w.feedOfStmts(op.procs[0].Stmts), lang, how+" running a process substitution")
		return
	}
	if !op.static {
		c.emit(RuleDynamicCode, how+" runs a script whose path is not known statically").opaque = true
		return
	}
	switch op.s {
	case "/dev/stdin", "/proc/self/fd/0", "/dev/fd/0":
		w.codeFromFeed(c, c.stdin, lang, how+" reading its program from stdin")
		return
	}
	if strings.HasPrefix(op.s, "http://") || strings.HasPrefix(op.s, "https://") {
		c.emit(RuleRemoteCodeExec, how+" runs a program straight from a URL").opaque = true
		return
	}
	for _, p := range w.paths(op) {
		if w.fetched[p] {
			fd := c.emit(RuleRemoteCodeExec, how+" runs "+op.s+", which this command line downloaded or decoded")
			fd.sticky, fd.opaque = true, true
			return
		}
		if f, ok := w.written[p]; ok {
			w.codeFromFeed(c, f, lang, how+" running "+op.s+", which this command line wrote")
			return
		}
	}
}

// pipelineHasNetwork reports a network tool in the current pipeline.
func (w *walker) pipelineHasNetwork() bool {
	for _, n := range w.pipeNames {
		switch n {
		case "nc", "ncat", "netcat", "socat", "telnet", "openssl", "cryptcat", "pwncat", "sbd", "curl", "wget":
			return true
		}
	}
	return false
}

// evalRule: eval joins its arguments and runs them as shell text.
func evalRule(c *cmd) {
	if len(c.args()) == 0 {
		return
	}
	c.w.sameShellText(joinArgs(c.args()), "eval", c)
}

// sourceRule: source/. runs a file in the current shell.
func sourceRule(c *cmd) {
	if len(c.args()) == 0 {
		return
	}
	op := c.args()[0]
	if op.static && (op.s == "-" || op.s == "/dev/stdin") {
		c.w.codeFromFeed(c, c.stdin, "sh", c.name+" of stdin")
		return
	}
	if len(op.procs) > 0 {
		c.w.codeFromFeed(c, c.w.feedOfStmts(op.procs[0].Stmts), "sh", c.name+" of a process substitution")
		return
	}
	for _, p := range c.w.paths(op) {
		if c.w.fetched[p] {
			fd := c.emit(RuleRemoteCodeExec, c.name+" runs "+op.s+", which this command line downloaded or decoded")
			fd.sticky, fd.opaque = true, true
			return
		}
	}
}

// aliasRule: alias name='value' defines code that runs when name is used.
func aliasRule(c *cmd) {
	for _, a := range c.args() {
		if !a.static {
			c.emit(RuleDynamicCode, "alias defines a command from text that is not known statically").opaque = true
			continue
		}
		name, val, ok := strings.Cut(a.s, "=")
		if !ok || strings.HasPrefix(a.s, "-") || strings.TrimSpace(val) == "" {
			continue
		}
		c.w.shellText(arg{s: val, static: true, word: a.word}, "alias "+name, c)
		if c.w.aliases == nil {
			c.w.aliases = map[string]string{}
		}
		c.w.aliases[name] = val
	}
}
