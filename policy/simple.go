package policy

import (
	"slices"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/syntax"
)

// maxLevels bounds wrapper unwrapping (sudo env nice timeout ... cmd).
const maxLevels = 16

// levelInfo is the argv seen at one wrapper level of a simple command.
type levelInfo struct {
	argv []arg
	name string // normalised program name; "" when not static
	// views are extra argv forms user rules match against (git without
	// its global options).
	views [][]arg
}

// simpleState buffers one simple command's own findings until the user
// rules have been applied to it.
type simpleState struct {
	lvl      int
	levels   []levelInfo
	findings []finding
	// levelsBuf and cmds hold the levels of a command with one or two
	// (almost all), so that a state used again (newSimple) brings them.
	levelsBuf [2]levelInfo
	cmds      [2]cmd
}

// cmd is the context handed to the rule handlers for one wrapper level.
type cmd struct {
	w     *walker
	st    *syntax.Stmt
	argv  []arg
	name  string
	lvl   int
	stdin feed
}

func (c *cmd) args() []arg { return c.argv[1:] }

// node is the statement as a syntax.Node, or a nil interface when the
// command did not come from parsed text (ClassifyArgv, find -exec).
func (c *cmd) node() syntax.Node {
	if c.st == nil {
		return nil
	}
	return c.st
}

// emit records a finding against this level of the simple command.
func (c *cmd) emit(rule RuleID, desc string) *finding {
	f := c.w.emitAt(rule, desc, "", "", nil)
	if c.w.c.deferPrograms && c.isProgram() {
		f.program = true
	}
	return f
}

// isProgram reports whether the command runs a program (an execve the
// exec checks see) rather than a shell builtin or keyword. Functions are
// walked where they are defined, never here.
func (c *cmd) isProgram() bool {
	return c.name != "" && !shellBuiltins(c.name)
}

// shellBuiltins are bash's builtins and keywords: what they do happens
// inside the shell, where no exec check sees it.
func shellBuiltins(name string) bool {
	switch name {
	case ".", ":", "[", "[[", "alias", "bg", "bind", "break", "builtin", "caller", "cd", "command", "compgen", "complete",
		"compopt", "continue", "declare", "dirs", "disown", "echo", "enable", "eval", "exec", "exit", "export", "false", "fc", "fg", "getopts", "hash", "help",
		"history", "jobs", "kill", "let", "local", "logout", "mapfile", "popd", "printf", "pushd", "pwd", "read", "readarray", "readonly", "return", "set",
		"shift", "shopt", "source", "suspend", "test", "times", "trap", "true", "type", "typeset", "ulimit", "umask", "unalias", "unset", "wait",
		"if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until", "do", "done", "function", "time", "coproc":
		return true
	}
	return false
}

// text is the source text of the command for messages.
func (c *cmd) text() string {
	if c.st != nil {
		if t := nodeText(c.w.src, c.st); t != "" {
			return t
		}
	}
	return c.w.src
}

// addView adds an alternative argv that user rules match against.
func (c *cmd) addView(v []arg) {
	if s := c.w.cur; s != nil && len(s.levels) > 0 {
		l := &s.levels[len(s.levels)-1]
		l.views = append(l.views, v)
	}
}

// handlerEmitHook, when set (by a test), sees the findings each
// program's handlers emit, to check them against rulePrograms.
var handlerEmitHook func(prog string, fs []finding)

// registration is one register call: a rule check and the programs it
// checks.
type registration struct {
	fn    func(*cmd)
	names []string
}

// registered is every register call, in the order the rule files' init
// functions make them: the rules' own declaration of which programs they
// check.
var registered = make([]registration, 0, 256)

// register declares that fn checks the programs names. It only notes the
// call: putting about 470 names into a map at every start cost each
// command about 0.25M instructions (a tenth of a -c true), so the table
// the classifier looks programs up in is generated from these calls
// (handlers_gen.go, static data) and checked against them (handlers).
func register(fn func(*cmd), names ...string) {
	registered = append(registered, registration{fn, names})
}

