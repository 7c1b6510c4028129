package policy

import (
	"path"
	"strings"
)

// Deleting, moving away or shredding files.

func init() {
	register(rmRule, "rm", "rmdir", "unlink", "rimraf", "del-cli", "trash", "trash-put", "gio")
	register(shredRule, "shred", "srm", "wipe")
	register(findRule, "find")
	register(mvRule, "mv")
	register(cpRule, "cp", "install")
	register(truncateRule, "truncate")
	register(rsyncRule, "rsync")
	register(cdRule, "cd", "pushd")
}

var rmSpec = &optSpec{short: "fiIrRdvh", long: []string{"force", "interactive", "one-file-system", "no-preserve-root", "preserve-root", "recursive", "dir", "verbose", "help", "version"}, longArg: nil}

// rmRule: rm and friends delete their operands.
func rmRule(c *cmd) {
	args := c.args()
	if c.name == "gio" {
		if len(args) == 0 || !args[0].is("remove", "trash") {
			return
		}
		args = args[1:]
	}
	p := parseOpts(args, rmSpec)
	for _, a := range p.operands {
		deleteTarget(c, a, false)
	}
}

// deleteTarget reports a destructive operation on one path operand.
// underFind means the operand stands for paths found below a start
// directory, where the working directory itself is a normal target.
func deleteTarget(c *cmd, a arg, underFind bool) bool {
	if a.fromStdin || !a.static {
		what := "a target that is not known statically"
		switch {
		case a.fromStdin:
			what = "targets read from stdin"
		case len(a.substs) > 0:
			what = "targets produced by a command substitution"
		}
		// The program's real operands are seen when it is executed.
		c.emit(RuleDeleteUnknownTarget, c.name+" deletes "+what+", which could be anything").seenAtExec()
		return true
	}
	for _, p := range c.w.paths(a) {
		if inHermesHome(p) {
			c.emit(RuleSelfDisableWrite, c.name+" deletes inside the Hermes home ("+a.s+")")
			return true
		}
		if c.selfRemoved(p, a.s, "deletes", false) {
			return true
		}
		if isHistoryFile(p) {
			c.emit(RuleHistoryTamper, c.name+" deletes a shell history file")
			return true
		}
		risk := c.w.pathRisk(p)
		if a.findItem || underFind {
			if risk == riskCwdWhole || p == "/tmp" || p == "/var/tmp" || strings.HasPrefix(p, "/tmp/") {
				continue
			}
		}
		if a.glob && risk == riskNone && !strings.HasPrefix(p, "/") {
			continue
		}
		if risk == riskCwdWhole && c.w.inBuildDir() {
			// Emptying build/, dist/, target/ ... is what they are for.
			continue
		}
		if rule := deleteRule(risk); rule != noRule {
			if a.findItem || underFind {
				c.emit(rule, c.name+" deletes what find matches under "+a.s+" ("+riskDesc(risk)+")")
			} else {
				c.emit(rule, c.name+" "+a.s+" deletes "+riskDesc(risk))
			}
			return true
		}
		if isDevicePath(p) {
			c.emit(RuleDiskDeviceWrite, c.name+" acts on a disk device")
			return true
		}
		if c.selfRemoved(p, a.s, "deletes", true) {
			return true
		}
	}
	return false
}

// selfRemoved denies deleting or moving away one of hermes-exec's own
// programs or the directory holding it (with above, any directory above
// it: checked after the rules that name such a directory better). Without
// the shell's link, the agent's `bash` is the real one.
func (c *cmd) selfRemoved(p, shown, how string, above bool) bool {
	k := c.w.ctx()
	s, ok := k.selfProgram(p, above)
	if !ok {
		if names := k.selfNamesIn(p); len(names) > 0 {
			s, ok = names[0], true
		}
	}
	if ok {
		c.emit(RuleSelfDisableWrite, c.name+" "+how+" hermes-exec's own program "+path.Base(s)+" ("+shown+")")
	}
	return ok
}

// buildDirs hold generated output: deleting all of one is a clean build.
func buildDirs(s string) bool {
	switch s {
	case "build", "dist", "out", "target", "_build", ".build",
		"node_modules", "tmp", ".tmp", ".cache", "coverage", ".next", ".nuxt",
		"__pycache__", ".pytest_cache", ".gradle", "obj", "bin", ".tox", ".venv":
		return true
	}
	return false
}

