package policy

import (
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// homeDir stands for the user's home directory in normalised paths. A
// fixed pseudo-path keeps `~/..` and `~/../..` meaningful under path.Clean
// (they become /home and /) without knowing the real home.
const homeDir = "/home/~"

// hermesHome is where Hermes keeps its config and .env, as seen through
// $HERMES_HOME or ~/.hermes.
const hermesHome = homeDir + "/.hermes"

// arg is one argv word after static evaluation of the shell word. An
// argv from evalWords is used again once its command's walk is over
// (putArgs): copy an arg to keep it, never keep a []arg or an *arg.
type arg struct {
	s      string // the value; exact when static
	static bool   // every part of the word is known
	glob   bool   // an unquoted glob character is present
	// split is true when an unquoted expansion (or "$@") may turn the word
	// into several words or none.
	split   bool
	fromVar bool // a tracked variable contributed to the value
	brace   bool // produced by brace expansion
	word    *syntax.Word
	substs  []*syntax.CmdSubst  // command substitutions inside the word
	procs   []*syntax.ProcSubst // process substitutions inside the word
	// findItem marks a synthesized path that stands for "something under s"
	// (find's {} or xargs fed by find); s is the start path.
	findItem bool
	// fromStdin marks a synthesized placeholder for arguments that xargs
	// or parallel read from stdin.
	fromStdin bool
}

// lit builds a static argument from a Go string (ClassifyArgv, nested argv).
func lit(s string) arg { return arg{s: s, static: true} }

// staticArgs turns strings into static arguments.
func staticArgs(ss []string) []arg {
	out := make([]arg, len(ss))
	for i, s := range ss {
		out[i] = lit(s)
	}
	return out
}

// is reports whether the argument is statically equal to one of vals.
func (a arg) is(vals ...string) bool {
	if !a.static {
		return false
	}
	for _, v := range vals {
		if a.s == v {
			return true
		}
	}
	return false
}

// nodeText slices the source text of a node; it is defensive because
// nested parses carry positions relative to their own text.
func nodeText(src string, n syntax.Node) string {
	if n == nil {
		return ""
	}
	s, e := n.Pos(), n.End()
	if !s.IsValid() || !e.IsValid() {
		return ""
	}
	so, eo := int(s.Offset()), int(e.Offset())
	if so < 0 || eo > len(src) || so > eo {
		return ""
	}
	if st, ok := n.(*syntax.Stmt); ok && st.Semicolon.IsValid() && int(st.Semicolon.Offset()) == eo-1 {
		// A statement's end includes its ";" terminator, which is not part
		// of the command a human is shown.
		eo--
	}
	// strings.TrimRight(s, " \t") without its set built on every command.
	for eo > so && (src[eo-1] == ' ' || src[eo-1] == '\t') {
		eo--
	}
	return src[so:eo]
}

// evalWord evaluates a word without brace expansion.
func (w *walker) evalWord(word *syntax.Word) arg {
	a := arg{word: word, static: true}
	if word == nil {
		return a
	}
	if len(word.Parts) == 1 {
		// Most words are one literal with nothing to unescape: its value
		// is the source text itself, without a copy.
		switch p := word.Parts[0].(type) {
		case *syntax.Lit:
			if v := p.Value; !strings.HasPrefix(v, "~") && strings.IndexByte(v, '\\') < 0 {
				a.s, a.glob = v, unquotedGlob(v)
				return a
			}
		case *syntax.SglQuoted:
			if !p.Dollar {
				a.s = p.Value
				return a
			}
		}
	}
	var b strings.Builder
	for i, p := range word.Parts {
		w.evalPart(&a, &b, p, i == 0, false)
	}
	a.s = b.String()
	return a
}

// evalWords evaluates command words the way bash expands them into argv:
// brace expansion first (one word can become several), then each word.
func (w *walker) evalWords(words []*syntax.Word) []arg {
	out := w.takeArgs(len(words))
	for _, wd := range words {
		if alts := braceAlternatives(wd); alts != nil {
			for _, alt := range alts {
				a := w.evalWord(alt)
				a.word = wd
				a.brace = true
				out = append(out, a)
			}
			continue
		}
		out = append(out, w.evalWord(wd))
	}
	return out
}

// takeArgs returns an empty argv with room for n words: one that putArgs
// gave back when there is one. A large script evaluates hundreds of
// thousands of words, and with the collector off (check) every fresh argv
// is fresh memory, page faults included.
func (w *walker) takeArgs(n int) []arg {
	if k := len(w.argsFree); k > 0 {
		if b := w.argsFree[k-1]; cap(b) >= n {
			w.argsFree = w.argsFree[:k-1]
			return b
		}
	}
	return make([]arg, 0, max(n, 4))
}

// putArgs gives back an argv from evalWords once nothing can hold it: the
// caller's walk of it is over, and nothing the walk keeps (findings,
// variables, files written, feeds, a used simple command's state) holds an
// arg or a slice of them; it copies the strings.
func (w *walker) putArgs(b []arg) {
	if cap(b) > maxArgsKept || len(w.argsFree) >= maxArgsFree {
		return
	}
	clear(b[:cap(b)])
	w.argsFree = append(w.argsFree, b[:0])
}

const (
	maxArgsKept = 256 // words; larger argvs are left to the allocator
	maxArgsFree = 64
)

// maxBraceAlternatives bounds brace expansion; a word with more
// alternatives is treated as dynamic by the caller seeing a glob.
const maxBraceAlternatives = 64

// braceAlternatives expands {a,b} and {1..3} in a word into separate words,
// or returns nil when the word has no brace expansion.
func braceAlternatives(word *syntax.Word) []*syntax.Word {
	hasBrace := false
	for _, p := range word.Parts {
		if l, ok := p.(*syntax.Lit); ok && strings.IndexByte(l.Value, '{') >= 0 {
			hasBrace = true
			break
		}
	}
	if !hasBrace {
		return nil
	}
	cp := &syntax.Word{Parts: append([]syntax.WordPart(nil), word.Parts...)}
	if !syntax.SplitBraces(cp) {
		return nil
	}
	alts := expandBraceParts(cp.Parts)
	if len(alts) == 0 || len(alts) > maxBraceAlternatives {
		return nil
	}
	out := make([]*syntax.Word, len(alts))
	for i, parts := range alts {
		out[i] = &syntax.Word{Parts: parts}
	}
	return out
}

// expandBraceParts enumerates the combinations of BraceExp parts.
func expandBraceParts(parts []syntax.WordPart) [][]syntax.WordPart {
	acc := [][]syntax.WordPart{nil}
	for _, p := range parts {
		be, ok := p.(*syntax.BraceExp)
		if !ok {
			for i := range acc {
				acc[i] = append(acc[i], p)
			}
			continue
		}
		var elems [][]syntax.WordPart
		if be.Sequence {
			elems = braceSequence(be)
			if elems == nil {
				return nil
			}
		} else {
			for _, e := range be.Elems {
				elems = append(elems, expandBraceParts(e.Parts)...)
			}
		}
		var next [][]syntax.WordPart
		for _, a := range acc {
			for _, e := range elems {
				n := append(append([]syntax.WordPart(nil), a...), e...)
				next = append(next, n)
				if len(next) > maxBraceAlternatives {
					return nil
				}
			}
		}
		acc = next
	}
	return acc
}

// braceSequence expands {1..3} or {a..c}; nil when it is not a simple one.
func braceSequence(be *syntax.BraceExp) [][]syntax.WordPart {
	if len(be.Elems) < 2 {
		return nil
	}
	from, to := be.Elems[0].Lit(), be.Elems[1].Lit()
	mk := func(s string) []syntax.WordPart { return []syntax.WordPart{&syntax.Lit{Value: s}} }
	if a, err := strconv.Atoi(from); err == nil {
		b, err := strconv.Atoi(to)
		if err != nil {
			return nil
		}
		var out [][]syntax.WordPart
		step := 1
		if b < a {
			step = -1
		}
		for i := a; ; i += step {
			out = append(out, mk(strconv.Itoa(i)))
			if i == b || len(out) > maxBraceAlternatives {
				break
			}
		}
		return out
	}
	if len(from) == 1 && len(to) == 1 {
		var out [][]syntax.WordPart
		a, b := from[0], to[0]
		step := 1
		if b < a {
			step = -1
		}
		for i := int(a); ; i += step {
			out = append(out, mk(string(rune(i))))
			if i == int(b) || len(out) > maxBraceAlternatives {
				break
			}
		}
		return out
	}
	return nil
}

func (w *walker) evalPart(a *arg, b *strings.Builder, p syntax.WordPart, first, quoted bool) {
	switch p := p.(type) {
	case *syntax.Lit:
		v := p.Value
		if quoted {
			b.WriteString(unescapeDquote(v))
			return
		}
		if first && strings.HasPrefix(v, "~") {
			var ok bool
			v, ok = w.expandTilde(v)
			if !ok {
				a.static = false
			}
		}
		unescapeUnquoted(a, b, v)
	case *syntax.SglQuoted:
		if p.Dollar {
			b.WriteString(ansiC(p.Value))
		} else {
			b.WriteString(p.Value)
		}
	case *syntax.DblQuoted:
		for _, q := range p.Parts {
			w.evalPart(a, b, q, false, true)
		}
	case *syntax.ParamExp:
		if pa, ok := w.positionalIf(p); ok {
			switch {
			case pa.fromStdin:
				a.static, a.fromStdin = false, true
			case !pa.static:
				a.static = false
				a.substs = append(a.substs, pa.substs...)
				if !quoted || pa.split {
					a.split = true
				}
			case !w.spend(len(pa.s)/workBytes, p):
				a.static = false
			default:
				a.findItem = a.findItem || pa.findItem
				b.WriteString(pa.s)
			}
			return
		}
		v, ok, fromVar := w.paramValue(p)
		if ok && !w.spend(len(v)/workBytes, p) {
			// Copying values is paid for: `b=$a$a; c=$b$b ...` would
			// otherwise build gigabytes from a few lines.
			ok = false
		}
		if !ok {
			a.static = false
			if !quoted || isAllPositional(p) {
				a.split = true
			}
			return
		}
		if fromVar {
			a.fromVar = true
			if !quoted && strings.ContainsAny(v, " \t\n") {
				a.split = true
			}
		}
		b.WriteString(v)
	case *syntax.CmdSubst:
		if isPwdSubst(p) {
			b.WriteString(w.cwdValue())
			return
		}
		a.static = false
		a.substs = append(a.substs, p)
		if !quoted {
			a.split = true
		}
	case *syntax.ArithmExp:
		a.static = false
	case *syntax.ProcSubst:
		a.static = false
		a.procs = append(a.procs, p)
	case *syntax.ExtGlob:
		a.glob = true
		b.WriteString(p.Op.String())
		if p.Pattern != nil {
			b.WriteString(p.Pattern.Value)
		}
		b.WriteByte(')')
	default:
		a.static = false
	}
}

// unescapeUnquoted removes backslash quoting from an unquoted literal and
// notes glob characters that bash would expand.
// unquotedGlob is what unescapeUnquoted sets glob to for a text without
// backslashes.
func unquotedGlob(v string) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '*', '?':
			return true
		case '[':
			if strings.IndexByte(v[i+1:], ']') >= 0 {
				return true
			}
		}
	}
	return false
}

