package policy

import "strings"

// Hiding tracks (history) and scheduling code to run later (cron, at).

func init() {
	register(journalctlRule, "journalctl")
	register(historyRule, "history")
	register(unsetRule, "unset")
	register(setRule, "set")
	register(shoptRule, "shopt")
	register(crontabRule, "crontab")
	register(atRule, "at", "batch")
	register(subscriptArgsRule, "read", "printf", "mapfile", "readarray", "test", "[", "let", "unset", "declare", "typeset", "local", "export", "readonly")
}

func historyRule(c *cmd) {
	args := c.args()
	for i, a := range args {
		switch {
		case a.is("-c") || shortBundleHas(a, "c", ""):
			c.emit(RuleHistoryTamper, "history -c clears the shell history")
			return
		case a.is("-d") || shortBundleHas(a, "d", ""):
			c.emit(RuleHistoryTamper, "history -d deletes history entries")
			return
		case a.is("-w", "-a") && i+1 < len(args) && args[i+1].is("/dev/null"):
			c.emit(RuleHistoryTamper, "history "+a.s+" /dev/null discards the history")
			return
		}
	}
}

func historyVars(s string) bool {
	switch s {
	case "HISTFILE", "HISTSIZE", "HISTFILESIZE", "SAVEHIST", "HISTCMD":
		return true
	}
	return false
}

func unsetRule(c *cmd) {
	for _, a := range c.args() {
		if !a.static {
			continue
		}
		switch {
		case historyVars(a.s):
			c.emit(RuleHistoryDisable, "unset "+a.s+" stops the shell from recording history")
		case strings.HasPrefix(a.s, "HERMES_YOLO"), strings.HasPrefix(a.s, "HERMES_APPROVALS"), a.s == "HERMES_HOME":
			c.emit(RuleSelfDisableEnv, "unset "+a.s+" changes Hermes approvals")
		}
		delete(c.w.vars, a.s)
	}
}

func setRule(c *cmd) {
	args := c.args()
	for i, a := range args {
		if a.is("+o") && i+1 < len(args) && args[i+1].is("history") {
			c.emit(RuleHistoryDisable, "set +o history stops recording commands")
			return
		}
		if a.is("--") {
			return // positional parameters follow
		}
		// From here on bash reads the text differently from how it was
		// classified: with -k, NAME=value anywhere on a command line is
		// the command's environment (git ... GIT_SSH_COMMAND='...');
		// without interactive comments, an interactive shell runs what
		// looked like a comment.
		if shortBundleHas(a, "k", "") || a.is("-o") && i+1 < len(args) && args[i+1].is("keyword") {
			c.emit(RuleDynamicCode, "set -k makes NAME=value arguments the environment of their command, which is not checked as such").opaque = true
			return
		}
		if a.is("+o") && i+1 < len(args) && args[i+1].is("interactive-comments") {
			c.emit(RuleDynamicCode, "set +o interactive-comments makes an interactive shell run what reads as a comment").opaque = true
			return
		}
	}
}

// shoptRule: unsetting interactive_comments makes an interactive shell run
// what the classifier read as a comment.
func shoptRule(c *cmd) {
	args := c.args()
	unset := false
	for _, a := range args {
		switch {
		case a.is("-u"):
			unset = true
		case a.is("-s"):
			unset = false
		case unset && a.is("interactive_comments"):
			c.emit(RuleDynamicCode, "shopt -u interactive_comments makes an interactive shell run what reads as a comment").opaque = true
			return
		case unset && !a.static:
			c.emit(RuleDynamicCode, "shopt -u of an option that is not known statically").opaque = true
			return
		}
	}
}

func crontabRule(c *cmd) {
	args := c.args()
	for _, a := range args {
		if a.is("-l", "--list") {
			return
		}
	}
	for _, a := range args {
		if a.is("-r") || shortBundleHas(a, "r", "u") {
			c.emit(RuleHistoryCrontab, "crontab -r deletes every scheduled job")
			return
		}
	}
	c.emit(RuleHistoryCrontab, "crontab installs or edits scheduled jobs (code that runs later, unattended)")
	if c.stdin.kind == feedStatic {
		c.w.child(c.stdin.text, c.node()).cronText(c.stdin.text)
	}
}

