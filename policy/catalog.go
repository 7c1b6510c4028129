package policy

import "sync"

// RuleInfo describes one built-in rule.
type RuleInfo struct {
	ID          RuleID   `json:"id"`
	Description string   `json:"description"`
	Decision    Decision `json:"decision"`
	Class       string   `json:"class"`
	// Programs are the programs whose own handlers can report this rule
	// (from rulePrograms); empty for rules about the shell text itself
	// (redirections, pipes, assignments, command names), which apply to
	// any command.
	Programs []string `json:"programs"`
	// Applies says what a rule without programs of its own applies to.
	Applies string `json:"applies,omitempty"`
}

// genericScope describes the reach of rules that no handler of a named
// program reports.
var genericScope = map[RuleID]string{
	RuleServiceDestroy:   "every program without a rule of its own, by its subcommand and option words",
	RuleCloudMetadata:    "every program given a metadata address (curl, wget, nc, interpreter code ...)",
	RuleUnicodeLookalike: "every command name and argument",
	RuleSelfSecretRead:   "every command given a path to one of the agent's secrets in HERMES_HOME, and < redirections",
}

// ruleDef is a catalog entry; Catalog adds the programs.
type ruleDef struct {
	ID          RuleID
	Description string
	Decision    Decision
	Class       string
}

