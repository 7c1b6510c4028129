package policy

import (
	"strings"

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
func (c *cmd) emit(rule, desc string) *finding {
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
	return c.name != "" && !shellBuiltins[c.name]
}

// shellBuiltins are bash's builtins and keywords: what they do happens
// inside the shell, where no exec check sees it.
var shellBuiltins = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`. : [ [[ alias bg bind break builtin caller cd command compgen complete
		compopt continue declare dirs disown echo enable eval exec exit export false fc fg getopts hash help
		history jobs kill let local logout mapfile popd printf pushd pwd read readarray readonly return set
		shift shopt source suspend test times trap true type typeset ulimit umask unalias unset wait
		if then else elif fi case esac for select while until do done function time coproc`) {
		m[n] = true
	}
	return m
}()

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

// handlers maps a program name to its rule checks.
var handlers = map[string][]func(*cmd){}

func register(fn func(*cmd), names ...string) {
	for _, n := range names {
		handlers[n] = append(handlers[n], fn)
	}
}

// simpleArgv classifies one simple command given its expanded argv,
// unwrapping wrappers level by level.
func (w *walker) simpleArgv(argv []arg, st *syntax.Stmt, text string) {
	sc := &simpleState{}
	saved := w.cur
	w.cur = sc
	for lvl := 0; lvl < maxLevels && len(argv) > 0; lvl++ {
		sc.lvl = lvl
		c := &cmd{w: w, st: st, argv: argv, lvl: lvl, stdin: w.stdin}
		name, ok := w.commandName(c)
		argv = c.argv
		sc.levels = append(sc.levels, levelInfo{argv: argv, name: name})
		if !ok {
			break
		}
		c.name = name
		if lvl == 0 && w.expandAlias(c) {
			break
		}
		if w.funcs[name] && lvl == 0 {
			// A function defined in this script: its body was walked
			// where it was defined.
			break
		}
		genericRule(c)
		for _, h := range handlers[name] {
			h(c)
		}
		inner, sh := unwrapOnce(name, argv, c.stdin)
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
		c.emit("dynamic-code", "alias expansion nests too deeply to follow").opaque = true
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
		c.emit("dynamic-command-name", "the command to run comes from stdin").seenAtExec().opaque = true
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
		c.emit("dynamic-command-name", desc).seenAtExec().opaque = true
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
		c.emit("unicode-lookalike", "the command name contains non-ASCII or invisible characters ("+quoteShort(a.s)+"), which can imitate another command").opaque = true
		return "", false
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
	var node syntax.Node
	if st != nil {
		node = st
	}
	pos, off := w.posOf(node)
	allowFrom := -1
	for i, l := range sc.levels {
		if w.c.allowMatches(l) {
			allowFrom = i
			break
		}
	}
	kept := sc.findings[:0]
	for _, f := range sc.findings {
		if allowFrom >= 0 && f.lvl >= allowFrom && f.Decision == Ask && !f.sticky {
			continue
		}
		kept = append(kept, f)
	}
	sc.findings = kept
	for i, l := range sc.levels {
		sc.lvl = i
		if entry, sure, ok := w.c.denyMatches(l); ok {
			rule, desc := "user-deny", "matches the deny rule "+quoteShort(entry)
			if !sure {
				rule, desc = "user-deny-unresolved", "a word is not static, so the deny rule "+quoteShort(entry)+" might match"
			}
			w.seq++
			sc.findings = append(sc.findings, finding{
				Finding: Finding{Rule: rule, Description: desc, Decision: Deny},
				seq:     w.seq, lvl: i, sticky: true,
			})
		}
	}
	for _, f := range sc.findings {
		f.Command = text
		f.Pos = pos
		f.off = off
		if f.lvl < len(sc.levels) {
			f.Argv = staticArgv(sc.levels[f.lvl])
		}
		if f.Rule == "user-deny" || f.Rule == "user-deny-unresolved" {
			f.Argv = nil
		}
		w.out = append(w.out, f)
	}
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
	if strings.HasPrefix(s, "/") || len(w.cwds) == 1 && w.cwds[0] == "" {
		return []string{w.c.inHome(cleanPath(s, ""))}
	}
	out := make([]string, 0, len(w.cwds))
	for _, c := range w.cwds {
		out = append(out, w.c.inHome(cleanPath(s, c)))
	}
	return out
}

// inHome writes a path under Rules.Home as under homeDir, so that the
// real path an exec shows (/home/alice/.ssh) meets the rules about the
// home that the text's ~ and $HOME meet.
func (c *Classifier) inHome(p string) string {
	if c.home == "" {
		return p
	}
	if p == c.home {
		return homeDir
	}
	if strings.HasPrefix(p, c.home+"/") {
		return homeDir + p[len(c.home):]
	}
	return p
}

// cwdValue is what $PWD / $(pwd) expand to, as far as it is known.
func (w *walker) cwdValue() string {
	if len(w.cwds) == 1 && w.cwds[0] != "" {
		return w.cwds[0]
	}
	return "."
}
