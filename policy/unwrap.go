package policy

import (
	"path"
	"strings"
)

// progName reduces a command word to the program name rules are written
// for: /usr/bin/rm, //bin//rm and /proc/self/root/usr/bin/rm are rm;
// python3.12 is python.
func progName(s string) string {
	if strings.Contains(s, "/") {
		s = path.Base(path.Clean(s))
	}
	return versionless(s)
}

// versioned lists programs commonly installed with a version suffix.
var versioned = []string{"python", "pypy", "perl", "ruby", "node", "nodejs", "php", "lua", "luajit",
	"pip", "tclsh", "wish", "gawk", "bash", "zsh", "ksh", "ipython", "java", "Rscript", "psql", "mysql", "clang", "gcc"}

// versionless strips a trailing version (python3, python3.12, perl5.36,
// php8.2, lua5.4, node18) from known interpreter names.
func versionless(s string) string {
	// A version ends in a digit or a dot: anything else is returned
	// without trying the list (every command word passes here).
	if s == "" || (s[len(s)-1] < '0' || s[len(s)-1] > '9') && s[len(s)-1] != '.' {
		return s
	}
	for _, v := range versioned {
		if strings.HasPrefix(s, v) && len(s) > len(v) {
			rest := strings.TrimPrefix(s[len(v):], "-")
			if rest != "" && strings.Trim(rest, "0123456789.") == "" {
				return v
			}
		}
	}
	return s
}

// shellString is a command line a wrapper hands to a shell (su -c,
// watch, script -c, flock -c, env -S).
type shellString struct {
	text arg
	how  string
}

