package config

import (
	"encoding/json"
	"strings"

	"go.yaml.in/yaml/v3"
)

// splitLines splits text into lines that keep their "\n".
func splitLines(src []byte) []string {
	ls := strings.SplitAfter(string(src), "\n")
	if n := len(ls); n > 0 && ls[n-1] == "" {
		ls = ls[:n-1]
	}
	return ls
}

func joinLines(ls []string) []byte {
	return []byte(strings.Join(ls, ""))
}

// insertAt inserts add before line index i, making sure the line before
// ends with a newline.
func insertAt(ls []string, i int, add ...string) []string {
	if i > 0 && !strings.HasSuffix(ls[i-1], "\n") {
		ls[i-1] += "\n"
	}
	out := make([]string, 0, len(ls)+len(add))
	out = append(out, ls[:i]...)
	out = append(out, add...)
	return append(out, ls[i:]...)
}

func indentOf(l string) int {
	return len(l) - len(strings.TrimLeft(l, " "))
}

func blank(l string) bool { return strings.TrimSpace(l) == "" }

// render writes one entry as a YAML scalar on one line: plain when YAML
// allows, quoted otherwise. JSON's quoting is valid YAML and is the last
// resort for anything the encoder would spread over lines.
func render(e string) string {
	out, err := yaml.Marshal(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: e})
	s := strings.TrimSuffix(string(out), "\n")
	if err != nil || strings.Contains(s, "\n") {
		j, _ := json.Marshal(e)
		return string(j)
	}
	return s
}

