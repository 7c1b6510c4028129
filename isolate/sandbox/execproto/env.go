package execproto

import (
	"path/filepath"
	"strings"

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

// CommandDir is a command's working directory: dir when it is absolute
// (symlinks resolved), else the workspace. o must have its defaults.
func (o Options) CommandDir(dir string) string {
	if dir == "" {
		return o.Workspace
	}
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		dir = r
	}
	if filepath.IsAbs(dir) {
		return dir
	}
	return o.Workspace
}