// wrapper option specs. They only need to be right about which options
// take a value, so that the wrapped command is found.
var (
	sudoSpec = &optSpec{short: "AbEeHiKklnPSsVvB", shortArg: "CDghpRrTUut",
		long:    []string{"askpass", "background", "bell", "preserve-env", "edit", "set-home", "login", "remove-timestamp", "reset-timestamp", "list", "non-interactive", "preserve-groups", "stdin", "shell", "validate", "version", "help"},
		longArg: []string{"close-from", "chdir", "group", "host", "prompt", "chroot", "role", "type", "command-timeout", "other-user", "user"}, posix: true}
	doasSpec       = &optSpec{short: "Lns", shortArg: "Cu", posix: true}
	run0Spec       = &optSpec{short: "hV", shortArg: "ugD", long: []string{"no-ask-password", "help", "version", "empower", "via-shell"}, longArg: []string{"user", "group", "nice", "chdir", "setenv", "unit", "property", "description", "slice", "slice-inherit", "background", "machine", "pty", "area", "shell-prompt-prefix", "lightweight"}, posix: true}
	pkexecSpec     = &optSpec{long: []string{"disable-internal-agent", "keep-cwd", "help", "version"}, longArg: []string{"user"}, shortArg: "u", posix: true}
	envSpec        = &optSpec{short: "0iv", shortArg: "uCSP", long: []string{"ignore-environment", "null", "debug", "list-signal-handling"}, longArg: []string{"unset", "chdir", "split-string", "block-signal", "default-signal", "ignore-signal", "argv0"}, posix: true}
	niceSpec       = &optSpec{shortArg: "n", longArg: []string{"adjustment"}, posix: true, numeric: true}
	ioniceSpec     = &optSpec{short: "th", shortArg: "cnpPu", longArg: []string{"class", "classdata", "pid", "pgid", "uid"}, long: []string{"ignore"}, posix: true}
	chrtSpec       = &optSpec{short: "abdefhimorRvV", shortArg: "TPD", long: []string{"all-tasks", "batch", "deadline", "fifo", "idle", "other", "rr", "reset-on-fork", "max", "pid", "verbose", "ext"}, longArg: []string{"sched-runtime", "sched-period", "sched-deadline"}, posix: true}
	tasksetSpec    = &optSpec{short: "acpV", long: []string{"all-tasks", "cpu-list", "pid"}, posix: true}
	setsidSpec     = &optSpec{short: "cfw", long: []string{"ctty", "fork", "wait"}, posix: true}
	stdbufSpec     = &optSpec{shortArg: "ioe", longArg: []string{"input", "output", "error"}, posix: true}
	timeSpec       = &optSpec{short: "apqvV", shortArg: "fo", long: []string{"append", "portability", "quiet", "verbose"}, longArg: []string{"format", "output"}, posix: true}
	timeoutSpec    = &optSpec{short: "fpv", shortArg: "sk", long: []string{"foreground", "preserve-status", "verbose"}, longArg: []string{"signal", "kill-after"}, posix: true}
	watchSpec      = &optSpec{short: "bcCdeghptrwx", shortArg: "nq", long: []string{"beep", "color", "no-color", "differences", "errexit", "chgexit", "exec", "no-title", "no-wrap", "precise", "no-rerun"}, longArg: []string{"interval", "equexit", "shotsdir"}, posix: true}
	flockSpec      = &optSpec{short: "sxunoFeh", shortArg: "wEc", long: []string{"shared", "exclusive", "unlock", "nonblock", "nb", "close", "no-fork", "verbose"}, longArg: []string{"timeout", "wait", "conflict-exit-code", "command"}, posix: true}
	straceSpec     = &optSpec{short: "cCdfFhiqrtTvVwxyzkAnZY", shortArg: "abeEIoOpPsSuUX", longArg: []string{"output", "trace", "signal", "attach", "user", "env", "string-limit", "summary-columns", "absolute-timestamps"}, long: []string{"follow-forks", "output-separately", "summary-only", "summary"}, posix: true}
	ltraceSpec     = &optSpec{short: "bcCfhiLrStT", shortArg: "aADeEFlnopsuwx", longArg: []string{"output", "library"}, posix: true}
	chrootSpec     = &optSpec{long: []string{"skip-chdir"}, longArg: []string{"userspec", "groups"}, posix: true}
	xargsSpec      = &optSpec{short: "0prtxoie", shortArg: "aEdILnPsl", long: []string{"null", "interactive", "no-run-if-empty", "verbose", "exit", "open-tty", "show-limits"}, longArg: []string{"arg-file", "delimiter", "eof", "replace", "max-lines", "max-args", "max-procs", "max-chars", "process-slot-var"}, posix: true}
	systemdRunSpec = &optSpec{short: "rtPqGSh", shortArg: "upEHMCd", long: []string{"user", "system", "scope", "remain-after-exit", "pty", "pipe", "quiet", "collect", "wait", "no-block", "same-dir", "shell", "no-ask-password", "send-sighup", "ignore-failure", "verbose"}, longArg: []string{"unit", "property", "setenv", "host", "machine", "description", "slice", "uid", "gid", "nice", "working-directory", "on-active", "on-boot", "on-startup", "on-unit-active", "on-unit-inactive", "on-calendar", "on-timezone-change", "on-clock-change", "timer-property", "path-property", "socket-property", "service-type", "expand-environment", "json"}, posix: true}
	scriptSpec     = &optSpec{short: "aefqhV", shortArg: "cTBIOEmot", long: []string{"append", "return", "flush", "force", "quiet", "logging-format"}, longArg: []string{"command", "log-timing", "log-io", "log-in", "log-out", "echo", "output-limit", "timing", "logging-format"}}
	suSpec         = &optSpec{short: "lmpfPh", shortArg: "cgGsuw", long: []string{"login", "preserve-environment", "pty", "fast", "help", "version"}, longArg: []string{"command", "session-command", "shell", "group", "supp-group", "whitelist-environment", "user"}}
	commandSpec    = &optSpec{short: "pvV", posix: true}
	execSpec       = &optSpec{short: "cl", shortArg: "a", posix: true}
	unshareSpec    = &optSpec{short: "muinpUCTfrch", shortArg: "SGlRw", long: []string{"mount", "uts", "ipc", "net", "pid", "user", "cgroup", "time", "fork", "map-root-user", "map-current-user", "kill-child", "mount-proc", "keep-caps"}, longArg: []string{"setuid", "setgid", "root", "wd", "propagation", "map-user", "map-group", "map-users", "map-groups", "load-interp"}, posix: true}
	nsenterSpec    = &optSpec{short: "aFZhV", shortArg: "tSGrwmuinpUCTe", long: []string{"all", "no-fork", "preserve-credentials", "follow-context"}, longArg: []string{"target", "setuid", "setgid", "root", "wd", "mount", "uts", "ipc", "net", "pid", "user", "cgroup", "time", "env"}, posix: true}
	numactlSpec    = &optSpec{short: "ahlsS", shortArg: "CNmpiPbw", longArg: []string{"cpunodebind", "membind", "preferred", "interleave", "physcpubind", "localalloc"}, posix: true}
	npxSpec        = &optSpec{short: "yqc", shortArg: "p", long: []string{"yes", "no", "quiet", "no-install", "ignore-existing"}, longArg: []string{"package", "call", "shell"}, posix: true}
	uvRunSpec      = &optSpec{short: "qvn", shortArg: "p", long: []string{"no-project", "frozen", "locked", "isolated", "no-sync", "all-extras", "no-dev", "quiet", "verbose", "offline", "active", "script", "module", "exact", "no-cache"}, longArg: []string{"with", "python", "extra", "group", "package", "directory", "project", "env-file", "with-requirements", "index", "index-url", "cache-dir"}, posix: true}
)

