package policy

import "strings"

// Interpreters with inline code (-c, -e, -r, --eval), code on stdin, and
// programs that take shell or script text in an option.

func init() {
	register(pythonRule, "python", "pypy", "ipython")
	register(perlRule, "perl")
	register(rubyRule, "ruby", "jruby", "truffleruby")
	register(nodeRule, "node", "nodejs", "bun")
	register(denoRule, "deno")
	register(phpRule, "php", "php-cli")
	register(luaRule, "lua", "luajit")
	register(rRule, "Rscript", "R")
	register(awkRule, "awk", "gawk", "mawk", "nawk")
	register(pwshRule, "pwsh", "powershell", "powershell.exe")
	register(juliaRule, "julia")
	register(osaRule, "osascript")
	register(vimRule, "vim", "vi", "nvim", "ex", "view", "gvim")
	register(sedRule, "sed", "gsed")
}

// inlineCode collects code given in options. letters maps an option
// letter that takes code (e for perl); argLetters take some other value.
type codeArgs struct {
	code    []arg
	script  *arg // the script file operand
	stdin   bool // reads the program from stdin (- or nothing)
	module  bool // python -m
	mod     arg  // the module's name
	rest    []arg
	inPlace bool // perl -i
}

// parseInterp parses short-option bundles like -we, -lne, -Bc for
// interpreters. codeLetters introduce code; argLetters take a value
// (attached or next); attachedLetters take only an attached value.
func parseInterp(args []arg, codeLetters, argLetters, attachedLetters string, longCode, longArg []string) codeArgs {
	var r codeArgs
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !a.static {
			r.script = &args[i]
			r.rest = args[i+1:]
			return r
		}
		s := a.s
		if s == "-" {
			r.stdin = true
			r.rest = args[i+1:]
			return r
		}
		if s == "--" {
			if i+1 < len(args) {
				r.script = &args[i+1]
				r.rest = args[i+2:]
			}
			return r
		}
		if strings.HasPrefix(s, "--") {
			name, val, hasEq := strings.Cut(s, "=")
			if contains(longCode, name) {
				if hasEq {
					r.code = append(r.code, arg{s: val, static: true, word: a.word})
				} else if i+1 < len(args) {
					i++
					r.code = append(r.code, args[i])
				}
				continue
			}
			if contains(longArg, name) && !hasEq {
				i++
			}
			continue
		}
		if len(s) < 2 || s[0] != '-' {
			r.script = &args[i]
			r.rest = args[i+1:]
			return r
		}
	bundle:
		for j := 1; j < len(s); j++ {
			ch := s[j]
			switch {
			case strings.IndexByte(codeLetters, ch) >= 0:
				if j+1 < len(s) {
					r.code = append(r.code, arg{s: s[j+1:], static: true, word: a.word})
				} else if i+1 < len(args) {
					i++
					r.code = append(r.code, args[i])
				}
				break bundle
			case ch == 'm' && strings.IndexByte(codeLetters, 'c') >= 0:
				// python -m module: runs a module, not inline code.
				r.module = true
				if j+1 < len(s) {
					r.mod = arg{s: s[j+1:], static: true, word: a.word}
					r.rest = args[i+1:]
				} else if i+1 < len(args) {
					r.mod = args[i+1]
					r.rest = args[i+2:]
				}
				return r
			case strings.IndexByte(argLetters, ch) >= 0:
				if j+1 == len(s) {
					i++
				}
				break bundle
			case strings.IndexByte(attachedLetters, ch) >= 0:
				if ch == 'i' {
					r.inPlace = true
				}
				break bundle
			}
		}
	}
	if len(r.code) == 0 && r.script == nil {
		r.stdin = true
	}
	return r
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// runInterp applies the common checks once options are parsed.
func runInterp(c *cmd, lang string, p codeArgs) {
	how := c.name
	if p.script != nil && p.script.static {
		switch progName(p.script.s) {
		case "artisan", "manage.py", "console", "bin/console":
			frameworkDBRule(&cmd{w: c.w, st: c.st, argv: append([]arg{*p.script}, p.rest...), name: progName(p.script.s), lvl: c.lvl, stdin: c.stdin})
		}
	}
	if len(p.code) > 0 {
		if p.inPlace {
			// perl -pi -e CODE FILES: the operands are files to edit.
			p.script = nil
		}
		var b strings.Builder
		for _, a := range p.code {
			if !a.static {
				c.w.dynamicCode(c, a, how+" inline code")
				return
			}
			b.WriteString(a.s)
			b.WriteByte('\n')
		}
		c.w.scanCode(c, lang, b.String(), how+" inline code")
		return
	}
	if p.module {
		return
	}
	if p.script != nil {
		c.w.scriptOperand(c, *p.script, lang, how)
		return
	}
	if p.stdin {
		c.w.codeFromFeed(c, c.stdin, lang, how+" reading its program from stdin")
	}
}