// inBuildDir reports that every possible working directory is a build
// output directory (from a cd on this line, or the one the command starts
// in when the context gives it).
func (w *walker) inBuildDir() bool {
	for _, d := range w.cwds {
		if d == "" {
			k := w.ctx()
			if k == nil || k.absCwd == "" {
				return false
			}
			d = k.absCwd
		}
		base := path.Base(d)
		if !buildDirs(base) && !strings.HasPrefix(base, "cmake-build-") || classifyPath(d) != riskNone && !under(d, homeDir) {
			return false
		}
	}
	return true
}

func deleteRule(r pathRisk) RuleID {
	switch r {
	case riskRoot:
		return RuleDeleteRoot
	case riskTopLevel:
		return RuleDeleteToplevel
	case riskSystem:
		return RuleDeleteSystem
	case riskHome:
		return RuleDeleteHome
	case riskHomeSecret:
		return RuleDeleteHomeSecrets
	case riskOutside:
		return RuleDeleteOutsideCwd
	case riskCwdWhole:
		return RuleDeleteCwdWhole
	case riskHomeData:
		return RuleDeleteHome
	case riskGitDir:
		return RuleDeleteGitHistory
	case riskOtherHome:
		return RuleDeleteOtherHome
	}
	return noRule
}

// riskDesc says what deleting a path of this risk deletes.
func riskDesc(r pathRisk) string {
	switch r {
	case riskRoot:
		return "the root file system"
	case riskTopLevel:
		return "a top-level directory"
	case riskSystem:
		return "part of a system directory"
	case riskHome:
		return "the home directory"
	case riskHomeSecret:
		return "keys or credentials in the home directory"
	case riskOutside:
		return "a path outside the working directory"
	case riskCwdWhole:
		return "everything in the working directory"
	case riskHomeData:
		return "a user data directory in home"
	case riskGitDir:
		return "a git repository's whole history (.git)"
	case riskOtherHome:
		return "files in another user's home"
	}
	return "a path"
}

// moveRule is the rule for moving a path of the given risk away.
func moveRule(r pathRisk) RuleID {
	switch r {
	case riskRoot:
		return RuleMoveRoot
	case riskTopLevel:
		return RuleMoveToplevel
	case riskHome, riskHomeData:
		return RuleMoveHome
	case riskHomeSecret:
		return RuleMoveHomeSecrets
	case riskGitDir:
		return RuleDeleteGitHistory
	case riskOtherHome:
		return RuleDeleteOtherHome
	}
	return RuleMoveSystem
}

// shredRule: shred overwrites files beyond recovery.
func shredRule(c *cmd) {
	p := parseOpts(c.args(), &optSpec{short: "fuvxzrR", shortArg: "ns", long: []string{"force", "recursive", "exact", "verbose", "zero", "remove"}, longArg: []string{"iterations", "size", "random-source", "remove"}})
	for _, a := range p.operands {
		if a.static {
			for _, pth := range c.w.paths(a) {
				if isDevicePath(pth) {
					c.emit(RuleDiskDeviceWrite, "shred overwrites a whole disk device")
					return
				}
			}
		}
	}
	recursive := p.has("-r", "-R", "--recursive")
	for _, a := range p.operands {
		if recursive || !a.static || a.glob || strings.HasPrefix(a.s, "/") || strings.HasPrefix(a.s, "~") {
			c.emit(RuleDeleteShred, c.name+" irreversibly overwrites "+quoteShort(a.s)+", beyond recovery")
			return
		}
		for _, pth := range c.w.paths(a) {
			if risk := c.w.pathRisk(pth); risk != riskNone || strings.HasPrefix(pth, "/") || inHermesHome(pth) {
				c.emit(RuleDeleteShred, c.name+" irreversibly overwrites "+a.s+" ("+riskDesc(risk)+")")
				return
			}
		}
	}
	// Overwriting one named file of the project is what the user asked
	// for; it is no broader than rm of that file.
}

