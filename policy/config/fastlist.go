package config

import (
	"strings"

	"hermes-exec/internal/bytetab"

	"go.yaml.in/yaml/v3"
)

// A long approvals.allowlist ("Always" adds a line each time) is most of
// config.yaml, and the YAML library builds a node per entry: with 10,000
// entries that was two thirds of a command's cost. Its usual shape is
//
//	approvals:
//	  allowlist:          # comment
//	    - git push        # comment
//	    - rm -rf ./build
//
// fastAllowlist reads that shape itself and hands the library the file
// with those item lines blanked (so every line keeps its number for the
// errors of the rest); the library's tree of the rest then proves that the
// key it read is approvals.allowlist in block style, with nothing else
// under it. Anything else, or any doubt (quotes, tabs, a continued line,
// a value the library would read as null or a mapping, non-ASCII text),
// is left to the library: reading the whole file the old way is always
// correct, only slower. A broken file always goes the old way, so its
// error is the library's own.

// fastList is the allowlist read from data.
type fastList struct {
	rest  []byte   // data without the item lines, for the library
	items []string // the entries, as stringList would give them
	line  int      // 1-based line of the allowlist: key
	col   int      // 1-based column of it
}

// scanAllowlist finds approvals.allowlist written as a block sequence of
// single-line plain scalars. ok is false for any other shape. One pass,
// items are substrings of data: the point is to cost little per entry
// (data is the file as read, not a copy).
func scanAllowlist(src string) (fl fastList, ok bool) {
	// line returns the end (without "\n") of the line starting at p and
	// the start of the next.
	line := func(p int) (end, next int) {
		if i := strings.IndexByte(src[p:], '\n'); i >= 0 {
			return p + i, p + i + 1
		}
		return len(src), len(src)
	}
	keyAt, k, lineNo := -1, 0, 0
	inApprovals := false
	p := 0
	for p < len(src) {
		end, next := line(p)
		lineNo++
		ind, rest, blank := lineShape(src[p:end])
		p = next
		if blank {
			continue
		}
		if ind == 0 {
			inApprovals = keyLine(rest, "approvals")
			continue
		}
		if inApprovals && keyLine(rest, "allowlist") {
			keyAt, k = lineNo, ind
			break
		}
	}
	if keyAt < 0 {
		return fastList{}, false
	}
	j := -1
	dash := "" // once j is known: j spaces and "- ", how every item starts
	items := make([]string, 0, strings.Count(src[p:], "\n")+1)
	// The item lines, and the blank and comment lines among them, are one
	// region [from, to) that the library does not get.
	from, to := -1, -1
	for p < len(src) {
		end, next := line(p)
		ln := src[p:end]
		// The usual item: the dash at the list's column, one blank, and a
		// value with no byte that needs plainItem's closer look. This is
		// what plainItem returns for it, found with one table look-up a
		// byte and no branch per byte.
		if len(ln) > len(dash) && dash != "" && ln[:len(dash)] == dash {
			if v := ln[len(dash):]; usualItem(v) {
				items = append(items, v)
				to, p = end, next
				continue
			}
		}
		ind, rest, blank := lineShape(ln)
		if blank {
			// A comment among the items goes with them: it must be
			// one the library would take as just a comment.
			if !inert(rest) {
				return fastList{}, false
			}
			p = next
			continue
		}
		if len(rest) >= 2 && rest[0] == '-' && rest[1] == ' ' {
			if j < 0 {
				if ind < k {
					return fastList{}, false
				}
				j, from = ind, p
				dash = src[p : p+j+2]
			}
			if ind != j {
				return fastList{}, false
			}
			v, ok := plainItem(rest[2:])
			if !ok {
				return fastList{}, false
			}
			items = append(items, v)
			to = end
			p = next
			continue
		}
		// The first line that is not an item ends the list: a key of
		// the enclosing mappings. Anything more indented could continue
		// the last item, and a "-" could be an item the library reads
		// differently: the library decides those.
		if ind > k || rest[0] == '-' {
			return fastList{}, false
		}
		break
	}
	if len(items) == 0 {
		return fastList{}, false
	}
	// The library reads the file without the region: the lines before it
	// keep their numbers, which is all keyFound needs, and an error or a
	// bad value anywhere sends decode the old way, whose messages have
	// the file's own numbers. What follows the region is a key at the
	// list's indentation or less, or nothing, so without the region the
	// library reads the same null for allowlist: and the same rest.
	out := make([]byte, 0, from+len(src)-to)
	out = append(out, src[:from]...)
	out = append(out, src[to:]...)
	return fastList{rest: out, items: items, line: keyAt, col: k + 1}, true
}

// usualItem reports that v (what follows "- ") is a value plainItem
// returns as it is: it starts with no blank or indicator, ends with no
// blank, is no null, and has no byte that is not printable ASCII, no
// ':' and no '#' (which could start a mapping or a comment).
func usualItem(v string) bool {
	if len(v) == 0 || leadBad[v[0]] != 0 || v[len(v)-1] == ' ' {
		return false
	}
	if !bytetab.None(v, &usualBad) {
		return false
	}
	switch v {
	case "~", "null", "Null", "NULL":
		return false
	}
	return true
}

