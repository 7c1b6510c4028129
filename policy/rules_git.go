package policy

import "strings"

// git: history-destroying subcommands and configuration that runs
// arbitrary commands.

func init() {
	register(gitRule, "git")
}

// gitCodeKeys are configuration keys whose value is a command line.
var gitCodeKeys = []string{"core.sshcommand", "core.pager", "core.fsmonitor", "core.hookspath", "core.editor", "core.askpass",
	"sequence.editor", "diff.external", "credential.helper", "gpg.program", "gpg.ssh.program", "uploadpack.packobjectshook",
	"core.gitproxy", "merge.tool", "diff.tool", "interactive.difffilter", "ssh.variant", "protocol.ext.allow", "filter.", "pager.", "alias.", "mergetool.", "difftool.", "remote.origin.uploadpack", "remote.origin.receivepack", "include.path", "includeif."}

func isGitCodeKey(k string) bool {
	k = strings.ToLower(k)
	for _, g := range gitCodeKeys {
		if strings.HasSuffix(g, ".") && strings.HasPrefix(k, g) || k == g {
			return true
		}
		if strings.HasPrefix(g, "remote.") && strings.HasPrefix(k, "remote.") && (strings.HasSuffix(k, ".uploadpack") || strings.HasSuffix(k, ".receivepack")) {
			return true
		}
	}
	return strings.HasPrefix(k, "filter.") || strings.HasSuffix(k, ".textconv") || strings.HasSuffix(k, ".cmd")
}

// gitConfigValue checks one key=value set on the command line or with
// git config.
func gitConfigValue(c *cmd, key string, val arg, how string) {
	if !isGitCodeKey(key) {
		return
	}
	lk := strings.ToLower(key)
	if strings.HasPrefix(lk, "alias.") {
		if val.static && !strings.HasPrefix(val.s, "!") {
			return
		}
		c.emit("git-config-exec", how+" defines a git alias that runs a shell command")
		if val.static {
			c.w.shellText(arg{s: strings.TrimPrefix(val.s, "!"), static: true, word: val.word}, "git alias "+key, c)
		}
		return
	}
	if how == "git config" && (lk == "core.editor" || lk == "core.pager" || strings.HasPrefix(lk, "pager.") || lk == "sequence.editor") {
		// Choosing an editor or pager is an everyday setting; judge the
		// command it names. On the command line (-c) it is a known way to
		// smuggle a command into an innocent-looking git call: ask.
		if val.static {
			c.w.shellText(val, "git "+key, c)
			return
		}
	}
	c.emit("git-config-exec", how+" sets "+key+", which makes git run a command")
	if val.static && val.s != "" {
		c.w.shellText(val, "git "+key, c)
	}
}

var gitGlobalArg = map[string]bool{"-C": true, "-c": true, "--git-dir": true, "--work-tree": true, "--namespace": true, "--exec-path": false, "--super-prefix": true, "--config-env": true, "--list-cmds": false, "--attr-source": true}

func gitRule(c *cmd) {
	args := c.args()
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if !a.static || !strings.HasPrefix(a.s, "-") {
			break
		}
		name, _, hasEq := strings.Cut(a.s, "=")
		if a.s == "-c" && i+1 < len(args) {
			i++
			kv := args[i]
			if kv.static {
				k, v, _ := strings.Cut(kv.s, "=")
				gitConfigValue(c, k, arg{s: v, static: true, word: kv.word}, "git -c")
			} else {
				c.emit("git-config-exec", "git -c sets configuration that is not known statically")
			}
			continue
		}
		if name == "--config-env" {
			c.emit("git-config-exec", "git --config-env sets configuration from the environment")
		}
		if gitGlobalArg[name] && !hasEq {
			i++
		}
	}
	if i >= len(args) {
		return
	}
	sub := args[i]
	rest := args[i+1:]
	// Rules match `git SUB ...` whatever global options came before.
	if i > 0 {
		c.addView(append([]arg{c.argv[0]}, args[i:]...))
	}
	if !sub.static {
		for _, a := range rest {
			if a.is("--force", "-f", "--hard", "-D", "--mirror", "--delete") || shortBundleHas(a, "fD", "") {
				c.emit("git-destructive", "git with a subcommand that is not known statically and "+a.s).seenAtExec()
				return
			}
		}
		return
	}
	switch sub.s {
	case "push":
		gitPush(c, rest)
	case "reset":
		for _, a := range rest {
			if a.static && strings.HasPrefix(a.s, "--ha") && strings.HasPrefix("--hard", a.s) {
				c.emit("git-destructive", "git reset --hard discards uncommitted work")
				return
			}
			if a.is("--merge", "--keep") {
				continue
			}
		}
	case "clean":
		force, dry := false, false
		for _, a := range rest {
			if a.is("--") {
				break
			}
			if a.static && strings.HasPrefix(a.s, "--fo") && strings.HasPrefix("--force", a.s) || shortBundleHas(a, "f", "eE") {
				force = true
			}
			if a.is("-n", "--dry-run") || shortBundleHas(a, "n", "eE") {
				dry = true
			}
		}
		if force && !dry {
			c.emit("git-destructive", "git clean -f deletes untracked files for good")
		}
	case "branch":
		del, forceFlag := false, false
		for _, a := range rest {
			switch {
			case a.is("-D") || shortBundleHas(a, "D", ""):
				c.emit("git-destructive", "git branch -D deletes a branch even when unmerged")
				return
			case a.is("-d", "--delete") || shortBundleHas(a, "d", ""):
				del = true
			case a.is("-f", "--force") || shortBundleHas(a, "f", ""):
				forceFlag = true
			}
		}
		if del && forceFlag {
			c.emit("git-destructive", "git branch --delete --force deletes a branch even when unmerged")
		}
	case "filter-branch", "filter-repo":
		c.emit("git-destructive", "git "+sub.s+" rewrites the whole history")
	case "reflog":
		if len(rest) > 0 && rest[0].is("expire", "delete") {
			c.emit("git-destructive", "git reflog "+rest[0].s+" removes the safety net for lost commits")
		}
	case "gc":
		for _, a := range rest {
			if a.is("--prune=now", "--prune=all") {
				c.emit("git-destructive", "git gc "+a.s+" deletes unreachable commits immediately")
			}
		}
	case "checkout", "restore":
		gitDiscard(c, sub.s, rest)
	case "stash":
		if len(rest) > 0 && rest[0].is("clear") {
			c.emit("git-destructive", "git stash "+rest[0].s+" deletes stashed work")
		}
	case "update-ref":
		for _, a := range rest {
			if a.is("-d", "--stdin") {
				c.emit("git-destructive", "git update-ref "+a.s+" rewrites refs directly")
				return
			}
		}
	case "rm":
		rec := false
		for _, a := range rest {
			if a.is("-r") || shortBundleHas(a, "r", "") {
				rec = true
			}
			if a.is("--cached") {
				return
			}
		}
		if rec {
			for _, a := range rest {
				if a.is(".", "*", ":/", "./") {
					c.emit("git-destructive", "git rm -r "+a.s+" deletes every tracked file")
					return
				}
			}
		}
	case "config":
		gitConfig(c, rest)
	case "submodule":
		for j, a := range rest {
			if a.is("foreach") && j+1 < len(rest) {
				k := j + 1
				for k < len(rest) && rest[k].is("--recursive", "-q", "--quiet") {
					k++
				}
				if k < len(rest) {
					c.w.shellText(joinArgs(rest[k:]), "git submodule foreach", c)
				}
				return
			}
		}
	case "rebase":
		for j, a := range rest {
			if (a.is("-x", "--exec")) && j+1 < len(rest) {
				c.w.shellText(rest[j+1], "git rebase --exec", c)
			} else if a.static && strings.HasPrefix(a.s, "--exec=") {
				c.w.shellText(arg{s: strings.TrimPrefix(a.s, "--exec="), static: true, word: a.word}, "git rebase --exec", c)
			}
		}
	case "bisect":
		if len(rest) > 1 && rest[0].is("run") {
			c.w.subCommand(c, rest[1:], "git bisect run")
		}
	}
}

