package policy

import (
	"bytes"
	"io"
	"runtime"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// A large script is parsed in parts on several cores, and the result is
// the very tree the sequential parse gives (the same nodes, offsets, lines
// and columns), or the sequential parse itself when that cannot be shown.
//
// The script is cut after line breaks into parts P0..Pk. Part i is parsed
// as blank(P0..Pi-1)+Pi: every byte before it replaced by a NUL except
// '\n' (see blankPrefix), so its nodes get the offsets, lines and columns
// they have in the whole text with no rewriting. The parts' statements, in
// order, are the whole text's statements when, at each cut, the parser is
// in its initial state. By induction over the cuts, that holds when each
// part parses (behind its blanked prefix, which the parser reads as empty
// lines: the initial state again) as a whole file:
//   - mvdan.cc/sh fails at end of input on anything left open: a quote,
//     ( { $( ` [[ (( case if for while, a function without a body, a
//     trailing | && || !, and a here-document not closed by its delimiter
//     line ("unclosed here-document"), so a part that parses closes all
//     of them before its end;
//   - the part ends with '\n', so its last token is finished the same way
//     whether more text follows or not;
//   - the line before the cut does not end in a backslash, '\r' or NUL
//     (see cutAllowed);
//   - nothing else carries over a line break at the top level: the parser
//     expands no aliases and keeps no comments (KeepComments(false)), and
//     what a command does when run (exit, shopt) is not parsing.
//
// When a part fails, the cut may have been inside a compound command, or
// the text may not parse at all: the sequential parse is then done, which
// also gives the exact error message. A failed attempt costs the parse of
// a part; the cuts are chosen where a new top-level command most likely
// starts (after a "}" line at column 0, then any line starting at column 0
// with a letter that is not a reserved word closing or continuing a
// compound command; outside quotes and here-documents as quietStarts sees
// them).

// splitMin is the script length from which the parse is split. Below it a
// goroutine and a second parser cost more than they save.
const splitMin = 64 << 10

// maxParts bounds the parts (and goroutines) of one parse.
const maxParts = 4

// parseLarge parses text as parseScript does; a large text is parsed in
// parts on several cores (see above).
func parseLarge(text string) (*syntax.File, error) {
	if !shortcuts || len(text) < splitMin {
		return parseScript(text)
	}
	k := min(runtime.GOMAXPROCS(0), maxParts, len(text)/(splitMin/2))
	if k < 2 {
		return parseScript(text)
	}
	if f, ok := parseSplit(text, splitCuts(text, k)); ok {
		return f, nil
	}
	return parseScript(text)
}

// parseSplit parses text in the parts cuts delimits (offsets just after a
// '\n', increasing). ok=false means the parts' result could not be shown
// to be the sequential parse's; the caller then parses sequentially.
func parseSplit(text string, cuts []int) (*syntax.File, bool) {
	if len(cuts) == 0 {
		return nil, false
	}
	for i, c := range cuts {
		if !cutAllowed(text, c) || i > 0 && c <= cuts[i-1] {
			return nil, false
		}
	}
	type result struct {
		f   *syntax.File
		err error
	}
	parts := len(cuts) + 1
	bounds := append(append([]int{0}, cuts...), len(text))
	blank := blankPrefix(text[:cuts[len(cuts)-1]]) // each part's is a prefix of it
	// parse parses part i. A panic in the parser is not this split's to
	// report: the part counts as failed, and the sequential parse, done
	// instead, fails (or not) as it always did.
	parse := func(i int) (r result) {
		defer func() {
			if recover() != nil {
				r = result{}
			}
		}()
		if i == 0 {
			r.f, r.err = parseScript(text[:bounds[1]])
		} else {
			r.f, r.err = parsePart(blank[:bounds[i]], text[bounds[i]:bounds[i+1]])
		}
		return r
	}
	done := make([]chan result, parts)
	for i := 1; i < parts; i++ {
		done[i] = make(chan result, 1)
		go func(i int) { done[i] <- parse(i) }(i)
	}
	f := &syntax.File{}
	ok := true
	for i := range parts {
		var r result
		if i == 0 {
			r = parse(0)
		} else {
			r = <-done[i]
		}
		if r.err != nil || r.f == nil || len(r.f.Last) != 0 {
			ok = false
			continue
		}
		f.Stmts = append(f.Stmts, r.f.Stmts...)
	}
	if !ok {
		return nil, false
	}
	return f, true
}

// parsePart parses blank+part, blank being the part's blanked prefix.
func parsePart(blank []byte, part string) (*syntax.File, error) {
	p := parserPool.Get().(*syntax.Parser)
	defer parserPool.Put(p)
	return p.Parse(io.MultiReader(bytes.NewReader(blank), strings.NewReader(part)), "")
}

// blankPrefix is s with every byte but '\n' replaced by a NUL. The parser
// drops NULs as it reads them (as bash does) yet counts them in offsets
// and columns, so the prefix is read as empty lines, and faster than
// spaces would be.
func blankPrefix(s string) []byte {
	b := make([]byte, len(s))
	for i := 0; ; {
		j := strings.IndexByte(s[i:], '\n')
		if j < 0 {
			break
		}
		i += j
		b[i] = '\n'
		i++
	}
	return b
}

// cutAllowed checks what parsing the part before a cut cannot: the cut is
// just after a '\n', and the line it ends has no backslash, '\r' or NUL
// before that '\n'. The parser reads "\\\n" and "\\\r\n" as a line
// continuation, which joins the next line to this one, and at the end of
// a part joins nothing; it drops '\r' before '\n' and every NUL, so
// either might put a backslash next to the '\n'.
func cutAllowed(text string, c int) bool {
	if c <= 0 || c >= len(text) || text[c-1] != '\n' {
		return false
	}
	if c >= 2 {
		switch text[c-2] {
		case '\\', '\r', '\x00':
			return false
		}
	}
	return true
}

// splitCuts chooses k-1 cuts, each near an equal share of the text, where
// a top-level command likely starts. Fewer are returned when none is
// found near a share's end; none means no split.
func splitCuts(text string, k int) []int {
	var cuts []int
	prev := 0
	for i := 1; i < k; i++ {
		target := len(text) * i / k
		window := len(text) / (4 * k)
		c := nearCut(text, target, max(prev+1, target-window), min(len(text), target+window))
		if c < 0 {
			continue
		}
		cuts = append(cuts, c)
		prev = c
	}
	return cuts
}

// nearCut returns the likely start of a top-level command closest to
// target within [lo, hi): preferably the line after a "}" line at column
// 0 (the end of a function), else any line at column 0 that starts a
// command; either outside quotes and here-documents as quietStarts sees
// them. -1 if there is none.
func nearCut(text string, target, lo, hi int) int {
	best := [2]int{-1, -1} // per tier
	dist := func(c int) int {
		if c < target {
			return target - c
		}
		return c - target
	}
	for _, c := range quietStarts(text, lo, hi) {
		if !cutAllowed(text, c) || !startsCommand(text[c:]) {
			continue
		}
		tier := 1
		if closesFunction(text, c) {
			tier = 0
		}
		if best[tier] < 0 || dist(c) < dist(best[tier]) {
			best[tier] = c
		}
	}
	if best[0] >= 0 {
		return best[0]
	}
	return best[1]
}

// quietStarts returns the line starts in [lo, hi) that a rough scan of
// text from its start finds outside quotes, backquotes and here-document
// bodies. The scan only chooses where to try a cut (a wrong guess costs a
// refused split, never a wrong tree): it knows '...', "...", $'...',
// backslash escapes, comments and here-documents, not $( ) or ${ }.
func quietStarts(text string, lo, hi int) []int {
	var out []int
	var hdocs []string // delimiters of here-documents whose bodies follow this line
	// skip returns the next byte at or after i that is q or, when esc,
	// a backslash; hi if none.
	skip := func(i int, q byte, esc bool) int {
		if !esc {
			if j := strings.IndexByte(text[i:hi], q); j >= 0 {
				return i + j
			}
			return hi
		}
		for ; i < hi && text[i] != q && text[i] != '\\'; i++ {
		}
		return i
	}
	for i := 0; i < hi; i++ {
		for ; i < hi && !quietPlainSet[text[i]]; i++ {
		}
		if i >= hi {
			break
		}
		switch q := text[i]; q {
		case '\\':
			i++
		case '\'':
			esc := i > 0 && text[i-1] == '$' // $'...' knows backslash escapes
			for i = skip(i+1, q, esc); i < hi && text[i] == '\\'; i = skip(i+2, q, esc) {
			}
		case '"', '`':
			for i = skip(i+1, q, true); i < hi && text[i] == '\\'; i = skip(i+2, q, true) {
			}
		case '#':
			if i == 0 || strings.IndexByte(" \t\n;&|()", text[i-1]) >= 0 { // a comment, to the line's end
				i = skip(i, '\n', false) - 1
			}
		case '<':
			if d, n := hdocDelim(text[i:hi]); n > 0 {
				hdocs = append(hdocs, d)
				i += n - 1
			}
		case '\n':
			i++
			for _, d := range hdocs {
				i = skipHdocBody(text, i, hi, d)
			}
			hdocs = hdocs[:0]
			if i >= lo && i < hi {
				out = append(out, i)
			}
			i--
		}
	}
	return out
}

// quietPlainSet are the bytes quietStarts stops at outside quotes (static
// data: nothing runs at start-up).
var quietPlainSet = [256]bool{'\\': true, '\'': true, '"': true, '`': true, '#': true, '<': true, '\n': true}

// hdocDelim reads a here-document operator at the start of s (<<WORD,
// <<-WORD, quoted or escaped), returning its delimiter and the bytes it
// spans; n=0 when s does not start with one (<<< is a here-string).
func hdocDelim(s string) (delim string, n int) {
	if !strings.HasPrefix(s, "<<") || strings.HasPrefix(s, "<<<") {
		return "", 0
	}
	i := 2
	if i < len(s) && s[i] == '-' {
		i++
	}
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	var d strings.Builder
	for i < len(s) {
		switch b := s[i]; b {
		case ' ', '\t', '\n', ';', '&', '|', '<', '>', '(', ')':
			return d.String(), i
		case '\'', '"':
			j := strings.IndexByte(s[i+1:], b)
			if j < 0 {
				return "", 0
			}
			d.WriteString(s[i+1 : i+1+j])
			i += j + 2
		case '\\':
			if i+1 < len(s) {
				d.WriteByte(s[i+1])
			}
			i += 2
		default:
			d.WriteByte(b)
			i++
		}
	}
	return d.String(), i
}

// skipHdocBody returns the offset after the line equal to delim (leading
// tabs allowed, for <<-) at or after i, or hi if none is found before hi.
func skipHdocBody(text string, i, hi int, delim string) int {
	for i < hi {
		j := strings.IndexByte(text[i:hi], '\n')
		if j < 0 {
			return hi
		}
		if strings.TrimLeft(text[i:i+j], "\t") == delim {
			return i + j + 1
		}
		i += j + 1
	}
	return hi
}

// closesFunction reports whether the line ending just before c is "}"
// (trailing blanks allowed).
func closesFunction(text string, c int) bool {
	line := text[:c-1]
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	return strings.TrimRight(line, " \t") == "}"
}

// startsCommand reports whether a line (s from its start) starts at column
// 0 with a letter or '_', and its first word is not a reserved word that
// closes or continues a compound command.
func startsCommand(s string) bool {
	if s == "" {
		return false
	}
	b := s[0]
	if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_') {
		return false
	}
	end := strings.IndexAny(s, " \t\n;&|()<>")
	if end < 0 {
		end = len(s)
	}
	switch s[:end] {
	case "fi", "done", "esac", "else", "elif", "then", "do", "in":
		return false
	}
	return true
}
