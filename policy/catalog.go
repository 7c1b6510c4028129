package policy

// RuleInfo describes one built-in rule.
type RuleInfo struct {
	ID, Description string
	Decision        Decision
	Class           string
}

// catalog is the single source of rule decisions: findings take their
// decision from here.
var catalog = []RuleInfo{
	// delete
	{"delete-root", "Recursive or forced delete of / or everything in it", Ask, "delete"},
	{"delete-toplevel", "Delete of a top-level directory (or a glob at the top level)", Ask, "delete"},
	{"delete-system", "Delete inside a system tree (/etc, /usr, /var, /boot, ...)", Ask, "delete"},
	{"delete-home", "Delete of the home directory or all of its contents", Ask, "delete"},
	{"delete-home-secrets", "Delete of keys or credentials in home (~/.ssh, ~/.gnupg, ~/.aws, ~/.kube, ~/.config)", Ask, "delete"},
	{"delete-outside-cwd", "Delete of a path that climbs out of the working directory", Ask, "delete"},
	{"delete-git-history", "Delete of a repository's .git directory (every unpushed commit, branch and stash)", Ask, "git-destructive"},
	{"delete-cwd-whole", "Delete of the whole working directory (., *, ./*)", Ask, "delete"},
	{"delete-unknown-target", "Delete of targets not known statically (variables, $(...), xargs input)", Ask, "delete"},
	{"delete-shred", "shred and friends overwrite files beyond recovery", Ask, "delete"},
	{"move-root", "Moving / away", Ask, "delete"},
	{"move-toplevel", "Moving a top-level directory away", Ask, "delete"},
	{"move-system", "Moving a system directory or file away", Ask, "delete"},
	{"move-home", "Moving the home directory away", Ask, "delete"},
	{"move-home-secrets", "Moving credentials directories away", Ask, "delete"},
	// disk
	{"disk-format", "Creating file systems, wiping signatures or erasing drives", Ask, "disk"},
	{"disk-partition", "Modifying a partition table", Ask, "disk"},
	{"disk-mount", "Mounting, unmounting or remounting file systems, or switching swap", Ask, "disk"},
	{"disk-device-write", "Writing raw data onto a disk device (dd of=, redirects, cp, tee)", Ask, "disk"},
	{"disk-lvm", "Removing or shrinking LVM volumes", Ask, "disk"},
	// perms
	{"perms-system", "chmod/chown of system paths or devices", Ask, "perms"},
	{"perms-broad", "Recursive chmod/chown on broad, system or home paths", Ask, "perms"},
	{"perms-world-writable", "Giving every user write access outside the working directory", Ask, "perms"},
	// privesc
	{"privesc-sudo", "sudo, doas, run0, pkexec, su and similar", Ask, "privesc"},
	{"privesc-setuid", "Setting setuid/setgid bits", Ask, "privesc"},
	{"privesc-setcap", "Granting file capabilities", Ask, "privesc"},
	{"privesc-sudoers", "Editing sudoers or the user database", Ask, "privesc"},
	{"privesc-group", "Adding users to privileged groups", Ask, "privesc"},
	{"privesc-account", "Changing accounts or passwords", Ask, "privesc"},
	{"preload-injection", "LD_PRELOAD/LD_AUDIT injects a library into programs", Ask, "privesc"},
	// processes and machine state
	{"fork-bomb", "A function that spawns itself recursively", Ask, "fork-bomb"},
	{"killall", "killall, pkill and similar kill processes by name", Ask, "killall"},
	{"killall-every-process", "kill -1 / kill 0: signal every process", Ask, "killall"},
	{"killall-init", "Signalling PID 1", Ask, "killall"},
	{"killall-dynamic", "kill of process ids produced at run time", Ask, "killall"},
	{"shutdown", "Shutting down, rebooting or suspending the machine", Ask, "shutdown"},
	{"shutdown-sysrq", "Writing to the magic SysRq trigger", Ask, "shutdown"},
	{"service-stop", "Stopping, restarting, masking or disabling services", Ask, "service-stop"},
	{"network-down", "Taking network interfaces or routes down", Ask, "service-stop"},
	{"system-time", "Setting the system clock or its time source", Ask, "sysconfig-write"},
	// data
	{"sql-destructive", "Destructive SQL (DROP, TRUNCATE, DELETE/UPDATE without WHERE) or Redis/Mongo wipes", Ask, "sql"},
	{"sql-dynamic", "SQL or database commands not known statically", Ask, "sql"},
	// code execution
	{"remote-code-exec", "Running code downloaded from the network", Ask, "remote-code-exec"},
	{"reverse-shell", "A shell or program connected to a network socket", Ask, "remote-code-exec"},
	{"decoded-code-exec", "Running decoded or transformed text as code", Ask, "code-exec"},
	{"dynamic-code", "Running code whose text is not known statically", Ask, "code-exec"},
	{"interpreter-code", "Interpreter code that runs commands, deletes files or writes sensitive files", Ask, "code-exec"},
	{"ssh-command", "ssh options that run local commands (ProxyCommand, LocalCommand)", Ask, "code-exec"},
	{"git-config-exec", "git configuration that runs commands (aliases with !, core.sshCommand, hooks)", Ask, "code-exec"},
	{"arithmetic-code", "Command substitution inside an array subscript evaluated as arithmetic", Ask, "fail-closed"},
	// git
	{"git-destructive", "git operations that destroy history or local work", Ask, "git-destructive"},
	// configuration writes
	{"sysconfig-write", "Writing system configuration, binaries or kernel settings", Ask, "sysconfig-write"},
	{"sysconfig-shell-startup", "Writing shell start-up files", Ask, "sysconfig-write"},
	{"sysconfig-home-secrets", "Writing ~/.ssh, ~/.gnupg or autostart locations", Ask, "sysconfig-write"},
	{"sysconfig-sysctl", "Changing kernel settings with sysctl", Ask, "sysconfig-write"},
	{"sysconfig-kernel-module", "Loading or unloading kernel modules", Ask, "sysconfig-write"},
	// history and scheduling
	{"history-tamper", "Clearing, deleting or redirecting shell history", Ask, "history"},
	{"history-disable", "Turning off history recording", Ask, "history"},
	{"history-logs", "Overwriting, truncating or vacuuming system logs", Ask, "history"},
	{"history-crontab", "Installing, editing or removing crontabs", Ask, "history"},
	{"history-at", "Scheduling commands with at/batch", Ask, "history"},
	// security
	{"security-firewall", "Disabling or flushing the firewall", Ask, "security-disable"},
	{"security-selinux", "Switching SELinux to permissive", Ask, "security-disable"},
	{"security-selinux-config", "Rewriting the SELinux configuration", Ask, "security-disable"},
	{"security-apparmor", "Disabling AppArmor", Ask, "security-disable"},
	{"security-audit", "Disabling auditing", Ask, "security-disable"},
	{"security-service-stop", "Stopping or disabling security and logging services", Ask, "security-disable"},
	{"security-kernel-knob", "Turning off kernel protections (ASLR, ptrace scope, ...)", Ask, "security-disable"},
	// exfil
	{"exfil", "Sending credentials or the environment over the network", Ask, "exfil"},
	// containers and infrastructure
	{"container-escape", "Containers with host privileges, devices, namespaces or sensitive mounts", Ask, "container-escape"},
	{"container-destroy", "Deleting volumes, images, clusters or cloud infrastructure", Ask, "container-escape"},
	// self-disable
	{"self-disable-env", "Setting HERMES_YOLO*, HERMES_APPROVALS* or HERMES_HOME", Deny, "self-disable"},
	{"self-disable-cli", "hermes-exec --yolo, --config, yolo on, allowlist changes", Deny, "self-disable"},
	{"self-disable-write", "Writing, deleting or chmod-ing inside the Hermes home", Deny, "self-disable"},
	// fail closed
	{"parse-error", "The text does not parse as bash", Ask, "fail-closed"},
	{"dynamic-command-name", "The command name is not a static word", Ask, "fail-closed"},
	{"unicode-lookalike", "Non-ASCII look-alike or invisible characters in a command", Ask, "fail-closed"},
	{"internal-error", "The classifier failed; asking instead", Ask, "fail-closed"},
	// user rules
	{"user-deny", "Matches a user deny rule", Deny, "user"},
	{"user-deny-unresolved", "A user deny rule might match a word that is not static", Deny, "user"},
}

var catalogIndex = func() map[string]RuleInfo {
	m := make(map[string]RuleInfo, len(catalog))
	for _, r := range catalog {
		m[r.ID] = r
	}
	return m
}()

// ruleDecision is the catalog decision of a rule; an unknown rule asks
// (fail closed).
func ruleDecision(id string) Decision {
	if r, ok := catalogIndex[id]; ok {
		return r.Decision
	}
	return Ask
}

// Catalog lists the built-in rules (for `hermes-exec check --rules` and
// docs).
func Catalog() []RuleInfo {
	return append([]RuleInfo(nil), catalog...)
}
