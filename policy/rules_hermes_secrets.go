package policy

import (
	"path"
	"strings"

	"hermes-exec/internal/hermeshome"

	"mvdan.cc/sh/v3/syntax"
)

// The agent's own secrets: its keys in .env, the age identity that
// decrypts .env.age, the gateway's TLS key, pairing records, hook grants
// and the key that signs them (hermeshome.Secrets, the one list). The
// environment filter keeps them out of every command's environment; a
// command that simply reads the file (cat, cp, tar, grep -r, < .env,
// source) would undo that, so it asks. Writes anywhere in HERMES_HOME are
// denied by the write rules (classifyWriteTarget).

// hermesRel returns p relative to the Hermes home it lies in (the
// caller's, as canon maps it, or another user's ~/.hermes), "" for the
// home itself; ok false outside every Hermes home.
//
// Components may be globs (`~/.herm*/.env`, `/home/*/.h?rmes`): the shell
// expands them, in redirections too, so a glob that can name the home is
// taken to name it.
func hermesRel(p string) (string, bool) {
	if rest, ok := globUnder(p, hermesHome); ok {
		return strings.TrimPrefix(rest, "/"), true
	}
	comps := pathComponents(p)
	switch {
	case len(comps) >= 2 && componentMatches(comps[0], "root") && componentMatches(comps[1], hermeshome.DirName):
		return strings.Join(comps[2:], "/"), true
	case len(comps) >= 3 && componentMatches(comps[0], "home") && componentMatches(comps[2], hermeshome.DirName):
		return strings.Join(comps[3:], "/"), true
	}
	return "", false
}

// hermesSecretKind says whether rel (inside a Hermes home) is one of the
// secrets (or inside one), holds one (a directory above it: the home, run),
// or neither. Globs in rel match as the shell would expand them.
func hermesSecretKind(rel string) (isSecret, holds bool) {
	if rel == "" {
		return false, true
	}
	rc := strings.Split(rel, "/")
	for _, s := range hermeshome.Secrets {
		sc := strings.Split(s, "/")
		n := min(len(rc), len(sc))
		match := true
		for i := 0; i < n && match; i++ {
			if rc[i] != sc[i] {
				ok, _ := path.Match(rc[i], sc[i])
				match = ok && hasGlob(rc[i])
			}
		}
		if !match {
			continue
		}
		if len(rc) >= len(sc) {
			return true, false
		}
		holds = true
	}
	return false, holds
}

// namesOnly are programs that, given a directory, read no file in it.
func namesOnly(s string) bool {
	switch s {
	case "ls", "stat", "du", "cd", "pushd", "test", "[", "[[",
		"realpath", "readlink", "dirname", "basename", "echo", "printf",
		"mkdir", "tree", "df", "hermes-exec", "hermes",
		"hermes-exec-admin":
		return true
	}
	return false
}

// hermesSecretPathRisk tells whether reading path p (cleaned, canonical)
// reads the agent's secrets: p is a secret, or a directory holding one
// read by a program that reads what is in directories.
func hermesSecretPathRisk(p, program string) (string, bool) {
	rel, ok := hermesRel(p)
	if !ok {
		return "", false
	}
	isSecret, holds := hermesSecretKind(rel)
	switch {
	case isSecret && !namesOnly(program):
		return "reads the agent's own secrets (" + hermesShown(rel) + ")", true
	case holds && !namesOnly(program):
		return "reads a directory that holds the agent's own secrets (" + hermesShown(rel) + ")", true
	}
	return "", false
}

func hermesShown(rel string) string {
	if rel == "" {
		return "the Hermes home"
	}
	return "$HERMES_HOME/" + rel
}

// hermesSecretRule is part of every command's generic checks: an operand
// (or an option's =VALUE) naming one of the agent's secrets asks.
func hermesSecretRule(c *cmd) {
	if c.name == "hermes-exec" || c.name == "hermes-exec-admin" || c.name == "hermes" || c.name == "touch" {
		return // their own rules: secrets get ..., a write
	}
	inHome := c.w.cwdInHermes()
	for _, a := range c.args() {
		if !a.static || a.s == "" {
			continue
		}
		s := a.s
		if strings.HasPrefix(s, "-") {
			_, v, ok := strings.Cut(s, "=")
			if !ok {
				continue
			}
			s = v
		}
		if !inHome && strings.IndexByte(s, '/') < 0 && strings.IndexByte(s, '~') < 0 {
			continue
		}
		for _, p := range c.w.paths(arg{s: s, static: true}) {
			if why, ok := hermesSecretPathRisk(p, c.name); ok {
				c.emit(RuleSelfSecretRead, c.name+" "+why)
				return
			}
			if c.w.ctx().aboveHermes(p) && readsRecursively(c) {
				c.emit(RuleSelfSecretRead, c.name+" reads "+p+" recursively, and the agent's own secrets in it")
				return
			}
		}
	}
}

// cwdInHermes reports a possible working directory inside a Hermes home,
// where a bare name (cat .env) is one of its files.
func (w *walker) cwdInHermes() bool {
	for _, d := range w.cwds {
		if d != "" {
			if _, ok := hermesRel(w.ctx().canon(cleanPath(d, ""))); ok {
				return true
			}
		}
	}
	return false
}

// hermesSecretRedirect checks a redirection that reads a file (< FILE).
func (w *walker) hermesSecretRedirect(t arg, at syntax.Node) {
	for _, p := range w.paths(t) {
		if why, ok := hermesSecretPathRisk(p, ""); ok {
			w.emitNode(RuleSelfSecretRead, "redirection "+why, at)
			return
		}
	}
}

func init() { register(touchRule, "touch") }

// touchRule: touch creates files; one made in HERMES_HOME (an empty
// pairing record, a grant) is a write there like any other.
func touchRule(c *cmd) {
	for _, a := range c.args() {
		if strings.HasPrefix(a.s, "-") {
			continue
		}
		for _, p := range c.w.paths(a) {
			if inHermesHome(p) {
				c.emit(RuleSelfDisableWrite, "touch creates a file in the Hermes home ("+a.s+")")
				return
			}
		}
	}
}

// readsRecursively reports a program that reads every file below a
// directory it is given: an archiver creating an archive, a recursive
// copy or grep, a syncer. Given the home or / (which hold the Hermes
// home), it reads the agent's secrets with everything else.
func readsRecursively(c *cmd) bool {
	short := func(letters string) bool {
		for _, a := range c.args() {
			if !a.static || a.s == "--" {
				break
			}
			if strings.HasPrefix(a.s, "--") {
				continue
			}
			if strings.HasPrefix(a.s, "-") && strings.ContainsAny(a.s[1:], letters) {
				return true
			}
		}
		return false
	}
	long := func(names ...string) bool {
		for _, a := range c.args() {
			for _, n := range names {
				if a.static && (a.s == n || strings.HasPrefix(a.s, n+"=")) {
					return true
				}
			}
		}
		return false
	}
	switch c.name {
	case "rsync", "rg", "ag", "ack", "7z", "7za", "zip":
		return true
	case "tar", "bsdtar":
		return tarCreates(c.args())
	case "cp", "scp":
		return short("rRa") || long("--recursive", "--archive")
	case "grep", "egrep", "fgrep":
		return short("rR") || long("--recursive", "--dereference-recursive")
	}
	return false
}
