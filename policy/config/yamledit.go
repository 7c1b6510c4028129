package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// document is config.yaml prepared for an allowlist edit.
//
// An edit is made on the text, not by re-encoding the YAML tree: the YAML
// library drops blank lines and re-indents everything, and config.yaml is a
// file the user maintains by hand. The tree only says where to splice. Every
// spliced result is parsed again and checked to mean exactly the old
// document with the new allowlist; if the splice cannot be made or fails
// that check (an exotic layout), the edit falls back to re-encoding the
// tree, which keeps the comments but not the spacing, and is checked the
// same way.
type document struct {
	src          []byte
	root         *yaml.Node // top-level mapping; nil for an empty document
	approvalsKey *yaml.Node
	approvals    *yaml.Node // value of approvals:, nil when absent
	allowKey     *yaml.Node
	allow        *yaml.Node // value of approvals.allowlist, nil when absent
}

// parseDoc parses src and locates approvals.allowlist. A YAML error names
// its line; so does an allowlist that is not a list of strings, since
// editing it would mean guessing.
func parseDoc(src []byte) (*document, error) {
	d := &document{src: src}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var top yaml.Node
	if err := dec.Decode(&top); err != nil && !errors.Is(err, io.EOF) {
		return nil, fromYAML(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{Line: extra.Line, Msg: "config.yaml holds several YAML documents; only one is supported"}
	} else if !errors.Is(err, io.EOF) {
		return nil, fromYAML(err)
	}
	if len(top.Content) == 0 || absent(top.Content[0]) {
		return d, nil
	}
	root := top.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Line: root.Line, Msg: "the top level of config.yaml must be a mapping (key: value lines)"}
	}
	d.root = root
	d.approvalsKey, d.approvals = lookup(root, "approvals")
	if d.approvals == nil || absent(d.approvals) {
		return d, nil
	}
	if d.approvals.Kind != yaml.MappingNode {
		return nil, &Error{Line: d.approvals.Line, Msg: "approvals: want a mapping, not a " + kindName(resolve(d.approvals).Kind)}
	}
	d.allowKey, d.allow = lookup(d.approvals, "allowlist")
	if d.allow == nil || absent(d.allow) {
		return d, nil
	}
	if d.allow.Kind != yaml.SequenceNode {
		return nil, &Error{Line: d.allow.Line, Msg: "approvals.allowlist: want a list, not a " + kindName(resolve(d.allow).Kind)}
	}
	for _, it := range d.allow.Content {
		if it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
			return nil, &Error{Line: it.Line, Msg: "approvals.allowlist: each entry must be a string"}
		}
	}
	return d, nil
}

// lookup finds key in a mapping node; a duplicated key is left for the
// final check to reject.
func lookup(m *yaml.Node, key string) (k, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// allowlist is the current list, trimmed as Load trims it.
func (d *document) allowlist() []string {
	if d.allow == nil || d.allow.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]string, 0, len(d.allow.Content))
	for _, it := range d.allow.Content {
		out = append(out, strings.TrimSpace(it.Value))
	}
	return out
}

// append returns the new file text with news added to the allowlist.
func (d *document) append(news []string) ([]byte, error) {
	want := append(d.allowlist(), news...)
	if out, ok := d.spliceAppend(news); ok && d.verify(out, want) == nil {
		return out, nil
	}
	return d.reencode(want)
}

// remove returns the new file text without the entries in gone.
func (d *document) remove(gone map[string]bool) ([]byte, error) {
	var want []string
	for _, e := range d.allowlist() {
		if !gone[e] {
			want = append(want, e)
		}
	}
	if out, ok := d.spliceRemove(gone); ok && d.verify(out, want) == nil {
		return out, nil
	}
	return d.reencode(want)
}