// cronText classifies the commands of a crontab given as static text.
func (w *walker) cronText(text string) {
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// Five time fields (or an @keyword) precede the command; this is
		// crontab syntax, not shell.
		rest := line
		n := 5
		if strings.HasPrefix(rest, "@") {
			n = 1
		}
		for i := 0; i < n; i++ {
			rest = strings.TrimLeft(rest, " \t")
			j := strings.IndexAny(rest, " \t")
			if j < 0 {
				rest = ""
				break
			}
			rest = rest[j:]
		}
		if rest = strings.TrimSpace(rest); rest != "" && w.depth < maxDepth {
			w.child(rest, nil).script(rest, "a crontab entry")
		}
	}
}

func atRule(c *cmd) {
	for _, a := range c.args() {
		if a.is("-l", "-c", "-V") {
			return
		}
	}
	c.emit(RuleHistoryAt, c.name+" schedules commands to run later, unattended")
	if c.stdin.kind == feedStatic {
		c.w.child(c.stdin.text, c.node()).script(c.stdin.text, c.name)
	} else {
		c.w.codeFromFeed(c, c.stdin, "sh", c.name)
	}
}

// subscriptArgsRule: builtins that take variable names evaluate an array
// subscript in them as arithmetic (printf -v 'a[$(cmd)]', read 'a[...]').
func subscriptArgsRule(c *cmd) {
	for _, a := range c.args() {
		if a.static && strings.Contains(a.s, "[") {
			c.w.subscriptCode(a.s, anchorNode(a, c))
		}
		// A variable name given to printf -v, read, declare -n ...: the
		// command tables set so are as `BASH_CMDS[ls]=/bin/rm`.
		if a.static && strings.Contains(a.s, "BASH_") {
			for _, name := range [...]string{"BASH_CMDS", "BASH_ALIASES"} {
				if strings.Contains(a.s, name) {
					c.emit(RuleDynamicCommandName, commandTableReason(name))
				}
			}
		}
	}
	switch c.name {
	case "read", "mapfile", "readarray", "printf":
		// Variables they set are no longer statically known.
		for _, a := range c.args() {
			if a.static {
				delete(c.w.vars, a.s)
			}
		}
		setByBuiltin(c)
	}
}

// setByBuiltin judges the variables read, printf -v and mapfile set as
// assignments to them: `read HERMES_YOLO <<< 1` is HERMES_YOLO=1 (and
// exported under set -a). A name not known statically (`printf -v "$n"`)
// may be any of them, BASH_CMDS included: it asks.
func setByBuiltin(c *cmd) {
	// bash's builtins stop at their first operand (internal_getopt).
	var names []arg
	switch c.name {
	case "read":
		p := parseOpts(c.args(), &optSpec{short: "ersE", shortArg: "adinNptu", posix: true})
		names = append(p.values("-a"), p.operands...)
	case "printf":
		p := parseOpts(c.args(), &optSpec{shortArg: "v", posix: true})
		names = p.values("-v")
	case "mapfile", "readarray":
		p := parseOpts(c.args(), &optSpec{short: "t", shortArg: "dnOsuCc", posix: true})
		names = p.operands
		if cb, ok := p.value("-C"); ok {
			// The callback is evaluated as a command (with the index
			// appended) every -c lines.
			c.w.shellText(cb, c.name+" -C", c)
		}
	}
	for _, a := range names {
		if !a.static {
			// read "a[$i]": the name is known, the subscript is not.
			if name, ok := leadingName(a.word); ok {
				c.w.checkAssign(name, arg{}, nil, a.word)
				continue
			}
			c.emit(RuleDynamicCommandName, c.name+" sets a variable whose name is not known statically: it may be bash's command table (BASH_CMDS) or a Hermes setting")
			return
		}
		name, _, _ := strings.Cut(a.s, "[")
		if !commandTableVar(name) { // judged above, by the name in the word
			c.w.checkAssign(name, arg{}, nil, anchorNode(a, c))
		}
	}
}

// journalctlRule: --vacuum-* deletes journal files, --rotate with them, and
// --flush/--relinquish-var only move them; reading is the common case.
func journalctlRule(c *cmd) {
	for _, a := range c.args() {
		if a.static && (strings.HasPrefix(a.s, "--vacuum-size") || strings.HasPrefix(a.s, "--vacuum-time") || strings.HasPrefix(a.s, "--vacuum-files")) {
			c.emit(RuleHistoryLogs, "journalctl "+a.s+" deletes system journal files")
			return
		}
	}
}