// catalog is the single source of rule decisions: findings take their
// decision from here.
var catalog = []ruleDef{
	// delete
	{RuleDeleteRoot, "Recursive or forced delete of / or everything in it", Ask, "delete"},
	{RuleDeleteToplevel, "Delete of a top-level directory (or a glob at the top level)", Ask, "delete"},
	{RuleDeleteSystem, "Delete inside a system tree (/etc, /usr, /var, /boot, ...)", Ask, "delete"},
	{RuleDeleteHome, "Delete of the home directory or all of its contents", Ask, "delete"},
	{RuleDeleteHomeSecrets, "Delete of keys or credentials in home (~/.ssh, ~/.gnupg, ~/.aws, ~/.kube, ~/.config)", Ask, "delete"},
	{RuleDeleteOtherHome, "Delete of files in another user's home directory (~name/..., /home/name/...)", Ask, "delete"},
	{RuleDeleteOutsideCwd, "Delete of a path that climbs out of the working directory", Ask, "delete"},
	{RuleDeleteGitHistory, "Delete of a repository's .git directory (every unpushed commit, branch and stash)", Ask, "git-destructive"},
	{RuleDeleteCwdWhole, "Delete of the whole working directory (., *, ./*)", Ask, "delete"},
	{RuleDeleteUnknownTarget, "Delete of targets not known statically (variables, $(...), xargs input)", Ask, "delete"},
	{RuleDeleteRemote, "rsync --delete into a remote or unknown directory (what it deletes there cannot be seen)", Ask, "delete"},
	{RuleDeleteShred, "shred and friends overwrite files beyond recovery", Ask, "delete"},
	{RuleMoveRoot, "Moving / away", Ask, "delete"},
	{RuleMoveToplevel, "Moving a top-level directory away", Ask, "delete"},
	{RuleMoveSystem, "Moving a system directory or file away", Ask, "delete"},
	{RuleMoveHome, "Moving the home directory away", Ask, "delete"},
	{RuleMoveHomeSecrets, "Moving credentials directories away", Ask, "delete"},
	// disk
	{RuleDiskFormat, "Creating file systems, wiping signatures or erasing drives", Ask, "disk"},
	{RuleDiskPartition, "Modifying a partition table", Ask, "disk"},
	{RuleDiskMount, "Mounting, unmounting or remounting file systems, or switching swap", Ask, "disk"},
	{RuleDiskDeviceWrite, "Writing raw data onto a disk device (dd of=, redirects, cp, tee)", Ask, "disk"},
	{RuleDiskLvm, "Removing or shrinking LVM volumes", Ask, "disk"},
	// perms
	{RulePermsSystem, "chmod/chown of system paths or devices", Ask, "perms"},
	{RulePermsBroad, "Recursive chmod/chown on broad, system or home paths", Ask, "perms"},
	{RulePermsWorldWritable, "Giving every user write access outside the working directory", Ask, "perms"},
	// privesc
	{RulePrivescSudo, "sudo, doas, run0, pkexec, su and similar", Ask, "privesc"},
	{RulePrivescSetuid, "Setting setuid/setgid bits", Ask, "privesc"},
	{RulePrivescSetcap, "Granting file capabilities", Ask, "privesc"},
	{RulePrivescSudoers, "Editing sudoers or the user database", Ask, "privesc"},
	{RulePrivescGroup, "Adding users to privileged groups", Ask, "privesc"},
	{RulePrivescAccount, "Changing accounts or passwords", Ask, "privesc"},
	{RulePreloadInjection, "LD_PRELOAD/LD_AUDIT injects a library into programs", Ask, "privesc"},
	// processes and machine state
	{RuleForkBomb, "A function that spawns itself recursively", Ask, "fork-bomb"},
	{RuleKillall, "killall, pkill and similar kill processes by name", Ask, "killall"},
	{RuleKillallEveryProcess, "kill -1 / kill 0: signal every process", Ask, "killall"},
	{RuleKillallInit, "Signalling PID 1", Ask, "killall"},
	{RuleKillallDynamic, "kill of process ids produced at run time", Ask, "killall"},
	{RuleShutdown, "Shutting down, rebooting or suspending the machine", Ask, "shutdown"},
	{RuleShutdownSysrq, "Writing to the magic SysRq trigger", Ask, "shutdown"},
	{RuleServiceStop, "Stopping, restarting, masking or disabling services", Ask, "service-stop"},
	{RuleNetworkDown, "Taking network interfaces or routes down", Ask, "service-stop"},
	{RuleSystemTime, "Setting the system clock or its time source", Ask, "sysconfig-write"},
	// data
	{RuleSqlDestructive, "Destructive SQL (DROP, TRUNCATE, DELETE/UPDATE without WHERE) or Redis/Mongo wipes", Ask, "sql"},
	{RuleSqlDynamic, "SQL or database commands not known statically", Ask, "sql"},
	// code execution
	{RuleRemoteCodeExec, "Running code downloaded from the network", Ask, "remote-code-exec"},
	{RuleReverseShell, "A shell or program connected to a network socket", Ask, "remote-code-exec"},
	{RuleDecodedCodeExec, "Running decoded or transformed text as code", Ask, "code-exec"},
	{RuleDynamicCode, "Running code whose text is not known statically", Ask, "code-exec"},
	{RuleInterpreterCode, "Interpreter code that runs commands, deletes files or writes sensitive files", Ask, "code-exec"},
	{RuleSshCommand, "ssh options that run local commands (ProxyCommand, LocalCommand)", Ask, "code-exec"},
	{RuleGitConfigExec, "git configuration that runs commands (aliases with !, core.sshCommand, hooks)", Ask, "code-exec"},
	{RuleArithmeticCode, "Command substitution inside an array subscript evaluated as arithmetic", Ask, "fail-closed"},
	// git
	{RuleGitDestructive, "git operations that destroy history or local work", Ask, "git-destructive"},
	// configuration writes
	{RuleSysconfigWrite, "Writing system configuration, binaries or kernel settings", Ask, "sysconfig-write"},
	{RuleSysconfigShellStartup, "Writing shell start-up files", Ask, "sysconfig-write"},
	{RuleSysconfigHomeSecrets, "Writing ~/.ssh, ~/.gnupg or autostart locations", Ask, "sysconfig-write"},
	{RuleSysconfigSysctl, "Changing kernel settings with sysctl", Ask, "sysconfig-write"},
	{RuleSysconfigKernelModule, "Loading or unloading kernel modules", Ask, "sysconfig-write"},
	// history and scheduling
	{RuleHistoryTamper, "Clearing, deleting or redirecting shell history", Ask, "history"},
	{RuleHistoryDisable, "Turning off history recording", Ask, "history"},
	{RuleHistoryLogs, "Overwriting, truncating or vacuuming system logs", Ask, "history"},
	{RuleHistoryCrontab, "Installing, editing or removing crontabs", Ask, "history"},
	{RuleHistoryAt, "Scheduling commands with at/batch", Ask, "history"},
	// security
	{RuleSecurityFirewall, "Disabling or flushing the firewall", Ask, "security-disable"},
	{RuleSecuritySelinux, "Switching SELinux to permissive", Ask, "security-disable"},
	{RuleSecuritySelinuxConfig, "Rewriting the SELinux configuration", Ask, "security-disable"},
	{RuleSecurityApparmor, "Disabling AppArmor", Ask, "security-disable"},
	{RuleSecurityAudit, "Disabling auditing", Ask, "security-disable"},
	{RuleSecurityServiceStop, "Stopping or disabling security and logging services", Ask, "security-disable"},
	{RuleSecurityKernelKnob, "Turning off kernel protections (ASLR, ptrace scope, ...)", Ask, "security-disable"},
	// exfil
	{RuleExfil, "Sending credentials or the environment over the network", Ask, "exfil"},
	// containers and infrastructure
	{RuleContainerEscape, "Containers with host privileges, devices, namespaces or sensitive mounts", Ask, "container-escape"},
	{RuleContainerDestroy, "Deleting volumes, images, clusters or cloud infrastructure", Ask, "container-escape"},
	// service CLIs and APIs
	{RuleServiceDestroy, "A CLI subcommand or option that deletes, destroys, purges or revokes resources (any tool without a rule of its own, by its words)", Ask, "service-destroy"},
	{RulePackageRemove, "Removing installed system packages (apt remove, dnf erase, pacman -R, dpkg --purge, rpm -e, brew uninstall ...)", Ask, "service-destroy"},
	{RuleForgeDestroy, "Deleting repositories, releases, secrets or keys on GitHub/GitLab (gh, glab)", Ask, "service-destroy"},
	{RuleSecretsDestroy, "Deleting, destroying or revoking secrets, tokens or engines (vault, op, doppler ...)", Ask, "service-destroy"},
	{RuleBackupDestroy, "Deleting or pruning backups (restic forget/prune, borg delete, velero backup delete ...)", Ask, "service-destroy"},
	{RuleHTTPDelete, "HTTP DELETE requests and delete-by-query calls to APIs", Ask, "service-destroy"},
	{RuleCloudMetadata, "Reaching a cloud instance-metadata endpoint (169.254.169.254, metadata.google.internal, fd00:ec2::254), which hands out credentials", Ask, "exfil"},
	// self-disable
	{RuleSelfDisableEnv, "Setting HERMES_YOLO*, HERMES_APPROVALS* or HERMES_HOME", Deny, "self-disable"},
	{RuleSelfDisableCli, "hermes-exec --yolo, --config, yolo on, allowlist changes", Deny, "self-disable"},
	{RuleSelfDisableWrite, "Writing, deleting or chmod-ing inside the Hermes home; replacing, moving or deleting hermes-exec's own programs or the shell's bash link", Deny, "self-disable"},
	{RuleSelfSecretRead, "Reading the agent's own secrets in the Hermes home (.env, the age identity, the gateway's key, pairing records, hook grants)", Ask, "exfil"},
	// fail closed
	{RuleParseError, "The text does not parse as bash", Ask, "fail-closed"},
	{RuleDynamicCommandName, "The command name is not a static word", Ask, "fail-closed"},
	{RuleUnicodeLookalike, "Non-ASCII look-alike or invisible characters in a command", Ask, "fail-closed"},
	{RuleInternalError, "The classifier failed; asking instead", Ask, "fail-closed"},
	// user rules
	{RuleUserDeny, "Matches a user deny rule", Deny, "user"},
	{RuleUserDenyUnresolved, "A user deny rule might match a word that is not static", Deny, "user"},
}

// catalogIndex is the catalog by rule, made when a finding first asks
// (most commands raise none).
var catalogIndex = sync.OnceValue(func() map[RuleID]ruleDef {
	m := make(map[RuleID]ruleDef, len(catalog))
	for _, r := range catalog {
		m[r.ID] = r
	}
	return m
})

// ruleDecision is the catalog decision of a rule; an unknown rule asks
// (fail closed).
func ruleDecision(id RuleID) Decision {
	if r, ok := catalogIndex()[id]; ok {
		return r.Decision
	}
	return Ask
}

// Catalog lists the built-in rules with the programs each covers (for
// `hermes-exec rules`). The result is a copy.
func Catalog() []RuleInfo {
	out := make([]RuleInfo, len(catalog))
	for i, r := range catalog {
		out[i] = RuleInfo{ID: r.ID, Description: r.Description, Decision: r.Decision, Class: r.Class,
			Programs: append([]string{}, rulePrograms[r.ID]...)}
		if len(out[i].Programs) == 0 {
			out[i].Applies = genericScope[r.ID]
			if out[i].Applies == "" {
				out[i].Applies = "any command (the shell text itself: redirections, pipes, assignments, command names)"
			}
		}
	}
	return out
}
