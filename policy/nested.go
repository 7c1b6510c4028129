package policy

import (
	"mvdan.cc/sh/v3/syntax"
)

// script parses text as bash and walks it. The receiver is a child walker
// made for that text.
func (w *walker) script(text, how string) {
	// A nested text can be larger than the top-level one (built from
	// variables, or parsed once per loop item): its parse is paid for.
	if !w.spend(len(text)/workBytes, nil) {
		return
	}
	f, err := parseScript(text)
	if err != nil {
		w.emitNode(RuleParseError, "the text given to "+how+" does not parse ("+err.Error()+"), so what it runs cannot be checked", nil).opaque = true
		return
	}
	w.file(f)
}

// anchorNode picks the node nested findings are reported at.
func anchorNode(a arg, c *cmd) syntax.Node {
	if a.word != nil {
		return a.word
	}
	if c != nil && c.st != nil {
		return c.st
	}
	return nil
}

// shellText classifies a command line that a shell will parse (sh -c,
// eval, su -c, watch, ssh host CMD...). Static text is parsed and walked;
// anything else cannot be checked.
func (w *walker) shellText(t arg, how string, c *cmd) {
	if !t.static {
		w.dynamicCode(c, t, how)
		return
	}
	if w.depth >= maxDepth {
		c.emit(RuleDynamicCode, how+" nests shells too deeply to follow").opaque = true
		return
	}
	w.child(t.s, anchorNode(t, c)).script(t.s, how)
}

// shellTextArgs is shellText for `sh -c TEXT NAME ARGS...`: inside TEXT,
// $0 is NAME and $1... are ARGS, so `find -exec sh -c 'rm "$1"' _ {}` is
// judged by what find hands over.
func (w *walker) shellTextArgs(t arg, how string, c *cmd, pos []arg) {
	if !t.static || w.depth >= maxDepth || len(pos) == 0 {
		w.shellText(t, how, c)
		return
	}
	n := w.child(t.s, anchorNode(t, c))
	n.pos = pos
	n.script(t.s, how)
}

// positional resolves $0..$9 of a text run by `sh -c TEXT NAME ARGS`.
func (w *walker) positional(p *syntax.ParamExp) (arg, bool) {
	if w.pos == nil || p.Param == nil || p.Exp != nil || p.Index != nil || p.Slice != nil || p.Repl != nil ||
		p.Length || p.Excl || p.Width || p.Names != 0 || p.NestedParam != nil {
		return arg{}, false
	}
	v := p.Param.Value
	if len(v) != 1 || v[0] < '0' || v[0] > '9' {
		return arg{}, false
	}
	i := int(v[0] - '0')
	if i >= len(w.pos) || w.assignedHere(v) {
		return arg{}, false
	}
	return w.pos[i], true
}

// sameShellText classifies text that runs later in this same shell (eval,
// trap): unlike a new shell's, its variables are this shell's.
func (w *walker) sameShellText(t arg, how string, c *cmd) {
	if !t.static || w.depth >= maxDepth {
		w.shellText(t, how, c)
		return
	}
	n := w.child(t.s, anchorNode(t, c))
	n.outer = w.trackedVars()
	n.script(t.s, how)
}

// trackedVars are the variables whose values are known here.
func (w *walker) trackedVars() map[string]string {
	out := make(map[string]string, len(w.vars))
	for k, v := range w.vars {
		if w.isTrusted(k) {
			out[k] = v
		}
	}
	return out
}

// dynamicCode reports code whose text is not static, naming where it
// comes from when that is known.
func (w *walker) dynamicCode(c *cmd, t arg, how string) {
	for _, cs := range t.substs {
		switch f := w.feedOfStmts(cs.Stmts); f.kind {
		case feedRemote:
			c.emit(RuleRemoteCodeExec, how+" runs code downloaded from the network ("+f.what+")").opaque = true
			return
		case feedDecoded:
			c.emit(RuleDecodedCodeExec, how+" runs decoded or transformed text ("+f.what+"), which hides what it does").opaque = true
			return
		}
	}
	for _, ps := range t.procs {
		w.codeFromFeed(c, w.feedOfStmts(ps.Stmts), "sh", how)
		return
	}
	c.emit(RuleDynamicCode, how+" runs text that is not known statically").seenAtExec().opaque = true
}

// codeFromFeed judges a program that a shell or interpreter reads from
// stdin, a pipe, a here-document or a process substitution.
func (w *walker) codeFromFeed(c *cmd, f feed, lang, how string) {
	var fd *finding
	switch f.kind {
	case feedNone:
		return
	case feedStatic:
		if lang == "sh" {
			if w.depth >= maxDepth {
				fd = c.emit(RuleDynamicCode, how+" nests shells too deeply to follow")
				break
			}
			w.child(f.text, c.node()).script(f.text, how)
			return
		}
		w.scanCode(c, lang, f.text, how)
		return
	case feedRemote:
		fd = c.emit(RuleRemoteCodeExec, how+" runs code from the network ("+f.what+")")
	case feedDecoded:
		fd = c.emit(RuleDecodedCodeExec, how+" runs decoded or transformed text ("+f.what+"), which hides what it does")
	default:
		what := f.what
		if what == "" {
			what = "another command"
		}
		fd = c.emit(RuleDynamicCode, how+" runs a program read from "+what+", which cannot be checked")
	}
	fd.sticky = true
	fd.opaque = true
}