func pythonRule(c *cmd) {
	p := parseInterp(c.args(), "c", "WXQ", "", nil, []string{"--check-hash-based-pycs"})
	runInterp(c, "python", p)
	if p.module && p.mod.static {
		pythonExtract(c, p.mod.s, p.rest)
	}
}

// pythonExtract: python -m tarfile -e ARCHIVE [DIR] and python -m zipfile
// -e ARCHIVE DIR write the archive's names below DIR (the working
// directory by default). tarfile without --filter data or tar (the
// default before Python 3.14) also writes absolute names and ../ names
// wherever they point.
func pythonExtract(c *cmd, mod string, rest []arg) {
	if mod != "tarfile" && mod != "zipfile" {
		return
	}
	var ops []arg
	extract, filtered := false, false
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a.is("-e", "--extract"):
			extract = true
		case a.is("--filter") && i+1 < len(rest):
			i++
			filtered = rest[i].is("data", "tar")
		case a.static && strings.HasPrefix(a.s, "--filter="):
			filtered = a.is("--filter=data", "--filter=tar")
		case a.static && strings.HasPrefix(a.s, "-") && a.s != "-":
		default:
			ops = append(ops, a)
		}
	}
	if !extract {
		return
	}
	dir := arg{s: ".", static: true}
	if len(ops) > 1 {
		dir = ops[1]
	}
	extractsOverHermes(c, []arg{dir}, "python -m "+mod+" -e")
	if mod == "tarfile" && !filtered {
		c.emit(RuleSysconfigWrite, "python -m tarfile -e without --filter data writes the archive's absolute and ../ names wherever they point: one may overwrite the Hermes configuration or a system file")
	}
}

func perlRule(c *cmd) {
	p := parseInterp(c.args(), "eE", "IMm", "ixl0CFdDV", nil, nil)
	// Module arguments such as -MFile::Path=remove_tree name functions the
	// code then calls; scanning the code catches the call itself.
	runInterp(c, "perl", p)
	if p.inPlace {
		files := p.rest
		if p.script != nil {
			files = append([]arg{*p.script}, files...)
		}
		inPlaceTargets(c, files, "perl -i")
	}
}

func rubyRule(c *cmd) {
	p := parseInterp(c.args(), "e", "rICEF", "ix0lW", nil, nil)
	runInterp(c, "ruby", p)
	if p.inPlace {
		files := p.rest
		if p.script != nil {
			files = append([]arg{*p.script}, files...)
		}
		inPlaceTargets(c, files, "ruby -i")
	}
}

func nodeRule(c *cmd) {
	args := c.args()
	if c.name == "bun" && len(args) > 0 && args[0].static {
		switch args[0].s {
		case "run", "test", "install", "add", "remove", "build", "x", "create", "upgrade", "init", "pm", "link", "outdated", "update":
			return
		}
	}
	runInterp(c, "node", parseInterp(args, "ep", "rC", "", []string{"--eval", "--print"}, []string{"--require", "--import", "--loader", "--experimental-loader", "--conditions", "--title", "--input-type", "--env-file", "--stack-size"}))
}

