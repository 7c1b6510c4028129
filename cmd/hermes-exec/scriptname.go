package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"hermes-exec/isolate"

	"golang.org/x/sys/unix"
	"mvdan.cc/sh/v3/syntax"
)

// Without root there is no private mount namespace (pinScript) to make a
// script's own name show the checked bytes, yet `bash ./x.sh` must keep
// bash's $0, BASH_SOURCE, LINENO, caller and error messages. bash reads
// $BASH_ENV before it opens the script, so hermes-exec gives it a BASH_ENV
// of its own (a sealed memory file) that moves into a private directory in
// which the script's relative name leads to a sealed copy of the checked
// text. bash opens that, under the name it was given. A DEBUG trap, set by
// the same prelude, runs before the script's first command: it checks that
// bash's script descriptor is the sealed copy, goes back to the real
// directory with PWD and OLDPWD as bash would have set them, and removes
// itself, leaving no trace ($_, PIPESTATUS, traps, variables).
//
// Fail closed: bash starts in another private directory where the same name
// leads to a fixed text that denies (126), so a bash that did not read the
// prelude never opens the real file. Nothing of the user's runs before the
// prelude but exported functions, and a set of them that could stand in for
// the builtins it uses turns the form off.

// namedForm reports why the exact form cannot be used for this script and
// environment ("" when it can): each case is one where what bash does
// before the script's first command could differ from `bash ./x.sh`.
func namedForm(st *scriptSource, name, real string, opts, env []string) string {
	switch {
	case filepath.IsAbs(name):
		return "the path is absolute (only a mount namespace, i.e. root, can pin an absolute name)"
	case name == "" || strings.ContainsAny(name[:1], "-+"):
		return "the name looks like an option"
	}
	return preludeRunsFirst(st, real, opts, env)
}

// preludeRunsFirst reports why a BASH_ENV prelude of hermes-exec's could
// not be sure to run first and unseen, before the script's first command
// ("" when it can).
func preludeRunsFirst(st *scriptSource, real string, opts, env []string) string {
	if filepath.Base(real) != "bash" || envShell("", real) != "bash" {
		return "the shell is not bash"
	}
	for i := 0; i < len(opts); i++ {
		o := opts[i]
		if o == "-o" || o == "+o" {
			if i+1 >= len(opts) || !namedSetO(opts[i+1]) {
				return "bash option " + strings.Join(opts[i:], " ")
			}
			i++
			continue
		}
		if !namedOpts(o) {
			return "bash option " + o
		}
	}
	for _, kv := range env {
		name, val, _ := strings.Cut(kv, "=")
		switch {
		case name == "BASH_ENV" && val != "":
			return "BASH_ENV is set (its code would run before the prelude could be sure of the name)"
		case name == "SHELLOPTS" || name == "BASHOPTS" || name == "POSIXLY_CORRECT" || name == "GLOBIGNORE":
			return name + " is set"
		case strings.HasPrefix(name, "BASH_FUNC_") && shadowsPrelude(strings.TrimSuffix(strings.TrimPrefix(name, "BASH_FUNC_"), "%%")):
			return "an exported function is named like a builtin the prelude uses"
		case strings.HasPrefix(name, "__hermes_exec"):
			return "the environment holds " + name + ", a name the prelude uses"
		}
	}
	if !startsWithTrap(st.text) {
		return "the script's first command runs before a DEBUG trap could (a redirected compound command, a subshell, for, coproc)"
	}
	return ""
}

// namedOpts and namedSetO are the bash options under which the prelude runs
// as written and bash's start is otherwise unchanged: not -x or -v (they
// would show the prelude), -l (profiles run first), --posix or -p (no
// BASH_ENV), -a (its variables exported), -O (shell options at start).
func namedOpts(s string) bool {
	switch s {
	case "-e", "+e", "-u", "+u", "-E", "+E",
		"-h", "+h", "-B", "+B", "-C", "+C",
		"-f", "+f", "--norc", "--noprofile":
		return true
	}
	return false
}

func namedSetO(s string) bool {
	switch s {
	case "errexit", "nounset", "pipefail", "errtrace",
		"noclobber", "noglob", "hashall", "braceexpand":
		return true
	}
	return false
}

