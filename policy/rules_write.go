package policy

import "strings"

// Writers: tee, dd, ln and the shared check for write destinations.

func init() {
	register(teeRule, "tee")
	register(ddRule, "dd")
	register(lnRule, "ln")
	register(yqRule, "yq")
	register(editorRule, "nano", "emacs", "micro", "ed", "code", "subl", "pico", "joe", "mcedit", "kak", "hx", "sudoedit", "visudo", "vipw", "vigr")
	register(sortRule, "sort")
	register(tarRule, "tar", "bsdtar")
	register(unzipRule, "unzip")
}

// writeTargets reports destinations that must not be written.
func writeTargets(c *cmd, targets []arg, how string) {
	for _, a := range targets {
		if !a.static {
			continue
		}
		for _, p := range c.w.paths(a) {
			if risk, ok := c.w.writeRisk(p); ok {
				c.emit(risk.rule, how+" "+risk.reason)
				if p == "/etc/selinux/config" {
					c.emit(RuleSecuritySelinuxConfig, how+" rewrites the SELinux configuration")
				}
				return
			}
		}
	}
}

func teeRule(c *cmd) {
	p := parseOpts(c.args(), &optSpec{short: "aip", long: []string{"append", "ignore-interrupts", "output-error"}})
	writeTargets(c, p.operands, "tee")
	if c.stdin.kind == feedStatic && strings.Contains(strings.ToUpper(c.stdin.text), "SELINUX=DISABLED") {
		for _, a := range p.operands {
			if a.is("/etc/selinux/config") {
				c.emit(RuleSecuritySelinuxConfig, "writes SELINUX=disabled")
			}
		}
	}
}

// ddRule: dd of=DEVICE overwrites a disk.
func ddRule(c *cmd) {
	for _, a := range c.args() {
		if !a.static || !strings.HasPrefix(a.s, "of=") {
			continue
		}
		t := a
		t.s = strings.TrimPrefix(a.s, "of=")
		for _, p := range c.w.paths(t) {
			if strings.HasPrefix(p, "/dev/") && !harmlessDev(p) {
				c.emit(RuleDiskDeviceWrite, "dd writes raw data onto the device "+t.s)
				return
			}
		}
		writeTargets(c, []arg{t}, "dd")
	}
}

// lnRule: a link replacing a sensitive file (ln -sf /dev/null
// ~/.bash_history, ln -s evil /etc/cron.d/x).
func lnRule(c *cmd) {
	p := parseOpts(c.args(), &optSpec{short: "bdfFinPrsTvL", shortArg: "St", long: []string{"backup", "directory", "force", "interactive", "logical", "no-dereference", "physical", "relative", "symbolic", "no-target-directory", "verbose"}, longArg: []string{"suffix", "target-directory"}})
	if dest, ok := p.value("-t", "--target-directory"); ok {
		writeTargets(c, []arg{dest}, "ln")
		selfCopyInto(c, p.operands, dest, "ln", false)
		if !p.has("-s", "--symbolic") {
			selfHardLink(c, p.operands, "ln")
		}
		return
	}
	if len(p.operands) >= 2 && !p.has("-s", "--symbolic") {
		selfHardLink(c, p.operands[:len(p.operands)-1], "ln")
	}
	if len(p.operands) >= 2 {
		writeTargets(c, p.operands[len(p.operands)-1:], "ln")
		selfCopyInto(c, p.operands[:len(p.operands)-1], p.operands[len(p.operands)-1], "ln", false)
	} else if len(p.operands) == 1 {
		// ln -s TARGET makes ./BASENAME.
		selfCopyInto(c, p.operands, arg{s: ".", static: true}, "ln", false)
	}
	if len(p.operands) == 2 {
		c.w.noteProgramCopy(p.operands[0], p.operands[1])
	}
}

