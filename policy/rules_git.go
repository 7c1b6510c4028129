package policy

import "strings"

// git: history-destroying subcommands and configuration that runs
// arbitrary commands.

func init() {
	register(gitRule, "git")
	register(gitDashedRule, "git-push", "git-reset", "git-clean", "git-checkout", "git-branch", "git-stash",
		"git-rm", "git-reflog", "git-gc", "git-filter-branch", "git-restore", "git-switch", "git-worktree",
		"git-update-ref", "git-config", "git-submodule", "git-rebase")
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

// plainEditors are editors and pagers that run no command of their own
// choosing when git starts them.
func plainEditors(s string) bool {
	switch s {
	case "vim", "vi", "nvim", "nano", "emacs", "code",
		"subl", "mate", "micro", "hx", "kak", "less", "more", "cat",
		"true", "delta", "diff-so-fancy", "bat", "most":
		return true
	}
	return false
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
		c.emit(RuleGitConfigExec, how+" defines a git alias that runs a shell command")
		if val.static {
			c.w.shellText(arg{s: strings.TrimPrefix(val.s, "!"), static: true, word: val.word}, "git alias "+key, c)
		}
		return
	}
	if lk == "core.editor" || lk == "core.pager" || strings.HasPrefix(lk, "pager.") || lk == "sequence.editor" {
		// An editor or pager named by itself (vim, less, code --wait) is
		// an everyday choice wherever it is set.
		if words, ok := splitWords(val.s); ok && val.static && plainEditors(progName(words[0])) {
			c.w.subCommand(c, staticArgs(words), "git "+key)
			return
		}
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
	c.emit(RuleGitConfigExec, how+" sets "+key+", which makes git run a command")
	if val.static && val.s != "" {
		c.w.shellText(val, "git "+key, c)
	}
}

// gitGlobalArg reports git's global options that take the next word as
// their value (--exec-path and --list-cmds take theirs only after =).
func gitGlobalArg(s string) bool {
	switch s {
	case "-C", "-c", "--git-dir", "--work-tree", "--namespace", "--super-prefix", "--config-env", "--attr-source":
		return true
	}
	return false
}

func gitRule(c *cmd) {
	args := c.args()
	i := 0
	var aliases map[string]string       // -c alias.NAME=VALUE without !
	gitDir := arg{s: ".", static: true} // where git -C leaves it
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
				if lk := strings.ToLower(k); strings.HasPrefix(lk, "alias.") && !strings.HasPrefix(v, "!") {
					if aliases == nil {
						aliases = map[string]string{}
					}
					aliases[k[len("alias."):]] = v
				}
			} else {
				c.emit(RuleGitConfigExec, "git -c sets configuration that is not known statically")
			}
			continue
		}
		if name == "--config-env" {
			c.emit(RuleGitConfigExec, "git --config-env sets configuration from the environment")
		}
		if a.s == "-C" && i+1 < len(args) {
			gitDir = joinDir(gitDir, args[i+1])
		}
		if gitGlobalArg(name) && !hasEq {
			i++
		}
	}
	if i >= len(args) {
		return
	}
	sub := args[i]
	rest := args[i+1:]
	if v, ok := aliases[sub.s]; ok && sub.static && c.w.depth < maxDepth {
		// git -c alias.x='push --force' x runs `git push --force`.
		if words, ok := splitWords(v); ok {
			inner := append(append([]arg{lit("git")}, staticArgs(words)...), rest...)
			c.w.subCommand(c, inner, "git alias "+sub.s)
		} else {
			c.emit(RuleGitConfigExec, "git alias "+sub.s+" expands to words that cannot be read statically")
		}
		return
	}
	// Rules match `git SUB ...` whatever global options came before.
	if i > 0 {
		c.addView(append([]arg{c.argv[0]}, args[i:]...))
	}
	if !sub.static {
		for _, a := range rest {
			if a.is("--force", "-f", "--hard", "-D", "--mirror", "--delete") || shortBundleHas(a, "fD", "") {
				c.emit(RuleGitDestructive, "git with a subcommand that is not known statically and "+a.s).seenAtExec()
				return
			}
		}
		return
	}
	switch sub.s {
	case "apply", "am":
		gitApply(c, sub.s, gitDir, rest)
	case "push":
		gitPush(c, rest)
	case "reset":
		for _, a := range rest {
			if a.static && strings.HasPrefix(a.s, "--ha") && strings.HasPrefix("--hard", a.s) {
				c.emit(RuleGitDestructive, "git reset --hard discards uncommitted work")
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
			c.emit(RuleGitDestructive, "git clean -f deletes untracked files for good")
		}
	case "branch":
		del, forceFlag := false, false
		for _, a := range rest {
			switch {
			case a.is("-D") || shortBundleHas(a, "D", ""):
				c.emit(RuleGitDestructive, "git branch -D deletes a branch even when unmerged")
				return
			case a.is("-d", "--delete") || shortBundleHas(a, "d", ""):
				del = true
			case a.is("-f", "--force") || shortBundleHas(a, "f", ""):
				forceFlag = true
			}
		}
		if del && forceFlag {
			c.emit(RuleGitDestructive, "git branch --delete --force deletes a branch even when unmerged")
		}
	case "filter-branch", "filter-repo":
		c.emit(RuleGitDestructive, "git "+sub.s+" rewrites the whole history")
	case "reflog":
		if len(rest) > 0 && rest[0].is("expire", "delete") {
			c.emit(RuleGitDestructive, "git reflog "+rest[0].s+" removes the safety net for lost commits")
		}
	case "gc":
		for _, a := range rest {
			if a.is("--prune=now", "--prune=all") {
				c.emit(RuleGitDestructive, "git gc "+a.s+" deletes unreachable commits immediately")
			}
		}
	case "checkout", "restore", "switch":
		gitDiscard(c, sub.s, rest)
	case "worktree":
		if len(rest) > 0 && rest[0].is("remove", "rm") {
			for _, a := range rest[1:] {
				if a.is("--") {
					break
				}
				if a.is("-f", "--force") || shortBundleHas(a, "f", "") {
					c.emit(RuleGitDestructive, "git worktree remove --force deletes a worktree with its uncommitted changes")
					return
				}
			}
		}
	case "stash":
		if len(rest) > 0 && rest[0].is("clear") {
			c.emit(RuleGitDestructive, "git stash "+rest[0].s+" deletes stashed work")
		}
	case "update-ref":
		for _, a := range rest {
			if a.is("-d", "--stdin") {
				c.emit(RuleGitDestructive, "git update-ref "+a.s+" rewrites refs directly")
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
					c.emit(RuleGitDestructive, "git rm -r "+a.s+" deletes every tracked file")
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
					c.emit(RuleGitDestructive, "git push "+s+" overwrites or deletes remote history")
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
					c.emit(RuleGitDestructive, "git push "+s+" force-pushes or deletes remote branches")
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
				c.emit(RuleGitDestructive, "git push "+s+" force-updates or deletes a remote ref")
				return
			}
		}
	}
}