// noglob reports whether bash starts with globbing off (-f), which the
// prelude turns on while it lists descriptors.
func noglob(opts []string) bool {
	off := false
	for i := 0; i < len(opts); i++ {
		switch {
		case opts[i] == "-f" || opts[i] == "+f":
			off = opts[i] == "-f"
		case (opts[i] == "-o" || opts[i] == "+o") && i+1 < len(opts):
			if opts[i+1] == "noglob" {
				off = opts[i] == "-o"
			}
			i++
		}
	}
	return off
}

// shadowsPrelude reports whether a function of that name would be called in
// place of what the prelude runs: it calls every builtin through `builtin`.
func shadowsPrelude(fn string) bool {
	return fn == "builtin" || strings.HasPrefix(fn, "__hermes_exec")
}

// startsWithTrap reports whether bash runs a DEBUG trap before anything of
// text that depends on the working directory (found with real bash: the
// trap runs before a simple command's expansions and redirections, before
// [[, ((, case, before a pipeline or list forks; not before a compound
// command's own redirections, a subshell's body, for's words or coproc).
// Function definitions run nothing. Text mvdan/sh cannot parse is refused.
func startsWithTrap(text string) bool {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(text), "")
	if err != nil {
		return false
	}
	for _, s := range f.Stmts {
		if _, ok := s.Cmd.(*syntax.FuncDecl); ok {
			continue
		}
		return trapFirst(s)
	}
	return true
}

func trapFirst(s *syntax.Stmt) bool {
	if s == nil {
		return false
	}
	if s.Cmd == nil {
		return true // a bare redirection `> f` is a simple command
	}
	switch c := s.Cmd.(type) {
	case *syntax.CallExpr, *syntax.DeclClause, *syntax.LetClause:
		return true
	case *syntax.TestClause, *syntax.ArithmCmd, *syntax.CaseClause:
		return len(s.Redirs) == 0 && !s.Background
	case *syntax.BinaryCmd:
		return len(s.Redirs) == 0 && !s.Background && trapFirst(c.X)
	case *syntax.TimeClause:
		return len(s.Redirs) == 0 && !s.Background && trapFirst(c.Stmt)
	case *syntax.IfClause:
		return len(s.Redirs) == 0 && !s.Background && len(c.Cond) > 0 && trapFirst(c.Cond[0])
	case *syntax.WhileClause:
		return len(s.Redirs) == 0 && !s.Background && len(c.Cond) > 0 && trapFirst(c.Cond[0])
	case *syntax.Block:
		return len(s.Redirs) == 0 && !s.Background && (len(c.Stmts) == 0 || trapFirst(c.Stmts[0]))
	}
	return false
}

// namedLaunch is how bash is started: argv, the environment (with
// hermes-exec's BASH_ENV) and what the backend is wrapped in (the start
// directory, or pinning the name).
type namedLaunch struct {
	args []string
	env  []string
	wrap func(isolate.Backend) isolate.Backend // nil: as it is
}

// namedBackend builds the exact form's private directories, sealed copies
// and prelude right before bash starts: after any approval, so that the
// layout (which a process of the same user could change) exists only for
// the instant between this and the prelude's check. When the form cannot
// be set up the command runs as fallback (bash -c, also exactly the
// checked text).
type namedBackend struct {
	isolate.Backend
	st       *scriptSource
	name     string // what bash is given: st.name unless that is absolute (relativeName)
	fallback []string
	noglob   bool // bash starts with -f
	logf     func(string, ...any)
}

func (n namedBackend) Run(ctx context.Context, s isolate.Spec) (isolate.Status, error) {
	env, dir, err := n.st.prepareNamed(n.name, n.noglob, s.Env)
	if err != nil {
		n.logf("script %s runs as bash -c (BASH_SOURCE is empty): %v", n.st.name, err)
		s.Args = n.fallback
	} else {
		s.Env, s.Dir = env, dir
	}
	return n.Backend.Run(ctx, s)
}