// yqRule: yq -i edits YAML in place (the Hermes config is YAML).
func yqRule(c *cmd) {
	inPlace := false
	for _, a := range c.args() {
		if a.is("-i", "--inplace") || a.static && strings.HasPrefix(a.s, "--inplace=") || shortBundleHas(a, "i", "") {
			inPlace = true
		}
	}
	if !inPlace {
		return
	}
	var files []arg
	for _, a := range c.args() {
		if a.static && !strings.HasPrefix(a.s, "-") {
			files = append(files, a)
		}
	}
	writeTargets(c, files, "yq -i")
}

// editorRule: an editor opened on a sensitive file will write it.
func editorRule(c *cmd) {
	switch c.name {
	case "visudo":
		c.emit(RulePrivescSudoers, "visudo edits the sudoers policy")
		return
	case "vipw", "vigr":
		c.emit(RulePrivescSudoers, c.name+" edits the user database")
		return
	case "sudoedit":
		c.emit(RulePrivescSudo, "sudoedit edits files as root")
	}
	editTargets(c)
}

// sortRule: sort -o writes a file.
func sortRule(c *cmd) {
	p := parseOpts(c.args(), &optSpec{short: "bdfgiMhnRrVcCmsuz", shortArg: "koStT", longArg: []string{"key", "output", "field-separator", "buffer-size", "temporary-directory", "parallel", "files0-from", "sort", "random-source", "compress-program"}})
	if o, ok := p.value("-o", "--output"); ok {
		writeTargets(c, []arg{o}, "sort -o")
	}
	if cp, ok := p.value("--compress-program"); ok {
		c.w.shellText(cp, "sort --compress-program", c)
	}
}

// tarRule: options that run commands, and where it writes.
func tarRule(c *cmd) {
	args := c.args()
	for i, a := range args {
		if !a.static {
			continue
		}
		s := a.s
		switch {
		case strings.HasPrefix(s, "--to-command="), strings.HasPrefix(s, "--checkpoint-action=exec="),
			strings.HasPrefix(s, "--use-compress-program="), strings.HasPrefix(s, "--rsh-command="), strings.HasPrefix(s, "--info-script="), strings.HasPrefix(s, "--new-volume-script="):
			val := s[strings.IndexByte(s, '=')+1:]
			val = strings.TrimPrefix(val, "exec=")
			c.w.shellText(arg{s: val, static: true, word: a.word}, "tar "+s[:strings.IndexByte(s, '=')], c)
		case s == "-I" || s == "--use-compress-program" || s == "--to-command" || s == "-F" || s == "--info-script":
			if i+1 < len(args) {
				c.w.shellText(args[i+1], "tar "+s, c)
			}
		}
	}
	tarWrites(c)
}

// unzipRule: unzip -d into a system directory.
func unzipRule(c *cmd) {
	args := c.args()
	into := []arg{{s: ".", static: true}}
	for i, a := range args {
		if a.is("-d") && i+1 < len(args) {
			into = args[i+1 : i+2]
			for _, p := range c.w.paths(args[i+1]) {
				if p == "/" || classifyPath(p) == riskSystem {
					c.emit(RuleSysconfigWrite, "unzip extracts files over a system directory")
					return
				}
			}
			writeTargets(c, args[i+1:i+2], "unzip -d")
		}
	}
	if !hasStatic(args, "-l") && !hasStatic(args, "-t") && !hasStatic(args, "-p") && !hasStatic(args, "-Z") {
		extractsOverHermes(c, into, "unzip")
		for _, a := range args {
			// -: keeps the archive's ../ names, which climb out of
			// the directory to anywhere (the Hermes home included).
			if a.static && len(a.s) > 1 && a.s[0] == '-' && a.s[1] != '-' && strings.IndexByte(a.s, ':') > 0 {
				c.emit(RuleSysconfigWrite, "unzip "+a.s+" extracts names with ../ wherever they climb: one may overwrite the Hermes configuration or a system file")
				break
			}
		}
	}
}
