package isolate

import (
	"strings"
	"sync"
)

// The environment rules below decide which of the caller's variables a
// command may see. The agent's environment routinely carries API keys; a
// command that prints its environment (env, a crash dump, a CI log) must not
// leak them, so anything that looks like a credential is dropped unless the
// user lists it in terminal.env_passthrough.
//
// A name is split into words: at every character that is not a letter or a
// digit ('_', '-', '.', ...) and at every lower-to-upper case change (so
// "githubToken" is "github" + "Token"). Trailing digits are removed from a
// word ("KEY2" is "KEY"). Matching ignores case. A name is a secret when
//
//   - one of its words is in secretWords (KEY, TOKEN, PASS, AUTH, PAT, ...),
//     e.g. OPENAI_API_KEY, GITHUB_TOKEN, DB_PASS, NPM_CONFIG__AUTH,
//     SSH_AUTH_SOCK (an ssh-agent socket signs as the user: it is a
//     credential too);
//   - one of its words ends in a long, unambiguous suffix (secretSuffixes),
//     e.g. PGPASSWORD, GHTOKEN, CLIENTSECRET, OPENAIAPIKEY;
//   - it has more than one word and one of them is PWD (MYSQL_PWD is a
//     password; PWD and OLDPWD alone are the working directory);
//   - it is DATABASE_URL, ends in _DATABASE_URL, or its last word is DSN
//     (connection strings embed passwords).
//
// Words are matched whole on purpose: *KEY* as a substring would drop
// KEYBOARD_LAYOUT, MONKEY and XKB_KEYMAP-like names, *AUTH* would drop
// XAUTHORITY (a file path X clients need) and *PAT* would drop PATH. Short
// words (KEY, PASS, AUTH, PAT) never match as suffixes, so MONKEY, COMPASS,
// BYPASS and COMPAT are kept. Known gap: values are not inspected, so a
// proxy URL with a password in it (HTTPS_PROXY=http://u:p@host) passes.
func secretWords(s string) bool {
	switch s {
	case "KEY", "KEYS", "APIKEY", "APIKEYS",
		"TOKEN", "TOKENS",
		"SECRET", "SECRETS",
		"PASSWORD", "PASSWORDS", "PASSWD", "PASS",
		"PASSPHRASE",
		"CREDENTIAL", "CREDENTIALS", "CREDS",
		"PRIVATE", "AUTH", "PAT", "COOKIE":
		return true
	}
	return false
}

// secretSuffixes are matched at the end of a word. They are long enough that
// an ordinary word ending in one is very unlikely.
var secretSuffixes = []string{
	"TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWORDS", "PASSWD",
	"PASSPHRASE", "APIKEY", "CREDENTIAL", "CREDENTIALS",
}

// baselineNames are the variables BaselineEnv keeps besides LC_*: what a
// program needs to find binaries, a home, a user name, a locale and a
// terminal, and nothing about the caller's accounts.
func baselineNames(s string) bool {
	switch s {
	case "PATH", "HOME", "USER", "LOGNAME", "SHELL",
		"LANG", "LANGUAGE", "TERM", "TZ", "COLORTERM":
		return true
	}
	return false
}