// findStarts returns find's start paths and the expression words.
func findStarts(args []arg) (starts, expr []arg) {
	i := 0
	for i < len(args) && args[i].static && (args[i].is("-H", "-L", "-P") || strings.HasPrefix(args[i].s, "-O") || args[i].is("-D")) {
		if args[i].is("-D") {
			i++
		}
		i++
	}
	for ; i < len(args); i++ {
		a := args[i]
		if a.static && (strings.HasPrefix(a.s, "-") || a.s == "(" || a.s == "!" || a.s == ",") {
			break
		}
		starts = append(starts, a)
	}
	if i >= len(args) {
		return starts, nil
	}
	return starts, args[i:]
}

// findFiltered reports whether a find expression narrows what it matches
// (by name, age, size...), so that deleting the matches is not deleting
// the whole start directory.
func findFiltered(expr []arg) bool {
	for i, e := range expr {
		if !e.static {
			return true
		}
		switch e.s {
		case "-name", "-iname", "-path", "-ipath", "-wholename", "-iwholename", "-regex", "-iregex", "-lname", "-ilname":
			if i+1 < len(expr) && !(expr[i+1].static && pureGlob(expr[i+1].s)) {
				return true
			}
		case "-mtime", "-mmin", "-atime", "-amin", "-ctime", "-cmin", "-newer", "-size", "-empty", "-perm", "-user", "-group", "-nouser", "-links", "-inum", "-samefile", "-newermt", "-used":
			return true
		}
	}
	return false
}

// findRule: -delete deletes what matches under the start paths; -exec
// and friends run a command on each match.
func findRule(c *cmd) {
	starts, expr := findStarts(c.args())
	if len(starts) == 0 {
		starts = []arg{lit(".")}
	}
	filtered := findFiltered(expr)
	for i := 0; i < len(expr); i++ {
		e := expr[i]
		if !e.static {
			continue
		}
		switch e.s {
		case "-delete":
			for _, s := range starts {
				if deleteTarget(c, s, filtered) {
					break
				}
			}
		case "-exec", "-execdir", "-ok", "-okdir":
			var inner []arg
			j := i + 1
			for ; j < len(expr); j++ {
				if expr[j].is(";", "+") {
					break
				}
				if expr[j].is("{}") {
					for _, s := range starts {
						it := s
						it.findItem = s.static && filtered
						it.word = nil
						inner = append(inner, it)
					}
					continue
				}
				if expr[j].static && strings.Contains(expr[j].s, "{}") {
					d := expr[j]
					d.static = false
					d.fromStdin = true
					inner = append(inner, d)
					continue
				}
				inner = append(inner, expr[j])
			}
			i = j
			if len(inner) > 0 {
				c.w.subCommand(c, inner, "find "+e.s)
			}
		case "-fprint", "-fprint0", "-fprintf", "-fls":
			if i+1 < len(expr) {
				writeTargets(c, expr[i+1:i+2], "find "+e.s)
			}
		}
	}
}

// subCommand classifies an argv another program runs (find -exec),
// as its own simple command anchored at the outer one.
func (w *walker) subCommand(c *cmd, argv []arg, how string) {
	w.argvElsewhere(c, argv, how, w.cwds, feed{kind: feedUnknown})
}

// execCommand classifies an argv that runs elsewhere with this command's
// own stdin (docker exec -i, kubectl exec -i): what is piped in is what the
// inner command reads, and the working directory is the container's.
func (w *walker) execCommand(c *cmd, argv []arg, how string) {
	w.argvElsewhere(c, argv, how, nil, c.stdin)
}

// argvElsewhere classifies an argv that c runs, in working directories cwds
// and reading stdin, as a simple command anchored at c.
func (w *walker) argvElsewhere(c *cmd, argv []arg, how string, cwds []string, stdin feed) {
	if w.depth >= maxDepth {
		c.emit(RuleDynamicCode, how+" nests too deeply to follow").opaque = true
		return
	}
	text := c.text()
	n := w.child(text, c.node())
	n.cwds = cwds
	n.stdin = stdin
	n.simpleArgv(argv, nil, text)
}

