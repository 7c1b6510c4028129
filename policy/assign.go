package policy

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// trustedAssignments finds variables whose value can be tracked
// statically: assigned exactly once in the whole script, by a plain
// top-level statement, and never through read, printf -v, for, ${x:=},
// arithmetic or a nameref. Everything else is unknown (fail closed).
func trustedAssignments(f *syntax.File, src string) (trusted map[string]bool, counts map[string]int) {
	if !mayAssign(src) {
		return nil, nil
	}
	count, noTrack := countAssignments(f.Stmts, len(src))
	if noTrack {
		return nil, nil
	}
	top := map[string]bool{}
	topAssigned(f.Stmts, top)
	return trustedFrom(top, count), count
}

// mayAssign is false for a text with nothing to count: every tracked
// assignment has an '=' and loops say "for" or "select".
func mayAssign(src string) bool {
	return strings.Contains(src, "=") || strings.Contains(src, "for") || strings.Contains(src, "select")
}

// topAssigned adds to top the variables that stmts assign by a plain
// top-level statement (no command, not in the background, not negated).
func topAssigned(stmts []*syntax.Stmt, top map[string]bool) {
	for _, st := range stmts {
		if st.Background || st.Negated {
			continue
		}
		if c, ok := st.Cmd.(*syntax.CallExpr); ok && len(c.Args) == 0 {
			for _, a := range c.Assigns {
				if a.Name != nil && a.Index == nil && a.Array == nil && !a.Append {
					top[a.Name.Value] = true
				}
			}
		}
	}
}

// trustedFrom is the trusted set: assigned at the top level, and only once.
func trustedFrom(top map[string]bool, count map[string]int) map[string]bool {
	out := map[string]bool{}
	for name := range top {
		if count[name] == 1 {
			out[name] = true
		}
	}
	return out
}

// countAssignments counts, per variable, the assignments in stmts (2 for
// one that cannot be tracked); noTrack is true when something can assign
// any variable (eval, source, a nameref). Counting is a sum, so a large
// script's two halves are counted at once (on a second core, while the
// first is counted here) and added up: the same counts, sooner.
func countAssignments(stmts []*syntax.Stmt, size int) (count map[string]int, noTrack bool) {
	if shortcuts && size >= concurrentKeyMin && len(stmts) >= 2 {
		mid := len(stmts) / 2
		for mid > 1 && int(stmts[mid].Pos().Offset()) > size/2 {
			mid--
		}
		type result struct {
			count   map[string]int
			noTrack bool
			panic   any
		}
		done := make(chan result, 1)
		go func() {
			var r result
			defer func() {
				// Classify recovers on its own goroutine only: a
				// panic here is handed over to be re-raised there.
				r.panic = recover()
				done <- r
			}()
			r.count, r.noTrack = countAssignments(stmts[mid:], 0)
		}()
		count, noTrack = countAssignments(stmts[:mid], 0)
		r := <-done
		if r.panic != nil {
			panic(r.panic)
		}
		for k, v := range r.count {
			count[k] += v
		}
		return count, noTrack || r.noTrack
	}
	count = map[string]int{}
	for _, st := range stmts {
		countIn(st, count, &noTrack)
	}
	return count, noTrack
}

// countIn adds the assignments in one statement to count.
func countIn(st *syntax.Stmt, count map[string]int, noTrackOut *bool) {
	noTrack := false
	defer func() { *noTrackOut = *noTrackOut || noTrack }()
	syntax.Walk(st, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Assign:
			if n.Name != nil {
				count[n.Name.Value]++
			}
		case *syntax.WordIter:
			if n.Name != nil {
				count[n.Name.Value] += 2
			}
		case *syntax.ParamExp:
			if n.Param != nil && n.Exp != nil {
				switch n.Exp.Op {
				case syntax.AssignUnset, syntax.AssignUnsetOrNull:
					count[n.Param.Value] += 2
				}
			}
		case *syntax.BinaryArithm:
			if wd, ok := n.X.(*syntax.Word); ok {
				switch n.Op {
				case syntax.Assgn, syntax.AddAssgn, syntax.SubAssgn, syntax.MulAssgn, syntax.QuoAssgn,
					syntax.RemAssgn, syntax.AndAssgn, syntax.OrAssgn, syntax.XorAssgn, syntax.ShlAssgn, syntax.ShrAssgn:
					count[wd.Lit()] += 2
				}
			}
		case *syntax.UnaryArithm:
			if wd, ok := n.X.(*syntax.Word); ok && (n.Op == syntax.Inc || n.Op == syntax.Dec) {
				count[wd.Lit()] += 2
			}
		case *syntax.DeclClause:
			for _, a := range n.Args {
				if a.Naked && a.Value != nil && strings.HasPrefix(a.Value.Lit(), "-") && strings.ContainsAny(a.Value.Lit(), "n") {
					noTrack = true
				}
			}
		case *syntax.CallExpr:
			if len(n.Args) > 0 {
				switch n.Args[0].Lit() {
				case "read", "printf", "mapfile", "readarray", "getopts", "unset", "eval", "source", ".", "export", "declare", "typeset", "local":
					for _, a := range n.Args[1:] {
						if l := a.Lit(); syntax.ValidName(l) {
							count[l] += 2
						}
					}
					if n.Args[0].Lit() == "eval" || n.Args[0].Lit() == "source" || n.Args[0].Lit() == "." {
						noTrack = true
					}
				}
			}
		}
		return true
	})
}

