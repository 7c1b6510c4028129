package policy

import (
	"strconv"
	"strings"
)

// Permissions and ownership.

func init() {
	register(chmodRule, "chmod")
	register(chownRule, "chown", "chgrp")
	register(setfaclRule, "setfacl")
	register(chattrRule, "chattr")
}

var chmodSpec = &optSpec{short: "cfvRH", long: []string{"changes", "silent", "quiet", "verbose", "no-preserve-root", "preserve-root", "recursive", "dereference", "no-dereference"}, longArg: []string{"reference"}}

// modeEffects decodes a chmod mode: does it set setuid/setgid, and does
// it give others write permission.
func modeEffects(mode string) (setid, otherWrite bool) {
	if isOctal(mode) {
		n, _ := strconv.ParseUint(mode, 8, 32)
		return n&0o6000 != 0, n&0o002 != 0
	}
	for _, clause := range strings.Split(mode, ",") {
		who := ""
		i := 0
		for i < len(clause) && strings.IndexByte("ugoa", clause[i]) >= 0 {
			who += string(clause[i])
			i++
		}
		for i < len(clause) {
			op := clause[i]
			i++
			perms := ""
			for i < len(clause) && strings.IndexByte("+-=", clause[i]) < 0 {
				perms += string(clause[i])
				i++
			}
			if op == '-' {
				continue
			}
			if strings.Contains(perms, "s") && (who == "" || strings.ContainsAny(who, "uga")) {
				setid = true
			}
			if isOctal(perms) && perms != "" {
				n, _ := strconv.ParseUint(perms, 8, 32)
				setid = setid || n&0o6000 != 0
				otherWrite = otherWrite || n&0o002 != 0
			}
			if strings.Contains(perms, "w") && (who == "" || strings.ContainsAny(who, "oa")) {
				otherWrite = true
			}
		}
	}
	return setid, otherWrite
}

func isOctal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '7' {
			return false
		}
	}
	return true
}

func chmodRule(c *cmd) {
	args := c.args()
	// A mode like -w or -x looks like an option; chmod accepts it.
	var mode *arg
	var files []arg
	recursive := false
	for i := range args {
		a := args[i]
		if a.static && strings.HasPrefix(a.s, "-") && mode == nil && len(a.s) > 1 && strings.Trim(a.s[1:], "rwxXst") == "" && a.s != "-R" {
			m := a
			mode = &m
			continue
		}
		if a.is("-R", "--recursive") || shortBundleHas(a, "R", "") {
			recursive = true
		}
	}
	p := parseOpts(args, chmodSpec)
	ops := p.operands
	if mode == nil {
		if _, ok := p.value("--reference"); !ok && len(ops) > 0 {
			m := ops[0]
			mode = &m
			ops = ops[1:]
		}
	}
	files = ops
	setid, otherWrite := false, false
	if mode != nil && mode.static {
		setid, otherWrite = modeEffects(strings.TrimPrefix(mode.s, "-"))
	}
	if setid {
		c.emit(RulePrivescSetuid, "chmod sets the setuid/setgid bit, letting a program run with its owner's privileges")
	}
	permTargets(c, files, recursive, otherWrite, "chmod")
}

// permTargets judges the files a permission change applies to.
func permTargets(c *cmd, files []arg, recursive, otherWrite bool, how string) {
	for _, a := range files {
		if !a.static {
			if recursive {
				c.emit(RulePermsBroad, how+" -R on a target that is not known statically")
				return
			}
			continue
		}
		for _, p := range c.w.paths(a) {
			if inHermesHome(p) {
				c.emit(RuleSelfDisableWrite, how+" changes permissions inside the Hermes home")
				return
			}
			risk := c.w.pathRisk(p)
			switch {
			case isDevicePath(p):
				c.emit(RulePermsSystem, how+" changes permissions of a disk device ("+a.s+")")
				return
			case strings.HasPrefix(p, "/") && (risk == riskSystem || risk == riskRoot || risk == riskTopLevel) && !strings.HasPrefix(p, "/tmp"):
				c.emit(RulePermsSystem, how+" changes permissions or ownership of a system path ("+a.s+")")
				return
			case recursive && risk != riskNone && !(risk == riskCwdWhole):
				desc := riskDesc(risk)
				c.emit(RulePermsBroad, how+" -R on "+desc)
				return
			case otherWrite && (strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "/tmp/") || risk == riskOutside):
				c.emit(RulePermsWorldWritable, how+" makes "+a.s+" writable by every user")
				return
			case otherWrite && risk == riskCwdWhole && recursive:
				c.emit(RulePermsWorldWritable, how+" makes the whole working directory writable by every user")
				return
			}
		}
	}
}

func chownRule(c *cmd) {
	p := parseOpts(c.args(), &optSpec{short: "cfvRhHLP", long: []string{"changes", "silent", "quiet", "verbose", "no-preserve-root", "preserve-root", "recursive", "dereference", "no-dereference"}, longArg: []string{"reference", "from"}})
	ops := p.operands
	if _, ok := p.value("--reference"); !ok && len(ops) > 0 {
		ops = ops[1:]
	}
	permTargets(c, ops, p.has("-R", "--recursive"), false, c.name)
}

func setfaclRule(c *cmd) {
	p := parseOpts(c.args(), &optSpec{short: "bkndRLPtv", shortArg: "mMxX", long: []string{"remove-all", "remove-default", "recursive", "test"}, longArg: []string{"modify", "modify-file", "remove", "remove-file", "set", "set-file", "restore"}})
	permTargets(c, p.operands, p.has("-R", "--recursive"), false, "setfacl")
}

func chattrRule(c *cmd) {
	var files []arg
	recursive := false
	for _, a := range c.args() {
		switch {
		case a.is("-R"):
			recursive = true
		case a.static && a.s != "" && strings.IndexByte("+-=", a.s[0]) >= 0:
		default:
			files = append(files, a)
		}
	}
	permTargets(c, files, recursive, false, "chattr")
}