// reencode edits the tree and encodes it again: the fallback that keeps
// comments and meaning but not the original spacing.
func (d *document) reencode(want []string) ([]byte, error) {
	var top yaml.Node
	if err := yaml.Unmarshal(d.src, &top); err != nil {
		return nil, fromYAML(err)
	}
	if len(top.Content) == 0 {
		top = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	root := top.Content[0]
	if absent(root) {
		*root = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", HeadComment: root.HeadComment, FootComment: root.FootComment}
	}
	_, ap := lookup(root, "approvals")
	if ap == nil {
		ap = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "approvals"}, ap)
	} else if absent(ap) {
		*ap = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", LineComment: ap.LineComment}
	}
	_, al := lookup(ap, "allowlist")
	if al == nil {
		al = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		ap.Content = append(ap.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "allowlist"}, al)
	}
	// Old items keep their nodes, and so their comments and quoting.
	keep := map[string][]*yaml.Node{}
	for _, it := range al.Content {
		k := strings.TrimSpace(it.Value)
		keep[k] = append(keep[k], it)
	}
	*al = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", LineComment: al.LineComment, HeadComment: al.HeadComment}
	for _, e := range want {
		if old := keep[e]; len(old) > 0 {
			al.Content = append(al.Content, old[0])
			keep[e] = old[1:]
			continue
		}
		al.Content = append(al.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: e})
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(d.indent())
	if err := enc.Encode(&top); err != nil {
		return nil, fmt.Errorf("re-encoding config.yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("re-encoding config.yaml: %w", err)
	}
	if err := d.verify(buf.Bytes(), want); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// indent guesses the file's indentation step from the first nested block
// mapping, so that a re-encoded file still looks like the user's.
func (d *document) indent() int {
	if d.root != nil {
		for i := 0; i+1 < len(d.root.Content); i += 2 {
			k, v := d.root.Content[i], d.root.Content[i+1]
			if v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && v.Line > k.Line {
				if n := v.Column - k.Column; n >= 2 && n <= 8 {
					return n
				}
			}
		}
	}
	return 2
}

// verify checks that out means the original document with the allowlist
// replaced by want, and nothing else changed.
func (d *document) verify(out []byte, want []string) error {
	var before, after any
	if err := yaml.Unmarshal(d.src, &before); err != nil {
		return fromYAML(err)
	}
	if err := yaml.Unmarshal(out, &after); err != nil {
		return fmt.Errorf("internal error: edited config.yaml does not parse: %v", err)
	}
	if _, err := parseDoc(out); err != nil {
		return fmt.Errorf("internal error: edited config.yaml: %v", err)
	}
	got, afterRest := splitAllowlist(after)
	_, beforeRest := splitAllowlist(before)
	if !equalStrings(got, want) {
		return fmt.Errorf("internal error: edited allowlist is %q, want %q", got, want)
	}
	if !reflect.DeepEqual(beforeRest, afterRest) {
		return errors.New("internal error: the edit changed more than the allowlist")
	}
	return nil
}

// splitAllowlist takes approvals.allowlist out of a decoded document and
// returns it with the rest; an approvals section left empty is removed, so
// that adding the section to a file without one compares equal.
func splitAllowlist(doc any) ([]string, any) {
	if doc == nil {
		doc = map[string]any{} // an empty file is an empty mapping
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, doc
	}
	rest := make(map[string]any, len(m))
	for k, v := range m {
		rest[k] = v
	}
	var list []string
	if ap, ok := m["approvals"].(map[string]any); ok {
		apRest := make(map[string]any, len(ap))
		for k, v := range ap {
			if k == "allowlist" {
				if items, ok := v.([]any); ok {
					for _, it := range items {
						list = append(list, strings.TrimSpace(fmt.Sprint(it)))
					}
				}
				continue
			}
			apRest[k] = v
		}
		if len(apRest) == 0 {
			delete(rest, "approvals")
		} else {
			rest["approvals"] = apRest
		}
	} else if m["approvals"] == nil {
		delete(rest, "approvals")
	}
	return list, rest
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