// unwrapOnce returns the argv a wrapper runs, or nil when name is not a
// wrapper (or wraps nothing). sh is set when the wrapper hands a command
// line to a shell instead. in is the wrapper's stdin (xargs reads its
// extra arguments from it).
func unwrapOnce(name string, argv []arg, in feed) (inner []arg, sh *shellString) {
	args := argv[1:]
	if isLoader(name) {
		return unwrapLoader(args), nil
	}
	switch name {
	case "sudo", "doas", "run0", "pkexec":
		spec := map[string]*optSpec{"sudo": sudoSpec, "doas": doasSpec, "run0": run0Spec, "pkexec": pkexecSpec}[name]
		p := parseOpts(args, spec)
		if p.has("-e", "--edit", "-l", "--list", "-v", "--validate", "-k", "-K", "--remove-timestamp", "--reset-timestamp") && len(p.operands) == 0 {
			return nil, nil
		}
		ops := p.operands
		// sudo VAR=value cmd
		for len(ops) > 0 && ops[0].static && isAssignWord(ops[0].s) {
			ops = ops[1:]
		}
		return nonEmpty(ops), nil
	case "env":
		p := parseOpts(args, envSpec)
		if s, ok := p.value("-S", "--split-string"); ok {
			return nil, &shellString{text: joinArgs(append([]arg{s}, p.operands...)), how: "env -S"}
		}
		ops := p.operands
		// A lone "-" is -i: start with an empty environment.
		for len(ops) > 0 && ops[0].static && (isAssignWord(ops[0].s) || ops[0].s == "-") {
			ops = ops[1:]
		}
		return nonEmpty(ops), nil
	case "nice", "nohup", "setsid", "stdbuf", "time", "unbuffer", "chroot", "command", "builtin", "exec",
		"strace", "ltrace", "ionice", "fakeroot", "torsocks", "proxychains", "proxychains4", "rlwrap",
		"numactl", "catchsegv", "unshare", "nsenter", "systemd-run", "firejail", "valgrind", "dbus-launch", "sudoedit", "doas-run", "eatmydata", "tsocks", "trickle":
		spec := map[string]*optSpec{"nice": niceSpec, "setsid": setsidSpec, "stdbuf": stdbufSpec, "time": timeSpec,
			"chroot": chrootSpec, "command": commandSpec, "exec": execSpec, "strace": straceSpec, "ltrace": ltraceSpec,
			"ionice": ioniceSpec, "numactl": numactlSpec, "unshare": unshareSpec, "nsenter": nsenterSpec,
			"systemd-run": systemdRunSpec, "unbuffer": {short: "p", posix: true}}[name]
		if spec == nil {
			// --opt or --opt=value style wrappers (firejail, valgrind).
			spec = &optSpec{posix: true, short: "dhqv"}
		}
		p := parseOpts(args, spec)
		switch name {
		case "command":
			if p.has("-v", "-V") {
				return nil, nil
			}
		case "ionice":
			if p.has("-p", "-P", "-u", "--pid", "--pgid", "--uid") {
				return nil, nil
			}
		case "strace", "ltrace":
			if p.has("-p", "--attach") {
				return nil, nil
			}
		case "chroot":
			if len(p.operands) == 1 {
				return []arg{lit("/bin/sh"), lit("-i")}, nil
			}
			if len(p.operands) > 1 {
				return p.operands[1:], nil
			}
			return nil, nil
		case "sudoedit":
			return nil, nil
		}
		return nonEmpty(p.operands), nil
	case "chrt", "taskset":
		spec := chrtSpec
		if name == "taskset" {
			spec = tasksetSpec
		}
		p := parseOpts(args, spec)
		if p.has("-p", "--pid") || len(p.operands) < 2 {
			return nil, nil
		}
		return p.operands[1:], nil
	case "timeout":
		p := parseOpts(args, timeoutSpec)
		if len(p.operands) < 2 {
			return nil, nil
		}
		return p.operands[1:], nil
	case "watch":
		p := parseOpts(args, watchSpec)
		if len(p.operands) == 0 {
			return nil, nil
		}
		if p.has("-x", "--exec") {
			return p.operands, nil
		}
		return nil, &shellString{text: joinArgs(p.operands), how: "watch"}
	case "flock":
		p := parseOpts(args, flockSpec)
		if c, ok := p.value("-c", "--command"); ok {
			return nil, &shellString{text: c, how: "flock -c"}
		}
		if len(p.operands) < 2 {
			return nil, nil
		}
		ops := p.operands[1:]
		if ops[0].is("-c", "--command") && len(ops) > 1 {
			return nil, &shellString{text: ops[1], how: "flock -c"}
		}
		return ops, nil
	case "script":
		p := parseOpts(args, scriptSpec)
		if c, ok := p.value("-c", "--command"); ok {
			return nil, &shellString{text: c, how: "script -c"}
		}
		return nil, nil
	case "su", "runuser":
		p := parseOpts(args, suSpec)
		if c, ok := p.value("-c", "--command", "--session-command"); ok {
			return nil, &shellString{text: c, how: name + " -c"}
		}
		if name == "runuser" && p.has("-u", "--user") && len(p.operands) > 0 {
			return p.operands, nil
		}
		return nil, nil
	case "sg":
		if len(args) >= 2 {
			rest := args[1:]
			if rest[0].is("-c") && len(rest) > 1 {
				rest = rest[1:]
			}
			return nil, &shellString{text: joinArgs(rest), how: "sg"}
		}
		return nil, nil
	case "xargs":
		p := parseOpts(xargsOptionalArgs(args), xargsSpec)
		cmd := p.operands
		if len(cmd) == 0 {
			cmd = []arg{lit("echo")}
		}
		if len(cmd) > 0 && cmd[0].static && runsCode(progName(cmd[0].s)) {
			// Words fed to a shell or interpreter are code: not followed
			// word by word.
			in = feed{kind: feedUnknown, what: in.what}
		}
		stdinArgs := xargsPlaceholders(in)
		replace := ""
		if r, ok := p.value("-I", "--replace"); ok && r.static {
			replace = r.s
		} else if p.has("-i") {
			replace = "{}"
		}
		if replace != "" && in.kind == feedStatic {
			// With -I each input line is one argument, blanks and all;
			// only a single known line is followed.
			stdinArgs = []arg{{fromStdin: true, split: true}}
			if line := strings.TrimSuffix(in.text, "\n"); !strings.Contains(line, "\n") && !strings.ContainsAny(line, "'\"\\") {
				stdinArgs = []arg{lit(line)}
			}
		}
		out := make([]arg, 0, len(cmd)+len(stdinArgs))
		if replace == "" {
			out = append(out, cmd...)
			return append(out, stdinArgs...), nil
		}
		for _, a := range cmd {
			switch {
			case a.static && a.s == replace:
				out = append(out, stdinArgs...)
			case a.static && strings.Contains(a.s, replace):
				d := a
				if len(stdinArgs) == 1 && stdinArgs[0].static {
					d.s = strings.ReplaceAll(a.s, replace, stdinArgs[0].s)
				} else {
					d.static = false
					d.fromStdin = true
				}
				out = append(out, d)
			default:
				out = append(out, a)
			}
		}
		return out, nil
	case "parallel":
		return unwrapParallel(args, in)
	case "busybox", "toybox":
		if len(args) > 0 && args[0].static && !strings.HasPrefix(args[0].s, "-") {
			return args, nil
		}
		return nil, nil
	case "npx", "bunx", "pnpx":
		p := parseOpts(args, npxSpec)
		if c, ok := p.value("-c", "--call"); ok {
			return nil, &shellString{text: c, how: name + " -c"}
		}
		return nonEmpty(p.operands), nil
	case "poetry", "pipenv", "bundle", "pnpm", "yarn", "uv", "conda", "mamba", "direnv", "mise", "asdf", "rtx", "pdm", "hatch", "rye", "dotenv", "npm", "bun", "deno", "nix":
		return unwrapRunner(name, args)
	}
	return nil, nil
}

