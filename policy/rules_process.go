package policy

import "strings"

// Killing processes, shutting down, stopping services.

func init() {
	register(killRule, "kill")
	register(killallRule, "killall", "killall5", "pkill", "skill", "slay")
	register(shutdownRule, "shutdown", "reboot", "halt", "poweroff")
	register(telinitRule, "telinit", "init")
	register(systemctlRule, "systemctl")
	register(loginctlRule, "loginctl")
	register(serviceRule, "service", "rc-service", "invoke-rc.d")
	register(launchctlRule, "launchctl")
	register(initScriptRule, "rc-update", "update-rc.d", "chkconfig")
}

func killRule(c *cmd) {
	args := c.args()
	sig := ""
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if !a.static || len(a.s) < 2 || a.s[0] != '-' {
			break
		}
		s := a.s
		if s == "--" {
			i++
			break
		}
		switch {
		case s == "-l" || s == "-L" || s == "--list" || s == "--table":
			return
		case s == "-s" || s == "-n" || s == "--signal":
			i++
			sig = "set"
			continue
		case strings.HasPrefix(s, "--signal="):
			sig = s
			continue
		case sig == "":
			// The first -X is the signal (-9, -KILL, -SIGKILL, -1 = HUP).
			sig = s
			continue
		}
		break
	}
	var pids []arg
	if i < len(args) {
		pids = args[i:]
	}
	if len(pids) == 0 && sig == "-1" {
		c.emit(RuleKillallEveryProcess, "kill -1 can signal every process the user owns")
		return
	}
	for _, a := range pids {
		if !a.static {
			if len(a.substs) > 0 || a.split && !isSinglePid(a) {
				c.emit(RuleKillallDynamic, "kill signals process ids produced at run time (they could be every process)")
				return
			}
			continue
		}
		switch a.s {
		case "-1":
			c.emit(RuleKillallEveryProcess, "kill -1 signals every process the user can signal")
			return
		case "1":
			c.emit(RuleKillallInit, "kill 1 signals init (PID 1)")
			return
		case "0":
			c.emit(RuleKillallEveryProcess, "kill 0 signals the whole process group, including this shell")
			return
		}
	}
}

// isSinglePid: $pid and $! are a single process; $(...) or an array is not.
func isSinglePid(a arg) bool {
	return a.word != nil && len(a.word.Parts) == 1 && len(a.substs) == 0
}

func killallRule(c *cmd) {
	args := c.args()
	for i, a := range args {
		if a.is("-l", "--list", "-V", "--version") {
			return
		}
		// Signal 0 only asks whether such processes exist (pkill -0 -f x).
		if c.name != "killall5" && (a.is("-0", "--signal=0", "-SIG0") ||
			a.is("-s", "--signal") && i+1 < len(args) && args[i+1].is("0")) {
			return
		}
	}
	c.emit(RuleKillall, c.name+" kills processes by name or pattern, possibly many at once")
}

func shutdownRule(c *cmd) {
	for _, a := range c.args() {
		if a.is("--help", "-c") {
			return
		}
	}
	c.emit(RuleShutdown, c.name+" stops or restarts the machine")
}

func telinitRule(c *cmd) {
	for _, a := range c.args() {
		if a.is("0", "6", "1", "s", "S", "single", "emergency", "rescue", "halt", "poweroff", "reboot") {
			c.emit(RuleShutdown, c.name+" "+a.s+" changes runlevel (halt, reboot or single user)")
			return
		}
	}
}

var systemctlSpec = &optSpec{short: "alqhfirH", shortArg: "tpsnoMHP", long: []string{"all", "recursive", "reverse", "after", "before", "failed", "full", "show-types", "ignore-inhibitors", "dry-run", "quiet", "no-warn", "no-block", "wait", "user", "system", "global", "no-wall", "no-reload", "no-ask-password", "runtime", "force", "now", "firmware-setup", "plain", "no-pager", "no-legend", "help", "version", "check-inhibitors", "read-only", "mkdir", "marked", "lines", "value", "show-transaction"}, longArg: []string{"type", "property", "state", "signal", "kill-whom", "kill-value", "job-mode", "root", "image", "image-policy", "host", "machine", "lines", "output", "timestamp", "preset-mode", "what", "boot-loader-menu", "boot-loader-entry", "reboot-argument", "message", "when", "drop-in"}}