// mvRule: moving a system directory away breaks the system as surely as
// deleting it; moving onto a sensitive path overwrites it.
func mvRule(c *cmd) {
	p := parseOpts(c.args(), &optSpec{short: "bfinuvTZ", shortArg: "tS", long: []string{"backup", "force", "interactive", "no-clobber", "strip-trailing-slashes", "no-target-directory", "update", "verbose", "context", "exchange", "no-copy", "debug"}, longArg: []string{"suffix", "target-directory"}})
	ops := p.operands
	dest, hasT := p.value("-t", "--target-directory")
	if !hasT {
		if len(ops) < 2 {
			return
		}
		dest, ops = ops[len(ops)-1], ops[:len(ops)-1]
	}
	for _, a := range ops {
		if !a.static {
			continue
		}
		for _, pth := range c.w.paths(a) {
			if inHermesHome(pth) {
				c.emit(RuleSelfDisableWrite, "mv moves files out of the Hermes home")
				return
			}
			if c.selfRemoved(pth, a.s, "moves away", false) {
				return
			}
			if risk := c.w.pathRisk(pth); risk != riskNone && risk != riskCwdWhole && risk != riskOutside {
				c.emit(moveRule(risk), "mv "+a.s+" moves away "+riskDesc(risk))
				return
			}
			if c.selfRemoved(pth, a.s, "moves away", true) {
				return
			}
			if isHistoryFile(pth) {
				c.emit(RuleHistoryTamper, "mv moves a shell history file away")
				return
			}
		}
	}
	writeTargets(c, []arg{dest}, "mv")
	selfCopyInto(c, ops, dest, "mv", true)
	if len(ops) == 1 {
		c.w.noteProgramCopy(ops[0], dest)
	}
}

// cpRule: cp/install onto sensitive paths.
func cpRule(c *cmd) {
	spec := &optSpec{short: "abdfHilLnPprsuvxTRZ", shortArg: "StT", long: []string{"archive", "attributes-only", "force", "interactive", "link", "dereference", "no-clobber", "no-dereference", "parents", "recursive", "remove-destination", "strip-trailing-slashes", "symbolic-link", "no-target-directory", "update", "verbose", "one-file-system", "debug", "reflink", "sparse", "preserve", "no-preserve", "backup"}, longArg: []string{"suffix", "target-directory", "context"}}
	if c.name == "install" {
		spec = &optSpec{short: "bcCdDpsTvZ", shortArg: "gmoStT", long: []string{"compare", "directory", "preserve-timestamps", "strip", "no-target-directory", "verbose", "backup", "debug", "preserve-context"}, longArg: []string{"group", "mode", "owner", "suffix", "target-directory", "strip-program", "context"}}
	}
	p := parseOpts(c.args(), spec)
	dest, hasT := p.value("-t", "--target-directory")
	if !hasT {
		if len(p.operands) < 2 {
			if c.name == "install" && p.has("-d", "--directory") {
				writeTargets(c, p.operands, c.name)
			}
			return
		}
		dest = p.operands[len(p.operands)-1]
	}
	if c.name == "install" && p.has("-d", "--directory") {
		writeTargets(c, p.operands, c.name)
		return
	}
	writeTargets(c, []arg{dest}, c.name)
	srcs := p.operands
	if !hasT {
		srcs = srcs[:len(srcs)-1]
	}
	selfCopyInto(c, srcs, dest, c.name, p.has("-r", "-R", "-a", "--recursive", "--archive"))
	if len(p.operands) == 2 {
		c.w.noteProgramCopy(p.operands[0], dest)
	}
}

// truncateRule: truncating system or history files destroys them.
func truncateRule(c *cmd) {
	p := parseOpts(c.args(), &optSpec{short: "coh", shortArg: "rs", long: []string{"no-create", "io-blocks"}, longArg: []string{"reference", "size"}})
	writeTargets(c, p.operands, "truncate")
}

