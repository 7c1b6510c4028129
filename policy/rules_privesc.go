package policy

import "strings"

// Privilege escalation: sudo and friends, account and capability changes.

func init() {
	register(sudoRule, "sudo", "doas", "run0", "pkexec", "su", "runuser", "sg", "newgrp", "sudoedit", "calife", "ksu")
	register(setcapRule, "setcap")
	register(usermodRule, "usermod", "gpasswd", "adduser", "useradd", "userdel", "groupmod", "addgroup", "deluser", "delgroup", "groupadd", "groupdel")
	register(passwdRule, "passwd", "chpasswd", "chage", "chsh", "chfn")
	register(nsenterRule, "nsenter")
	register(envAssignRule, "env", "sudo", "doas")
}

// envAssignRule checks NAME=value words that env and sudo put in the
// command's environment.
func envAssignRule(c *cmd) {
	spec := envSpec
	if c.name != "env" {
		spec = sudoSpec
	}
	for _, a := range parseOpts(c.args(), spec).operands {
		if !a.static || !isAssignWord(a.s) {
			break
		}
		name, val, _ := strings.Cut(a.s, "=")
		c.w.checkAssign(name, arg{s: val, static: true, word: a.word}, a.word, anchorNode(a, c))
	}
}

func sudoRule(c *cmd) {
	desc := c.name + " runs a command with another user's (usually root's) privileges"
	if c.name == "su" || c.name == "runuser" || c.name == "sg" || c.name == "newgrp" {
		desc = c.name + " switches to another user or group"
	}
	c.emit(RulePrivescSudo, desc)
}

func setcapRule(c *cmd) {
	if len(c.args()) > 0 && !c.args()[0].is("-v", "--verify") {
		c.emit(RulePrivescSetcap, "setcap grants file capabilities (root powers for a program)")
	}
}

var privilegedGroups = []string{"sudo", "wheel", "admin", "root", "docker", "lxd", "libvirt", "disk", "adm", "shadow", "kvm", "systemd-journal"}

func usermodRule(c *cmd) {
	switch c.name {
	case "usermod", "gpasswd", "adduser", "useradd", "addgroup", "groupmod":
		for _, a := range c.args() {
			if !a.static {
				continue
			}
			for _, g := range strings.Split(a.s, ",") {
				for _, pg := range privilegedGroups {
					if g == pg {
						c.emit(RulePrivescGroup, c.name+" adds a user to the privileged group "+pg)
						return
					}
				}
			}
			if a.is("-o") || a.s == "--non-unique" {
				c.emit(RulePrivescGroup, c.name+" creates a user sharing another user's id")
				return
			}
		}
		if c.name == "usermod" || c.name == "groupmod" {
			c.emit(RulePrivescAccount, c.name+" changes a user account")
		}
	default:
		c.emit(RulePrivescAccount, c.name+" removes or changes accounts")
	}
}

func passwdRule(c *cmd) {
	for _, a := range c.args() {
		if a.is("-S", "--status") {
			return
		}
	}
	c.emit(RulePrivescAccount, c.name+" changes passwords or login settings")
}

// nsenterRule: entering pid 1's namespaces leaves a container.
func nsenterRule(c *cmd) {
	c.emit(RuleContainerEscape, "nsenter enters other namespaces (with -t 1, the host's)")
}