func denoRule(c *cmd) {
	args := c.args()
	if len(args) == 0 || !args[0].static {
		return
	}
	switch args[0].s {
	case "eval":
		p := parseOpts(args[1:], &optSpec{short: "pq", posix: true})
		if len(p.operands) > 0 {
			runInterp(c, "node", codeArgs{code: p.operands[:1]})
		}
	case "run":
		p := parseOpts(args[1:], &optSpec{short: "Aqr", posix: true, longArg: []string{"config", "import-map", "lock", "cert", "location", "seed", "v8-flags", "env-file"}})
		if len(p.operands) > 0 {
			c.w.scriptOperand(c, p.operands[0], "node", "deno run")
		}
	}
}

func phpRule(c *cmd) {
	runInterp(c, "php", parseInterp(c.args(), "rB", "cdzftSF", "", nil, nil))
}

func luaRule(c *cmd) {
	runInterp(c, "lua", parseInterp(c.args(), "e", "l", "", nil, nil))
}

func rRule(c *cmd) {
	p := parseInterp(c.args(), "e", "", "", nil, []string{"--file"})
	if c.name == "R" && len(p.code) == 0 {
		return
	}
	runInterp(c, "r", p)
}

func juliaRule(c *cmd) {
	runInterp(c, "julia", parseInterp(c.args(), "eE", "Cpt", "", []string{"--eval", "--print"}, []string{"--project", "--threads"}))
}

func osaRule(c *cmd) {
	runInterp(c, "osa", parseInterp(c.args(), "e", "l", "", nil, nil))
}

func pwshRule(c *cmd) {
	args := c.args()
	for i, a := range args {
		if !a.static {
			continue
		}
		switch strings.ToLower(a.s) {
		case "-c", "-command", "--command":
			if i+1 < len(args) {
				runInterp(c, "pwsh", codeArgs{code: []arg{joinArgs(args[i+1:])}})
			}
			return
		case "-e", "-ec", "-encodedcommand":
			c.emit(RuleDecodedCodeExec, c.name+" -EncodedCommand runs base64-encoded code").opaque = true
			return
		}
	}
}

// awkRule: the program is the first operand unless -f gives a file.
func awkRule(c *cmd) {
	args := c.args()
	var prog []arg
	fromFile := false
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if !a.static || !strings.HasPrefix(a.s, "-") || a.s == "-" {
			break
		}
		s := a.s
		if s == "--" {
			i++
			break
		}
		switch {
		case s == "-f" || s == "--file" || s == "-E" || s == "--exec":
			fromFile = true
			i++
		case strings.HasPrefix(s, "-f") || strings.HasPrefix(s, "--file=") || strings.HasPrefix(s, "--exec="):
			fromFile = true
		case s == "-e" || s == "--source":
			if i+1 < len(args) {
				i++
				prog = append(prog, args[i])
			}
		case strings.HasPrefix(s, "--source="):
			prog = append(prog, arg{s: strings.TrimPrefix(s, "--source="), static: true})
		case s == "-F" || s == "-v" || s == "-i" || s == "-l" || s == "--assign" || s == "--field-separator" || s == "--include" || s == "--load":
			i++
		}
	}
	if len(prog) == 0 && !fromFile && i < len(args) {
		prog = append(prog, args[i])
	}
	if len(prog) > 0 {
		runInterp(c, "awk", codeArgs{code: prog})
	}
}

// vimRule: ex commands given with -c, +cmd or --cmd can run shell commands.
func vimRule(c *cmd) {
	args := c.args()
	var code []arg
	for i, a := range args {
		if !a.static {
			continue
		}
		switch {
		case (a.s == "-c" || a.s == "--cmd" || a.s == "-S") && i+1 < len(args):
			code = append(code, args[i+1])
		case strings.HasPrefix(a.s, "+") && len(a.s) > 1:
			code = append(code, arg{s: a.s[1:], static: true, word: a.word})
		}
	}
	if len(code) > 0 {
		runInterp(c, "vim", codeArgs{code: code})
	}
	editTargets(c)
}

// editTargets flags an editor opened on a sensitive file.
func editTargets(c *cmd) {
	for _, a := range c.args() {
		if !a.static || strings.HasPrefix(a.s, "-") || strings.HasPrefix(a.s, "+") {
			continue
		}
		for _, p := range c.w.paths(a) {
			if risk, ok := c.w.writeRisk(p); ok {
				c.emit(risk.rule, c.name+" edits a file: "+risk.reason)
				return
			}
		}
	}
}