var securityServices = []string{"firewalld", "ufw", "apparmor", "auditd", "iptables", "ip6tables", "nftables", "netfilter-persistent",
	"fail2ban", "selinux", "setroubleshootd", "clamav-daemon", "clamav-freshclam", "clamd", "crowdsec", "falco", "wazuh-agent",
	"osqueryd", "ossec", "aide", "rkhunter", "snort", "suricata", "sshguard", "tripwire", "systemd-journald", "rsyslog", "syslog", "auditd.service"}

func isSecurityService(u string) bool {
	u = strings.TrimSuffix(u, ".service")
	for _, s := range securityServices {
		if u == strings.TrimSuffix(s, ".service") {
			return true
		}
	}
	return false
}

func systemctlRule(c *cmd) {
	p := parseOpts(c.args(), systemctlSpec)
	if len(p.operands) == 0 {
		return
	}
	verb := p.operands[0]
	if !verb.static {
		c.emit(RuleServiceStop, "systemctl with a verb that is not known statically")
		return
	}
	units := p.operands[1:]
	user := p.has("--user")
	switch verb.s {
	case "reboot", "poweroff", "halt", "kexec", "suspend", "hibernate", "hybrid-sleep", "suspend-then-hibernate", "rescue", "emergency", "soft-reboot", "sleep":
		c.emit(RuleShutdown, "systemctl "+verb.s+" stops, suspends or restarts the machine")
	case "default", "exit":
		if !user {
			c.emit(RuleShutdown, "systemctl "+verb.s+" changes the system state")
		}
	case "stop", "disable", "mask", "kill", "isolate", "restart", "try-restart", "reload-or-restart", "try-reload-or-restart", "condrestart", "force-reload", "freeze", "clean":
		for _, u := range units {
			if u.static && isSecurityService(u.s) && verb.s != "restart" && verb.s != "try-restart" && verb.s != "reload-or-restart" {
				c.emit(RuleSecurityServiceStop, "systemctl "+verb.s+" "+u.s+" turns off a security or logging service")
				return
			}
		}
		if verb.s == "isolate" {
			for _, u := range units {
				if u.static && (strings.HasPrefix(u.s, "rescue") || strings.HasPrefix(u.s, "emergency") || strings.HasPrefix(u.s, "poweroff") || strings.HasPrefix(u.s, "reboot") || strings.HasPrefix(u.s, "halt")) {
					c.emit(RuleShutdown, "systemctl isolate "+u.s+" shuts down or reboots into another target")
					return
				}
			}
		}
		if user && verb.s != "mask" && verb.s != "kill" {
			return
		}
		c.emit(RuleServiceStop, "systemctl "+verb.s+" stops, restarts or disables services")
	}
}

func loginctlRule(c *cmd) {
	for _, a := range c.args() {
		if a.is("poweroff", "reboot", "halt", "suspend", "hibernate", "kill-session", "kill-user", "terminate-session", "terminate-user", "terminate-seat") {
			c.emit(RuleShutdown, "loginctl "+a.s+" ends sessions or stops the machine")
			return
		}
	}
}

func serviceRule(c *cmd) {
	args := c.args()
	for i, a := range args {
		if i == 0 && c.name != "invoke-rc.d" {
			continue
		}
		if a.is("stop", "restart", "force-stop", "zap", "force-reload", "disable") {
			unit := ""
			if len(args) > 0 && args[0].static {
				unit = args[0].s
			}
			if isSecurityService(unit) && a.s != "restart" {
				c.emit(RuleSecurityServiceStop, c.name+" "+unit+" "+a.s+" turns off a security service")
				return
			}
			c.emit(RuleServiceStop, c.name+" "+unit+" "+a.s+" stops or restarts a system service")
			return
		}
	}
}

func launchctlRule(c *cmd) {
	args := c.args()
	if len(args) == 0 {
		return
	}
	if args[0].is("unload", "remove", "bootout", "disable", "stop", "kill") {
		c.emit(RuleServiceStop, "launchctl "+args[0].s+" stops or removes a service")
		return
	}
	if args[0].is("kickstart") {
		for _, a := range args[1:] {
			if a.is("-k") || shortBundleHas(a, "k", "") {
				c.emit(RuleServiceStop, "launchctl kickstart -k kills the running service before restarting it")
				return
			}
		}
	}
}

func initScriptRule(c *cmd) {
	for _, a := range c.args() {
		if a.is("remove", "disable", "del", "off", "delete") {
			c.emit(RuleServiceStop, c.name+" disables a system service")
			return
		}
	}
}
