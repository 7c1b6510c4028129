package policy

import (
	"path"
	"strings"

	"hermes-exec/internal/credentials"
)

// cleanPath normalises a (possibly relative) path against a working
// directory: "" means the directory the command starts in, which stays
// relative. Multiple slashes, "." and ".." are resolved lexically, which
// is how rm and friends see the operand (symlinks aside).
func cleanPath(p, cwd string) string {
	if p == "" {
		return ""
	}
	if !strings.HasPrefix(p, "/") && cwd != "" {
		p = cwd + "/" + p
	}
	c := path.Clean(p)
	// /proc/self/root and /proc/1/root are aliases of / for path lookups.
	for _, alias := range []string{"/proc/self/root", "/proc/thread-self/root", "/proc/1/root"} {
		if c == alias {
			return "/"
		}
		if strings.HasPrefix(c, alias+"/") {
			return c[len(alias):]
		}
	}
	// macOS keeps /etc, /var and /tmp under /private (the top-level names
	// are symlinks): /private/etc is /etc.
	if strings.HasPrefix(c, "/private/") {
		for _, d := range [...]string{"etc", "var", "tmp"} {
			if under(c[len("/private"):], "/"+d) {
				return c[len("/private"):]
			}
		}
	}
	return c
}

// pathComponents splits a cleaned path into its components (this is a
// file path, not shell text).
func pathComponents(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" || p == "." {
		return nil
	}
	return strings.Split(p, "/")
}

// hasGlob reports glob metacharacters in a path component.
func hasGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// pureGlob reports a component that matches (nearly) everything in its
// directory: "*", ".*", "*.*", "**", "?*".
func pureGlob(s string) bool {
	if !strings.Contains(s, "*") {
		return false
	}
	for _, c := range s {
		if c != '*' && c != '.' && c != '?' {
			return false
		}
	}
	return true
}

// systemTrees are directories whose content the system needs; a
// recursive delete, move or permission change anywhere inside them asks.
var systemTrees = []string{"etc", "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32",
	"boot", "var", "opt", "srv", "root", "sys", "proc", "dev", "snap", "run", "efi"}

// mountTrees hold user data one level down (/home/alice, /mnt/disk); the
// tree and its direct children are protected, deeper paths are not.
var mountTrees = []string{"home", "mnt", "media", "Users"}

// homeConfigTrees hold many tools' settings and credentials at once:
// deleting one whole is deleting credentials (the credential paths
// themselves come from internal/credentials, shared with the sandbox).
var homeConfigTrees = []string{".config", ".local"}

// isHomeSecret reports a path relative to home that is, holds or lies in
// a credential store.
func isHomeSecret(rel []string) bool {
	first := rel[0]
	for _, s := range homeConfigTrees {
		if first == s {
			return true
		}
	}
	joined := strings.Join(rel, "/")
	for _, cp := range credentials.HomePaths {
		if under(joined, cp) || strings.HasPrefix(cp, joined+"/") {
			return true
		}
		if hasGlob(first) {
			top, _, _ := strings.Cut(cp, "/")
			if ok, _ := path.Match(first, top); ok {
				return true
			}
		}
	}
	return false
}

// pathRisk describes why touching a path is dangerous; zero means not.
type pathRisk int

const (
	riskNone       pathRisk = iota
	riskRoot                // / itself or everything in it
	riskTopLevel            // a directory directly under /
	riskSystem              // inside a system tree
	riskHome                // the home directory or all of it
	riskHomeSecret          // a credentials directory in home
	riskOutside             // climbs out of the working directory
	riskCwdWhole            // the whole working directory
	riskHomeData            // a top-level user data directory in home (~/Documents)
	riskGitDir              // a repository's .git directory: all its history
	riskOtherHome           // inside another user's home
)

// homeDataDirs hold the user's own files directly under home.
var homeDataDirs = []string{"Documents", "Desktop", "Pictures", "Music", "Videos", "Downloads", "Public", "Templates",
	"Dropbox", "OneDrive", "Library", "projects", "Projects", "src", "code", "Code", "workspace", "repos", "dev", "git", "work", "go", "Mail", "Maildir"}

func (r pathRisk) String() string {
	switch r {
	case riskRoot:
		return "the root directory"
	case riskTopLevel:
		return "a top-level directory"
	case riskSystem:
		return "a system directory"
	case riskHome:
		return "the home directory"
	case riskHomeSecret:
		return "a credentials directory in home"
	case riskOutside:
		return "a path outside the working directory"
	case riskCwdWhole:
		return "the whole working directory"
	case riskHomeData:
		return "a user data directory in home"
	case riskGitDir:
		return "a git repository's history"
	case riskOtherHome:
		return "another user's home"
	}
	return "a path"
}