// handlers returns a program's rule checks, in registration order.
func handlers(name string) []func(*cmd) {
	if !handlerTable() {
		return handlerMap()[name]
	}
	if i, ok := slices.BinarySearch(handlerNames[:], name); ok {
		return handlerChecks[i]
	}
	return nil
}

// handlerChecks is handlerFuncs, which lists the checks, whose code calls
// handlers: set in init, since a direct use here would make the table's
// initialisation depend on itself.
var handlerChecks [][]func(*cmd)

func init() { handlerChecks = handlerFuncs[:] }

// handlerTable reports whether handlers_gen.go was generated from the
// register calls this build makes: the same names, in the same order, in
// registrations of the same sizes (TestHandlersTable also checks the
// functions, which cannot be compared here). A table left stale by an
// edit is not used: handlerMap then builds the table from the calls, so
// the rules checked are always the registered ones.
var handlerTable = sync.OnceValue(handlerTableCurrent)

func handlerTableCurrent() bool {
	if len(registered) != len(registeredSizes) {
		return false
	}
	k := 0
	for i, r := range registered {
		if len(r.names) != registeredSizes[i] || k+len(r.names) > len(registeredNames) {
			return false
		}
		for _, n := range r.names {
			if n != registeredNames[k] {
				return false
			}
			k++
		}
	}
	return k == len(registeredNames)
}

// handlerMap is the register calls as a map from program name to checks.
var handlerMap = sync.OnceValue(func() map[string][]func(*cmd) {
	m := make(map[string][]func(*cmd), 512)
	for _, r := range registered {
		for _, n := range r.names {
			m[n] = append(m[n], r.fn)
		}
	}
	return m
})

// simpleArgv classifies one simple command given its expanded argv,
// unwrapping wrappers level by level.
func (w *walker) simpleArgv(argv []arg, st *syntax.Stmt, text string) {
	sc := w.newSimple()
	saved := w.cur
	w.cur = sc
	viaForwarder := false
	for lvl := 0; lvl < maxLevels && len(argv) > 0; lvl++ {
		sc.lvl = lvl
		var c *cmd
		if lvl < len(sc.cmds) {
			c = &sc.cmds[lvl]
		} else {
			c = new(cmd)
		}
		*c = cmd{w: w, st: st, argv: argv, lvl: lvl, stdin: w.stdin}
		name, ok := w.commandName(c)
		argv = c.argv
		sc.levels = append(sc.levels, levelInfo{argv: argv, name: name})
		if !ok {
			break
		}
		c.name = name
		if lvl > 0 && viaForwarder && !w.funcs[name] {
			viaForwarder = false
		}
		if lvl == 0 && w.expandAlias(c) {
			break
		}
		if w.funcs[name] && (lvl == 0 || viaForwarder) {
			if w.forwarders[name] {
				// It runs its arguments: classify them (forwarders.go).
				// They may name a function again (f f rm ...), but
				// not after command or exec, which skip functions.
				argv, viaForwarder = argv[1:], true
				continue
			}
			// A function defined in this script: its body was walked
			// where it was defined.
			break
		}
		genericRule(c)
		before := len(sc.findings)
		for _, h := range w.prog(name).checks {
			h(c)
		}
		if handlerEmitHook != nil {
			handlerEmitHook(name, sc.findings[before:])
		}
		inner, sh := unwrapOnce(name, argv, c.stdin)
		if inner == nil && sh == nil {
			// Only the program that really runs has subcommands (sudo's
			// words are another command's).
			destroyRule(c)
		}
		if sh != nil {
			w.shellText(sh.text, sh.how, c)
		}
		if inner == nil {
			break
		}
		argv = inner
	}
	w.cur = saved
	w.finishSimple(sc, st, text)
	w.freeSimple(sc)
}

// newSimple returns a simple command's state, a used one when there is
// one: a large script has tens of thousands of simple commands, and with
// the collector off (check, shell mode) every allocation is fresh memory,
// page faults included. Nothing keeps a state past its command:
// finishSimple copies the findings out, and a *finding from emitAt is
// used at once (the next emit may move the slice anyway).
func (w *walker) newSimple() *simpleState {
	if n := len(w.simpleFree); n > 0 {
		sc := w.simpleFree[n-1]
		w.simpleFree = w.simpleFree[:n-1]
		return sc
	}
	sc := &simpleState{}
	sc.levels = sc.levelsBuf[:0]
	return sc
}

