package main

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"hermes-exec/isolate"

	"golang.org/x/sys/unix"
)

// Direct execution: `bash -c 'ls -la'` execs ls in bash's place, so for
// text that is one simple command of literal words naming an external
// program, what the program sees (argv, environment, files, signals,
// working directory) is known without running bash: the wrapper can start
// the program itself and save the shell's start-up, the largest part of a
// short command's cost. Anything bash could read differently (builtins,
// keywords, assignments, expansions, quoting, redirections, operators,
// options, BASH_ENV, exported functions, variables bash manages, a program
// not found or not executable) goes to bash as before. direct_test.go runs
// commands both ways and compares what the programs saw.

// directPlan is how bash -c text would exec its program, computed from
// the environment the shell would get: the program's path, its argv, and
// the environment bash would hand it. ok is false when bash must run.
type directPlan struct {
	path string
	argv []string
	env  []string
}

// planDirect returns the plan for text under env, or ok=false.
func planDirect(text string, env []string) (directPlan, bool) {
	words, ok := literalWords(text)
	if !ok {
		return directPlan{}, false
	}
	vars, ok := parseEnv(env)
	if !ok {
		return directPlan{}, false
	}
	path, ok := bashLookup(words[0], vars)
	if !ok {
		return directPlan{}, false
	}
	out, ok := bashChildEnv(env, vars, path)
	if !ok {
		return directPlan{}, false
	}
	return directPlan{path: path, argv: words, env: out}, true
}

// literalWords splits text made only of words bash takes literally
// (letters, digits, and punctuation with no meaning to bash's parser or
// expansions, separated by blanks) whose first word bash would run as a
// program: no assignment, reserved word or builtin.
func literalWords(text string) ([]string, bool) {
	var words []string
	start := -1
	for i := 0; i <= len(text); i++ {
		if i == len(text) || text[i] == ' ' || text[i] == '\t' {
			if start >= 0 {
				words = append(words, text[start:i])
				start = -1
			}
			continue
		}
		if !literalByte(text[i]) {
			return nil, false
		}
		if start < 0 {
			start = i
		}
	}
	if len(words) == 0 || strings.IndexByte(words[0], '=') >= 0 || isBashWord(words[0]) {
		return nil, false
	}
	return words, true
}

func literalByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("_./:@%+,-=", b) >= 0
}

// isBashWord reports bash 5's reserved words and builtins (`compgen -k
// -b`): a command word bash does not look up in PATH. A switch rather than
// a map: a map literal is built at start-up, which every command pays for.
func isBashWord(w string) bool {
	switch w {
	case "if", "then", "else", "elif", "fi", "case", "esac", "for", "select",
		"while", "until", "do", "done", "in", "function", "time", "coproc", "{",
		"}", "!", "[[", "]]", ".", ":", "[", "alias", "bg", "bind", "break",
		"builtin", "caller", "cd", "command", "compgen", "complete", "compopt",
		"continue", "declare", "dirs", "disown", "echo", "enable", "eval", "exec",
		"exit", "export", "false", "fc", "fg", "getopts", "hash", "help",
		"history", "jobs", "kill", "let", "local", "logout", "mapfile", "popd",
		"printf", "pushd", "pwd", "read", "readarray", "readonly", "return", "set",
		"shift", "shopt", "source", "suspend", "test", "times", "trap", "true",
		"type", "typeset", "ulimit", "umask", "unalias", "unset", "wait":
		return true
	}
	return false
}

// isBashManaged reports the variables bash reads or sets itself at
// start-up, so a program run through bash may see them changed: with any of
// them in the environment, bash runs. (SHLVL, PWD, OLDPWD and _ are reproduced by
// bashChildEnv.)
func isBashManaged(name string) bool {
	switch name {
	case "ENV", "SHELLOPTS", "POSIXLY_CORRECT", "IFS", "PPID",
		"UID", "EUID", "GROUPS", "OPTIND", "OPTERR", "LINENO",
		"RANDOM", "SRANDOM", "SECONDS", "EPOCHSECONDS", "EPOCHREALTIME",
		"HISTCMD", "FUNCNAME", "DIRSTACK", "PIPESTATUS", "PS4",
		"COMP_WORDBREAKS", "TMOUT", "HOSTTYPE", "OSTYPE", "MACHTYPE":
		return true
	}
	return false
}

// parseEnv maps the environment's names to values, refusing what bash
// would change on import: an entry without '=', a repeated name (bash
// keeps one), BASH* (BASH_ENV, BASH_FUNC_* exported functions, BASHOPTS...)
// and the variables bash manages.
func parseEnv(env []string) (map[string]string, bool) {
	vars := make(map[string]string, len(env))
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || name == "" || strings.HasPrefix(name, "BASH") || isBashManaged(name) {
			return nil, false
		}
		if _, dup := vars[name]; dup {
			return nil, false
		}
		vars[name] = val
	}
	return vars, true
}