// classifyPath tells how broad or sensitive a cleaned path is for
// destructive operations (delete, move away, recursive chmod).
func classifyPath(p string) pathRisk {
	if p == "" {
		return riskNone
	}
	if !strings.HasPrefix(p, "/") {
		comps := pathComponents(p)
		if len(comps) == 0 {
			return riskCwdWhole
		}
		if len(comps) == 1 && comps[0] == ".git" {
			// The working directory's own repository: unpushed commits,
			// branches and stashes live only here.
			return riskGitDir
		}
		if comps[0] == ".." {
			return riskOutside
		}
		if len(comps) == 1 && pureGlob(comps[0]) {
			return riskCwdWhole
		}
		return riskNone
	}
	comps := pathComponents(p)
	if len(comps) == 0 {
		return riskRoot
	}
	top := comps[0]
	if hasGlob(top) {
		if pureGlob(top) {
			return riskRoot
		}
		return riskTopLevel
	}
	if p == homeDir || strings.HasPrefix(p, homeDir+"/") {
		return classifyHomePath(comps[2:])
	}
	if top == "var" && len(comps) >= 3 && comps[1] == "tmp" {
		if len(comps) == 3 && pureGlob(comps[2]) {
			return riskTopLevel // everything in /var/tmp
		}
		return riskNone
	}
	for _, t := range systemTrees {
		if top == t {
			return riskSystem
		}
	}
	for _, t := range mountTrees {
		if top == t {
			if len(comps) <= 2 {
				return riskSystem
			}
			return riskNone
		}
	}
	if len(comps) == 1 {
		return riskTopLevel
	}
	if len(comps) == 2 && pureGlob(comps[1]) {
		// /tmp/*, /data/*: everything in a top-level directory, other
		// users' and services' files included.
		return riskTopLevel
	}
	return riskNone
}

// classifyHomePath judges a path inside home (comps relative to home).
func classifyHomePath(rel []string) pathRisk {
	if len(rel) == 0 {
		return riskHome
	}
	first := rel[0]
	if pureGlob(first) {
		return riskHome
	}
	if len(rel) == 1 {
		for _, d := range homeDataDirs {
			if first == d {
				return riskHomeData
			}
		}
	}
	if isHomeSecret(rel) {
		return riskHomeSecret
	}
	return riskNone
}

// isDevicePath reports block/char device paths that hold file systems.
func isDevicePath(p string) bool {
	if !strings.HasPrefix(p, "/dev/") {
		return false
	}
	rest := p[len("/dev/"):]
	for _, pre := range []string{"sd", "nvme", "vd", "xvd", "mmcblk", "hd", "dm-", "md", "loop",
		"disk/", "mapper/", "sr", "nbd", "rbd", "zd", "bcache", "mtd", "ubd", "pmem", "root", "mem", "kmem", "port"} {
		if strings.HasPrefix(rest, pre) {
			return true
		}
	}
	// /dev/vg0/lv0 style LVM paths.
	return strings.Count(rest, "/") == 1 && !strings.HasPrefix(rest, "fd/") &&
		!strings.HasPrefix(rest, "shm/") && !strings.HasPrefix(rest, "pts/") &&
		!strings.HasPrefix(rest, "tcp/") && !strings.HasPrefix(rest, "udp/")
}

// harmlessDev lists device paths that are safe to write to.
func harmlessDev(p string) bool {
	switch p {
	case "/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/full",
		"/dev/random", "/dev/urandom", "/dev/stdin", "/dev/ptmx":
		return true
	}
	return strings.HasPrefix(p, "/dev/fd/") || strings.HasPrefix(p, "/dev/pts/") ||
		strings.HasPrefix(p, "/dev/shm/")
}

// inHermesHome reports paths inside the Hermes home directory.
func inHermesHome(p string) bool {
	_, ok := hermesRel(p)
	return ok
}

// homeRel returns the path relative to home and true when p is in home
// (including other users' homes under /home and /root).
func homeRel(p string) (string, bool) {
	if strings.HasPrefix(p, homeDir+"/") {
		return p[len(homeDir)+1:], true
	}
	comps := pathComponents(p)
	if len(comps) >= 3 && comps[0] == "home" {
		return strings.Join(comps[2:], "/"), true
	}
	if len(comps) >= 2 && comps[0] == "root" {
		return strings.Join(comps[1:], "/"), true
	}
	return "", false
}

// shellStartupFiles run code at every login or shell start.
var shellStartupFiles = []string{".bashrc", ".bash_profile", ".bash_login", ".profile", ".zshrc",
	".zprofile", ".zshenv", ".zlogin", ".bash_logout", ".zlogout", ".config/fish/config.fish",
	".kshrc", ".mkshrc", ".cshrc", ".tcshrc", ".xprofile", ".xinitrc", ".pam_environment",
	".inputrc", ".bash_aliases"}