func unescapeUnquoted(a *arg, b *strings.Builder, v string) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '\\':
			if i+1 < len(v) {
				i++
				if v[i] != '\n' {
					b.WriteByte(v[i])
				}
			}
			continue
		case '*', '?':
			a.glob = true
		case '[':
			// Only a bracket expression with a closing ] is a glob; a lone
			// [ (the test command) is literal.
			if strings.IndexByte(v[i+1:], ']') >= 0 {
				a.glob = true
			}
		}
		b.WriteByte(c)
	}
}

// unescapeDquote applies the backslash rules inside double quotes (and in
// unquoted here-documents): only \$ \` \" \\ and \newline are special.
func unescapeDquote(v string) string {
	if !strings.Contains(v, "\\") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			switch v[i+1] {
			case '$', '`', '"', '\\':
				b.WriteByte(v[i+1])
				i++
				continue
			case '\n':
				i++
				continue
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// expandTilde expands a leading ~, ~/, ~user, ~+ in an unquoted literal.
func (w *walker) expandTilde(v string) (string, bool) {
	end := strings.IndexByte(v, '/')
	if end < 0 {
		end = len(v)
	}
	user, rest := v[1:end], v[end:]
	switch user {
	case "":
		return homeDir + rest, true
	case "+":
		return w.cwdValue() + rest, true
	case "-":
		return v, false
	}
	if !syntax.ValidName(strings.ReplaceAll(strings.ReplaceAll(user, "-", "_"), ".", "_")) {
		return v, true
	}
	h, _ := w.ctx().userHome(user)
	return h + rest, true
}

// positionalIf is positional with the common case (no sh -c arguments)
// decided without a call.
func (w *walker) positionalIf(p *syntax.ParamExp) (arg, bool) {
	if w.pos == nil {
		return arg{}, false
	}
	return w.positional(p)
}

// isAllPositional reports "$@", "$*" and "${a[@]}" which expand to any
// number of words even when quoted.
func isAllPositional(p *syntax.ParamExp) bool {
	if p.Param != nil && (p.Param.Value == "@" || p.Param.Value == "*") {
		return true
	}
	if w, ok := p.Index.(*syntax.Word); ok {
		l := w.Lit()
		return l == "@" || l == "*"
	}
	return false
}

// isPwdSubst recognises $(pwd) and `pwd`, which are the working directory.
func isPwdSubst(cs *syntax.CmdSubst) bool {
	if len(cs.Stmts) != 1 {
		return false
	}
	st := cs.Stmts[0]
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(st.Redirs) > 0 || len(call.Assigns) > 0 || len(call.Args) != 1 {
		return false
	}
	return call.Args[0].Lit() == "pwd"
}

// paramValue resolves a parameter expansion when it is statically known.
func (w *walker) paramValue(p *syntax.ParamExp) (val string, ok, fromVar bool) {
	if p.Param == nil || p.Excl || p.Length || p.Width || p.Index != nil ||
		p.Slice != nil || p.Repl != nil || p.Names != 0 || p.NestedParam != nil {
		return "", false, false
	}
	name := p.Param.Value
	if p.Exp != nil {
		// ${x:-default} is known when x is known and non-empty.
		switch p.Exp.Op {
		case syntax.DefaultUnsetOrNull, syntax.DefaultUnset:
		default:
			return "", false, false
		}
	}
	switch name {
	case "HOME":
		return homeDir, true, false
	case "PWD":
		return w.cwdValue(), true, false
	case "HERMES_HOME":
		return hermesHome, true, false
	}
	if v, found := w.vars[name]; found {
		return v, v != "" || p.Exp == nil, true
	}
	if name == "TMPDIR" && w.neverAssigned(name) && (p.Exp == nil || p.Exp.Op == syntax.DefaultUnsetOrNull || p.Exp.Op == syntax.DefaultUnset) {
		// The scratch directory: judged as /tmp, so that $TMPDIR/build is
		// scratch space while $TMPDIR itself and $TMPDIR/* are all of it.
		return "/tmp", true, false
	}
	return "", false, false
}

// ansiC decodes the body of a $'...' string.
func ansiC(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte(7)
		case 'b':
			b.WriteByte(8)
		case 'e', 'E':
			b.WriteByte(27)
		case 'f':
			b.WriteByte(12)
		case 'v':
			b.WriteByte(11)
		case '\\', '\'', '"', '?':
			b.WriteByte(e)
		case 'c':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i] & 0x1f)
			}
		case 'x', 'u', 'U':
			max := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			j := i + 1
			for j < len(s) && j-i-1 < max && isHex(s[j]) {
				j++
			}
			if j == i+1 {
				b.WriteByte('\\')
				b.WriteByte(e)
				continue
			}
			n, _ := strconv.ParseUint(s[i+1:j], 16, 32)
			if e == 'x' {
				b.WriteByte(byte(n))
			} else {
				b.WriteRune(rune(n))
			}
			i = j - 1
		default:
			if e >= '0' && e <= '7' {
				j := i
				for j < len(s) && j-i < 3 && s[j] >= '0' && s[j] <= '7' {
					j++
				}
				n, _ := strconv.ParseUint(s[i:j], 8, 16)
				b.WriteByte(byte(n))
				i = j - 1
				continue
			}
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// invisibleRune reports zero-width, bidi-control and no-break spaces that
// hide what a line really contains.
func invisibleRune(r rune) bool {
	switch {
	case r == 0x00a0, r == 0x00ad, r == 0x034f, r == 0x061c, r == 0x115f, r == 0x1160,
		r == 0x180e, r == 0x2028, r == 0x2029, r == 0x202f, r == 0x205f, r == 0x3000, r == 0xfeff,
		r >= 0x2000 && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2060 && r <= 0x206f:
		return true
	}
	return false
}

// splitWords reads text as one simple command of static shell words (a
// git alias value, an expect spawn line). ok=false when it is anything
// else.
func splitWords(text string) ([]string, bool) {
	f, err := parseScript(text)
	if err != nil || len(f.Stmts) != 1 {
		return nil, false
	}
	st := f.Stmts[0]
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(st.Redirs) > 0 || len(call.Assigns) > 0 || len(call.Args) == 0 {
		return nil, false
	}
	w := newWalker(nil, text, 0)
	out := make([]string, 0, len(call.Args))
	for _, wd := range call.Args {
		a := w.evalWord(wd)
		if !a.static {
			return nil, false
		}
		out = append(out, a.s)
	}
	return out, true
}