// prepareNamed builds the private directories, the sealed copies and the
// prelude, and returns bash's environment and start directory. An error
// means the form could not be set up.
func (st *scriptSource) prepareNamed(name string, noglob bool, env []string) ([]string, string, error) {
	pwd, oldpwd, keepOld, err := bashStartDirs(env)
	if err != nil {
		return nil, "", err
	}
	base, err := privateDir()
	if err != nil {
		return nil, "", err
	}
	made := []string{base}
	st.cleanup = append(st.cleanup, func() {
		// What was made, deepest first (cheaper than RemoveAll's probing).
		for i := len(made) - 1; i >= 0; i-- {
			os.Remove(made[i])
		}
	})
	script, err := st.keepSealed(st.text)
	if err != nil {
		return nil, "", err
	}
	deny, err := st.keepSealed("builtin printf '%s\\n' " + shq("hermes-exec: denied: bash did not read hermes-exec's BASH_ENV prelude, so "+name+" could not be pinned to the checked text") + " >&2\nbuiltin exit 126\n")
	if err != nil {
		return nil, "", err
	}
	start, err := mirrorName(filepath.Join(base, "start"), name, procFDPath(deny), &made)
	if err != nil {
		return nil, "", err
	}
	open, err := mirrorName(filepath.Join(base, "open"), name, procFDPath(script), &made)
	if err != nil {
		return nil, "", err
	}
	p, err := st.keepSealed(namedPrelude(name, procFDPath(script), noglob, &startDirs{open: open, pwd: pwd, oldpwd: oldpwd, keepOld: keepOld}, env))
	if err != nil {
		return nil, "", err
	}
	return setEnv(env, "BASH_ENV", procFDPath(p)), start, nil
}

// keepSealed is a sealed memory file of text kept open until st is closed.
func (st *scriptSource) keepSealed(text string) (*os.File, error) {
	f, err := sealedText(text)
	if err != nil {
		return nil, err
	}
	st.cleanup = append(st.cleanup, func() { f.Close() })
	return f, nil
}

// startDirs is where the prelude makes bash open the script (open) and
// what it then restores: pwd is the directory to return to and the value
// of PWD; OLDPWD is kept as oldpwd or, as bash leaves it when it does not
// inherit a directory, made an exported variable without a value.
type startDirs struct {
	open, pwd, oldpwd string
	keepOld           bool
}

