package policy

import (
	"errors"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// userRule is an allowlist or deny entry: an argv prefix.
type userRule struct {
	entry string
	words []string // words[0] is a normalised program name
}

// compileUserRule parses an entry as shell words. Only a single simple
// command of static words is accepted: anything else would make the
// entry's meaning depend on run-time state.
func compileUserRule(entry string) (userRule, error) {
	if strings.TrimSpace(entry) == "" {
		return userRule{}, errors.New("empty entry")
	}
	f, err := parseScript(entry)
	if err != nil {
		return userRule{}, err
	}
	if len(f.Stmts) != 1 {
		return userRule{}, errors.New("must be one command's words, without ; or newlines")
	}
	st := f.Stmts[0]
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(st.Redirs) > 0 || st.Background || st.Negated || len(call.Assigns) > 0 || len(call.Args) == 0 {
		return userRule{}, errors.New("must be plain words (no operators, redirections or assignments)")
	}
	w := newWalker(nil, entry, 0)
	var words []string
	for _, wd := range call.Args {
		a := w.evalWord(wd)
		if !a.static || a.glob {
			return userRule{}, errors.New("word " + nodeText(entry, wd) + " is not a static literal")
		}
		words = append(words, a.s)
	}
	words[0] = progName(words[0])
	return userRule{entry: entry, words: words}, nil
}

// allowMatches returns the allowlist entry that matches the level (or
// one of its views) with static words only.
func (c *Classifier) allowMatches(l levelInfo) (string, bool) {
	if c == nil || l.name == "" {
		return "", false
	}
	for _, u := range c.allow {
		for _, v := range levelViews(l) {
			if m, sure := matchPrefix(u.words, v, l.name); m && sure {
				return u.entry, true
			}
		}
	}
	return "", false
}

// denyMatches reports the first deny entry that matches the level (sure)
// or might match because a needed word is not static (!sure).
func (c *Classifier) denyMatches(l levelInfo) (entry string, sure, ok bool) {
	if c == nil {
		return "", false, false
	}
	var maybe string
	for _, u := range c.deny {
		for _, v := range levelViews(l) {
			m, s := matchPrefix(u.words, v, l.name)
			if m && s {
				return u.entry, true, true
			}
			if m && maybe == "" {
				maybe = u.entry
			}
		}
	}
	if maybe != "" {
		return maybe, false, true
	}
	return "", false, false
}

func levelViews(l levelInfo) [][]arg {
	return append([][]arg{l.argv}, l.views...)
}

// matchPrefix matches rule words against an argv. name is the normalised
// program name ("" when the command word is not static). It returns
// (matches, sure): sure=false means it matches only if dynamic words turn
// out to have the needed values. A dynamic word that may split (unquoted
// $x, "$@") can stand for any number of words.
func matchPrefix(words []string, argv []arg, name string) (bool, bool) {
	if len(argv) == 0 {
		return false, false
	}
	type state struct{ wi, ai int }
	sure := true
	// Program name: normalised on both sides.
	first := argv[0]
	switch {
	case name != "" && first.static && !first.fromVar:
		if name != words[0] {
			return false, false
		}
	default:
		sure = false
		if first.split {
			// May expand to several words, covering any prefix.
			return true, false
		}
	}
	var rec func(wi, ai int) (bool, bool)
	seen := map[state]bool{}
	rec = func(wi, ai int) (bool, bool) {
		if wi == len(words) {
			return true, true
		}
		if ai == len(argv) {
			return false, false
		}
		st := state{wi, ai}
		if seen[st] {
			return false, false
		}
		seen[st] = true
		a := argv[ai]
		if a.static && !a.findItem && !a.fromStdin {
			if a.s == words[wi] {
				return rec(wi+1, ai+1)
			}
			return false, false
		}
		// A dynamic word: exactly one unknown word, or when it may
		// split, any number of words.
		if m, _ := rec(wi+1, ai+1); m {
			return true, false
		}
		if a.split || a.fromStdin {
			for k := wi; k <= len(words); k++ {
				if m, _ := rec(k, ai+1); m {
					return true, false
				}
			}
		}
		return false, false
	}
	m, s := rec(1, 1)
	return m, s && sure
}