// usualBad marks the bytes usualItem leaves to plainItem; leadBad the
// first bytes plainItem refuses (an indicator, or a blank, which it would
// trim).
var usualBad, leadBad = func() (bad bytetab.Table, lead [256]uint8) {
	for c := range bad {
		if itemByte[c] != itemPlain && c != ' ' {
			bad[c] = 1
		}
	}
	bad['#'] = 1
	for _, c := range []byte(itemLead + " ") {
		lead[c] = 1
	}
	return bad, lead
}()

// lineShape returns a line's indentation in spaces and the text after it;
// blank is true for an empty or comment-only line.
func lineShape(ln string) (ind int, rest string, blank bool) {
	for ind < len(ln) && ln[ind] == ' ' {
		ind++
	}
	rest = ln[ind:]
	return ind, rest, len(rest) == 0 || rest[0] == '#'
}

// inert reports that text holds no byte the library could read as a line
// break (\r, and NEL, LS and PS in UTF-8) or reject (control characters):
// printable ASCII and tabs only.
func inert(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c >= 0x7f {
			return false
		}
	}
	return true
}

// keyLine reports whether rest is exactly `NAME:`, optionally followed by
// blanks and a comment: a key whose value starts on the next line.
func keyLine(rest, name string) bool {
	if !strings.HasPrefix(rest, name) || len(rest) <= len(name) || rest[len(name)] != ':' {
		return false
	}
	after := rest[len(name)+1:]
	if len(after) == 0 {
		return true
	}
	if after[0] != ' ' {
		return false
	}
	after = strings.TrimLeft(after, " ")
	return len(after) == 0 || after[0] == '#'
}

// plainItem is the value of a sequence item's text when YAML reads it as a
// plain string scalar on its own line, exactly as written (a comment after
// a blank removed, surrounding blanks trimmed); ok is false when it might
// read otherwise.
func plainItem(b string) (string, bool) {
scan:
	for i := 0; i < len(b); i++ {
		switch itemByte[b[i]] {
		case itemPlain:
		case itemBad:
			return "", false
		case itemSpace:
			if i+1 < len(b) && b[i+1] == '#' {
				if !inert(b[i:]) {
					return "", false
				}
				b = b[:i]
				break scan
			}
		case itemColon:
			if i+1 == len(b) || b[i+1] == ' ' {
				return "", false // a mapping
			}
		}
	}
	b = strings.Trim(b, " ")
	if len(b) == 0 || strings.IndexByte(itemLead, b[0]) >= 0 {
		return "", false
	}
	switch b {
	case "~", "null", "Null", "NULL":
		return "", false
	}
	return b, true
}

// itemLead are the first bytes of a plain item YAML could read otherwise.
const itemLead = "-?:,[]{}#&*!|>'\"%@`"

// itemByte classifies the bytes of an item's text for plainItem: one
// table look-up a byte, as this runs over the whole allowlist.
var itemByte = func() (t [256]uint8) {
	for c := range t {
		if c < 0x20 || c > 0x7e {
			t[c] = itemBad
		}
	}
	t[' '], t[':'] = itemSpace, itemColon
	return t
}()

const (
	itemPlain = iota
	itemBad
	itemSpace
	itemColon
)

// decodeFast is decode for a file whose allowlist scanAllowlist read: the
// library reads the rest, and must find the key where the scan did, in
// block mappings, with the null value the blanked lines leave. ok is false
// when it does not (or reports an error), and decode then reads the whole
// file the old way.
func decodeFast(c *Config, data string) (ok bool) {
	fl, ok := scanAllowlist(data)
	if !ok {
		return false
	}
	var root yaml.Node
	if err := yaml.Unmarshal(fl.rest, &root); err != nil {
		return false
	}
	if !fl.keyFound(&root) {
		return false
	}
	var raw rawFile
	if err := root.Decode(&raw); err != nil {
		return false
	}
	try := *c
	if err := raw.apply(&try); err != nil {
		return false
	}
	try.Approvals.Allowlist = fl.items
	*c = try
	return true
}

// keyFound checks the library's tree of the blanked file: document ->
// block mapping -> approvals: block mapping -> allowlist: null, at the
// scanned line and column.
func (fl fastList) keyFound(root *yaml.Node) bool {
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return false
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode || top.Style&yaml.FlowStyle != 0 {
		return false
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value != "approvals" || v.Kind != yaml.MappingNode || v.Style&yaml.FlowStyle != 0 {
			continue
		}
		for m := 0; m+1 < len(v.Content); m += 2 {
			kk, vv := v.Content[m], v.Content[m+1]
			if kk.Kind == yaml.ScalarNode && kk.Style == 0 && kk.Value == "allowlist" && kk.Line == fl.line && kk.Column == fl.col {
				return vv.Kind == yaml.ScalarNode && vv.Tag == "!!null" && vv.Value == "" && vv.Style == 0
			}
		}
	}
	return false
}