// isHistoryFile reports shell and REPL history files.
func isHistoryFile(p string) bool {
	rel, ok := homeRel(p)
	if !ok {
		return false
	}
	if strings.Contains(rel, "/") {
		return rel == ".local/share/fish/fish_history"
	}
	return strings.HasPrefix(rel, ".") && strings.HasSuffix(rel, "_history") ||
		rel == ".zhistory" || rel == ".histfile" || rel == ".history"
}

// writeRisk classifies the destination of a write (redirect, tee, cp, sed -i).
type writeRisk struct {
	rule   RuleID
	reason string
}

// writeRisk is classifyWriteTarget with the context: writing one of
// hermes-exec's own programs (or the shell's link) replaces the agent's
// shell with whatever it likes.
func (w *walker) writeRisk(p string) (writeRisk, bool) {
	if r, ok := classifyWriteTarget(p); ok {
		return r, ok
	}
	if s, ok := w.ctx().selfProgram(p, false); ok {
		return writeRisk{RuleSelfDisableWrite, "replaces hermes-exec's own program " + path.Base(s) + " (a program of the agent's choosing would run in its place)"}, true
	}
	return writeRisk{}, false
}

// classifyWriteTarget returns the rule a write to p triggers, if any.
func classifyWriteTarget(p string) (writeRisk, bool) {
	switch {
	case p == "":
		return writeRisk{}, false
	case inHermesHome(p):
		return writeRisk{RuleSelfDisableWrite, "writes into the Hermes home (its config or secrets)"}, true
	case strings.HasPrefix(p, "/dev/tcp/") || strings.HasPrefix(p, "/dev/udp/"):
		return writeRisk{RuleReverseShell, "opens a network connection through /dev/tcp or /dev/udp"}, true
	case p == "/proc/sysrq-trigger" || p == "/proc/sys/kernel/sysrq":
		return writeRisk{RuleShutdownSysrq, "writes to the magic SysRq trigger (can reboot or crash the machine)"}, true
	case p == "/proc/sys/kernel/randomize_va_space" || strings.HasPrefix(p, "/proc/sys/kernel/yama/") ||
		p == "/proc/sys/kernel/kptr_restrict" || p == "/proc/sys/kernel/dmesg_restrict" ||
		p == "/sys/module/apparmor/parameters/enabled" || p == "/sys/fs/selinux/enforce":
		return writeRisk{RuleSecurityKernelKnob, "turns off a kernel security protection"}, true
	case isDevicePath(p):
		return writeRisk{RuleDiskDeviceWrite, "writes raw data onto a disk device"}, true
	case harmlessDev(p):
		return writeRisk{}, false
	case isHistoryFile(p):
		return writeRisk{RuleHistoryTamper, "overwrites a shell history file"}, true
	case p == "/var/log" || strings.HasPrefix(p, "/var/log/"):
		return writeRisk{RuleHistoryLogs, "overwrites system logs (the record of what happened)"}, true
	}
	if strings.HasPrefix(p, "/etc/sudoers") {
		return writeRisk{RulePrivescSudoers, "edits the sudoers policy"}, true
	}
	if rel, ok := homeRel(p); ok {
		for _, f := range shellStartupFiles {
			if rel == f {
				return writeRisk{RuleSysconfigShellStartup, "writes a shell start-up file (code run at every shell start)"}, true
			}
		}
		// known_hosts only records host keys; every other file in ~/.ssh
		// grants access (authorized_keys) or runs commands (config).
		if rel == ".ssh/known_hosts" {
			return writeRisk{}, false
		}
		for _, d := range []string{".ssh", ".gnupg", ".config/systemd", ".config/autostart", ".config/fish"} {
			if rel == d || strings.HasPrefix(rel, d+"/") {
				return writeRisk{RuleSysconfigHomeSecrets, "writes into " + d + " (keys, authorized_keys or autostart)"}, true
			}
		}
		if !strings.HasPrefix(p, "/root/") {
			return writeRisk{}, false
		}
	}
	comps := pathComponents(p)
	if len(comps) == 0 || !strings.HasPrefix(p, "/") {
		return writeRisk{}, false
	}
	switch comps[0] {
	case "etc", "boot", "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "root", "sys", "efi":
		return writeRisk{RuleSysconfigWrite, "writes to system configuration or binaries (" + p + ")"}, true
	case "proc":
		if len(comps) > 1 && comps[1] == "sys" {
			return writeRisk{RuleSysconfigWrite, "changes a kernel setting through /proc/sys"}, true
		}
	case "var":
		if len(comps) > 2 && comps[1] == "spool" && comps[2] == "cron" {
			return writeRisk{RuleSysconfigWrite, "writes a crontab directly"}, true
		}
	}
	return writeRisk{}, false
}