// namedPrelude is the BASH_ENV text of the exact form: name is what bash
// will open, script a /proc path of the copy it must be. With dirs nil
// bash opens the name where it starts (root's pinned name) and the
// prelude only checks. noglob: bash starts with -f (the descriptor lists
// are globs).
//
// Two checks, because a process of the same user can change the layout
// (or, as root, rename over the pinned name): just before bash opens the
// name, that it leads to the copy; and, in a DEBUG trap before the
// script's first command, that the one descriptor bash opened meanwhile is
// the copy and nothing else changed. The trap is the prelude's last
// command and holds what it compares with in its own text, so nothing the
// first statement of another file can do with expansions (which run
// before the trap: `for` words, a compound command's redirections) turns
// it off; set -T makes a subshell or command substitution among them run
// it first too.
func namedPrelude(name, script string, noglob bool, dirs *startDirs, env []string) string {
	denied := func(why string) string {
		return "{ builtin printf '%s\\n' " + shq("hermes-exec: denied: "+why) + " >&2; builtin exit 126; }"
	}
	// fds lists this bash's open descriptors: the glob's own directory
	// descriptor is gone again when -e tests it.
	fds := func(each string) string {
		var b strings.Builder
		if noglob {
			b.WriteString("builtin set +f\n")
		}
		b.WriteString("for __hermes_exec_i in /proc/self/fd/*; do if [[ -e $__hermes_exec_i ]]; then " + each + "; fi; done\n")
		if noglob {
			b.WriteString("builtin set -f\n")
		}
		return b.String()
	}
	var p strings.Builder
	// $_ is taken first, before any command of ours changes it.
	p.WriteString("builtin printf -v __hermes_exec_u %q \"$_\"\n")
	if dirs != nil {
		p.WriteString("builtin cd -- " + shq(dirs.open) + " || " + denied("cannot enter "+dirs.open) + "\n")
	}
	p.WriteString("[[ " + shq(name) + " -ef " + shq(script) + " ]] || " + denied(name+" does not lead to the checked copy of the script (changed by another process)") + "\n")
	p.WriteString("__hermes_exec_b=' ' __hermes_exec_c=0\n")
	p.WriteString(fds(`__hermes_exec_b+="${__hermes_exec_i##*/} "; __hermes_exec_c=$((__hermes_exec_c+1))`))

	// The trap's text. Each hole is filled, when the trap is set, with
	// what the prelude found: the descriptors open now (" 0 1 2 "), then
	// how many. (No path here can hold a NUL.)
	const hole = "\x00"
	var h1, h2 strings.Builder
	h1.WriteString("builtin trap - DEBUG\nbuiltin set +T\n__hermes_exec_n=0 __hermes_exec_f=\n")
	h1.WriteString(fds(`if [[ ` + hole + ` == *" ${__hermes_exec_i##*/} "* ]]; then __hermes_exec_n=$((__hermes_exec_n+1)); else __hermes_exec_f+=" ${__hermes_exec_i##*/}"; fi`))
	before, rest, _ := strings.Cut(h1.String(), hole)
	h2.WriteString(rest)
	h2.WriteString("if ! [[ $__hermes_exec_n == " + hole + " && $__hermes_exec_f == \" \"* && ${__hermes_exec_f# } != *\" \"* && /proc/self/fd/${__hermes_exec_f# } -ef " + shq(script) + " && -z ${GLOBIGNORE+x} ]]; then " + denied("bash did not open the checked copy of the script") + "; fi\n")
	h2.WriteString("builtin unset -v __hermes_exec_i __hermes_exec_n __hermes_exec_f __hermes_exec_b __hermes_exec_c __hermes_exec_u\n")
	if dirs != nil {
		h2.WriteString("builtin cd -- " + shq(dirs.pwd) + " || " + denied("cannot return to "+dirs.pwd) + "\n")
		h2.WriteString("PWD=" + shq(dirs.pwd) + "\n")
		if dirs.keepOld {
			h2.WriteString("OLDPWD=" + shq(dirs.oldpwd) + "\n")
		} else {
			h2.WriteString("builtin unset -v OLDPWD; builtin declare -x OLDPWD\n")
		}
	}
	if v, ok := lookupEnv(env, "BASH_ENV"); ok {
		h2.WriteString("BASH_ENV=" + shq(v) + "\n")
	} else {
		h2.WriteString("builtin unset -v BASH_ENV\n")
	}
	// Last, a command whose last word is what $_ was: bash sets $_ from
	// it, and runs nothing of ours after.
	h2.WriteString("builtin : ")
	mid, tail, _ := strings.Cut(h2.String(), hole)
	p.WriteString("builtin set -T\n")
	p.WriteString("builtin trap -- " + shq(before) + "\"'$__hermes_exec_b'\"" + shq(mid) + "\"$__hermes_exec_c\"" + shq(tail) + "\"$__hermes_exec_u\" DEBUG\n")
	return p.String()
}

// bashStartDirs is what bash sets PWD and OLDPWD to when it starts in the
// current directory with environment env: an inherited absolute PWD that
// names the current directory is kept, else PWD is the physical path;
// OLDPWD is kept when it names a directory. A PWD bash would rewrite
// (dots, double slashes) is not emulated: an error.
func bashStartDirs(env []string) (pwd, oldpwd string, keepOld bool, err error) {
	p, ok := lookupEnv(env, "PWD")
	if ok && filepath.IsAbs(p) && sameFile(p, ".") {
		if filepath.Clean(p) != p {
			return "", "", false, fmt.Errorf("PWD=%s is not canonical", p)
		}
		pwd = p
	} else if pwd, err = unix.Getwd(); err != nil {
		return "", "", false, err
	}
	oldpwd, ok = lookupEnv(env, "OLDPWD")
	if ok && oldpwd != "" {
		if fi, err := os.Stat(oldpwd); err == nil && fi.IsDir() {
			keepOld = true
		}
	}
	return pwd, oldpwd, keepOld, nil
}

