package policy

import (
	"path"
	"strings"
	"unicode"

	"mvdan.cc/sh/v3/syntax"
)

// A dangerous program reached under another identity: through the
// dynamic loader, or as a copy or link made earlier on the same line.

func init() {
	register(loaderRule, loaderNames...)
}

// loaderNames are the usual names of the dynamic loader, which runs the
// program named by its first operand (`/lib64/ld-linux-x86-64.so.2 /bin/rm`).
var loaderNames = []string{"ld-linux-x86-64.so.2", "ld-linux.so.2", "ld-linux-aarch64.so.1", "ld-linux-armhf.so.3",
	"ld-linux-riscv64-lp64d.so.1", "ld64.so.1", "ld64.so.2", "ld.so", "ld-musl-x86_64.so.1", "ld-musl-aarch64.so.1",
	"ld-musl-armhf.so.1", "ld-linux-x32.so.2"}

// isLoader also accepts other architectures' spellings of the names.
func isLoader(name string) bool {
	return strings.HasPrefix(name, "ld") && (strings.HasPrefix(name, "ld-linux") || strings.HasPrefix(name, "ld-musl") ||
		strings.HasPrefix(name, "ld64.so") || name == "ld.so")
}

// loaderArg are the loader's options that take a value.
func loaderArg(s string) bool {
	switch s {
	case "--library-path", "--inhibit-rpath", "--audit", "--preload",
		"--argv0", "--glibc-hwcaps-prepend", "--glibc-hwcaps-mask":
		return true
	}
	return false
}

// unwrapLoader returns the program the loader runs; --list and --verify
// only inspect it.
func unwrapLoader(args []arg) []arg {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !a.static || !strings.HasPrefix(a.s, "--") {
			return nonEmpty(args[i:])
		}
		if a.is("--list", "--verify", "--help", "--version", "--list-tunables", "--list-diagnostics") {
			return nil
		}
		if a.s == "--" {
			return nonEmpty(args[i+1:])
		}
		if loaderArg(a.s) {
			i++
		}
	}
	return nil
}

// loaderRule: --preload and --audit load a library into the program, as
// LD_PRELOAD does.
func loaderRule(c *cmd) {
	for _, a := range c.args() {
		if a.is("--preload", "--audit") || a.static && (strings.HasPrefix(a.s, "--preload=") || strings.HasPrefix(a.s, "--audit=")) {
			c.emit(RulePreloadInjection, c.name+" "+a.s+" injects a library into the program it runs")
			return
		}
		if a.static && !strings.HasPrefix(a.s, "-") {
			return
		}
	}
}

// programDirs hold installed programs; a copy or link of one of them is
// that program under a new name.
var programDirs = []string{"/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/", "/usr/local/bin/", "/usr/local/sbin/",
	"/opt/homebrew/bin/", "/usr/libexec/", "/snap/bin/"}

// programOf names the program a copy or link source is: an installed
// program's path, or $(which NAME) / $(command -v NAME).
func (w *walker) programOf(a arg) string {
	if a.static {
		if prog, ok := w.copiedProgram(a.s); ok {
			return prog
		}
		for _, d := range programDirs {
			if strings.HasPrefix(a.s, d) {
				return progName(a.s)
			}
		}
		return ""
	}
	if len(a.substs) == 1 && len(a.substs[0].Stmts) == 1 {
		if call, ok := a.substs[0].Stmts[0].Cmd.(*syntax.CallExpr); ok && len(call.Args) >= 2 {
			words := make([]string, 0, len(call.Args))
			for _, wd := range call.Args {
				words = append(words, wd.Lit())
			}
			switch {
			case (words[0] == "which" || words[0] == "type") && len(words) == 2 && words[1] != "":
				return progName(words[1])
			case words[0] == "command" && len(words) == 3 && words[1] == "-v" && words[2] != "":
				return progName(words[2])
			}
		}
	}
	return ""
}

// noteProgramCopy remembers that dest now is the program src names (cp,
// ln, install of /bin/rm to ./del), by its paths and its base name, so
// that running it later on the line is judged as that program.
func (w *walker) noteProgramCopy(src, dest arg) {
	prog := w.programOf(src)
	if prog == "" || !dest.static || dest.s == "" {
		return
	}
	if w.progCopies == nil {
		w.progCopies = map[string]string{}
	}
	for _, p := range w.paths(dest) {
		w.progCopies[p] = prog
		if base := path.Base(p); base != prog {
			w.progCopies[base] = prog
		}
	}
}

// copiedProgram is the program a command word names when this line made
// it a copy or link of another program.
func (w *walker) copiedProgram(word string) (string, bool) {
	if len(w.progCopies) == 0 {
		return "", false
	}
	if !strings.Contains(word, "/") {
		p, ok := w.progCopies[word]
		return p, ok
	}
	for _, p := range w.paths(lit(word)) {
		if prog, ok := w.progCopies[p]; ok {
			return prog, true
		}
	}
	return "", false
}

// lookalikeWord reports an argument that imitates ASCII: Latin letters
// mixed with Cyrillic or Greek ones in one word (--forcе), fullwidth
// forms (／, －rf), dashes or slashes that only look like - and /.
// Text in one non-Latin script (a Russian commit message) is not.
func lookalikeWord(s string) bool {
	latin, other := false, false
	for i, r := range s {
		switch {
		case r < 0x80:
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
				latin = true
			}
		case r >= 0xff01 && r <= 0xff5e: // fullwidth ASCII
			return true
		case r == 0x2215 || r == 0x2044 || r == 0x29f8 || r == 0x2571: // slash look-alikes
			return true
		case (r >= 0x2010 && r <= 0x2015 || r == 0x2212 || r == 0xfe58 || r == 0xfe63) && i == 0:
			return true // a dash-like start: an option in disguise
		case unicode.Is(unicode.Cyrillic, r) || unicode.Is(unicode.Greek, r) || unicode.Is(unicode.Armenian, r):
			other = true
		}
	}
	return latin && other
}

// lookalikeRule: look-alike characters in an argument (the command word
// is checked by commandName).
func lookalikeRule(c *cmd) {
	for _, a := range c.args() {
		if !a.static || !hasNonASCII(a.s) {
			continue
		}
		for _, f := range strings.Fields(a.s) {
			if lookalikeWord(f) {
				c.emit(RuleUnicodeLookalike, c.name+" has an argument with look-alike characters ("+quoteShort(f)+"), which can pass for another word")
				return
			}
		}
	}
}
