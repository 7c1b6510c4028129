package policy

import "strings"

// Terminal multiplexers and other programs that run a shell command line
// given as an argument; running a freshly downloaded file.

func init() {
	register(tmuxRule, "tmux")
	register(screenRule, "screen")
	register(nohupShellRule, "dtach", "abduco")
}

// networkTools send their arguments (URLs, host names, payloads) out.
func networkTools(s string) bool {
	switch s {
	case "curl", "wget", "nc", "ncat", "netcat", "socat",
		"telnet", "dig", "nslookup", "host", "ping", "ssh", "scp", "http",
		"https", "xh", "ftp", "sftp", "rsync", "aws", "gsutil", "gh", "drill":
		return true
	}
	return false
}

// argsNeedScan is a quick pre-check for the metadata and look-alike
// rules: a long word, a non-ASCII byte or a dynamic word.
func argsNeedScan(args []arg) bool {
	for _, a := range args {
		if !a.static || len(a.s) >= 8 {
			return true
		}
		for i := 0; i < len(a.s); i++ {
			if a.s[i] >= 0x80 {
				return true
			}
		}
	}
	return false
}

// genericRule runs for every program.
func genericRule(c *cmd) {
	if c.name == "tar" || c.name == "bsdtar" {
		hermesSecretRule(tarView(c)) // names after -C DIR are DIR/NAME
	} else {
		hermesSecretRule(c)
	}
	p := c.w.prog(c.name)
	if len(c.argv) > 1 && argsNeedScan(c.argv[1:]) && !p.data {
		metadataRule(c)
		lookalikeRule(c)
	}
	if p.network {
		for _, a := range c.args() {
			for _, cs := range a.substs {
				if f := c.w.feedOfStmts(cs.Stmts); f.kind == feedSecrets {
					c.emit(RuleExfil, c.name+" sends "+f.what+" (in a command substitution) over the network")
					return
				}
			}
		}
	}
	a := c.argv[0]
	if a.static && strings.Contains(a.s, "/") {
		for _, p := range c.w.paths(a) {
			if c.w.fetched[p] {
				fd := c.emit(RuleRemoteCodeExec, "runs "+a.s+", which this command line downloaded or decoded")
				fd.sticky, fd.opaque = true, true
				return
			}
			if f, ok := c.w.written[p]; ok {
				c.w.codeFromFeed(c, f, shebangLang(f), "runs "+a.s+", which this command line wrote, and so")
				return
			}
		}
	}
}

// shebangLang is the language of a script file's content: its #! line
// names the interpreter; without one the kernel refuses and the calling
// shell runs it as a shell script.
func shebangLang(f feed) string {
	if f.kind != feedStatic || !strings.HasPrefix(f.text, "#!") {
		return "sh"
	}
	line, _, _ := strings.Cut(f.text[2:], "\n")
	words := strings.Fields(line) // the kernel splits #! lines on blanks, not shell syntax
	if len(words) == 0 {
		return "sh"
	}
	prog := progName(words[0])
	if prog == "env" && len(words) > 1 {
		prog = progName(words[1])
	}
	if lang, ok := shebangLangs(prog); ok {
		return lang
	}
	return "sh"
}

// shebangLangs maps interpreters named on #! lines to the languages
// scanCode knows (progName has already folded python3.12 into python).
func shebangLangs(prog string) (string, bool) {
	switch prog {
	case "python", "pypy":
		return "python", true
	case "perl":
		return "perl", true
	case "ruby":
		return "ruby", true
	case "node", "nodejs", "bun", "deno":
		return "node", true
	case "php":
		return "php", true
	case "lua", "luajit":
		return "lua", true
	case "Rscript":
		return "r", true
	case "awk", "gawk":
		return "awk", true
	case "pwsh":
		return "pwsh", true
	case "julia":
		return "julia", true
	case "osascript":
		return "osa", true
	}
	return "", false
}

func tmuxRule(c *cmd) {
	args := c.args()
	i := 0
	for i < len(args) && args[i].static && strings.HasPrefix(args[i].s, "-") {
		if args[i].is("-L", "-S", "-f", "-c", "-T") {
			if args[i].is("-c") && i+1 < len(args) {
				c.w.shellText(args[i+1], "tmux -c", c)
			}
			i++
		}
		i++
	}
	if i >= len(args) || !args[i].static {
		return
	}
	sub := args[i].s
	rest := args[i+1:]
	switch sub {
	case "new-session", "new", "new-window", "neww", "split-window", "splitw", "respawn-pane", "respawnp", "respawn-window", "respawnw", "run-shell", "run", "display-popup", "popup", "pipe-pane", "pipep", "if-shell", "if":
		var ops []arg
		for j := 0; j < len(rest); j++ {
			a := rest[j]
			if a.static && strings.HasPrefix(a.s, "-") && len(ops) == 0 {
				if len(a.s) == 2 && strings.IndexByte("cCeFlLnpsStxyw", a.s[1]) >= 0 && !a.is("-d") {
					j++
				}
				continue
			}
			ops = append(ops, a)
		}
		if len(ops) > 0 {
			c.w.shellText(joinArgs(ops), "tmux "+sub, c)
		}
	case "send-keys", "send":
		var text []arg
		for j := 0; j < len(rest); j++ {
			a := rest[j]
			if a.is("-t", "-N") {
				j++
				continue
			}
			if a.static && strings.HasPrefix(a.s, "-") {
				continue
			}
			if a.is("Enter", "C-m", "KPEnter") {
				continue
			}
			text = append(text, a)
		}
		if len(text) > 0 {
			c.w.shellText(joinArgs(text), "tmux send-keys", c)
		}
	}
}

var screenSpec = &optSpec{short: "dmDRrUAaiLOqxlwfn", shortArg: "SceEhpTtXs", posix: true}

func screenRule(c *cmd) {
	p := parseOpts(c.args(), screenSpec)
	if x, ok := p.value("-X"); ok {
		if x.is("stuff") && len(p.operands) > 0 {
			c.w.shellText(p.operands[0], "screen -X stuff", c)
		}
		return
	}
	if len(p.operands) > 0 {
		c.w.subCommand(c, p.operands, "screen")
	}
}

func nohupShellRule(c *cmd) {
	args := c.args()
	for i, a := range args {
		if a.static && !strings.HasPrefix(a.s, "-") && i > 0 {
			c.w.subCommand(c, args[i:], c.name)
			return
		}
	}
}