// rsyncRule: --delete into system or home directories; -e runs a command.
func rsyncRule(c *cmd) {
	p := parseOpts(c.args(), &optSpec{short: "vqcarRbuldLkKHpEAXogDtOJSnWxzCFhPi468", shortArg: "eBfTM", long: []string{"delete", "delete-before", "delete-during", "delete-delay", "delete-after", "delete-excluded", "del", "remove-source-files", "force", "archive", "recursive", "verbose", "dry-run", "progress", "partial", "compress", "checksum", "update", "inplace", "links", "hard-links", "perms", "times", "human-readable", "stats", "mkpath"}, longArg: []string{"rsh", "rsync-path", "exclude", "include", "exclude-from", "include-from", "filter", "backup-dir", "suffix", "chmod", "chown", "timeout", "bwlimit", "log-file", "port", "password-file", "files-from", "link-dest", "compare-dest", "copy-dest", "temp-dir", "partial-dir", "info", "debug", "max-size", "min-size", "out-format"}})
	if sh, ok := p.value("-e", "--rsh"); ok {
		c.w.shellText(sh, "rsync -e", c)
	}
	if sh, ok := p.value("--rsync-path"); ok && sh.static && strings.ContainsAny(sh.s, ";|&`$") {
		c.w.shellText(sh, "rsync --rsync-path", c)
	}
	if len(p.operands) < 2 {
		return
	}
	dest := p.operands[len(p.operands)-1]
	if p.has("--delete", "--delete-before", "--delete-during", "--delete-delay", "--delete-after", "--delete-excluded", "--del") && (!dest.static || isRemoteSpec(dest.s)) {
		c.emit(RuleDeleteRemote, "rsync --delete into "+quoteShort(dest.s)+" deletes there whatever the source lacks, and what is there cannot be seen from here")
		return
	}
	if p.has("--delete", "--delete-before", "--delete-during", "--delete-delay", "--delete-after", "--delete-excluded", "--del") && dest.static && !isRemoteSpec(dest.s) {
		for _, pth := range c.w.paths(dest) {
			if len(pth) > 1 {
				pth = strings.TrimSuffix(pth, "/") // but "/" stays the root
			}
			if risk := c.w.pathRisk(pth); risk != riskNone && risk != riskCwdWhole {
				c.emit(deleteRule(risk), "rsync --delete into "+dest.s+" deletes files in "+riskDesc(risk))
				return
			}
		}
	}
	if !isRemoteSpec(dest.s) {
		writeTargets(c, []arg{dest}, "rsync")
		selfCopyInto(c, p.operands[:len(p.operands)-1], dest, "rsync", true)
	}
	exfilSources(c, p.operands[:len(p.operands)-1], dest, "rsync")
}

// isRemoteSpec recognises host:path and rsync:// destinations.
func isRemoteSpec(s string) bool {
	if strings.HasPrefix(s, "rsync://") {
		return true
	}
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return false
	}
	slash := strings.IndexByte(s, '/')
	return slash < 0 || slash > i
}

// cdRule tracks static cd targets so that `cd ~ && rm -rf ./*` is seen as
// deleting home.
func cdRule(c *cmd) {
	args := c.args()
	for len(args) > 0 && args[0].static && strings.HasPrefix(args[0].s, "-") && args[0].s != "-" {
		args = args[1:]
	}
	var target string
	switch {
	case len(args) == 0:
		target = homeDir
	case args[0].static && !args[0].glob && args[0].s != "-":
		target = args[0].s
	default:
		return
	}
	var next []string
	for _, cw := range c.w.cwds {
		next = append(next, cleanPath(target, cw))
	}
	c.w.lastCd = next
}

// selfCopyInto checks a copy, move or link of srcs into dest when dest is
// the directory of hermes-exec's own programs: a source with one of their
// names replaces it (denied, as writing it is); with tree, a recursive
// copy of a directory's contents (DIR/., DIR/*, rsync's DIR/) may carry
// one, and asks, as a source whose name is a pattern that matches one.
func selfCopyInto(c *cmd, srcs []arg, dest arg, how string, tree bool) {
	k := c.w.ctx()
	if k == nil || len(k.self) == 0 || !dest.static {
		return
	}
	for _, p := range c.w.paths(dest) {
		names := k.selfNamesIn(p)
		if len(names) == 0 {
			continue
		}
		for _, a := range srcs {
			if !a.static {
				continue
			}
			base := path.Base(a.s)
			for _, n := range names {
				if base == n {
					c.emit(RuleSelfDisableWrite, how+" replaces hermes-exec's own program "+n+" in "+dest.s)
					return
				}
				if hasGlob(base) && componentMatches(base, n) {
					c.emit(RuleSysconfigWrite, how+" "+a.s+" may replace hermes-exec's own program "+n+" in "+dest.s)
					return
				}
			}
			if tree && (base == "." || strings.HasSuffix(a.s, "/") && how == "rsync") {
				c.emit(RuleSysconfigWrite, how+" copies a tree over the directory of hermes-exec's own programs ("+dest.s+"): its names may replace them")
				return
			}
		}
	}
}
