package shim

import (
	"encoding/base64"
	"encoding/hex"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// A secret need not appear in the command text as it is: quoting can
// split it ("sk-ab""cdef", sk-ab'cd'ef, $'\x73k-abcdef'), and it can sit
// inside an encoded blob (base64 of "user:SECRET" in an Authorization
// header, a hex dump). maskWords masks secrets in the words' values after
// quote removal, as the shell parser (mvdan.cc/sh) gives them, never by
// splitting the text by hand; blobForms finds a secret inside base64 at
// any alignment and in hex.

// quoteChars are what quote removal takes away; text without any holds
// its words' values as they are.
const quoteChars = `'"\`

// mayHideInQuotes is the cheap test before parsing: with the quote
// characters stripped the text must hold a secret (or it uses $'...'
// escapes, or a secret holds a backslash, which stripping would break).
func mayHideInQuotes(s string, values []string) bool {
	if !strings.ContainsAny(s, quoteChars) {
		return false
	}
	if strings.Contains(s, "$'") {
		return true
	}
	stripped := strings.Map(func(r rune) rune {
		if strings.ContainsRune(quoteChars, r) {
			return -1
		}
		return r
	}, s)
	for _, v := range values {
		if len(v) >= minSecretLen && (strings.ContainsAny(v, quoteChars) || strings.Contains(stripped, v)) {
			return true
		}
	}
	return false
}

// maskWords replaces each shell word of s whose value (quotes removed)
// holds one of values with that value, masked. Parts that are not literal
// ($VAR, $(...)) keep their source text, so a secret is never joined
// across them. Text that does not parse is masked as one word, stripped
// of its quote characters.
func maskWords(s string, values []string) string {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(s), "")
	if err != nil {
		stripped := strings.Map(func(r rune) rune {
			if strings.ContainsRune(quoteChars, r) {
				return -1
			}
			return r
		}, s)
		if m := replaceValues(stripped, values); m != stripped {
			return m
		}
		return s
	}
	type repl struct {
		from, to int
		text     string
	}
	var rs []repl
	syntax.Walk(f, func(n syntax.Node) bool {
		w, ok := n.(*syntax.Word)
		if !ok || len(w.Parts) == 0 {
			return true
		}
		val := wordValue(s, w)
		if m := replaceValues(val, values); m != val {
			rs = append(rs, repl{int(w.Pos().Offset()), int(w.End().Offset()), m})
		}
		return true
	})
	if len(rs) == 0 {
		return s
	}
	// Outer words first; a word inside one already replaced is skipped.
	sort.Slice(rs, func(i, j int) bool {
		return rs[i].from < rs[j].from || rs[i].from == rs[j].from && rs[i].to > rs[j].to
	})
	var b strings.Builder
	last := 0
	for _, r := range rs {
		if r.from < last || r.to > len(s) {
			continue
		}
		b.WriteString(s[last:r.from])
		b.WriteString(r.text)
		last = r.to
	}
	b.WriteString(s[last:])
	return b.String()
}

// wordValue is w's value after quote removal: literal parts (plain,
// '...', $'...', "..." without expansions) expanded, the rest as written.
func wordValue(src string, w *syntax.Word) string {
	var b strings.Builder
	for _, p := range w.Parts {
		if literalPart(p) {
			// Fields, not Literal: only Fields removes an unquoted
			// backslash. A part that is not one field (a brace
			// expansion) stays as written.
			if fs, err := expand.Fields(nil, &syntax.Word{Parts: []syntax.WordPart{p}}); err == nil && len(fs) == 1 {
				b.WriteString(fs[0])
				continue
			}
		}
		from, to := int(p.Pos().Offset()), int(p.End().Offset())
		if from <= to && to <= len(src) {
			b.WriteString(src[from:to])
		}
	}
	return b.String()
}

func literalPart(p syntax.WordPart) bool {
	switch p := p.(type) {
	case *syntax.Lit:
		return !strings.HasPrefix(p.Value, "~") // no tilde expansion
	case *syntax.SglQuoted:
		return true
	case *syntax.DblQuoted:
		for _, q := range p.Parts {
			if _, ok := q.(*syntax.Lit); !ok {
				return false
			}
		}
		return true
	}
	return false
}

// blobForms are forms of v found inside longer encoded data: the base64
// characters that only v's bytes determine, at each of the three byte
// alignments and in both alphabets, and hex in both cases. Where one is
// found, maskBlobs masks the whole run of encoding characters around it.
func blobForms(v string) []string { return forms.get(v).blob }

func encodedBlobForms(v string) []string {
	var out []string
	for k := 0; k < 3; k++ {
		buf := make([]byte, k+len(v))
		copy(buf[k:], v)
		enc := base64.RawStdEncoding.EncodeToString(buf)
		from, to := (8*k+5)/6, 8*(k+len(v))/6
		if to-from < minSecretLen {
			continue
		}
		core := enc[from:to]
		out = append(out, core)
		if u := strings.NewReplacer("+", "-", "/", "_").Replace(core); u != core {
			out = append(out, u)
		}
	}
	h := hex.EncodeToString([]byte(v))
	return append(out, h, strings.ToUpper(h))
}

// isBlobByte is a character of base64 (either alphabet) or hex.
func isBlobByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_' || c == '='
}

// maskBlobs masks every run of encoding characters that holds a blob form
// of one of values.
func maskBlobs(s string, values []string) string {
	var spans [][2]int
	for _, v := range values {
		if len(v) < minSecretLen {
			continue
		}
		for _, form := range blobForms(v) {
			for off := 0; ; {
				i := strings.Index(s[off:], form)
				if i < 0 {
					break
				}
				from, to := off+i, off+i+len(form)
				for from > 0 && isBlobByte(s[from-1]) {
					from--
				}
				for to < len(s) && isBlobByte(s[to]) {
					to++
				}
				spans = append(spans, [2]int{from, to})
				off = to
			}
		}
	}
	if len(spans) == 0 {
		return s
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		if sp[0] < last {
			if sp[1] > last {
				last = sp[1]
			}
			continue
		}
		b.WriteString(s[last:sp[0]])
		b.WriteString(mask)
		last = sp[1]
	}
	b.WriteString(s[last:])
	return b.String()
}
