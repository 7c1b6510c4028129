package policy

import "strings"

// Operations that take a machine or a service down without deleting
// anything: the network, the clock, firewall rules, process managers,
// and object storage deletes outside the big clouds' own CLIs.

func init() {
	register(ipRule, "ip")
	register(ifconfigRule, "ifconfig")
	register(ifdownRule, "ifdown")
	register(nmcliRule, "nmcli")
	register(routeRule, "route")
	register(clockRule, "date", "hwclock", "timedatectl")
	register(supervisorRule, "supervisorctl")
	register(pm2Rule, "pm2")
	register(storageRule, "rclone", "s3cmd", "mc")
	register(zipRule, "zip")
	register(manRule, "man")
	register(lessRule, "less", "more")
}

// zipRule: zip -T -TT CMD / --unzip-command CMD runs CMD to test the archive.
func zipRule(c *cmd) {
	args := c.args()
	for i, a := range args {
		switch {
		case a.is("-TT", "--unzip-command") && i+1 < len(args):
			c.w.shellText(args[i+1], "zip "+a.s, c)
		case a.static && strings.HasPrefix(a.s, "--unzip-command="):
			c.w.shellText(arg{s: strings.TrimPrefix(a.s, "--unzip-command="), static: true, word: a.word}, "zip --unzip-command", c)
		}
	}
}

// manRule: man -P PAGER / --pager=PAGER / -H BROWSER runs a command line.
func manRule(c *cmd) {
	args := c.args()
	for i, a := range args {
		switch {
		case a.is("-P", "--pager", "-H", "--html") && i+1 < len(args):
			c.w.shellText(args[i+1], "man "+a.s, c)
		case a.static && (strings.HasPrefix(a.s, "--pager=") || strings.HasPrefix(a.s, "--html=")):
			name, val, _ := strings.Cut(a.s, "=")
			c.w.shellText(arg{s: val, static: true, word: a.word}, "man "+name, c)
		}
	}
}

// lessRule: less +CMD runs CMD as a less command at start-up, and less's
// "!" command runs a shell command (+'!rm -rf ~').
func lessRule(c *cmd) {
	for _, a := range c.args() {
		if !a.static || !strings.HasPrefix(a.s, "+") {
			continue
		}
		cmd := strings.TrimLeft(a.s[1:], "+")
		if i := strings.IndexAny(cmd, "!|"); i >= 0 {
			c.w.shellText(arg{s: strings.TrimPrefix(cmd[i+1:], "!"), static: true, word: a.word}, c.name+" +!", c)
		}
	}
}

// ipRule: ip link set DEV down, ip route del/flush default.
func ipRule(c *cmd) {
	args := staticWords(c.args())
	for i := 0; i+1 < len(args); i++ {
		switch {
		case (args[i] == "link" || args[i] == "l") && contains(args[i+1:], "down"):
			c.emit(RuleNetworkDown, "ip link ... down takes a network interface down")
			return
		case (args[i] == "route" || args[i] == "r" || args[i] == "ro") && len(args) > i+1 &&
			isOneOf(args[i+1], "del", "delete", "flush", "replace", "change"):
			c.emit(RuleNetworkDown, "ip route "+args[i+1]+" changes or removes routes (the default route included)")
			return
		case (args[i] == "addr" || args[i] == "a" || args[i] == "address") && len(args) > i+1 && isOneOf(args[i+1], "del", "delete", "flush"):
			c.emit(RuleNetworkDown, "ip addr "+args[i+1]+" removes addresses from an interface")
			return
		}
	}
}

func ifconfigRule(c *cmd) {
	if contains(staticWords(c.args()), "down") {
		c.emit(RuleNetworkDown, "ifconfig ... down takes a network interface down")
	}
}

func ifdownRule(c *cmd) {
	c.emit(RuleNetworkDown, "ifdown takes a network interface down")
}