// unwrapRunner handles project runners that execute a command:
// `poetry run X`, `uv run X`, `bundle exec X`, `npm exec -- X`.
func unwrapRunner(name string, args []arg) ([]arg, *shellString) {
	if len(args) == 0 || !args[0].static {
		return nil, nil
	}
	sub := args[0].s
	rest := args[1:]
	switch {
	case name == "dotenv":
		for i, a := range args {
			if a.is("--") {
				return nonEmpty(args[i+1:]), nil
			}
		}
		return nil, nil
	case name == "direnv" && sub == "exec" && len(rest) > 1:
		return rest[1:], nil
	case name == "nix" && (sub == "develop" || sub == "shell"):
		for i, a := range rest {
			if a.is("-c", "--command") && i+1 < len(rest) {
				return rest[i+1:], nil
			}
		}
		return nil, nil
	case name == "uv" && (sub == "run" || sub == "tool" && len(rest) > 0 && rest[0].is("run")):
		if sub == "tool" {
			rest = rest[1:]
		}
		p := parseOpts(rest, uvRunSpec)
		return nonEmpty(p.operands), nil
	case (name == "conda" || name == "mamba") && sub == "run":
		p := parseOpts(rest, &optSpec{short: "v", shortArg: "np", longArg: []string{"name", "prefix", "cwd"}, long: []string{"no-capture-output", "live-stream"}, posix: true})
		return nonEmpty(p.operands), nil
	case sub == "run" && (name == "poetry" || name == "pipenv" || name == "pdm" || name == "hatch" || name == "rye"):
		return nonEmpty(skipDashDash(rest)), nil
	case sub == "exec" && (name == "bundle" || name == "pnpm" || name == "yarn" || name == "npm" || name == "mise" || name == "asdf" || name == "rtx" || name == "bun"):
		for i, a := range rest {
			if a.is("--") {
				return nonEmpty(rest[i+1:]), nil
			}
		}
		if name == "mise" || name == "asdf" || name == "rtx" {
			return nil, nil
		}
		p := parseOpts(rest, &optSpec{posix: true, short: "c", long: []string{"yes"}, longArg: []string{"package", "call"}})
		return nonEmpty(p.operands), nil
	case sub == "dlx" && (name == "pnpm" || name == "yarn"):
		return nonEmpty(rest), nil
	case name == "bun" && sub == "x":
		return nonEmpty(rest), nil
	}
	return nil, nil
}