// renderFlow writes a one-line flow sequence such as [git push, "a: b"].
func renderFlow(items []string) string {
	parts := make([]string, len(items))
	for i, e := range items {
		parts[i] = render(e)
		// A plain scalar holding a flow indicator would be cut by it.
		if strings.ContainsAny(parts[i], ",[]{}") && parts[i][0] != '"' && parts[i][0] != '\'' {
			j, _ := json.Marshal(e)
			parts[i] = string(j)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func seqLines(indent int, entries []string) []string {
	pad := strings.Repeat(" ", indent)
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = pad + "- " + render(e) + "\n"
	}
	return out
}

// itemEnd is the index of the last line of a block sequence item that
// starts at line index start: following lines indented deeper than the
// dash belong to it (a continued or block scalar).
func itemEnd(ls []string, start, dashIndent int) int {
	end := start
	for j := start + 1; j < len(ls); j++ {
		if blank(ls[j]) {
			continue
		}
		if indentOf(ls[j]) <= dashIndent {
			break
		}
		end = j
	}
	return end
}

// emptyValueLine reports whether key's line holds nothing after "key:"
// but white space or a comment, so that lines can be added under it.
func emptyValueLine(ls []string, key *yaml.Node) bool {
	if key.Style != 0 || key.Line < 1 || key.Line > len(ls) {
		return false
	}
	l := ls[key.Line-1]
	i := key.Column - 1 + len(key.Value)
	if i > len(l) {
		return false
	}
	rest := strings.TrimLeft(l[i:], " \t")
	if !strings.HasPrefix(rest, ":") {
		return false
	}
	rest = strings.TrimSpace(rest[1:])
	return rest == "" || rest[0] == '#'
}

// flowRange finds a flow sequence that starts at node n and ends on the
// same line; it returns the line index and the byte range of "[...]".
func flowRange(ls []string, n *yaml.Node) (line, from, to int, ok bool) {
	line, from = n.Line-1, n.Column-1
	if line < 0 || line >= len(ls) || from >= len(ls[line]) || ls[line][from] != '[' {
		return 0, 0, 0, false
	}
	l := ls[line]
	var quote byte
	depth := 0
	for i := from; i < len(l); i++ {
		c := l[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
			if depth == 0 {
				return line, from, i + 1, true
			}
		}
	}
	return 0, 0, 0, false
}

// spliceAppend adds entries by inserting lines into the original text.
// ok is false when the layout is not one it knows; the caller then
// re-encodes.
func (d *document) spliceAppend(news []string) (out []byte, ok bool) {
	ls := splitLines(d.src)
	switch {
	case d.allow != nil && d.allow.Kind == yaml.SequenceNode && d.allow.Style&yaml.FlowStyle != 0:
		line, from, to, ok := flowRange(ls, d.allow)
		if !ok {
			return nil, false
		}
		l := ls[line]
		ls[line] = l[:from] + renderFlow(append(d.allowlist(), news...)) + l[to:]
		return joinLines(ls), true

	case d.allow != nil && d.allow.Kind == yaml.SequenceNode && len(d.allow.Content) > 0:
		dash := d.allow.Column - 1
		last := d.allow.Content[len(d.allow.Content)-1]
		end := itemEnd(ls, last.Line-1, dash)
		return joinLines(insertAt(ls, end+1, seqLines(dash, news)...)), true

	case d.allow != nil && absent(d.allow):
		if !emptyValueLine(ls, d.allowKey) {
			return nil, false
		}
		return joinLines(insertAt(ls, d.allowKey.Line, seqLines(d.allowKey.Column-1+2, news)...)), true

	case d.allow != nil:
		return nil, false // an empty block sequence cannot be written; re-encode

	case d.approvals != nil && d.approvals.Kind == yaml.MappingNode:
		if d.approvals.Style&yaml.FlowStyle != 0 || len(d.approvals.Content) == 0 || d.approvals.Line <= d.approvalsKey.Line {
			return nil, false
		}
		ind := d.approvals.Column - 1
		add := append([]string{strings.Repeat(" ", ind) + "allowlist:\n"}, seqLines(ind+2, news)...)
		return joinLines(insertAt(ls, d.approvalsKey.Line, add...)), true

	case d.approvals != nil && absent(d.approvals):
		if !emptyValueLine(ls, d.approvalsKey) {
			return nil, false
		}
		ind := d.approvalsKey.Column - 1 + 2
		add := append([]string{strings.Repeat(" ", ind) + "allowlist:\n"}, seqLines(ind+2, news)...)
		return joinLines(insertAt(ls, d.approvalsKey.Line, add...)), true

	case d.approvals != nil:
		return nil, false

	default: // no approvals section: add one at the end
		if d.root != nil && (d.root.Style&yaml.FlowStyle != 0 || d.root.Column != 1) {
			return nil, false
		}
		add := append([]string{"approvals:\n", "  allowlist:\n"}, seqLines(4, news)...)
		return joinLines(insertAt(ls, len(ls), add...)), true
	}
}

// spliceRemove deletes the lines of the removed entries.
func (d *document) spliceRemove(gone map[string]bool) (out []byte, ok bool) {
	if d.allow == nil || d.allow.Kind != yaml.SequenceNode {
		return nil, false
	}
	ls := splitLines(d.src)
	if d.allow.Style&yaml.FlowStyle != 0 {
		line, from, to, ok := flowRange(ls, d.allow)
		if !ok {
			return nil, false
		}
		var keep []string
		for _, e := range d.allowlist() {
			if !gone[e] {
				keep = append(keep, e)
			}
		}
		l := ls[line]
		ls[line] = l[:from] + renderFlow(keep) + l[to:]
		return joinLines(ls), true
	}
	dash := d.allow.Column - 1
	drop := make([]bool, len(ls))
	for _, it := range d.allow.Content {
		if !gone[strings.TrimSpace(it.Value)] {
			continue
		}
		start := it.Line - 1
		// The item must begin its own line with its dash, or deleting
		// the line would take something else with it.
		if start < 0 || start >= len(ls) || indentOf(ls[start]) != dash || !strings.HasPrefix(ls[start][dash:], "-") {
			return nil, false
		}
		for j := start; j <= itemEnd(ls, start, dash); j++ {
			drop[j] = true
		}
	}
	kept := ls[:0:0]
	for i, l := range ls {
		if !drop[i] {
			kept = append(kept, l)
		}
	}
	return joinLines(kept), true
}