func gitPush(c *cmd, rest []arg) {
	positional := 0
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if !a.static {
			if !a.split {
				positional++
			}
			continue
		}
		s := a.s
		switch {
		case s == "--":
			continue
		case strings.HasPrefix(s, "--"):
			name, _, _ := strings.Cut(s, "=")
			for _, opt := range []string{"--force", "--force-with-lease", "--force-if-includes", "--mirror", "--delete", "--prune"} {
				if len(name) >= 4 && strings.HasPrefix(opt, name) {
					c.emit("git-destructive", "git push "+s+" overwrites or deletes remote history")
					return
				}
			}
			if name == "--repo" || name == "--receive-pack" || name == "--exec" || name == "--push-option" || name == "--recurse-submodules" || name == "--signed" {
				if !strings.Contains(s, "=") {
					j++
				}
			}
		case strings.HasPrefix(s, "-") && len(s) > 1:
			for k := 1; k < len(s); k++ {
				if s[k] == 'f' || s[k] == 'd' {
					c.emit("git-destructive", "git push "+s+" force-pushes or deletes remote branches")
					return
				}
				if s[k] == 'o' {
					if k == len(s)-1 {
						j++
					}
					break
				}
			}
		default:
			positional++
			if positional >= 2 && (strings.HasPrefix(s, "+") || strings.HasPrefix(s, ":")) {
				c.emit("git-destructive", "git push "+s+" force-updates or deletes a remote ref")
				return
			}
		}
	}
}

// gitDiscard: checkout/restore of everything throws away local changes.
func gitDiscard(c *cmd, sub string, rest []arg) {
	staged, worktree := false, false
	for _, a := range rest {
		switch {
		case a.is("--staged", "-S") || shortBundleHas(a, "S", ""):
			staged = true
		case a.is("--worktree", "-W") || shortBundleHas(a, "W", ""):
			worktree = true
		case sub == "checkout" && (a.is("-f", "--force") || shortBundleHas(a, "f", "bB")):
			c.emit("git-destructive", "git checkout -f discards local changes")
			return
		}
	}
	if sub == "restore" && staged && !worktree {
		return
	}
	for _, a := range rest {
		if a.is(".", "*", ":/", "./", ":/*", "-A") {
			c.emit("git-destructive", "git "+sub+" "+a.s+" discards every uncommitted change")
			return
		}
	}
}

func gitConfig(c *cmd, rest []arg) {
	var ops []arg
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a.static && strings.HasPrefix(a.s, "-") {
			if a.is("-f", "--file", "--blob", "--type", "--default", "--comment") {
				j++
			}
			if a.is("--get", "--get-all", "--get-regexp", "--list", "-l", "--unset", "--unset-all", "--show-origin", "--name-only") {
				return
			}
			continue
		}
		ops = append(ops, a)
	}
	if len(ops) > 0 && ops[0].is("get", "list", "unset") {
		return
	}
	if len(ops) > 0 && ops[0].is("set") {
		ops = ops[1:]
	}
	if len(ops) >= 2 && ops[0].static {
		gitConfigValue(c, ops[0].s, ops[1], "git config")
	}
}
