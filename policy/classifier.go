package policy

import (
	"fmt"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/syntax"
)

// Classifier holds the compiled user rules. It is immutable after
// NewClassifier and safe for concurrent use.
type Classifier struct {
	allow []userRule
	deny  []userRule
	// allowBy and denyBy index the rules by program name: a long
	// allowlist costs a map lookup per command, not a match per entry.
	allowBy, denyBy map[string][]int
	ctx             *pathCtx
}

// NewClassifier compiles the user's rules; an entry that does not parse as
// shell words, or is empty, is an error naming the entry.
func NewClassifier(r Rules) (*Classifier, error) {
	c := &Classifier{ctx: newPathCtx(r.Context)}
	for _, e := range r.Allowlist {
		u, err := compileUserRule(e)
		if err != nil {
			return nil, fmt.Errorf("approvals.allowlist entry %q: %w", e, err)
		}
		c.allow = append(c.allow, u)
	}
	for _, e := range r.Deny {
		u, err := compileUserRule(e)
		if err != nil {
			return nil, fmt.Errorf("approvals.deny entry %q: %w", e, err)
		}
		c.deny = append(c.deny, u)
	}
	c.allowBy, c.denyBy = indexRules(c.allow), indexRules(c.deny)
	return c, nil
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
func (c *Classifier) Classify(script string) (v Verdict) {
	defer func() {
		if r := recover(); r != nil {
			v = internalErrorVerdict(script, r)
		}
	}()
	f, err := parseScript(script)
	if err != nil {
		w := newWalker(c, script, 0)
		w.emitAt(RuleParseError, "the shell text does not parse ("+err.Error()+"), so what it would run cannot be checked", script, "1:1", nil)
		return w.verdict(script)
	}
	var key <-chan string
	if len(script) >= concurrentKeyMin {
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
// concurrently with the walk; for the short commands of the hot path a
// goroutine costs more than it saves.
const concurrentKeyMin = 64 << 10

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