func sameFile(a, b string) bool {
	var x, y unix.Stat_t
	return unix.Stat(a, &x) == nil && unix.Stat(b, &y) == nil && x.Dev == y.Dev && x.Ino == y.Ino
}

// privateDir is a new directory of this user's for the layout: in /dev/shm
// when it can be (a memory file system: on a disk one the few directories
// cost more than the rest of the form), else in the temporary directory.
// Its name holds this process's id, so that layouts left by a hermes-exec
// that was killed can be told apart and collected (collectStale).
func privateDir() (string, error) {
	prefix := layoutPrefix + strconv.Itoa(os.Getpid()) + "-"
	collectStale("/dev/shm")
	if d, err := os.MkdirTemp("/dev/shm", prefix); err == nil {
		return d, nil
	}
	collectStale(os.TempDir())
	return os.MkdirTemp("", prefix)
}

const layoutPrefix = "hermes-exec-name-"

// collectStale removes the layouts in parent that a hermes-exec of this
// user left when it was killed before its cleanup: only directories (never
// a symlink to one) owned by this user, whose name holds the id of a
// process that no longer exists. RemoveAll does not follow symlinks
// inside. A layout of another user, root's included, is never touched.
func collectStale(parent string) {
	d, err := os.Open(parent)
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, layoutPrefix)
		if !ok {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		var st unix.Stat_t
		p := filepath.Join(parent, n)
		if unix.Lstat(p, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Geteuid() {
			continue
		}
		if unix.Kill(pid, 0) != unix.ESRCH {
			continue // alive (or not ours to signal: then not ours to judge)
		}
		os.RemoveAll(p)
	}
}

// mirrorName makes a directory below root from which the relative path
// name leads to a symlink to target, and returns it. Every directory on
// the way is a real one made here, deep enough that name's ".." never
// leaves root, so the kernel resolves name exactly as laid out. Each path
// made is added to made, parents first.
func mirrorName(root, name, target string, made *[]string) (string, error) {
	parts := strings.Split(name, "/")
	up := 0
	for _, c := range parts {
		if c == ".." {
			up++
		}
	}
	mkdir := func(d string) error {
		err := os.Mkdir(d, 0o700)
		if err == nil {
			*made = append(*made, d)
		} else if os.IsExist(err) {
			err = nil // one this layout made, on the way back from ".."
		}
		return err
	}
	start := root
	if err := mkdir(start); err != nil {
		return "", err
	}
	for i := 0; i < up; i++ {
		start = filepath.Join(start, "d")
		if err := mkdir(start); err != nil {
			return "", err
		}
	}
	cur := start
	for _, c := range parts[:len(parts)-1] {
		switch c {
		case "", ".":
		case "..":
			cur = filepath.Dir(cur)
		default:
			cur = filepath.Join(cur, c)
			if err := mkdir(cur); err != nil {
				return "", err
			}
		}
	}
	last := parts[len(parts)-1]
	if last == "" || last == "." || last == ".." {
		return "", fmt.Errorf("%s does not name a file", name)
	}
	link := filepath.Join(cur, last)
	if err := os.Symlink(target, link); err != nil {
		return "", err
	}
	*made = append(*made, link)
	return start, nil
}

// shq quotes s as one shell word.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func lookupEnv(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// setEnv is env with name set to val (every earlier entry removed).
func setEnv(env []string, name, val string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return append(out, name+"="+val)
}

