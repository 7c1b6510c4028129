package secretstore

import (
	"fmt"
	"strings"
)

// Entry is one NAME=value of a .env file.
type Entry struct {
	Name  string
	Value string
}

// ValidName reports whether name can be a variable of the environment:
// [A-Za-z_][A-Za-z0-9_]*.
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// ParseDotenv reads the shapes python-dotenv reads (Hermes loads .env with
// it): NAME=value, export NAME=value, # comments, blank lines, 'single'
// quotes (literal), "double" quotes (with \n, \t, \", \\ escapes) that may
// span lines, and unquoted values ending at " #". A later definition of a
// name replaces an earlier one. Unlike python-dotenv, a line that is not
// an assignment is an error naming its line: this parser reads the file
// the user edits with `secrets edit`, and a typo must not silently drop a
// secret.
func ParseDotenv(text string) ([]Entry, error) {
	var out []Entry
	index := map[string]int{}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		no := i + 1
		t := strings.TrimSpace(lines[i])
		if t == "" || t[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(t, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			t = strings.TrimSpace(rest)
		}
		name, rest, ok := strings.Cut(t, "=")
		name = strings.TrimSpace(name)
		if !ok || !ValidName(name) {
			return nil, fmt.Errorf("line %d: want NAME=value", no)
		}
		v := strings.TrimLeft(rest, " \t")
		var value string
		switch {
		case strings.HasPrefix(v, "'") || strings.HasPrefix(v, `"`):
			q := v[0]
			body := v[1:]
			for {
				end := closing(body, q)
				if end >= 0 {
					if tail := strings.TrimSpace(body[end+1:]); tail != "" && tail[0] != '#' {
						return nil, fmt.Errorf("line %d: text after the closing quote", no)
					}
					value = body[:end]
					break
				}
				if i+1 >= len(lines) {
					return nil, fmt.Errorf("line %d: the quote is never closed", no)
				}
				i++
				body += "\n" + lines[i]
			}
			if q == '"' {
				value = unescape(value)
			}
		default:
			if j := strings.Index(v, " #"); j >= 0 {
				v = v[:j]
			}
			value = strings.TrimSpace(v)
		}
		if k, ok := index[name]; ok {
			out[k].Value = value
			continue
		}
		index[name] = len(out)
		out = append(out, Entry{name, value})
	}
	return out, nil
}

func closing(s string, q byte) int {
	for i := 0; i < len(s); i++ {
		if q == '"' && s[i] == '\\' {
			i++
			continue
		}
		if s[i] == q {
			return i
		}
	}
	return -1
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '"', '\\', '\'':
			b.WriteByte(s[i])
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// FormatDotenv writes entries as NAME="value" lines that ParseDotenv (and
// python-dotenv) read back exactly.
func FormatDotenv(entries []Entry) string {
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.Name)
		b.WriteString(`="`)
		for _, c := range []byte(e.Value) {
			switch c {
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteString("\"\n")
	}
	return b.String()
}
