package shim

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"hermes-exec/internal/credentials"
	"hermes-exec/isolate"
)

// mask replaces a secret in the audit log.
const mask = "***"

// minSecretLen keeps short values out of the secret set: masking "1" or
// "true" everywhere would make the log unreadable and protect nothing.
const minSecretLen = credentials.MinSecretLen

// isSecretName is the environment filter's own rule (isolate.IsSecretName),
// so that what is kept from a command and what is masked in the log agree.
func isSecretName(name string) bool { return isolate.IsSecretName(name) }

// SecretSet is the one set of values the audit log masks, on every path
// (a command that ran, one denied by policy, one denied before it could be
// classified): the values of secret-looking variables (SecretValues) and
// of every variable named in $HERMES_HOME/.env (dotenvNames), all at least
// credentials.MinSecretLen bytes long, longest first. dotenvKnown false
// means the .env file could not be read: then nobody knows which names it
// holds, so every value of environ counts as a secret. extra are values
// known to be secret from elsewhere (those .env.age decrypts to).
func SecretSet(environ, dotenvNames []string, dotenvKnown bool, extra ...string) []string {
	vals := SecretValues(environ)
	for _, v := range extra {
		if len(v) >= minSecretLen {
			vals = append(vals, v)
		}
	}
	names := make(map[string]bool, len(dotenvNames))
	for _, n := range dotenvNames {
		names[n] = true
	}
	seen := make(map[string]bool, len(vals))
	for _, v := range vals {
		seen[v] = true
	}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || len(v) < minSecretLen || seen[v] || (dotenvKnown && !names[k]) {
			continue
		}
		seen[v] = true
		vals = append(vals, v)
	}
	sortLongestFirst(vals)
	return vals
}

// SecretValues returns the values (at least credentials.MinSecretLen bytes) of the variables
// in environ ("NAME=value") whose names look secret (see isSecretName),
// longest first and without duplicates, ready for Redact.
func SecretValues(environ []string) []string {
	// The same environment is looked at several times per command (the
	// flow's secret set, then each audit record): the last answer is kept.
	lastSecrets.Lock()
	defer lastSecrets.Unlock()
	if lastSecrets.env != nil && slices.Equal(environ, lastSecrets.env) {
		return slices.Clone(lastSecrets.vals)
	}
	vals := secretValues(environ)
	lastSecrets.env, lastSecrets.vals = slices.Clone(environ), slices.Clone(vals)
	return vals
}

var lastSecrets struct {
	sync.Mutex
	env, vals []string
}

func secretValues(environ []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || len(val) < minSecretLen || !isSecretName(name) || seen[val] {
			continue
		}
		seen[val] = true
		out = append(out, val)
	}
	sortLongestFirst(out)
	return out
}

func sortLongestFirst(xs []string) {
	sort.SliceStable(xs, func(i, j int) bool { return len(xs[i]) > len(xs[j]) })
}

// A value in shell text: quoted, or up to the next blank or operator.
const shellValue = `'[^']*'|"(?:[^"\\]|\\.)*"|[^\s;&|<>()'"]+`

// An option's value: as shellValue, but not the next option.
const optValue = `'[^']*'|"(?:[^"\\]|\\.)*"|[^\s;&|<>()'"-][^\s;&|<>()'"]*`

// pattern is one kind of secret written in the command text. Regular
// expressions are used here only to find secrets to mask, never to decide
// what a command does. Group "v" is the secret; group "n", when present,
// is a variable name that must pass isSecretName. The regexp runs only when
// the lower-cased text holds one of hints: most commands hold none, and
// the hints cost far less than the expressions.
type pattern struct {
	hints []string
	re    func() *regexp.Regexp
}

// lazyRE compiles an expression the first time it is needed: compiling all
// of them at start-up would cost every command, even those (most) whose
// text holds no hint.
func lazyRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

