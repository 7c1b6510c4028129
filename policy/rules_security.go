package policy

import "strings"

// Turning off firewalls, MAC, auditing and kernel protections.

func init() {
	register(ufwRule, "ufw")
	register(iptablesRule, "iptables", "ip6tables", "iptables-legacy", "ip6tables-legacy", "iptables-nft", "ip6tables-nft", "ebtables", "arptables")
	register(nftRule, "nft")
	register(setenforceRule, "setenforce")
	register(apparmorRule, "aa-teardown", "aa-disable", "aa-complain", "apparmor_parser")
	register(auditctlRule, "auditctl")
	register(sysctlRule, "sysctl")
	register(firewallCmdRule, "firewall-cmd")
	register(modprobeRule, "modprobe", "rmmod", "insmod")
}

func ufwRule(c *cmd) {
	args := c.args()
	for i, a := range args {
		switch {
		case a.is("disable", "reset"):
			c.emit(RuleSecurityFirewall, "ufw "+a.s+" turns off or wipes the firewall")
			return
		case a.is("default") && i+1 < len(args) && args[i+1].is("allow"):
			c.emit(RuleSecurityFirewall, "ufw default allow opens every port")
			return
		}
	}
}

func iptablesRule(c *cmd) {
	args := c.args()
	for i, a := range args {
		if !a.static {
			continue
		}
		switch {
		case a.is("-F", "--flush", "-X", "--delete-chain", "-Z"):
			if a.is("-Z") {
				continue
			}
			c.emit(RuleSecurityFirewall, c.name+" "+a.s+" removes firewall rules")
			return
		case a.is("-P", "--policy") && i+2 < len(args) && args[i+2].is("ACCEPT"):
			c.emit(RuleSecurityFirewall, c.name+" sets a default ACCEPT policy")
			return
		case strings.HasPrefix(a.s, "-") && !strings.HasPrefix(a.s, "--") && len(a.s) > 2 && strings.ContainsAny(a.s[1:], "FX") && strings.Trim(a.s[1:], "FXvnwZ") == "":
			c.emit(RuleSecurityFirewall, c.name+" "+a.s+" removes firewall rules")
			return
		case a.is("-P", "--policy") && i+2 < len(args) && args[i+2].is("DROP", "REJECT"),
			a.is("-A", "--append", "-I", "--insert", "-R", "--replace") && i+1 < len(args) && args[i+1].is("INPUT", "OUTPUT") && iptablesDrops(args[i+1:]):
			// Dropping traffic on INPUT/OUTPUT can cut the machine off
			// (including the session running this command).
			c.emit(RuleNetworkDown, c.name+" "+a.s+" blocks traffic to or from the machine")
			return
		}
	}
}

// iptablesDrops reports a rule whose target drops or rejects packets.
func iptablesDrops(args []arg) bool {
	for i, a := range args {
		if a.is("-j", "--jump") && i+1 < len(args) && args[i+1].is("DROP", "REJECT") {
			return true
		}
	}
	return false
}

func nftRule(c *cmd) {
	args := c.args()
	for i, a := range args {
		if a.is("flush") || a.is("delete") && i+1 < len(args) && args[i+1].is("table", "chain", "ruleset") {
			c.emit(RuleSecurityFirewall, "nft "+a.s+" removes firewall rules")
			return
		}
		if a.is("-f") && i+1 < len(args) && args[i+1].is("/dev/null") {
			return
		}
	}
}

func setenforceRule(c *cmd) {
	for _, a := range c.args() {
		if a.is("0") || a.static && strings.EqualFold(a.s, "permissive") {
			c.emit(RuleSecuritySelinux, "setenforce 0 switches SELinux to permissive (no enforcement)")
			return
		}
	}
}

func apparmorRule(c *cmd) {
	if c.name == "apparmor_parser" {
		for _, a := range c.args() {
			if a.is("-R", "--remove") || shortBundleHas(a, "R", "") {
				c.emit(RuleSecurityApparmor, "apparmor_parser -R unloads AppArmor profiles")
			}
		}
		return
	}
	c.emit(RuleSecurityApparmor, c.name+" disables AppArmor confinement")
}

func auditctlRule(c *cmd) {
	args := c.args()
	for i, a := range args {
		if a.is("-D") || a.is("-e") && i+1 < len(args) && args[i+1].is("0") {
			c.emit(RuleSecurityAudit, "auditctl "+a.s+" removes audit rules or disables auditing")
			return
		}
	}
}

var securityKnobs = []string{"kernel.randomize_va_space", "kernel.yama.ptrace_scope", "kernel.kptr_restrict", "kernel.dmesg_restrict",
	"kernel.unprivileged_bpf_disabled", "kernel.modules_disabled", "kernel.perf_event_paranoid", "fs.protected_symlinks",
	"fs.protected_hardlinks", "fs.protected_fifos", "fs.protected_regular", "fs.suid_dumpable", "kernel.sysrq",
	"net.ipv4.conf.all.rp_filter", "kernel.unprivileged_userns_clone", "user.max_user_namespaces", "vm.mmap_min_addr", "kernel.core_pattern"}

func sysctlRule(c *cmd) {
	write := false
	for _, a := range c.args() {
		if a.is("-w", "--write", "-p", "--load", "--system") || shortBundleHas(a, "wp", "") {
			write = true
		}
	}
	for _, a := range c.args() {
		if !a.static {
			continue
		}
		key, _, hasEq := strings.Cut(a.s, "=")
		if !hasEq {
			continue
		}
		key = strings.ReplaceAll(key, "/", ".")
		for _, k := range securityKnobs {
			if key == k {
				c.emit(RuleSecurityKernelKnob, "sysctl changes the kernel protection "+k)
				return
			}
		}
		write = true
	}
	if write {
		c.emit(RuleSysconfigSysctl, "sysctl changes kernel settings")
	}
}

func firewallCmdRule(c *cmd) {
	for _, a := range c.args() {
		if a.is("--panic-off") || a.static && (strings.HasPrefix(a.s, "--set-default-zone=trusted") || strings.HasPrefix(a.s, "--add-port=0-65535")) {
			c.emit(RuleSecurityFirewall, "firewall-cmd "+a.s+" opens the firewall")
			return
		}
	}
}

func modprobeRule(c *cmd) {
	if c.name == "modprobe" {
		rm := false
		for _, a := range c.args() {
			if a.is("-r", "--remove") {
				rm = true
			}
		}
		if !rm {
			c.emit(RuleSysconfigKernelModule, "modprobe loads a kernel module")
			return
		}
	}
	c.emit(RuleSysconfigKernelModule, c.name+" loads or unloads kernel modules")
}