func skipDashDash(a []arg) []arg {
	if len(a) > 0 && a[0].is("--") {
		return a[1:]
	}
	return a
}

// runsCode reports shells and interpreters, whose arguments can be code.
func runsCode(name string) bool {
	if contains(shellNames, name) {
		return true
	}
	switch name {
	case "eval", "python", "perl", "ruby", "node", "nodejs", "php", "lua", "awk", "gawk", "deno", "bun", "pwsh", "osascript", "env", "sudo", "xargs", "parallel":
		return true
	}
	return false
}

// xargsOptionalArgs rewrites GNU xargs's options with optional values
// (--replace[=R], -i[R]) to -IR, which the option table reads: a bare
// --replace must not swallow the command word after it.
func xargsOptionalArgs(args []arg) []arg {
	out := args
	copied := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !a.static || !strings.HasPrefix(a.s, "-") || a.s == "--" {
			break
		}
		repl := ""
		switch {
		case a.s == "--replace" || a.s == "-i":
			repl = "-I{}"
		case strings.HasPrefix(a.s, "--replace="):
			repl = "-I" + a.s[len("--replace="):]
			if repl == "-I" {
				repl = "-I{}" // an empty value means the default, {}
			}
		case strings.HasPrefix(a.s, "-i") && !strings.HasPrefix(a.s, "--"):
			repl = "-I" + a.s[2:]
		case len(a.s) == 2 && strings.ContainsRune("aEdILnPsl", rune(a.s[1])):
			i++ // the option's value
			continue
		}
		if repl == "" {
			continue
		}
		if !copied {
			out = append([]arg(nil), args...)
			copied = true
		}
		out[i] = arg{s: repl, static: true, word: a.word}
	}
	return out
}