// freeSimple keeps sc for the next simple command, emptied.
func (w *walker) freeSimple(sc *simpleState) {
	clear(sc.levels[:cap(sc.levels)])
	clear(sc.findings[:cap(sc.findings)])
	clear(sc.cmds[:])
	sc.lvl, sc.levels, sc.findings = 0, sc.levels[:0], sc.findings[:0]
	w.simpleFree = append(w.simpleFree, sc)
}

// expandAlias classifies a use of an alias defined earlier in the script
// as the text bash would run (when expand_aliases is on).
func (w *walker) expandAlias(c *cmd) bool {
	a := c.argv[0]
	if c.st == nil || a.word == nil || len(a.word.Parts) != 1 {
		return false
	}
	l, ok := a.word.Parts[0].(*syntax.Lit)
	if !ok {
		return false
	}
	val, ok := w.aliases[l.Value]
	if !ok {
		return false
	}
	end, stEnd := int(a.word.End().Offset()), int(c.st.End().Offset())
	rest := ""
	if end <= stEnd && stEnd <= len(w.src) {
		rest = w.src[end:stEnd]
	}
	text := val + rest
	if w.depth >= maxDepth {
		c.emit(RuleDynamicCode, "alias expansion nests too deeply to follow").opaque = true
		return true
	}
	w.child(text, c.st).script(text, "alias "+l.Value)
	return true
}

// commandName checks the command word and returns the program name. A
// name that is not a static literal cannot be checked: it is reported,
// and when tracked variables still resolve it, classification continues
// with the resolved name for a more useful reason.
func (w *walker) commandName(c *cmd) (string, bool) {
	a := c.argv[0]
	if a.fromStdin {
		c.emit(RuleDynamicCommandName, "the command to run comes from stdin").seenAtExec().opaque = true
		return "", false
	}
	if c.w.inForwarder > 0 && isAllArgs(a.word) {
		// The body of a forwarder: what "$@" runs is classified at
		// each call (forwarders.go).
		return "", false
	}
	if !a.static || a.glob || a.fromVar || a.brace {
		desc := "the command name is not a static word, so the program it runs cannot be checked"
		switch {
		case a.glob:
			desc = "the command name is a glob or brace pattern, so the program it runs cannot be checked"
		case a.brace && a.static:
			desc = "the command name comes from a brace expansion (it resolves to " + quoteShort(a.s) + "); asking because such names are not trusted"
		case a.fromVar && a.static:
			desc = "the command name is built from variables (it resolves to " + quoteShort(a.s) + "); asking because names from variables are not trusted"
		case len(a.substs) > 0:
			desc = "the command name comes from a command substitution, so the program it runs cannot be checked"
		}
		c.emit(RuleDynamicCommandName, desc).seenAtExec().opaque = true
		if a.brace && a.static && !a.glob && !a.fromVar {
			return progName(a.s), !hasNonASCII(a.s)
		}
		if a.fromVar && a.static && !a.glob {
			fields := ifsSplit(a.s)
			if len(fields) > 0 {
				resolved := append(staticArgs(fields), c.argv[1:]...)
				c.argv = resolved
				return progName(fields[0]), !hasNonASCII(fields[0])
			}
		}
		return "", false
	}
	if hasNonASCII(a.s) || a.s == "" {
		c.emit(RuleUnicodeLookalike, "the command name contains non-ASCII or invisible characters ("+quoteShort(a.s)+"), which can imitate another command").opaque = true
		return "", false
	}
	if len(w.progCopies) > 0 {
		if prog, ok := w.copiedProgram(a.s); ok {
			return prog, true
		}
	}
	return progName(a.s), true
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return true
		}
	}
	return false
}