// FilterEnv returns the environment a command may see on the host backend:
// environ in its order, without
//
//   - malformed entries (no '=' or an empty name);
//   - secrets as described above (see IsSecretName);
//   - names defined in $HERMES_HOME/.env (dotenvNames, compared ignoring
//     case, since the file is where the user keeps the agent's keys);
//   - HERMES_YOLO* (ignoring case): a command must never inherit the
//     wrapper's "skip approvals" switch, or anything it runs through a
//     nested hermes-exec would go unchecked.
//
// A secret or .env name is kept when passthrough lists it: an exact,
// case-sensitive name, or a prefix pattern with a single trailing '*'
// ("AWS_*"; a lone "*" keeps every variable). A '*' anywhere else is taken
// literally. Passthrough never keeps HERMES_YOLO*. HERMES_HOME and
// HERMES_SESSION_ID are ordinary names and are kept.
func FilterEnv(environ, passthrough, dotenvNames []string) []string {
	dotenv := make(map[string]bool, len(dotenvNames))
	for _, n := range dotenvNames {
		dotenv[strings.ToUpper(n)] = true
	}
	inDotenv := func(name string) bool {
		return len(dotenv) > 0 && dotenv[strings.ToUpper(name)]
	}
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, ok := envName(kv)
		if !ok || isControlName(name) {
			continue
		}
		if (IsSecretName(name) || inDotenv(name)) && !matchesPassthrough(name, passthrough) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// BaselineEnv returns the minimal environment for sandboxes, in environ's
// order: PATH, HOME, USER, LOGNAME, SHELL, LANG, LANGUAGE, LC_*, TERM, TZ
// and COLORTERM, plus the names passthrough keeps (same patterns as
// FilterEnv; HERMES_YOLO* is never kept). Malformed entries are dropped.
func BaselineEnv(environ, passthrough []string) []string {
	out := make([]string, 0, 16)
	for _, kv := range environ {
		name, ok := envName(kv)
		if !ok || isControlName(name) {
			continue
		}
		if baselineNames(name) || strings.HasPrefix(name, "LC_") || matchesPassthrough(name, passthrough) {
			out = append(out, kv)
		}
	}
	return out
}

// IsSecretName reports whether an environment variable name looks like it
// holds a credential, by the word rules documented above FilterEnv, less
// the names that only look like it (see notSecretShape).
//
// The answers are remembered (secretNames): every command asks for each of
// its variables twice, for the filter and for the audit record's
// redaction, and the word rules were about 4% of a -c true's instructions.
func IsSecretName(name string) bool {
	secretNames.Lock()
	v, ok := secretNames.m[name]
	secretNames.Unlock()
	if ok {
		return v
	}
	v = isSecretName(name)
	secretNames.Lock()
	if secretNames.m == nil {
		secretNames.m = make(map[string]bool, 64)
	}
	if len(secretNames.m) < maxSecretNames {
		secretNames.m[name] = v
	}
	secretNames.Unlock()
	return v
}

// secretNames is IsSecretName's memory: an answer depends on the name
// alone. Bounded, for a long-lived process shown ever new names.
var secretNames struct {
	sync.Mutex
	m map[string]bool
}

const maxSecretNames = 4096

func isSecretName(name string) bool {
	if notSecretShape(name) {
		return false
	}
	if hasSuffixFold(name, "DATABASE_URL") && (len(name) == len("DATABASE_URL") || name[len(name)-len("DATABASE_URL")-1] == '_') {
		return true
	}
	nwords := 0
	sawPWD := false
	for rest := name; ; {
		w, tail, ok := nextWord(rest)
		if !ok {
			break
		}
		rest = tail
		nwords++
		// Upper-cased on the stack: this runs for every variable of
		// every command, so it must not allocate.
		var buf [32]byte
		if len(w) > len(buf) {
			w = w[len(w)-len(buf):] // only the suffix rules can match
		}
		up := buf[:len(w)]
		for i := 0; i < len(w); i++ {
			c := w[i]
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			up[i] = c
		}
		if secretWords(string(up)) {
			return true
		}
		for _, suf := range secretSuffixes {
			if len(up) >= len(suf) && string(up[len(up)-len(suf):]) == suf {
				return true
			}
		}
		if string(up) == "PWD" {
			sawPWD = true
		}
		if string(up) == "DSN" && !hasMoreWords(tail) {
			return true
		}
	}
	return sawPWD && nwords > 1
}

// Names that hold a word such as KEY or TOKEN but no credential:
//
//   - git's configuration in the environment, GIT_CONFIG_COUNT with
//     GIT_CONFIG_KEY_<n> and GIT_CONFIG_VALUE_<n> (Gemini CLI sets them for
//     every command; dropping only the KEYs breaks every git command with
//     "missing config key GIT_CONFIG_KEY_0"). The key is a setting name;
//     a value is no more secret here than anywhere else in the environment.
//   - names whose last word says they hold a location: *_FILE, *_DIR,
//     *_PATH, *_HOME and their plurals (PASSWORD_STORE_DIR, KEY_FILE,
//     POSTGRES_PASSWORD_FILE, SSH_KEY_PATH): the secret, if any, is in the
//     file, which the command can read anyway;
//   - switches: a name with a word such as DISABLE, ENABLE, USE, NO or
//     SKIP (HF_HUB_DISABLE_IMPLICIT_TOKEN, GIT_NO_AUTH): its value is a
//     flag, not the credential.
//
// SSH_AUTH_SOCK stays a secret: the socket is a capability, not a place.
const (
	locationWords wordSet = iota
	switchWords
)

// wordSet names a set of words wordIn knows: a switch over constant
// strings, not a map filled at every start.
type wordSet int

// notSecretShape reports the names described above.
func notSecretShape(name string) bool {
	if rest, ok := strings.CutPrefix(name, "GIT_CONFIG_"); ok {
		if rest == "COUNT" {
			return true
		}
		for _, p := range []string{"KEY_", "VALUE_"} {
			if n, ok := strings.CutPrefix(rest, p); ok && n != "" && strings.Trim(n, "0123456789") == "" {
				return true
			}
		}
	}
	nwords := 0
	last := ""
	for rest := name; ; {
		w, tail, ok := nextWord(rest)
		if !ok {
			break
		}
		rest = tail
		nwords++
		last = w
		if wordIn(switchWords, w) {
			return true
		}
	}
	return nwords > 1 && wordIn(locationWords, last)
}

// wordIn reports whether a short word is one of the set's (locationWords
// or switchWords) ignoring case, without allocating (this runs for every
// variable of every command).
func wordIn(set wordSet, w string) bool {
	var buf [12]byte
	if len(w) > len(buf) {
		return false
	}
	n := copy(buf[:], w)
	for i := 0; i < n; i++ {
		if c := buf[i]; c >= 'a' && c <= 'z' {
			buf[i] = c - ('a' - 'A')
		}
	}
	up := string(buf[:n])
	if set == locationWords {
		switch up {
		case "FILE", "FILES", "DIR", "DIRS", "DIRECTORY", "PATH", "PATHS", "HOME":
			return true
		}
		return false
	}
	switch up {
	case "DISABLE", "DISABLED", "ENABLE", "ENABLED", "USE", "NO", "SKIP":
		return true
	}
	return false
}

// Dropped is one variable FilterEnv removed and why; never its value.
type Dropped struct {
	Name   string
	Reason string
}

// DroppedNames lists what FilterEnv(environ, passthrough, dotenvNames)
// removes, in environ's order, for `hermes-exec env` and debug logs.
func DroppedNames(environ, passthrough, dotenvNames []string) []Dropped {
	dotenv := make(map[string]bool, len(dotenvNames))
	for _, n := range dotenvNames {
		dotenv[strings.ToUpper(n)] = true
	}
	var out []Dropped
	for _, kv := range environ {
		name, ok := envName(kv)
		switch {
		case !ok:
			continue
		case isControlName(name):
			out = append(out, Dropped{name, "hermes-exec's own switch: never passed to commands"})
		case matchesPassthrough(name, passthrough):
		case dotenv[strings.ToUpper(name)]:
			out = append(out, Dropped{name, "defined in $HERMES_HOME/.env"})
		case IsSecretName(name):
			out = append(out, Dropped{name, "looks like a credential (add it to terminal.env_passthrough to pass it)"})
		}
	}
	return out
}

// nextWord returns the first word of s (see above FilterEnv) without its
// trailing digits, and what follows it; ok is false when s has no more
// words.
func nextWord(s string) (word, rest string, ok bool) {
	for {
		i := 0
		for i < len(s) && !isAlnum(s[i]) {
			i++
		}
		s = s[i:]
		if s == "" {
			return "", "", false
		}
		j := 1
		for j < len(s) && isAlnum(s[j]) && !(isUpper(s[j]) && isLower(s[j-1])) {
			j++
		}
		word, rest = s[:j], s[j:]
		for word != "" && word[len(word)-1] >= '0' && word[len(word)-1] <= '9' {
			word = word[:len(word)-1] // trailing digits are no part of a word
		}
		if word != "" {
			return word, rest, true
		}
		s = rest
	}
}

// hasMoreWords reports whether s holds another word.
func hasMoreWords(s string) bool {
	_, _, ok := nextWord(s)
	return ok
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlnum(c byte) bool { return isUpper(c) || isLower(c) || c >= '0' && c <= '9' }

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// matchesPassthrough reports whether name is listed in passthrough, exactly
// or by a "PREFIX*" pattern.
func matchesPassthrough(name string, passthrough []string) bool {
	for _, p := range passthrough {
		if prefix, ok := strings.CutSuffix(p, "*"); ok && !strings.Contains(prefix, "*") {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		} else if p == name {
			return true
		}
	}
	return false
}

// isControlName reports the wrapper's own switches that must not reach a
// command (and through it a nested hermes-exec).
func isControlName(name string) bool {
	const prefix = "HERMES_YOLO"
	return len(name) >= len(prefix) && strings.EqualFold(name[:len(prefix)], prefix)
}

// envName returns the name of a "NAME=value" entry; ok is false for an
// entry without '=' or with an empty name.
func envName(kv string) (name string, ok bool) {
	i := strings.IndexByte(kv, '=')
	if i <= 0 {
		return "", false
	}
	return kv[:i], true
}