// sedRule: sed -i edits files in place; the e command and the e flag of
// s/// run shell commands; w writes files.
func sedRule(c *cmd) {
	p := parseOpts(c.args(), &optSpec{short: "nrEszuli", shortArg: "efl", long: []string{"quiet", "silent", "regexp-extended", "separate", "null-data", "unbuffered", "posix", "debug", "sandbox", "follow-symlinks"}, longArg: []string{"expression", "file", "line-length"}})
	scripts := p.values("-e", "--expression")
	ops := p.operands
	if len(scripts) == 0 && !p.has("-f", "--file") && len(ops) > 0 {
		scripts = ops[:1]
		ops = ops[1:]
	}
	for _, s := range scripts {
		if s.static && sedRunsCommands(s.s) {
			c.emit(RuleInterpreterCode, "the sed script runs shell commands (the e command or s///e)")
		}
	}
	inPlace := false
	for _, o := range p.opts {
		for _, n := range o.names {
			if n == "-i" || strings.HasPrefix(n, "--in-place") {
				inPlace = true
			}
		}
	}
	for _, a := range c.args() {
		if a.static && (strings.HasPrefix(a.s, "-i") || strings.HasPrefix(a.s, "--in-place")) {
			inPlace = true
		} else if a.static && len(a.s) > 1 && a.s[0] == '-' && a.s[1] != '-' && strings.ContainsRune(a.s, 'i') && strings.Trim(a.s[1:], "nrEsuzi") == "" {
			inPlace = true
		}
	}
	if inPlace {
		inPlaceTargets(c, ops, "sed -i")
	}
}

var sedExec = regexpMust(`(^|[;\n{}])\s*([0-9$,/!]|\\.)*\s*e(\s|$|;)|s(.).*(.).*[gpiImMw0-9]*e[gpiImM0-9]*(\s|$|;|})`)

// sedRunsCommands looks for GNU sed's e command and s///e flag.
func sedRunsCommands(script string) bool {
	if strings.Contains(script, "e") && sedExec.MatchString(script) {
		// Re-check s///e precisely: the flags after the third delimiter.
		return sedSubstituteHasE(script) || sedECommand(script)
	}
	return false
}

func sedECommand(script string) bool {
	for _, line := range strings.FieldsFunc(script, func(r rune) bool { return r == ';' || r == '\n' }) {
		t := strings.TrimLeft(line, " \t0123456789,$!{")
		if strings.HasPrefix(t, "/") {
			if end := strings.Index(t[1:], "/"); end >= 0 {
				t = strings.TrimLeft(t[end+2:], " \t!")
			}
		}
		if t == "e" || strings.HasPrefix(t, "e ") {
			return true
		}
	}
	return false
}

func sedSubstituteHasE(script string) bool {
	for i := 0; i+1 < len(script); i++ {
		if script[i] != 's' || (i > 0 && (isWordByte(script[i-1]))) {
			continue
		}
		d := script[i+1]
		if d == '\\' || d == '\n' || d == ' ' || isWordByte(d) {
			continue
		}
		// Find the two following unescaped delimiters.
		j, n := i+2, 0
		for ; j < len(script) && n < 2; j++ {
			if script[j] == '\\' {
				j++
				continue
			}
			if script[j] == d {
				n++
			}
		}
		if n < 2 {
			continue
		}
		for k := j; k < len(script); k++ {
			f := script[k]
			if f == 'e' {
				return true
			}
			if !(f == 'g' || f == 'p' || f == 'i' || f == 'I' || f == 'm' || f == 'M' || f >= '0' && f <= '9') {
				break
			}
		}
	}
	return false
}

func isWordByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// inPlaceTargets checks files edited in place (sed -i, perl -i).
func inPlaceTargets(c *cmd, files []arg, how string) {
	for _, a := range files {
		for _, p := range c.w.paths(a) {
			if risk, ok := c.w.writeRisk(p); ok {
				c.emit(risk.rule, how+" "+risk.reason)
				if p == "/etc/selinux/config" {
					c.emit(RuleSecuritySelinuxConfig, "edits the SELinux configuration (may disable SELinux at next boot)")
				}
				return
			}
		}
	}
}