// track records a bare assignment's value for later expansions.
func (w *walker) track(st *syntax.Stmt, as *syntax.Assign) {
	if as.Name == nil {
		return
	}
	name := as.Name.Value
	if !w.isTrusted(name) || as.Value == nil && as.Array == nil {
		delete(w.vars, name)
		return
	}
	if as.Value != nil {
		if a := w.evalWord(as.Value); a.static {
			w.setVar(name, a.s)
			return
		}
		if p, ok := mktempPath(as.Value); ok {
			w.setVar(name, p)
			return
		}
	}
	delete(w.vars, name)
}

// mktempPath recognises tmp=$(mktemp [-d] [-t] [TEMPLATE]): the value is a
// path mktemp has just created under the temporary directory, so deleting
// it later (rm -rf "$tmp", trap 'rm -rf "$tmp"' EXIT) is the usual clean-up,
// not a delete of something unknown. It stands for that path by a name in
// /tmp; mktemp -p DIR or --tmpdir=DIR (a directory chosen by the caller) is
// not recognised and stays unknown.
func mktempPath(w *syntax.Word) (string, bool) {
	if len(w.Parts) != 1 {
		return "", false
	}
	var cs *syntax.CmdSubst
	switch p := w.Parts[0].(type) {
	case *syntax.CmdSubst:
		cs = p
	case *syntax.DblQuoted:
		if len(p.Parts) == 1 {
			cs, _ = p.Parts[0].(*syntax.CmdSubst)
		}
	}
	if cs == nil || len(cs.Stmts) != 1 || len(cs.Stmts[0].Redirs) > 0 {
		return "", false
	}
	call, ok := cs.Stmts[0].Cmd.(*syntax.CallExpr)
	if !ok || len(call.Assigns) > 0 || len(call.Args) == 0 || progName(call.Args[0].Lit()) != "mktemp" {
		return "", false
	}
	for _, a := range call.Args[1:] {
		lit := a.Lit()
		switch {
		case lit == "":
			return "", false // not a plain word
		case lit == "-d", lit == "--directory", lit == "-t", lit == "-q", lit == "--quiet", lit == "-u", lit == "--dry-run":
		case strings.HasPrefix(lit, "-"):
			return "", false // -p DIR, --tmpdir, --suffix ...: not followed
		case strings.Contains(lit, "/"):
			return "", false // a template with a directory of its own
		}
	}
	return "/tmp/tmp.hermes-mktemp", true
}

// assignNested walks code nested in an assignment's value or subscript.
func (w *walker) assignNested(as *syntax.Assign) {
	w.arith(as.Index)
	w.word(as.Value)
	if as.Array != nil {
		for _, e := range as.Array.Elems {
			w.arith(e.Index)
			w.word(e.Value)
		}
	}
}

// codeVars hold a command line that programs run through a shell.
func codeVars(s string) bool {
	switch s {
	case "GIT_SSH_COMMAND", "GIT_EXTERNAL_DIFF", "GIT_PAGER", "GIT_EDITOR",
		"GIT_SEQUENCE_EDITOR", "GIT_PROXY_COMMAND", "PAGER", "EDITOR",
		"VISUAL", "MANPAGER", "LESSOPEN", "LESSCLOSE", "PROMPT_COMMAND",
		"GIT_ASKPASS", "SSH_ASKPASS", "SUDO_ASKPASS", "RSYNC_RSH", "BROWSER":
		return true
	}
	return false
}

