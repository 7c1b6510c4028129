package policy

import (
	"strings"
)

// Programs that run commands they are given in their own syntax: GNU
// parallel's ::: values, expect's spawn/send, a makefile read from stdin.

func init() {
	register(parallelRule, "parallel")
	register(expectRule, "expect")
	register(makeRule, "make", "gmake")
}

// maxParallelValues bounds how many ::: values are followed one by one.
const maxParallelValues = 16

// parallelReplacements are GNU parallel's replacement strings.
var parallelReplacements = []string{"{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}", "{1}", "{2}", "{3}"}

// parallelRule: `parallel CMD ::: A B` runs CMD once per value (with {}
// replaced, or the value appended); without CMD every value is a command
// line of its own.
func parallelRule(c *cmd) {
	p := parseOpts(c.args(), parallelSpec)
	var command, values []arg
	marker, fromFiles := false, false
	for _, a := range p.operands {
		if a.is(":::", ":::+") {
			marker = true
			continue
		}
		if a.is("::::", "::::+") {
			marker, fromFiles = true, true
			continue
		}
		if marker {
			values = append(values, a)
		} else {
			command = append(command, a)
		}
	}
	if !marker {
		return
	}
	if fromFiles {
		values = append(values, arg{fromStdin: true, split: true})
	}
	if len(values) > maxParallelValues {
		values = append(values[:maxParallelValues], arg{fromStdin: true, split: true})
	}
	for _, v := range values {
		if len(command) == 0 {
			c.w.shellText(v, "parallel ::: (a command line per value)", c)
			continue
		}
		inst, replaced := make([]arg, 0, len(command)+1), false
		for _, a := range command {
			if !a.static || !strings.Contains(a.s, "{") {
				inst = append(inst, a)
				continue
			}
			n := a
			for _, r := range parallelReplacements {
				if strings.Contains(n.s, r) {
					replaced = true
					if !v.static {
						n.static, n.fromStdin = false, true
					}
					n.s = strings.ReplaceAll(n.s, r, v.s)
				}
			}
			inst = append(inst, n)
		}
		if !replaced {
			inst = append(inst, v)
		}
		if len(inst) == 1 && inst[0].static && strings.ContainsAny(inst[0].s, " ;|&") {
			c.w.shellText(inst[0], "parallel", c)
			continue
		}
		c.w.subCommand(c, inst, "parallel")
	}
}

// expectRule: expect -c SCRIPT spawns programs (spawn, exec, system) and
// types text into them (send): both are commands this line runs.
func expectRule(c *cmd) {
	args := c.args()
	for i, a := range args {
		if !(a.is("-c") && i+1 < len(args)) {
			continue
		}
		script := args[i+1]
		if !script.static {
			c.emit(RuleDynamicCode, "expect -c runs a script that is not known statically").opaque = true
			return
		}
		for _, line := range splitTclCommands(script.s) {
			word, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
			rest = strings.TrimSpace(rest)
			switch word {
			case "spawn", "exec", "system":
				for strings.HasPrefix(rest, "-") { // spawn -noecho, exec -ignorestderr
					_, rest, _ = strings.Cut(rest, " ")
					rest = strings.TrimSpace(rest)
				}
				c.w.shellText(arg{s: tclUnbrace(rest), static: true, word: script.word}, "expect "+word, c)
			case "send":
				for strings.HasPrefix(rest, "-") {
					_, rest, _ = strings.Cut(rest, " ")
					rest = strings.TrimSpace(rest)
				}
				text := strings.NewReplacer(`\r`, "\n", `\n`, "\n").Replace(tclUnquote(rest))
				c.w.shellText(arg{s: text, static: true, word: script.word}, "expect send (typed into the spawned program)", c)
			}
		}
	}
}

// splitTclCommands splits a Tcl script on newlines and semicolons outside
// quotes and braces (enough for expect one-liners).
func splitTclCommands(s string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			if depth == 0 {
				quoted = !quoted
			}
		case '{':
			if !quoted {
				depth++
			}
		case '}':
			if !quoted && depth > 0 {
				depth--
			}
		case ';', '\n':
			if !quoted && depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// tclUnquote strips one level of Tcl quoting ("..." or {...}).
func tclUnquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '{' && s[len(s)-1] == '}') {
		return s[1 : len(s)-1]
	}
	return s
}

// tclUnbrace turns Tcl's {literal words} into shell single quotes.
func tclUnbrace(s string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '{':
			if depth == 0 {
				b.WriteByte('\'')
			} else {
				b.WriteByte('{')
			}
			depth++
		case s[i] == '}' && depth > 0:
			depth--
			if depth == 0 {
				b.WriteByte('\'')
			} else {
				b.WriteByte('}')
			}
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// makeRule: make -f - (or /dev/stdin, or a process substitution) reads
// the makefile from stdin: its recipes are shell commands this line runs.
func makeRule(c *cmd) {
	args := c.args()
	for i, a := range args {
		var f arg
		switch {
		case a.is("-f", "--file", "--makefile") && i+1 < len(args):
			f = args[i+1]
		case a.static && strings.HasPrefix(a.s, "--file="):
			f = arg{s: a.s[len("--file="):], static: true}
		case a.static && strings.HasPrefix(a.s, "-f") && len(a.s) > 2:
			f = arg{s: a.s[2:], static: true}
		default:
			continue
		}
		in := feed{}
		switch {
		case len(f.procs) > 0:
			in = c.w.feedOfStmts(f.procs[0].Stmts)
		case f.is("-", "/dev/stdin", "/proc/self/fd/0", "/dev/fd/0"):
			in = c.stdin
		default:
			continue
		}
		if in.kind == feedStatic {
			in.text = makefileRecipes(in.text)
		}
		c.w.codeFromFeed(c, in, "sh", "make reading its makefile from stdin")
		return
	}
}

// makefileRecipes extracts the shell commands of a makefile: recipe lines
// (tab-indented, or after "target: ;"), and $(shell ...) calls.
func makefileRecipes(text string) string {
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "\t"):
			line = strings.TrimLeft(line, "\t @-+")
		case strings.Contains(line, ":") && strings.Contains(line, ";"):
			_, line, _ = strings.Cut(line, ";")
		default:
			if i := strings.Index(line, "$(shell "); i >= 0 {
				line = line[i+len("$(shell "):]
				line = strings.TrimSuffix(strings.TrimSpace(line), ")")
			} else {
				continue
			}
		}
		b.WriteString(strings.ReplaceAll(line, "$$", "$"))
		b.WriteByte('\n')
	}
	return b.String()
}
