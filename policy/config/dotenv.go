package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"hermes-exec/internal/safefs"
)

// DotEnvNames lists, in order of first appearance, the variable names a .env
// file (such as $HERMES_HOME/.env) defines. It reads the same shapes as
// python-dotenv, which Hermes uses: KEY=value, export KEY=value, comments,
// blank lines, and quoted values that may span lines. Only names are
// returned: the values are secrets and the caller needs to know which
// variables to keep away from commands, not what they hold. Lines that are
// not assignments are skipped, as python-dotenv skips them. A missing file
// gives nil and no error; a file that safefs.ReadFile refuses (a link
// another user owns, a dangling link, a FIFO, more than MaxDotEnvSize) is
// an error, since without its names the secrets it defines could leak.
func DotEnvNames(path string) ([]string, error) {
	data, err := safefs.ReadFile(path, MaxDotEnvSize, os.Geteuid())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dotenv: %w", err)
	}
	var names []string
	seen := map[string]bool{}
	eachAssignment(string(data), func(name, _ string) {
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	})
	return names, nil
}

// eachAssignment calls fn for every NAME=value line of a .env file's text,
// in order: blank lines, comments and lines that are not assignments are
// skipped, "export " is dropped, and a quoted value left open on its line
// continues, newlines included, through the line holding the closing quote
// (or to the end of the text), so that a multi-line value's contents are
// never read as assignments of their own. value is as written: quotes and
// escapes are the caller's to interpret.
func eachAssignment(s string, fn func(name, value string)) {
	for len(s) > 0 {
		var line string
		line, s = cutLine(s)
		t := strings.TrimLeft(line, " \t")
		if t == "" || t[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(t, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			t = strings.TrimLeft(rest, " \t")
		}
		name, value, ok := splitAssignment(t)
		if !ok {
			continue
		}
		if q := openQuote(value); q != 0 {
			i := closes(s, q)
			if i < 0 {
				value += "\n" + s
				s = ""
			} else {
				value += "\n" + s[:i+1]
				_, s = cutLine(s[i:])
			}
		}
		fn(name, value)
	}
}

func cutLine(s string) (line, rest string) {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSuffix(s[:i], "\r"), s[i+1:]
	}
	return strings.TrimSuffix(s, "\r"), ""
}

// splitAssignment splits "NAME = value" where NAME is a valid variable name.
func splitAssignment(t string) (name, value string, ok bool) {
	i := 0
	for i < len(t) && isNameByte(t[i], i == 0) {
		i++
	}
	if i == 0 {
		return "", "", false
	}
	name = t[:i]
	rest := strings.TrimLeft(t[i:], " \t")
	if rest == "" || rest[0] != '=' {
		return "", "", false
	}
	return name, strings.TrimLeft(rest[1:], " \t"), true
}

func isNameByte(c byte, first bool) bool {
	switch {
	case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		return true
	case '0' <= c && c <= '9', c == '.':
		return !first
	}
	return false
}

// openQuote returns the quote character when value starts a quoted string
// that this line does not close, else 0.
func openQuote(value string) byte {
	if value == "" || (value[0] != '"' && value[0] != '\'') {
		return 0
	}
	q := value[0]
	if closes(value[1:], q) >= 0 {
		return 0
	}
	return q
}

// closes returns the index of the closing quote q in s, or -1. Inside
// double quotes a backslash escapes the next character.
func closes(s string, q byte) int {
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

// DotEnv reads the values a .env file assigns (the same shapes as
// DotEnvNames; the last assignment of a name wins, as python-dotenv does).
// Quotes around a value are removed; in double quotes \n, \" and \\ are
// unescaped. The gateway reads its allowlists (GATEWAY_ALLOWED_USERS, ...)
// and bridge tokens here. A missing file gives nil and no error.
func DotEnv(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dotenv: %w", err)
	}
	vals := map[string]string{}
	eachAssignment(string(data), func(name, value string) {
		vals[name] = dotenvValue(value)
	})
	return vals, nil
}

// dotenvValue strips quotes (and an unquoted value's trailing comment).
func dotenvValue(v string) string {
	if v == "" {
		return ""
	}
	switch q := v[0]; q {
	case '"', '\'':
		end := closes(v[1:], q)
		if end < 0 {
			return v[1:]
		}
		inner := v[1 : 1+end]
		if q == '"' {
			inner = strings.NewReplacer(`\n`, "\n", `\"`, `"`, `\\`, `\`).Replace(inner)
		}
		return inner
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimRight(v, " \t")
}