// gatewayApproverVar: the gateway reads who may approve from these
// (gateway/authz); a gateway the agent starts with GATEWAY_ALLOW_ALL_USERS=1
// lets its own curl approve.
func gatewayApproverVar(name string) bool {
	return name == "GATEWAY_ALLOW_ALL_USERS" || strings.HasSuffix(name, "_ALLOWED_USERS")
}

// promptVars are expanded by bash as prompts: PS4 before each command
// traced with set -x, the others in interactive shells.
func promptVars(s string) bool {
	switch s {
	case "PS0", "PS1", "PS2", "PS4":
		return true
	}
	return false
}

// assignRules checks an assignment (prefix or bare) against the rules.
func (w *walker) assignRules(st *syntax.Stmt, as *syntax.Assign) {
	if as.Name == nil {
		return
	}
	name := as.Name.Value
	var val arg
	if as.Value != nil {
		val = w.evalWord(as.Value)
	} else {
		val = arg{static: true}
	}
	w.checkAssign(name, val, as.Value, as)
	if val.static && as.Value != nil {
		// x='a[$(cmd)]' is inert until x is evaluated as arithmetic
		// ($((x)), (( x )), [[ x -eq 1 ]], declare -i), which runs cmd.
		if i := strings.IndexByte(val.s, '['); i > 0 && syntax.ValidName(val.s[:i]) {
			w.subscriptCode(val.s, as.Value)
		}
	}
}

// checkAssign applies the variable rules to NAME=value (also used for
// export, declare, env NAME=value).
func (w *walker) checkAssign(name string, val arg, valWord *syntax.Word, at syntax.Node) {
	switch {
	case strings.HasPrefix(name, "HERMES_YOLO"), strings.HasPrefix(name, "HERMES_APPROVALS"), name == "HERMES_HOME":
		w.emitNode(RuleSelfDisableEnv, "sets "+name+", which changes or disables Hermes approvals", at)
	case name == "HERMES_SESSION_ID":
		// Session approvals and yolo belong to a session id: a command
		// that picks one borrows another session's yes (read from the
		// audit log, say).
		w.emitNode(RuleSelfDisableEnv, "sets HERMES_SESSION_ID, which picks whose session approvals and yolo apply", at)
	case gatewayApproverVar(name):
		w.emitNode(RuleSelfDisableEnv, "sets "+name+", which decides who may approve commands at the gateway", at)
	case name == "HISTFILE" && (!val.static || val.s == "/dev/null" || val.s == ""),
		(name == "HISTSIZE" || name == "HISTFILESIZE" || name == "SAVEHIST") && (!val.static || val.s == "0" || val.s == ""):
		w.emitNode(RuleHistoryDisable, "sets "+name+" so that commands are not recorded in the shell history", at)
	case name == "LD_PRELOAD" || name == "LD_AUDIT":
		w.emitNode(RulePreloadInjection, name+" makes every program load a library of the caller's choice", at)
	case name == "BASH_ENV" || name == "ENV":
		w.emitNode(RuleDynamicCode, name+" makes every non-interactive shell run a file first", at)
	case commandTableVar(name):
		w.emitNode(RuleDynamicCommandName, commandTableReason(name), at)
	case promptVars(name) && valWord != nil:
		// bash expands a prompt (PS4 before every command traced with
		// set -x) as a here-document body: $(...) and `...` in it run.
		if val.static {
			if strings.ContainsAny(val.s, "$`") && w.depth < maxDepth {
				text := ": <<HERMES_PROMPT_EOF\n" + val.s + "\nHERMES_PROMPT_EOF\n"
				w.child(text, valWord).script(text, "the "+name+" prompt")
			}
		} else {
			w.emitNode(RuleDynamicCode, name+" is a prompt bash expands (running any command substitution in it); its value is not known statically", at).opaque = true
		}
	case codeVars(name) && valWord != nil:
		if val.static {
			if strings.TrimSpace(val.s) != "" && w.depth < maxDepth {
				w.child(val.s, valWord).script(val.s, "the "+name+" command")
			}
		} else {
			// The program that runs it (less, xdg-open, git...) executes
			// it, and that exec is checked.
			w.emitNode(RuleDynamicCode, name+" holds a command line that is not known statically", at).seenAtExec().opaque = true
		}
	}
}