func nmcliRule(c *cmd) {
	args := staticWords(c.args())
	for i := 0; i+1 < len(args); i++ {
		if (isOneOf(args[i], "networking", "n", "radio", "r") && isOneOf(args[i+1], "off")) ||
			(isOneOf(args[i], "connection", "con", "c", "device", "dev", "d") && isOneOf(args[i+1], "down", "delete", "disconnect")) {
			c.emit(RuleNetworkDown, "nmcli "+args[i]+" "+args[i+1]+" cuts network connectivity")
			return
		}
	}
}

func routeRule(c *cmd) {
	if contains(staticWords(c.args()), "del") || contains(staticWords(c.args()), "flush") {
		c.emit(RuleNetworkDown, "route del removes routes (the default route included)")
	}
}

// clockRule: setting the clock breaks TLS, logs, builds and tokens.
func clockRule(c *cmd) {
	args := staticWords(c.args())
	switch c.name {
	case "date":
		for _, a := range args {
			if a == "-s" || strings.HasPrefix(a, "--set") || (len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.HasSuffix(a, "s")) {
				c.emit(RuleSystemTime, "date -s sets the system clock")
				return
			}
		}
	case "hwclock":
		for _, a := range args {
			if isOneOf(a, "--set", "-w", "--systohc", "-s", "--hctosys", "--adjust") {
				c.emit(RuleSystemTime, "hwclock "+a+" sets a clock")
				return
			}
		}
	case "timedatectl":
		if len(args) > 0 && isOneOf(args[0], "set-time", "set-ntp", "set-timezone", "set-local-rtc") {
			c.emit(RuleSystemTime, "timedatectl "+args[0]+" changes the system clock or its source")
		}
	}
}

// supervisorRule: supervisorctl stop/restart/shutdown of programs.
func supervisorRule(c *cmd) {
	for _, a := range staticWords(c.args()) {
		if isOneOf(a, "stop", "shutdown", "remove", "restart") {
			c.emit(RuleServiceStop, "supervisorctl "+a+" stops managed services")
			return
		}
		if isOneOf(a, "status", "tail", "avail", "pid", "help", "version") {
			return
		}
	}
}

// pm2Rule: pm2 delete/kill/stop all.
func pm2Rule(c *cmd) {
	args := staticWords(c.args())
	if len(args) > 1 && isOneOf(args[0], "delete", "del", "stop", "kill") && (args[1] == "all" || args[0] == "kill") {
		c.emit(RuleServiceStop, "pm2 "+args[0]+" stops every managed process")
	}
}

// storageRule: recursive or purge deletes with object-storage tools.
func storageRule(c *cmd) {
	args := staticWords(c.args())
	if len(args) == 0 {
		return
	}
	sub := args[0]
	recursive := contains(args, "--recursive") || contains(args, "-r")
	switch {
	case c.name == "rclone" && isOneOf(sub, "purge", "delete", "deletefile", "rmdir", "rmdirs", "cleanup", "dedupe"):
		c.emit(RuleBackupDestroy, "rclone "+sub+" deletes remote objects")
	case c.name == "rclone" && isOneOf(sub, "sync", "bisync", "move", "moveto"):
		// sync makes the destination match the source: what the source
		// lacks is deleted there; move deletes the source's files.
		c.emit(RuleBackupDestroy, "rclone "+sub+" deletes files that the source lacks (sync) or that it moved (move)")
	case c.name == "s3cmd" && isOneOf(sub, "del", "rm", "rb") && (recursive || contains(args, "--force") || sub == "rb"):
		c.emit(RuleContainerDestroy, "s3cmd "+sub+" deletes buckets or objects recursively")
	case c.name == "mc" && isOneOf(sub, "rm", "rb") && (recursive || contains(args, "--force")):
		c.emit(RuleContainerDestroy, "mc "+sub+" deletes buckets or objects recursively")
	}
}

// staticWords are the static argument texts (dynamic ones are skipped:
// these rules look for literal subcommands).
func staticWords(args []arg) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if a.static {
			out = append(out, a.s)
		}
	}
	return out
}

func isOneOf(s string, vals ...string) bool { return contains(vals, s) }
