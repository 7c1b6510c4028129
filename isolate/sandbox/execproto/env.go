package execproto

import (
	"os"
	"path/filepath"
	"strings"

	"hermes-exec/internal/safepath"
	"hermes-exec/isolate"
)

// CommandEnv is a sandboxed command's environment: only the baseline
// variables, passthrough (terminal.env_passthrough) and the names skills
// declare in HERMES_SKILL_ENV, taken from the already filtered Spec.Env.
// ownSkillEnv is the starter's own HERMES_SKILL_ENV, used when env has
// none. One rule for both ways a command starts (libcontainer in the
// helper, the session reaper asked by the main binary).
func CommandEnv(env, passthrough []string, ownSkillEnv string) []string {
	pass := append([]string(nil), passthrough...)
	pass = append(pass, skillEnvNames(env, ownSkillEnv)...)
	out := isolate.BaselineEnv(env, pass)
	if _, ok := LookupVar(out, "PATH"); !ok {
		out = append(out, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	return out
}

// skillEnvNames are the names listed in HERMES_SKILL_ENV (separated by
// commas, colons or white space), from env or else own. Patterns are not
// allowed: a skill declares names.
func skillEnvNames(env []string, own string) []string {
	list, ok := LookupVar(env, "HERMES_SKILL_ENV")
	if !ok {
		list = own
	}
	names := strings.FieldsFunc(list, func(r rune) bool {
		return r == ',' || r == ':' || r == ' ' || r == '\t' || r == '\n'
	})
	out := names[:0]
	for _, n := range names {
		if n != "" && !strings.Contains(n, "*") {
			out = append(out, n)
		}
	}
	return out
}

// LookupVar is the last value of name in env.
func LookupVar(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// CommandDir is a command's working directory: dir, or when it is empty
// the caller's own (the wrapper's and the helper's, which share it), with
// symlinks resolved. Outside the workspace it is read-only inside (a cwd
// never widens the workspace: the session's was fixed when it was made).
// One the sandbox replaces or hides (/tmp, /run, the owner's home,
// HERMES_HOME) does not exist inside as it does outside: the command then
// starts in the workspace. o must have its defaults.
func (o Options) CommandDir(dir string) string {
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return o.Workspace
		}
		dir = wd
	}
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		dir = r
	}
	if !filepath.IsAbs(dir) {
		return o.Workspace
	}
	if safepath.Within(dir, o.Workspace) {
		return dir
	}
	hidden := []string{"/tmp", "/run", "/dev", "/proc", "/sys", o.HermesHome, o.StateDir}
	if o.Owner != nil {
		hidden = append(hidden, o.Owner.Home)
	}
	for _, h := range hidden {
		if safepath.Within(dir, h) {
			return o.Workspace
		}
	}
	return dir
}