var parallelSpec = &optSpec{short: "0kqvuXmgte", shortArg: "jSadINnCL", long: []string{"keep-order", "quote", "verbose", "ungroup", "dry-run", "pipe", "halt-on-error", "bar", "progress", "eta", "tag", "line-buffer", "group", "null", "shuf", "no-notice", "will-cite"}, longArg: []string{"jobs", "arg-file", "colsep", "delimiter", "max-args", "max-lines", "sshlogin", "halt", "timeout", "joblog", "results", "tmpdir", "workdir", "env", "block", "retries"}, posix: true}

// unwrapParallel: parallel [options] command [args] ::: values.
func unwrapParallel(args []arg, in feed) ([]arg, *shellString) {
	p := parseOpts(args, parallelSpec)
	var cmd []arg
	for _, a := range p.operands {
		if a.is(":::", "::::", ":::+", "::::+") {
			// parallelRule runs the command once per value it lists.
			return nil, nil
		}
		cmd = append(cmd, a)
	}
	if len(cmd) == 0 {
		return nil, nil
	}
	if len(cmd) == 1 && cmd[0].static && strings.ContainsAny(cmd[0].s, " ;|&{") {
		t := cmd[0]
		if strings.Contains(t.s, "{") {
			// The replacement strings are filled in per input line.
			t.static = false
			t.fromStdin = true
		}
		return nil, &shellString{text: t, how: "parallel"}
	}
	return append(cmd, xargsPlaceholders(in)...), nil
}

// xargsPlaceholders stands for arguments read from stdin: paths under the
// listed roots when a listing feeds them, otherwise unknown words.
func xargsPlaceholders(in feed) []arg {
	if in.kind == feedPaths {
		out := make([]arg, 0, len(in.roots))
		for _, r := range in.roots {
			out = append(out, arg{s: r, static: true, findItem: !in.whole})
		}
		return out
	}
	if in.kind == feedStatic && len(in.text) < 4096 && !strings.ContainsAny(in.text, "'\"\\") {
		// Known text: xargs splits it on blanks and newlines.
		if words := strings.Fields(in.text); len(words) > 0 && len(words) <= maxBraceAlternatives {
			return staticArgs(words)
		}
	}
	return []arg{{fromStdin: true, split: true}}
}

func nonEmpty(a []arg) []arg {
	if len(a) == 0 {
		return nil
	}
	return a
}

// joinArgs joins words with spaces, as watch, su and ssh do before
// handing them to a shell. The result is static only when all words are.
func joinArgs(args []arg) arg {
	out := arg{static: true}
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a.s)
		if !a.static {
			out.static = false
		}
		out.substs = append(out.substs, a.substs...)
		out.procs = append(out.procs, a.procs...)
		if out.word == nil {
			out.word = a.word
		}
	}
	out.s = b.String()
	return out
}

// isAssignWord reports NAME=value words (env, sudo prefixes).
func isAssignWord(s string) bool {
	name, _, ok := strings.Cut(s, "=")
	return ok && name != "" && validName(name)
}

func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return s != ""
}

// effectiveArgv follows wrappers to the program that really runs, without
// reporting anything (used to see what a pipeline stage is).
func (w *walker) effectiveArgv(argv []arg) []arg {
	for i := 0; i < 16 && len(argv) > 0; i++ {
		if !argv[0].static {
			return argv
		}
		inner, _ := unwrapOnce(progName(argv[0].s), argv, feed{})
		if inner == nil {
			return argv
		}
		argv = inner
	}
	return argv
}