// launch is how bash is started for st on the host backend. A script
// file gets bash's own $0 and BASH_SOURCE where it can: by the BASH_ENV
// prelude (any user, relative names), else as root by pinning the name in
// a mount namespace just before bash starts (pinScript), else it runs as
// args (bash -c TEXT NAME). Whenever bash will read a BASH_ENV file, it
// reads a sealed copy of the text that was checked instead of the file
// (which could change after the check).
func (st *scriptSource) launch(real string, opts, args, env []string, srcs []envSource, logf func(string, ...any)) (*namedLaunch, error) {
	if st.mode == srcFile && st.canPin {
		name := st.name
		if filepath.IsAbs(name) && os.Geteuid() != 0 {
			if rel, ok := relativeName(st, env); ok {
				name = rel
			}
		}
		why := namedForm(st, name, real, opts, env)
		if why == "" {
			exact := append(append(append([]string{real}, opts...), name), st.rest...)
			return &namedLaunch{args: exact, env: env, wrap: func(b isolate.Backend) isolate.Backend {
				return namedBackend{Backend: b, st: st, name: name, fallback: args, noglob: noglob(opts), logf: logf}
			}}, nil
		}
		if os.Geteuid() == 0 {
			// Whether a prelude can check the pinned name is a question
			// about the user's environment, asked before hermes-exec's
			// own BASH_ENV loader replaces it.
			verify := preludeRunsFirst(st, real, opts, env) == ""
			env, err := st.sealBashEnv(env, srcs)
			if err != nil {
				return nil, err
			}
			exact := append(append(append([]string{real}, opts...), st.name), st.rest...)
			return &namedLaunch{args: exact, env: env, wrap: func(b isolate.Backend) isolate.Backend {
				return pinBackend{Backend: b, st: st, fallback: args, verify: verify, noglob: noglob(opts), logf: logf}
			}}, nil
		}
		logf("script %s runs as bash -c (BASH_SOURCE is empty): %s", st.name, why)
	}
	env, err := st.sealBashEnv(env, srcs)
	if err != nil {
		return nil, err
	}
	return &namedLaunch{args: args, env: env}, nil
}

// relativeName is, for an absolute script name, the relative one that
// leads to the same file from where bash starts, both lexically from PWD
// (so that `cd "$(dirname "${BASH_SOURCE[0]}")"` lands in the script's
// directory) and for the kernel (the start directory's path holds no
// symlinks that ".." would leave differently). Without root an absolute
// name cannot lead elsewhere for bash alone, so the script runs as `bash
// ../x.sh` would: $0, BASH_SOURCE and error messages say the relative
// name, consistently (the main guard [[ ${BASH_SOURCE[0]} == $0 ]] and the
// SCRIPT_DIR idiom work), where bash -c would leave BASH_SOURCE empty.
func relativeName(st *scriptSource, env []string) (string, bool) {
	pwd, _, _, err := bashStartDirs(env)
	if err != nil || filepath.Clean(st.name) != st.name {
		return "", false
	}
	if real, err := filepath.EvalSymlinks(pwd); err != nil || real != pwd {
		return "", false
	}
	rel, err := filepath.Rel(pwd, st.name)
	if err != nil {
		return "", false
	}
	var a, b unix.Stat_t
	if unix.Fstat(int(st.file.Fd()), &a) != nil || unix.Stat(rel, &b) != nil || a.Dev != b.Dev || a.Ino != b.Ino {
		return "", false
	}
	return rel, true
}

// pinBackend pins the script's name (pinScript) right before bash starts,
// after any approval, so that a file renamed over the name while a human
// was asked is noticed: the name must still be the file that was read.
// With verify, a prelude also checks that what bash opened is the copy (a
// rename in the instant between pinning and bash's open). When pinning is
// not possible the command runs as fallback.
type pinBackend struct {
	isolate.Backend
	st       *scriptSource
	fallback []string
	verify   bool
	noglob   bool
	logf     func(string, ...any)
}

func (p pinBackend) Run(ctx context.Context, s isolate.Spec) (isolate.Status, error) {
	cp, err := pinScript(p.st.name, p.st.file, p.st.text)
	if errors.As(err, new(scriptChanged)) {
		return isolate.Status{}, fmt.Errorf("denied: %w", err)
	}
	switch {
	case cp == nil:
		if err != nil {
			p.logf("script %s runs as bash -c (BASH_SOURCE is empty): %v", p.st.name, err)
		}
		s.Args = p.fallback
	case p.verify:
		p.st.cleanup = append(p.st.cleanup, func() { cp.Close() })
		f, err := p.st.keepSealed(namedPrelude(p.st.name, procFDPath(cp), p.noglob, nil, s.Env))
		if err != nil {
			return isolate.Status{}, fmt.Errorf("denied: %w", err)
		}
		s.Env = setEnv(s.Env, "BASH_ENV", procFDPath(f))
	default:
		cp.Close()
	}
	return p.Backend.Run(ctx, s)
}