// ifsSplit splits an expanded value on the default IFS, as bash does for
// an unquoted expansion. It works on a variable's value, not shell text.
func ifsSplit(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		sep := i == len(s) || s[i] == ' ' || s[i] == '\t' || s[i] == '\n'
		if sep {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	return out
}

func quoteShort(s string) string {
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	q, err := syntax.Quote(s, syntax.LangBash)
	if err != nil {
		return s
	}
	return q
}

// finishSimple applies the user rules and stamps position, text and argv
// on the simple command's findings.
func (w *walker) finishSimple(sc *simpleState, st *syntax.Stmt, text string) {
	// Every entry that matches a level may allow what its own words
	// raise there or deeper (a longer entry may cover what a shorter one
	// for the same program does not). With nothing an entry could allow,
	// the allowlist is not looked at (nor compiled: see
	// Classifier.allowSrc).
	type match struct {
		lvl   int
		entry string
	}
	var matches []match
	for i := 0; i < len(sc.levels) && waivable(sc.findings); i++ {
		for _, e := range w.c.allowMatchesAll(sc.levels[i]) {
			matches = append(matches, match{i, e})
		}
		if len(matches) > 0 {
			break
		}
	}
	// A finding the allowlist covers stays in the verdict, allowed and
	// naming the entry, so the audit log shows what the allowlist let
	// through.
	for i := range sc.findings {
		f := &sc.findings[i]
		if f.Decision != Ask || f.sticky {
			continue
		}
		for _, m := range matches {
			if f.lvl >= m.lvl && w.c.allowCovers(m.entry, f, w.cwds) {
				f.Decision = Allow
				f.AllowedBy = m.entry
				break
			}
		}
	}
	for i, l := range sc.levels {
		sc.lvl = i
		if entry, sure, ok := w.c.denyMatches(l); ok {
			rule, desc := RuleUserDeny, "matches the deny rule "+quoteShort(entry)
			if !sure {
				rule, desc = RuleUserDenyUnresolved, "a word is not static, so the deny rule "+quoteShort(entry)+" might match"
			}
			w.seq++
			sc.findings = append(sc.findings, finding{
				Finding: Finding{Rule: string(rule), Description: desc, Decision: Deny},
				seq:     w.seq, lvl: i, sticky: true,
			})
		}
	}
	if len(sc.findings) == 0 {
		return
	}
	// The position as text, only for a command with findings (it is
	// most of what a command without any costs here).
	var node syntax.Node
	if st != nil {
		node = st
	}
	pos, off := w.posOf(node)
	for _, f := range sc.findings {
		f.Command = text
		f.Pos = pos
		f.off = off
		if f.lvl < len(sc.levels) {
			f.Argv = staticArgv(sc.levels[f.lvl])
		}
		if f.Rule == string(RuleUserDeny) || f.Rule == string(RuleUserDenyUnresolved) {
			f.Argv = nil
		}
		w.out = append(w.out, f)
	}
}

// waivable reports whether any finding is one an allowlist entry could
// allow.
func waivable(fs []finding) bool {
	for i := range fs {
		if fs[i].Decision == Ask && !fs[i].sticky {
			return true
		}
	}
	return false
}

// staticArgv is the level's argv with the normalised program name, or
// nil when any word is not static.
func staticArgv(l levelInfo) []string {
	if l.name == "" {
		return nil
	}
	out := make([]string, len(l.argv))
	for i, a := range l.argv {
		if !a.static || a.findItem || a.fromStdin {
			return nil
		}
		out[i] = a.s
	}
	out[0] = l.name
	return out
}

// paths returns the cleaned forms of a static path argument, one per
// possible working directory.
func (w *walker) paths(a arg) []string {
	if !a.static {
		return nil
	}
	s := a.s
	if s == "" {
		return nil
	}
	k := w.ctx()
	if strings.HasPrefix(s, "/") || len(w.cwds) == 1 && w.cwds[0] == "" {
		return []string{k.canon(cleanPath(s, ""))}
	}
	out := make([]string, 0, len(w.cwds))
	for _, c := range w.cwds {
		out = append(out, k.canon(cleanPath(s, c)))
	}
	return out
}

// cwdValue is what $PWD / $(pwd) expand to, as far as it is known.
func (w *walker) cwdValue() string {
	if len(w.cwds) == 1 && w.cwds[0] != "" {
		return w.cwds[0]
	}
	return "."
}
