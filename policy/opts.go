package policy

import "strings"

// optSpec describes a program's command-line options well enough to tell
// options from operands. Letters in short take no value; letters in
// shortArg take one (attached or as the next word). Long options may be
// abbreviated to any unambiguous prefix, as getopt_long allows.
type optSpec struct {
	short    string
	shortArg string
	long     []string
	longArg  []string
	// posix stops option parsing at the first operand (wrappers such as
	// sudo or timeout, whose operands are a command and its own options).
	posix bool
	// numeric accepts -NUM as an option (kill -9, head -20, nice -10).
	numeric bool
}

// opt is one parsed option.
type opt struct {
	names []string // candidate names ("-f", "--force"); several when ambiguous
	val   arg      // the value, when the option takes one
	hasV  bool
}

// parsedArgs is a command line split into options and operands.
type parsedArgs struct {
	opts     []opt
	operands []arg
	// rest is the index in the input where operands start in posix mode.
	rest int
	// dashdash is true when "--" was seen.
	dashdash bool
}

// has reports whether any option matches one of the names.
func (p *parsedArgs) has(names ...string) bool {
	for _, o := range p.opts {
		for _, n := range o.names {
			for _, want := range names {
				if n == want {
					return true
				}
			}
		}
	}
	return false
}

// value returns the value of the last option matching one of the names.
func (p *parsedArgs) value(names ...string) (arg, bool) {
	var v arg
	found := false
	for _, o := range p.opts {
		for _, n := range o.names {
			for _, want := range names {
				if n == want && o.hasV {
					v, found = o.val, true
				}
			}
		}
	}
	return v, found
}

// values returns every value of the options matching the names.
func (p *parsedArgs) values(names ...string) []arg {
	var out []arg
	for _, o := range p.opts {
		if !o.hasV {
			continue
		}
	outer:
		for _, n := range o.names {
			for _, want := range names {
				if n == want {
					out = append(out, o.val)
					break outer
				}
			}
		}
	}
	return out
}

// parseOpts splits args (without the program name) per spec.
func parseOpts(args []arg, spec *optSpec) *parsedArgs {
	p := &parsedArgs{rest: len(args)}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if p.dashdash || !a.static || len(a.s) < 2 || a.s[0] != '-' {
			if spec.posix && !p.dashdash {
				p.rest = i
				p.operands = append(p.operands, args[i:]...)
				return p
			}
			p.operands = append(p.operands, a)
			continue
		}
		s := a.s
		if s == "--" {
			p.dashdash = true
			if spec.posix {
				p.rest = i + 1
				p.operands = append(p.operands, args[i+1:]...)
				return p
			}
			continue
		}
		if strings.HasPrefix(s, "--") {
			name, val, hasEq := strings.Cut(s[2:], "=")
			cands, takesArg := matchLong(name, spec)
			o := opt{names: cands}
			if hasEq {
				o.val, o.hasV = lit(val), true
				if a.word != nil {
					o.val.word = a.word
				}
			} else if takesArg && i+1 < len(args) {
				i++
				o.val, o.hasV = args[i], true
			}
			p.opts = append(p.opts, o)
			continue
		}
		if spec.numeric && isDigits(s[1:]) {
			p.opts = append(p.opts, opt{names: []string{s}})
			continue
		}
		// A bundle of short options: -rf, -n10, -o file.
		for j := 1; j < len(s); j++ {
			ch := s[j]
			name := "-" + string(ch)
			if strings.IndexByte(spec.shortArg, ch) >= 0 {
				o := opt{names: []string{name}, hasV: true}
				if j+1 < len(s) {
					o.val = lit(s[j+1:])
				} else if i+1 < len(args) {
					i++
					o.val = args[i]
				} else {
					o.hasV = false
				}
				p.opts = append(p.opts, o)
				break
			}
			p.opts = append(p.opts, opt{names: []string{name}})
		}
	}
	return p
}

// matchLong resolves a (possibly abbreviated) long option name. An
// ambiguous abbreviation returns every candidate so that checks for a
// dangerous option fail closed.
func matchLong(name string, spec *optSpec) ([]string, bool) {
	for _, l := range spec.longArg {
		if l == name {
			return []string{"--" + l}, true
		}
	}
	for _, l := range spec.long {
		if l == name {
			return []string{"--" + l}, false
		}
	}
	var cands []string
	takes := false
	for _, l := range spec.longArg {
		if strings.HasPrefix(l, name) {
			cands = append(cands, "--"+l)
			takes = true
		}
	}
	for _, l := range spec.long {
		if strings.HasPrefix(l, name) {
			cands = append(cands, "--"+l)
		}
	}
	if len(cands) == 0 {
		return []string{"--" + name}, false
	}
	// Only trust "takes an argument" when every candidate agrees.
	if takes && len(cands) > 1 {
		for _, c := range cands {
			found := false
			for _, l := range spec.longArg {
				if "--"+l == c {
					found = true
				}
			}
			if !found {
				takes = false
			}
		}
	}
	return cands, takes
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// shortBundleHas reports whether a static word is a short-option bundle
// (like -fdx) containing one of the letters; value-taking letters in
// stopAt end the bundle.
func shortBundleHas(a arg, letters, stopAt string) bool {
	if !a.static || len(a.s) < 2 || a.s[0] != '-' || a.s[1] == '-' {
		return false
	}
	for j := 1; j < len(a.s); j++ {
		if strings.IndexByte(letters, a.s[j]) >= 0 {
			return true
		}
		if strings.IndexByte(stopAt, a.s[j]) >= 0 {
			return false
		}
	}
	return false
}
