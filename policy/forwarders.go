package policy

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Argument-forwarding functions. Agents' start-up scripts define helpers
// that run their arguments, such as Codex's shell snapshot:
//
//	snap_cmd() { if command -v "$1" >/dev/null; then "$@"; else command -p "$@"; fi; }
//	opts=$(set -o | snap_cmd awk '$2=="on"{print $1}')
//
// The "$@" in the body is a dynamic command name, but what it runs is
// known at every call: the call's own arguments. So a function whose body
// runs "$@" as a command (directly, or after command, command -p or exec)
// is a forwarder: its "$@" is not reported where it is defined, and each
// call `f ARGS...` is classified as the simple command ARGS..., the way
// `command ARGS...` is. A call whose arguments are dynamic is reported at
// the call.
//
// Not when the text can export functions (export -f, declare -fx, set -a,
// set -o allexport, ...): an exported forwarder reaches child shells
// (`bash -c 'f rm -rf /'`), whose text is classified without knowing f.
// The test is on the raw text, quoted strings included: a false alarm
// only brings back the old answer (the "$@" is reported).

// declWords are the commands that can give a function the export
// attribute; set can turn on allexport. Compiled on first use: only a
// function that forwards its arguments asks.
var declWords = regexpMust(`\b(export|declare|typeset|readonly|local|set)\b[^\n;|&]*`)

// exportsFunctions reports text that may give functions the export
// attribute: export -f, declare (typeset, local, readonly) with both f
// and x among its flags, set -a / set -o allexport.
func exportsFunctions(text string) bool {
	for _, seg := range declWords.FindAllString(text, -1) {
		fields := strings.Fields(seg)
		var flags string
		for _, f := range fields[1:] {
			if strings.HasPrefix(f, "-") || strings.HasPrefix(f, "+") {
				flags += f[1:]
			}
		}
		switch fields[0] {
		case "export":
			if strings.Contains(flags, "f") {
				return true
			}
		case "set":
			if strings.Contains(flags, "a") || strings.Contains(seg, "allexport") {
				return true
			}
		default:
			if strings.Contains(flags, "f") && strings.Contains(flags, "x") {
				return true
			}
		}
	}
	return false
}

// isAllArgs reports whether w is exactly "$@".
func isAllArgs(w *syntax.Word) bool {
	if w == nil || len(w.Parts) != 1 {
		return false
	}
	dq, ok := w.Parts[0].(*syntax.DblQuoted)
	if !ok || len(dq.Parts) != 1 {
		return false
	}
	pe, ok := dq.Parts[0].(*syntax.ParamExp)
	return ok && pe.Param != nil && pe.Param.Value == "@" && !pe.Excl && !pe.Length && !pe.Width &&
		pe.Index == nil && pe.Slice == nil && pe.Repl == nil && pe.Exp == nil && pe.Names == 0
}

// runsAllArgs reports whether body runs "$@" as a command somewhere.
func runsAllArgs(body *syntax.Stmt) bool {
	found := false
	syntax.Walk(body, func(n syntax.Node) bool {
		call, ok := n.(*syntax.CallExpr)
		if !ok || found {
			return !found
		}
		args := call.Args
		for len(args) > 0 {
			switch args[0].Lit() {
			case "command", "exec":
				args = args[1:]
				if len(args) > 0 && args[0].Lit() == "-p" {
					args = args[1:]
				}
				continue
			}
			break
		}
		if len(args) > 0 && isAllArgs(args[0]) {
			found = true
		}
		return !found
	})
	return found
}

// isForwarder decides, at a function's definition, whether it forwards.
func (w *walker) isForwarder(body *syntax.Stmt) bool {
	// "$@" has an @ in the body's text; most bodies have none, and are
	// not walked for it.
	if t := nodeText(w.src, body); shortcuts && t != "" && !strings.Contains(t, "@") {
		return false
	}
	return runsAllArgs(body) && !exportsFunctions(w.src)
}

func (w *walker) setForwarder(name string) {
	if w.forwarders == nil {
		w.forwarders = map[string]bool{}
	}
	w.forwarders[name] = true
}