// bashLookup finds the program as bash would: a word with a slash is the
// path itself; otherwise the first executable regular file in PATH. Only
// a PATH of absolute directories is searched here (bash's default path,
// and the current directory that an empty or relative entry means, are
// left to bash), and a program not found or not executable is bash's too,
// for its message and status.
func bashLookup(name string, vars map[string]string) (string, bool) {
	if strings.Contains(name, "/") {
		return name, executable(name)
	}
	path, ok := vars["PATH"]
	if !ok || path == "" {
		return "", false
	}
	for _, dir := range strings.Split(path, ":") {
		if !strings.HasPrefix(dir, "/") || strings.Contains(dir, "//") {
			return "", false
		}
		p := strings.TrimSuffix(dir, "/") + "/" + name
		if executable(p) {
			return p, true
		}
	}
	return "", false
}

// executable: a regular file the caller may execute (bash's test, with
// the effective ids).
func executable(p string) bool {
	var st unix.Stat_t
	if unix.Stat(p, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	return unix.Faccessat(unix.AT_FDCWD, p, unix.X_OK, unix.AT_EACCESS) == nil
}

// bashChildEnv is the environment bash -c gives the program it execs:
// env with _ set to the program's path, SHLVL as it was (bash raises it at
// start and lowers it again before exec'ing its one command; unset counts
// as 0), PWD kept when it names the working directory and set to the
// physical one otherwise, and OLDPWD dropped unless it names a directory.
// Values whose handling has corner cases (a relative PWD or OLDPWD, an
// SHLVL that is not a plain number below bash's limit) are left to bash.
func bashChildEnv(env []string, vars map[string]string, path string) ([]string, bool) {
	out := make([]string, 0, len(env)+3)
	set := map[string]string{"_": path}

	if lvl, ok := vars["SHLVL"]; !ok {
		set["SHLVL"] = "0"
	} else if n, err := strconv.Atoi(lvl); err != nil || n < 0 || n >= 998 || strconv.Itoa(n) != lvl {
		return nil, false
	}

	pwd, hasPWD := vars["PWD"]
	switch {
	case hasPWD && pwd != "" && !strings.HasPrefix(pwd, "/"):
		return nil, false
	case hasPWD && pwd != "" && sameDir(pwd, "."):
		// kept as it is
	default:
		wd, err := unix.Getwd() // the kernel's: physical, as getcwd(3)
		if err != nil {
			return nil, false
		}
		set["PWD"] = wd
	}

	drop := ""
	if old, ok := vars["OLDPWD"]; ok {
		switch {
		case old == "":
			drop = "OLDPWD"
		case !strings.HasPrefix(old, "/"):
			return nil, false
		case !isDir(old):
			drop = "OLDPWD"
		}
	}

	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if name == drop {
			continue
		}
		if v, ok := set[name]; ok {
			out = append(out, name+"="+v)
			delete(set, name)
			continue
		}
		out = append(out, kv)
	}
	for _, name := range []string{"PWD", "SHLVL", "_"} {
		if v, ok := set[name]; ok {
			out = append(out, name+"="+v)
		}
	}
	return out, true
}

func sameDir(a, b string) bool {
	var sa, sb unix.Stat_t
	if unix.Stat(a, &sa) != nil || unix.Stat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino && sa.Mode&unix.S_IFMT == unix.S_IFDIR
}

func isDir(p string) bool {
	var st unix.Stat_t
	return unix.Stat(p, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// directBackend runs a command's planned program directly on the host
// backend, and bash as usual when there is no plan or the kernel refuses
// the program (a script without #!, which bash runs itself; any other
// start failure, whose message and status are then bash's). Nothing has
// run when the start fails, so running bash then is what bash -c would
// have done from the start.
type directBackend struct {
	isolate.Backend
	text string
}

func (d directBackend) Run(ctx context.Context, s isolate.Spec) (isolate.Status, error) {
	plan, ok := planDirect(d.text, s.Env)
	if !ok || s.Dir != "" || s.Path != "" {
		return d.Backend.Run(ctx, s)
	}
	ds := s
	ds.Path, ds.Args, ds.Env = plan.path, plan.argv, plan.env
	st, err := d.Backend.Run(ctx, ds)
	var se *isolate.StartError
	if err != nil && errors.As(err, &se) && se.Op == "exec" && se.Path == plan.path {
		return d.Backend.Run(ctx, s)
	}
	return st, err
}
