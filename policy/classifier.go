package policy

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"mvdan.cc/sh/v3/syntax"
)

// Classifier holds the user rules. They do not change after NewClassifier;
// what is worked out from them on first need (the allowlist's index, an
// entry's own findings) is cached safely for concurrent use.
type Classifier struct {
	// allowSrc are the allowlist entries as configured, each known to
	// compile. They are indexed by program name (allowBy) the first time
	// a finding could be allowed, and one program's entries are compiled
	// (allowFor) the first time a command of that program needs them:
	// most commands raise nothing, and a long allowlist then costs only
	// the check that its entries compile.
	allowSrc  []string
	allowOnce sync.Once
	allowFor  sync.Map // program name -> []userRule
	deny      []userRule
	// allowBy and denyBy index the rules by program name: a long
	// allowlist costs a map lookup per command, not a match per entry.
	allowBy, denyBy map[string][]int
	ctx             *pathCtx
	// allowOwn caches, per allowlist entry and set of possible working
	// directories, the findings the entry's own words raise (see
	// allowCovers). Worked out the first time the entry matches, so a
	// long allowlist costs nothing per command.
	allowOwn sync.Map // ownKey -> map[ownFinding]bool
	// allowOwnN counts allowOwn's keys: a long-lived classifier (the
	// exec checks' supervisor) sees working directories without end, so
	// past maxOwnCached the findings are worked out again each time.
	allowOwnN atomic.Int64
	// execChecked and deferPrograms: Rules.ExecChecked and
	// Rules.DeferPrograms.
	execChecked, deferPrograms bool
}

// NewClassifier compiles the user's rules; an entry that does not parse as
// shell words, or is empty, is an error naming the entry.
func NewClassifier(r Rules) (*Classifier, error) {
	c := &Classifier{ctx: newPathCtx(r.Context), execChecked: r.ExecChecked || r.DeferPrograms, deferPrograms: r.DeferPrograms}
	for _, e := range r.Allowlist {
		if plainEntry(e) {
			continue // compiles: plain words (plainWords)
		}
		if _, err := parseUserRule(e); err != nil {
			return nil, fmt.Errorf("approvals.allowlist entry %q: %w", e, err)
		}
	}
	c.allowSrc = r.Allowlist
	for _, e := range r.Deny {
		u, err := compileUserRule(e)
		if err != nil {
			return nil, fmt.Errorf("approvals.deny entry %q: %w", e, err)
		}
		c.deny = append(c.deny, u)
	}
	c.denyBy = indexRules(c.deny)
	return c, nil
}

// allowIndex indexes the allowlist by program name, once. A plain entry's
// program is its first word (plainWords would split it so); another is
// compiled to know it.
func (c *Classifier) allowIndex() {
	c.allowOnce.Do(func() {
		c.allowBy = make(map[string][]int)
		for i, e := range c.allowSrc {
			name := ""
			if plainEntry(e) {
				name = progName(firstWord(e))
			} else if u, err := parseUserRule(e); err == nil {
				name = u.words[0]
			} else {
				continue // compiled in NewClassifier; this would allow nothing
			}
			c.allowBy[name] = append(c.allowBy[name], i)
		}
	})
}

// allowRules returns the compiled allowlist entries for one program, in
// the allowlist's order.
func (c *Classifier) allowRules(name string) []userRule {
	c.allowIndex()
	if r, ok := c.allowFor.Load(name); ok {
		return r.([]userRule)
	}
	var rules []userRule
	for _, i := range c.allowBy[name] {
		if u, err := compileUserRule(c.allowSrc[i]); err == nil {
			rules = append(rules, u)
		}
	}
	r, _ := c.allowFor.LoadOrStore(name, rules)
	return r.([]userRule)
}

// firstWord is an entry's first blank-separated word.
func firstWord(e string) string {
	e = strings.TrimLeft(e, " \t")
	if i := strings.IndexAny(e, " \t"); i >= 0 {
		return e[:i]
	}
	return e
}

// parserPool reuses parsers: allocating one per command costs more than
// classifying a typical command.
var parserPool = sync.Pool{New: func() any {
	return syntax.NewParser(syntax.Variant(syntax.LangBash), syntax.KeepComments(false))
}}

var printerPool = sync.Pool{New: func() any {
	return syntax.NewPrinter(syntax.SingleLine(false))
}}

// parseScript parses bash text with a pooled parser.
func parseScript(text string) (*syntax.File, error) {
	p := parserPool.Get().(*syntax.Parser)
	defer parserPool.Put(p)
	return p.Parse(strings.NewReader(text), "")
}

// Classify parses script as bash and returns the verdict. Safe for
// concurrent use. Never panics: an internal failure is reported as an Ask
// finding instead (fail closed).
func (c *Classifier) Classify(script string) Verdict {
	return c.classify(script, true)
}

// ClassifyNoKey is Classify without the Verdict's Key, for a caller that
// remembers no approval (hermes-exec check): printing a large script's key
// is a third of the work besides parsing it.
func (c *Classifier) ClassifyNoKey(script string) Verdict {
	return c.classify(script, false)
}