// decl handles export/declare/local/readonly/typeset.
func (w *walker) decl(st *syntax.Stmt, d *syntax.DeclClause) {
	variant := ""
	if d.Variant != nil {
		variant = d.Variant.Value
	}
	// declare -x exports as export does; declare -n makes a name another
	// variable (declare -n t=BASH_CMDS; t[ls]=/bin/rm).
	// declare -p (typeset -p, local -p) only prints the names it is given
	// (bash ignores the other attributes then): a name not known
	// statically sets nothing (Codex's shell snapshot runs `declare -xp
	// "$name"` for every exported variable). export -p and readonly -p
	// still assign (`export -p X=1` sets X).
	exports, nameref, printOnly := variant == "export", false, false
	for _, as := range d.Args {
		w.assignNested(as)
		if as.Naked && as.Name == nil && as.Value != nil {
			if o := w.evalWord(as.Value); o.static && len(o.s) > 1 && o.s[0] == '-' {
				exports = exports || strings.IndexByte(o.s, 'x') > 0
				nameref = nameref || strings.IndexByte(o.s, 'n') > 0
				printOnly = printOnly || strings.IndexByte(o.s, 'p') > 0 && (variant == "declare" || variant == "typeset" || variant == "local")
			}
		}
	}
	for _, as := range d.Args {
		if nameref && as.Value != nil {
			if v := w.evalWord(as.Value); v.static && (strings.Contains(v.s, "BASH_CMDS") || strings.Contains(v.s, "BASH_ALIASES")) {
				w.emitNode(RuleDynamicCommandName, "makes a name reference to "+v.s+", bash's table of what a command name runs: a name in it can run any program", as)
			}
		}
		if as.Naked && as.Name == nil && as.Value != nil {
			// A quoted name such as 'a[$(cmd)]' is still evaluated.
			if a := w.evalWord(as.Value); a.static {
				w.subscriptCode(a.s, as.Value)
				name, val, hasEq := strings.Cut(a.s, "=")
				if hasEq && syntax.ValidName(name) {
					w.checkAssign(name, lit(val), nil, as)
				}
			} else if name, ok := leadingName(as.Value); ok {
				// declare "x=$v": the name is known, the value not.
				w.checkAssign(name, arg{}, nil, as)
			} else if !printOnly {
				// declare "$n=..." may set BASH_CMDS or a Hermes setting.
				w.emitNode(RuleDynamicCommandName, variant+" sets a variable whose name is not known statically: it may be bash's command table (BASH_CMDS) or a Hermes setting", as)
			}
			continue
		}
		if as.Name == nil {
			continue
		}
		if as.Naked {
			if exports && (strings.HasPrefix(as.Name.Value, "HERMES_YOLO") || strings.HasPrefix(as.Name.Value, "HERMES_APPROVALS") || as.Name.Value == "HERMES_HOME" || as.Name.Value == "HERMES_SESSION_ID" || gatewayApproverVar(as.Name.Value)) {
				w.emitNode(RuleSelfDisableEnv, "exports "+as.Name.Value+", which changes or disables Hermes approvals", as)
			}
			if variant == "local" || variant == "declare" || variant == "typeset" {
				delete(w.vars, as.Name.Value)
			}
			continue
		}
		w.assignRules(st, as)
		w.track(st, as)
	}
}

// commandTableVar reports bash's command and alias tables: an entry set in
// BASH_CMDS runs that file under the name (`BASH_CMDS[ls]=/bin/rm; ls -rf
// DIR` is rm), one in BASH_ALIASES is an alias the walk never saw.
func commandTableVar(name string) bool {
	return name == "BASH_CMDS" || name == "BASH_ALIASES"
}

func commandTableReason(name string) string {
	return "sets " + name + ", bash's table of what a command name runs: a name in it can run any program"
}

// leadingName is the variable name a word such as "x=$v" or 'a[1]'=$v
// starts with: its literal text up to the first '=' or '[', when that
// text comes before anything expanded.
func leadingName(wd *syntax.Word) (string, bool) {
	if wd == nil {
		return "", false
	}
	var b strings.Builder
	for _, p := range wd.Parts {
		var text string
		switch p := p.(type) {
		case *syntax.Lit:
			text = p.Value
		case *syntax.SglQuoted:
			text = p.Value
		case *syntax.DblQuoted:
			if len(p.Parts) == 0 {
				continue
			}
			l, ok := p.Parts[0].(*syntax.Lit)
			if !ok {
				return "", false
			}
			text = l.Value
			if len(p.Parts) > 1 && !strings.ContainsAny(text, "=[") {
				return "", false
			}
		default:
			return "", false
		}
		if i := strings.IndexAny(text, "=["); i >= 0 {
			b.WriteString(text[:i])
			return b.String(), syntax.ValidName(b.String())
		}
		b.WriteString(text)
	}
	return "", false
}