// gitDiscard: checkout/restore of everything, or a forced checkout or
// switch, throws away local changes. Words after -- are paths, never
// options (git checkout -- -f names a file called -f).
func gitDiscard(c *cmd, sub string, rest []arg) {
	staged, worktree := false, false
	opts := rest
	for k, a := range rest {
		if a.is("--") {
			opts = rest[:k]
			break
		}
	}
	for _, a := range opts {
		switch {
		case sub == "switch" && (a.is("-f", "--force", "--discard-changes") || shortBundleHas(a, "f", "cC")):
			c.emit(RuleGitDestructive, "git switch "+a.s+" discards local changes")
			return
		case sub == "switch" && (a.is("-C", "--force-create") || shortBundleHas(a, "C", "")):
			c.emit(RuleGitDestructive, "git switch "+a.s+" resets an existing branch, dropping its commits")
			return
		case a.is("--staged", "-S") || shortBundleHas(a, "S", ""):
			staged = true
		case a.is("--worktree", "-W") || shortBundleHas(a, "W", ""):
			worktree = true
		case sub == "checkout" && (a.is("-f", "--force") || shortBundleHas(a, "f", "bB")):
			c.emit(RuleGitDestructive, "git checkout -f discards local changes")
			return
		}
	}
	if sub == "restore" && staged && !worktree || sub == "switch" {
		return
	}
	for _, a := range rest {
		if a.is(".", "*", ":/", "./", ":/*", "-A") {
			c.emit(RuleGitDestructive, "git "+sub+" "+a.s+" discards every uncommitted change")
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

// gitDashedRule: git's builtins can be run by their dashed names from
// git's exec path (/usr/lib/git-core/git-reset --hard): judged as git.
func gitDashedRule(c *cmd) {
	sub := strings.TrimPrefix(c.name, "git-")
	argv := append([]arg{lit("git"), lit(sub)}, c.args()...)
	c.w.subCommand(c, argv, c.name)
}

// gitApply: git apply and git am write the files their patches name, as
// patch does, below the working directory (or git -C DIR, and apply's
// --directory=ROOT below that): over a directory that holds the Hermes
// home they may create .hermes/config.yaml. Only checking, listing, or
// applying to the index alone writes no file.
func gitApply(c *cmd, sub string, dir arg, rest []arg) {
	writes := sub == "am"
	if sub == "apply" {
		writes = true
		for _, a := range rest {
			if a.is("--check", "--stat", "--numstat", "--summary", "--cached") {
				writes = false
			}
		}
		for _, a := range rest {
			if a.is("--apply") {
				writes = true
			}
		}
	}
	if !writes {
		return
	}
	for i, a := range rest {
		switch {
		case a.static && strings.HasPrefix(a.s, "--directory="):
			dir = joinDir(dir, arg{s: a.s[len("--directory="):], static: true, word: a.word})
		case a.is("--directory") && i+1 < len(rest):
			dir = joinDir(dir, rest[i+1])
		}
	}
	extractsOverHermes(c, []arg{dir}, "git "+sub)
}