var inline = []pattern{
	// NAME=value where NAME looks secret (assignments, env, -e NAME=v).
	{[]string{`=`}, lazyRE(`(?i)\b(?P<n>[A-Z_][A-Z0-9_]*)=(?P<v>` + shellValue + `)`)},
	// Authorization headers: Bearer, token, Basic ...
	{[]string{`authorization`}, lazyRE(`(?i)\b(?:proxy-)?authorization\s*:\s*(?:(?:bearer|token|basic|digest)\s+)?(?P<v>[^\s'"]+)`)},
	{[]string{`bearer`}, lazyRE(`(?i)\bbearer\s+(?P<v>[A-Za-z0-9._~+/=-]{8,})`)},
	// Secret headers such as X-Api-Key: v.
	{[]string{`x-`}, lazyRE(`(?i)\bx-[a-z-]*(?:key|token|secret|auth)[a-z-]*\s*:\s*(?P<v>[^\s'"]+)`)},
	// --password=X, --token X, --api-key=X and friends.
	{[]string{`pass`, `token`, `secret`, `key`, `credential`}, lazyRE(`(?i)(?:^|\s)--?[a-z0-9-]*(?:password|passwd|passphrase|token|secret|api-?key|access-?key|private-?key|credentials?)[a-z0-9-]*(?:=|\s+)(?P<v>` + optValue + `)`)},
	// A quoted value glued to -p is a password in every tool that has
	// that spelling (mysql -p'X') ...
	// A JSON body's "token": "VALUE" (also with the quotes escaped, as
	// inside a double-quoted shell word).
	{[]string{`pass`, `token`, `secret`, `key`, `credential`}, lazyRE(`(?i)\\?"[a-z0-9_-]*(?:password|passwd|passphrase|token|secret|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)[a-z0-9_-]*\\?"\s*:\s*\\?"(?P<v>[^"\\\s]+)\\?"`)},
	{[]string{`-p'`, `-p"`}, lazyRE(`(?:^|\s)-p(?P<v>'[^']*'|"(?:[^"\\]|\\.)*")`)},
	// ... and so is an unquoted one after a mysql-family client.
	{[]string{`mysql`, `mariadb`}, lazyRE(`\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump|mysqlimport|mysqlshow|mysqlcheck)\b[^;&|\n]*?\s-p(?P<v>[^\s;&|'"]+)`)},
	// curl -u user:pass, --user user:pass.
	{[]string{`curl`}, lazyRE(`\bcurl\b[^;&|\n]*?\s(?:-u\s*|--user[=\s]\s*)['"]?[^\s:'"]+:(?P<v>[^\s'"]+)`)},
	// Credentials in URLs: scheme://user:pass@host.
	{[]string{`://`}, lazyRE(`(?i)\b[a-z][a-z0-9+.-]*://[^/\s:@'"]*:(?P<v>[^@\s/'"]+)@`)},
	// Well-known token shapes.
	{[]string{`akia`, `asia`}, lazyRE(`\b(?P<v>(?:AKIA|ASIA)[0-9A-Z]{16})\b`)},
	{[]string{`gh`, `github_pat_`}, lazyRE(`\b(?P<v>gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})`)},
	{[]string{`sk-`}, lazyRE(`\b(?P<v>sk-(?:ant-|proj-|or-)?[A-Za-z0-9_-]{16,})`)},
	{[]string{`xox`, `glpat-`, `aiza`, `hf_`, `npm_`}, lazyRE(`\b(?P<v>xox[abposr]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{35}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36})`)},
	// PEM private keys pasted inline.
	{[]string{`private key`}, lazyRE(`(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----(?P<v>.*?)-----END [A-Z ]*PRIVATE KEY-----`)},
}

// Redact masks secrets in s for the audit log: every one of secretValues
// (the caller's secret environment values, see SecretValues), and secrets
// written in the text itself (NAME=value with a secret-looking NAME,
// Authorization headers, --password/--token options, mysql -p, user:pass in
// URLs and curl -u, and well-known token shapes such as AKIA…, ghp_…,
// github_pat_…, sk-…). What remains shows what was run without what it was
// run with.
func Redact(s string, secretValues []string) string {
	if s == "" {
		return s
	}
	s = replaceValues(s, secretValues)
	if len(secretValues) > 0 {
		if mayHideInQuotes(s, secretValues) {
			s = maskWords(s, secretValues)
		}
		s = maskBlobs(s, secretValues)
	}
	lower := strings.ToLower(s)
	for _, p := range inline {
		for _, h := range p.hints {
			if strings.Contains(lower, h) {
				s = maskGroup(p.re(), s)
				break
			}
		}
	}
	return s
}

// replaceValues masks each value wherever it appears, longest first so a
// secret that contains another is masked whole.
func replaceValues(s string, values []string) string {
	var olds []string
	for _, v := range values {
		if len(v) < minSecretLen {
			continue
		}
		// A command carries a secret in its encoded forms too: in a URL
		// (percent-encoded) or base64-encoded (a header, a JSON body).
		for _, e := range secretForms(v) {
			if strings.Contains(s, e) {
				olds = append(olds, e)
			}
		}
	}
	if len(olds) == 0 {
		return s
	}
	sortLongestFirst(olds)
	pairs := make([]string, 0, 2*len(olds))
	for _, v := range olds {
		pairs = append(pairs, v, mask)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// maskGroup replaces the "v" group of every match with the mask, keeping
// the rest of the match (the option name, the header, the user name) so
// the log still says what kind of secret was there. Quotes around a value
// are kept as quotes.
func maskGroup(re *regexp.Regexp, s string) string {
	vi, ni := re.SubexpIndex("v"), re.SubexpIndex("n")
	locs := re.FindAllStringSubmatchIndex(s, -1)
	if len(locs) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		from, to := l[2*vi], l[2*vi+1]
		if from < 0 || from < last {
			continue
		}
		if ni >= 0 && !isSecretName(s[l[2*ni]:l[2*ni+1]]) {
			continue
		}
		v := s[from:to]
		if v == mask || strings.Trim(v, `'"`) == mask {
			continue
		}
		b.WriteString(s[last:from])
		if n := len(v); n >= 2 && (v[0] == '\'' || v[0] == '"') && v[n-1] == v[0] {
			b.WriteByte(v[0])
			b.WriteString(mask)
			b.WriteByte(v[0])
		} else {
			b.WriteString(mask)
		}
		last = to
	}
	b.WriteString(s[last:])
	return b.String()
}

// secretForms are v and its encodings that a command line may hold instead
// of it: percent-encoded (query and path) and base64 (standard and URL
// alphabets, with and without padding).
func secretForms(v string) []string { return forms.get(v).exact }

func encodedForms(v string) []string {
	forms := []string{v}
	for _, e := range []string{
		url.QueryEscape(v), url.PathEscape(v),
		base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v)),
		base64.URLEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)),
	} {
		if e != v && !slices.Contains(forms, e) {
			forms = append(forms, e)
		}
	}
	return forms
}
