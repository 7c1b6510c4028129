package policy

import "strings"

// Hermes itself: turning approvals off or editing its own configuration
// is denied outright, because it would disable every other check.

func init() {
	register(hermesRule, "hermes-exec", "hermes")
	register(hermesHelperRule, "hermes-exec-sandbox")
}

// hermesHelperRule: the sandbox helper runs whatever it is given, without
// classification or audit; only hermes-exec itself may start it.
func hermesHelperRule(c *cmd) {
	c.emit(RuleSelfDisableCli, c.name+" is hermes-exec's internal helper: calling it directly skips classification and the audit log")
}

func hermesRule(c *cmd) {
	args := c.args()
	for i, a := range args {
		if !a.static {
			continue
		}
		switch {
		case a.s == "--yolo" || strings.HasPrefix(a.s, "--yolo="):
			c.emit(RuleSelfDisableCli, c.name+" --yolo skips approval")
		case a.s == "--config" || strings.HasPrefix(a.s, "--config="), a.s == "--home" || strings.HasPrefix(a.s, "--home="):
			c.emit(RuleSelfDisableCli, c.name+" "+a.s+" points Hermes at another policy")
		case a.s == "yolo" && i+1 < len(args) && !args[i+1].is("off", "status"):
			c.emit(RuleSelfDisableCli, c.name+" yolo turns approvals off")
		case a.s == "yolo" && i+1 == len(args):
			c.emit(RuleSelfDisableCli, c.name+" yolo turns approvals off")
		case (a.s == "allowlist" || a.s == "deny" || a.s == "approvals" || a.s == "config") && i+1 < len(args) && args[i+1].is("add", "remove", "rm", "set", "clear", "edit", "reset", "off", "unset", "delete"):
			c.emit(RuleSelfDisableCli, c.name+" "+a.s+" "+args[i+1].s+" changes the approval rules")
		case a.s == "-c" && i+1 < len(args):
			c.w.shellText(args[i+1], c.name+" -c", c)
		case a.s == "run" && i+2 < len(args) && args[i+1].is("--"):
			c.w.subCommand(c, args[i+2:], c.name+" run")
			return
		case a.s == "run" && i+1 < len(args):
			c.w.subCommand(c, args[i+1:], c.name+" run")
			return
		}
	}
}