func (c *Classifier) classify(script string, withKey bool) (v Verdict) {
	defer func() {
		if r := recover(); r != nil {
			v = internalErrorVerdict(script, r)
		}
	}()
	if !withKey {
		if v, ok := c.classifySplitWalk(script); ok {
			return v
		}
	}
	f, err := parseLarge(script)
	if err != nil {
		w := newWalker(c, script, 0)
		w.emitAt(RuleParseError, "the shell text does not parse ("+err.Error()+"), so what it would run cannot be checked", script, "1:1", nil)
		return w.verdict(script)
	}
	if !withKey {
		w := newWalker(c, script, 0)
		w.file(f)
		return w.verdict("")
	}
	var key <-chan string
	if shortcuts && len(script) >= concurrentKeyMin {
		// Printing a large script's key costs about half as much as
		// walking it; both only read the tree, so on a machine with a
		// second core the key is printed meanwhile.
		k := make(chan string, 1)
		go func() {
			defer func() {
				if recover() != nil {
					k <- "" // as printKey's own failure
				}
			}()
			k <- printKey(f)
		}()
		key = k
	}
	w := newWalker(c, script, 0)
	w.file(f)
	if key != nil {
		return w.verdict(<-key)
	}
	return w.verdict(printKey(f))
}

// concurrentKeyMin is the script length from which the key is printed
// concurrently with the walk (and assignments are counted on two cores);
// for the short commands of the hot path a goroutine costs more than it
// saves.
const concurrentKeyMin = 64 << 10

// shortcuts enables what only makes classification cheaper (the work on
// a second core, text checks that skip a walk); a test turns it off to
// check that the verdicts are the same without.
var shortcuts = true

// ClassifyArgv classifies an argv that will be executed directly (no
// shell), e.g. `hermes-exec run -- git push -f`. argv[0] may be a path.
// `run -- bash -c TEXT` still classifies TEXT.
func (c *Classifier) ClassifyArgv(argv []string) (v Verdict) {
	text := QuoteArgv(argv)
	defer func() {
		if r := recover(); r != nil {
			v = internalErrorVerdict(text, r)
		}
	}()
	w := newWalker(c, text, 0)
	if len(argv) == 0 {
		w.emitAt(RuleParseError, "an empty argv cannot be executed", text, "1:1", nil)
		return w.verdict(text)
	}
	w.simpleArgv(staticArgs(argv), nil, text)
	return w.verdict(text)
}

// QuoteArgv renders argv as shell words a human can read and paste (for
// messages, the audit log and the session key).
func QuoteArgv(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		q, err := syntax.Quote(a, syntax.LangBash)
		if err != nil {
			q = fmt.Sprintf("%q", a)
		}
		parts[i] = q
	}
	return strings.Join(parts, " ")
}

// printKey prints the parsed script in canonical form (comments are not
// kept by the parser), so spacing and comments do not change the key.
func printKey(f *syntax.File) string {
	p := printerPool.Get().(*syntax.Printer)
	defer printerPool.Put(p)
	var b strings.Builder
	if err := p.Print(&b, f); err != nil {
		return ""
	}
	return strings.TrimRight(b.String(), "\n")
}

func internalErrorVerdict(text string, r any) Verdict {
	return Verdict{
		Decision: Ask,
		Findings: []Finding{{
			Rule:        string(RuleInternalError),
			Description: fmt.Sprintf("the classifier failed on this text (%v); asking instead", r),
			Command:     text,
			Pos:         "1:1",
			Decision:    Ask,
		}},
		Key: text,
	}
}

// AllowlistEntry returns the allowlist entry ("always") that would allow
// this finding's command: its static argv quoted as shell words. ok=false
// when the finding has no static Argv, its Decision is Deny, or an entry
// already allows it.
func AllowlistEntry(f Finding) (entry string, ok bool) {
	if len(f.Argv) == 0 || f.Decision == Deny || f.AllowedBy != "" {
		return "", false
	}
	for _, a := range f.Argv {
		if _, err := syntax.Quote(a, syntax.LangBash); err != nil {
			return "", false
		}
	}
	return QuoteArgv(f.Argv), true
}

// ownFinding is a finding as an allowlist entry's own words raise it: its
// rule and its description, which names what the finding is about (the
// path deleted, the file uploaded), so that the same rule raised by
// another word of a longer command is a different ownFinding.
type ownFinding struct{ rule, desc string }

type ownKey struct{ entry, cwds string }

const maxOwnCached = 4096

// allowCovers reports whether the allowlist entry allows finding f of a
// command it matched, run where cwds says: only when the entry's own
// words, classified alone in the same place, raise the same finding. The
// words a longer command adds after the entry's ("git push" + "origin
// main") are allowed as they would be without the entry: what they bring
// in themselves (a credential file uploaded, another deletion target, a
// --force) still asks, because the human allowed the entry's words, not
// them.
func (c *Classifier) allowCovers(entry string, f *finding, cwds []string) bool {
	k := ownKey{entry, strings.Join(cwds, "\x00")}
	own, ok := c.allowOwn.Load(k)
	if !ok {
		fresh := c.ownFindings(entry, cwds)
		if c.allowOwnN.Load() >= maxOwnCached {
			return fresh[ownFinding{f.Rule, f.Description}]
		}
		var loaded bool
		if own, loaded = c.allowOwn.LoadOrStore(k, fresh); !loaded {
			c.allowOwnN.Add(1)
		}
	}
	return own.(map[ownFinding]bool)[ownFinding{f.Rule, f.Description}]
}

// ownFindings classifies an allowlist entry alone, without the user's
// rules, in the working directories given. The findings are taken before
// the verdict folds those of one rule on one command into one, so each
// target of `rm -rf /a /b` counts.
func (c *Classifier) ownFindings(entry string, cwds []string) map[ownFinding]bool {
	own := map[ownFinding]bool{}
	f, err := parseScript(entry)
	if err != nil {
		return own // a compiled entry parses; covering nothing is the safe side
	}
	w := newWalker(&Classifier{ctx: c.ctx}, entry, 0)
	w.cwds = cwds
	w.file(f)
	for _, x := range w.out {
		own[ownFinding{x.Rule, x.Description}] = true
	}
	return own
}
