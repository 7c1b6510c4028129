package policy

import (
	"errors"
	"strings"

	"hermes-exec/internal/bytetab"

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
	if words, ok := plainWords(entry); ok {
		words[0] = progName(words[0])
		return userRule{entry: entry, words: words}, nil
	}
	return parseUserRule(entry)
}

// parseUserRule is compileUserRule through the shell parser, for every
// entry plainWords does not take.
func parseUserRule(entry string) (userRule, error) {
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

// plainWords splits an entry made only of words the shell takes
// literally: characters with no meaning to bash's parser or expansions,
// separated by blanks, and a first word that is neither an assignment nor
// a word the parser treats specially. Such an entry means its words as
// written, so the parser (which costs more than matching, for a long
// allowlist on every command) is not needed. ok is false for anything
// else, which then goes through the parser.
func plainWords(entry string) ([]string, bool) {
	var words []string
	start := -1
	for i := 0; i <= len(entry); i++ {
		if i == len(entry) || entry[i] == ' ' || entry[i] == '\t' {
			if start >= 0 {
				words = append(words, entry[start:i])
				start = -1
			}
			continue
		}
		if !plainByte(entry[i]) {
			return nil, false
		}
		if start < 0 {
			start = i
		}
	}
	if len(words) == 0 || strings.IndexByte(words[0], '=') >= 0 || specialFirstWord(words[0]) {
		return nil, false
	}
	return words, true
}

// plainEntry reports whether plainWords takes the entry, without
// splitting it: what NewClassifier checks of each entry up front.
func plainEntry(entry string) bool {
	// Every byte a word's or a blank: one table look-up a byte, eight at
	// a time (this runs over the whole allowlist on every command).
	if !bytetab.None(entry, &notWordOrBlank) {
		return false
	}
	i := 0
	for i < len(entry) && (entry[i] == ' ' || entry[i] == '\t') {
		i++
	}
	start := i
	// The first word ends at a blank and has no '='.
	for ; i < len(entry); i++ {
		if c := firstWordStop[entry[i]]; c != 0 {
			if c == stopAssign {
				return false
			}
			break
		}
	}
	return i > start && !specialFirstWord(entry[start:i])
}

// notWordOrBlank marks the bytes that are neither plainBytes nor the
// blanks between words.
var notWordOrBlank = func() (t bytetab.Table) {
	for b := range t {
		if !plainBytes[b] && b != ' ' && b != '\t' {
			t[b] = 1
		}
	}
	return t
}()

// firstWordStop marks what ends the first word of a plain entry (of bytes
// notWordOrBlank passed): a blank, or '=' (an assignment, not a program).
var firstWordStop = [256]uint8{' ': stopBlank, '\t': stopBlank, '=': stopAssign}

const (
	stopBlank = 1 + iota
	stopAssign
)

// plainByte: letters, digits and punctuation bash gives no meaning in a
// word (no quoting, expansion, globbing, brace, tilde, comment, operator
// or history character).
func plainByte(b byte) bool { return plainBytes[b] }

var plainBytes = func() (t [256]bool) {
	for b := 0; b < 256; b++ {
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
			t[b] = true
		}
	}
	for _, b := range []byte("_./:@%+,-=") {
		t[b] = true
	}
	return t
}()

// specialFirstWord reports command words the parser reads as syntax
// rather than a program (reserved words and the declaration builtins it
// parses as clauses of their own). A switch, not a map: it is asked once
// per allowlist entry on every command.
func specialFirstWord(w string) bool {
	switch w {
	case "if", "then", "else", "elif", "fi", "case", "esac",
		"for", "select", "while", "until", "do", "done", "in",
		"function", "time", "coproc", "let", "declare", "local",
		"export", "readonly", "typeset", "nameref":
		return true
	}
	return false
}

// candidates returns the indices of the rules that can match a level
// whose views all start with the static program name: only rules for that
// name. nil, all=true when some view's program word is not static (a
// dynamic word may be any program, so every rule must be tried).
func candidates(l levelInfo, by map[string][]int) (idx []int, all bool) {
	if l.name == "" {
		return nil, true
	}
	for _, v := range levelViews(l) {
		if len(v) == 0 {
			continue
		}
		if !v[0].static || v[0].fromVar {
			return nil, true
		}
	}
	return by[l.name], false
}

// indexRules maps each program name to its rules' indices, in order.
func indexRules(rules []userRule) map[string][]int {
	by := make(map[string][]int)
	for i, u := range rules {
		by[u.words[0]] = append(by[u.words[0]], i)
	}
	return by
}

// allowMatchesAll returns the allowlist entries that match the level (or
// one of its views) with static words only, in the allowlist's order.
func (c *Classifier) allowMatchesAll(l levelInfo) []string {
	if c == nil || l.name == "" || len(c.allowSrc) == 0 {
		return nil
	}
	var out []string
	// Only a rule for the level's program can match for sure (matchPrefix
	// compares the normalised names), so only those are tried.
	for _, u := range c.allowRules(l.name) {
		for _, v := range levelViews(l) {
			if m, sure := matchPrefix(u.words, v, l.name); m && sure {
				out = append(out, u.entry)
				break
			}
		}
	}
	return out
}

// denyMatches reports the first deny entry that matches the level (sure)
// or might match because a needed word is not static (!sure).
func (c *Classifier) denyMatches(l levelInfo) (entry string, sure, ok bool) {
	if c == nil || len(c.deny) == 0 {
		return "", false, false
	}
	var maybe string
	idx, all := candidates(l, c.denyBy)
	for k := 0; ; k++ {
		var u userRule
		if all {
			if k == len(c.deny) {
				break
			}
			u = c.deny[k]
		} else {
			if k == len(idx) {
				break
			}
			u = c.deny[idx[k]]
		}
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
