package policy

import (
	"path"
	"strings"
)

// Network tools: reverse shells, exfiltration of secrets, downloads that
// are executed later, and commands run through ssh.

func init() {
	register(curlRule, "curl")
	register(wgetRule, "wget", "wget2")
	register(ncRule, "nc", "ncat", "netcat", "cryptcat", "pwncat", "telnet", "openssl")
	register(socatRule, "socat")
	register(sshRule, "ssh")
	register(scpRule, "scp", "sftp")
	register(httpieRule, "http", "https", "xh")
	register(ghRule, "gh")
	register(zmodloadRule, "zmodload")
}

// secretVarWords mark environment variables that hold credentials.
var secretVarWords = []string{"KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL", "PRIVATE", "AUTH", "SESSION", "COOKIE"}

func secretVarIn(a arg) bool {
	if a.word == nil {
		return false
	}
	found := false
	var visit func(parts []syntaxWordPart)
	visit = func(parts []syntaxWordPart) {
		for _, p := range parts {
			switch p := p.(type) {
			case *syntaxParamExp:
				if p.Param != nil {
					n := strings.ToUpper(p.Param.Value)
					for _, w := range secretVarWords {
						if strings.Contains(n, w) {
							found = true
						}
					}
				}
			case *syntaxDblQuoted:
				visit(p.Parts)
			}
		}
	}
	visit(a.word.Parts)
	return found
}

// payloadRisk judges data a network tool sends: a file (path), stdin
// (when path is "-"), or inline data with expansions.
func (c *cmd) payloadFile(p arg, how string) bool {
	if !p.static {
		return false
	}
	if p.s == "-" || p.s == "/dev/stdin" || p.s == "." {
		return c.payloadStdin(how)
	}
	for _, q := range c.w.paths(p) {
		if isCredentialPath(q) {
			c.emit(RuleExfil, how+" uploads "+p.s+", which holds credentials")
			return true
		}
	}
	return false
}

func (c *cmd) payloadStdin(how string) bool {
	if c.stdin.kind == feedSecrets {
		fd := c.emit(RuleExfil, how+" sends "+c.stdin.what+" over the network")
		fd.sticky = true
		return true
	}
	return false
}

func (c *cmd) payloadInline(a arg, how string) bool {
	for _, cs := range a.substs {
		if f := c.w.feedOfStmts(cs.Stmts); f.kind == feedSecrets {
			c.emit(RuleExfil, how+" sends "+f.what+" over the network")
			return true
		}
	}
	if secretVarIn(a) {
		c.emit(RuleExfil, how+" sends a secret environment variable in the request body")
		return true
	}
	return false
}

func curlArg(s string) bool {
	switch s {
	case "-d", "--data", "--data-binary", "--data-raw", "--data-ascii", "--data-urlencode", "--json",
		"-F", "--form", "--form-string", "-T", "--upload-file", "-o", "--output", "-H", "--header",
		"-u", "--user", "-X", "--request", "-A", "--user-agent", "-e", "--referer", "-b", "--cookie",
		"-c", "--cookie-jar", "-K", "--config", "-x", "--proxy", "-w", "--write-out", "-m", "--max-time",
		"--connect-timeout", "-r", "--range", "-E", "--cert", "--key", "--cacert", "--resolve", "--retry",
		"-Y", "-y", "-z", "-C", "--limit-rate", "--url", "--output-dir", "-D", "--dump-header", "--stderr", "--trace", "--trace-ascii":
		return true
	}
	return false
}

func curlRule(c *cmd) {
	args := c.args()
	var urls []string
	var outFile string
	remoteName := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !a.static || !strings.HasPrefix(a.s, "-") || a.s == "-" {
			if a.static {
				urls = append(urls, a.s)
			}
			continue
		}
		name, val := a.s, arg{}
		hasVal := false
		if strings.HasPrefix(name, "--") {
			if n, v, ok := strings.Cut(name, "="); ok {
				name, val, hasVal = n, arg{s: v, static: true, word: a.word}, true
			}
		} else if len(name) > 2 && curlArg(name[:2]) {
			val, hasVal = arg{s: name[2:], static: true, word: a.word}, true
			name = name[:2]
		} else if len(name) > 2 {
			// A bundle such as -sSLo or -fsSLO.
			last := "-" + name[len(name)-1:]
			if strings.Contains(name, "O") {
				remoteName = true
			}
			name = last
		}
		if name == "-O" || name == "--remote-name" || name == "--remote-name-all" {
			remoteName = true
			continue
		}
		if !curlArg(name) {
			continue
		}
		if !hasVal && i+1 < len(args) {
			i++
			val = args[i]
		}
		switch name {
		case "-d", "--data", "--data-binary", "--data-raw", "--data-ascii", "--data-urlencode", "--json":
			if val.static && strings.Contains(val.s, "@") && name != "--data-raw" {
				at := val.s[strings.IndexByte(val.s, '@')+1:]
				if c.payloadFile(arg{s: at, static: true}, "curl "+name) {
					return
				}
			}
			if c.payloadInline(val, "curl "+name) {
				return
			}
		case "-F", "--form":
			if val.static {
				if _, v, ok := strings.Cut(val.s, "="); ok && (strings.HasPrefix(v, "@") || strings.HasPrefix(v, "<")) {
					f := strings.TrimLeft(v, "@<")
					if j := strings.IndexByte(f, ';'); j >= 0 {
						f = f[:j]
					}
					t := arg{s: f, static: true}
					if strings.HasPrefix(f, "~") {
						t.s = homeDir + f[1:]
					}
					if c.payloadFile(t, "curl "+name) {
						return
					}
				}
			} else {
				// -F "file=@$HOME/.ssh/id_ed25519": resolve what we can.
				if t := formFile(val); t.static && c.payloadFile(t, "curl "+name) {
					return
				}
				if c.payloadInline(val, "curl "+name) {
					return
				}
			}
		case "-T", "--upload-file":
			if c.payloadFile(val, "curl "+name) {
				return
			}
		case "-o", "--output":
			if val.static {
				outFile = val.s
			}
		case "--url":
			if val.static {
				urls = append(urls, val.s)
			}
		}
	}
	if outFile != "" {
		writeTargets(c, []arg{lit(outFile)}, "curl -o")
	}
	c.recordFetch(outFile, remoteName, urls)
}

// formFile extracts the path after '@' from a -F value whose static part
// holds it (the value itself may contain $HOME).
func formFile(v arg) arg {
	if !strings.Contains(v.s, "=@") && !strings.Contains(v.s, "=<") {
		return arg{}
	}
	i := strings.Index(v.s, "=@")
	if i < 0 {
		i = strings.Index(v.s, "=<")
	}
	return arg{s: v.s[i+2:], static: true}
}

// recordFetch remembers files a download wrote, so running them later
// counts as running remote code.
func (c *cmd) recordFetch(outFile string, remoteName bool, urls []string) {
	if outFile == "" && c.st != nil {
		for _, r := range c.st.Redirs {
			if r.Op == redirOut || r.Op == redirAppend || r.Op == redirClob {
				if t := c.w.evalWord(r.Word); t.static {
					outFile = t.s
				}
			}
		}
	}
	if outFile == "" && remoteName {
		for _, u := range urls {
			if strings.Contains(u, "://") {
				outFile = path.Base(strings.SplitN(u, "?", 2)[0])
			}
		}
	}
	if outFile == "" || outFile == "-" || outFile == "/dev/null" {
		return
	}
	for _, p := range c.w.paths(arg{s: outFile, static: true}) {
		c.w.setFetched(p)
	}
}

func wgetRule(c *cmd) {
	args := c.args()
	outFile := ""
	var urls []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !a.static {
			continue
		}
		s := a.s
		name, val, hasEq := strings.Cut(s, "=")
		switch {
		case name == "--post-file" || name == "--body-file":
			v := arg{s: val, static: true}
			if !hasEq && i+1 < len(args) {
				i++
				v = args[i]
			}
			if c.payloadFile(v, "wget "+name) {
				return
			}
		case name == "--post-data" || name == "--body-data":
			v := arg{s: val, static: true}
			if !hasEq && i+1 < len(args) {
				i++
				v = args[i]
			}
			if c.payloadInline(v, "wget "+name) {
				return
			}
		case s == "-O" || name == "--output-document":
			if !hasEq && i+1 < len(args) {
				i++
				if args[i].static {
					outFile = args[i].s
				}
			} else {
				outFile = val
			}
		case strings.HasPrefix(s, "-") && !strings.HasPrefix(s, "--") && strings.Contains(s, "O"):
			if j := strings.IndexByte(s, 'O'); j == len(s)-1 && i+1 < len(args) {
				i++
				if args[i].static {
					outFile = args[i].s
				}
			} else {
				outFile = s[j+1:]
			}
		case !strings.HasPrefix(s, "-"):
			urls = append(urls, s)
		}
	}
	if outFile != "" && outFile != "-" {
		writeTargets(c, []arg{lit(outFile)}, "wget -O")
	}
	c.recordFetch(outFile, outFile == "", urls)
}

func ncRule(c *cmd) {
	args := c.args()
	if c.name == "openssl" && (len(args) == 0 || !args[0].is("s_client")) {
		return
	}
	for i, a := range args {
		if !a.static {
			continue
		}
		switch {
		case a.is("-e", "-c", "--exec", "--sh-exec", "--lua-exec") || strings.HasPrefix(a.s, "--exec=") || strings.HasPrefix(a.s, "--sh-exec=") ||
			strings.HasPrefix(a.s, "-") && !strings.HasPrefix(a.s, "--") && strings.ContainsAny(a.s, "ec") && strings.Trim(a.s[1:], "lvnkuzdDt46ec") == "" && c.name != "openssl" && c.name != "telnet":
			c.emit(RuleReverseShell, c.name+" "+a.s+" connects a program to a network socket (a remote shell)")
			if i+1 < len(args) && args[i+1].static {
				c.w.shellText(args[i+1], c.name+" "+a.s, c)
			}
			return
		}
	}
	c.payloadStdin(c.name)
}

func socatRule(c *cmd) {
	for _, a := range c.args() {
		if !a.static {
			continue
		}
		low := strings.ToLower(a.s)
		if strings.HasPrefix(low, "exec:") || strings.HasPrefix(low, "system:") || strings.Contains(low, ",exec:") || strings.Contains(low, "!!exec:") {
			c.emit(RuleReverseShell, "socat "+a.s+" connects a program to a socket (a remote shell)")
			return
		}
		for _, pre := range []string{"file:", "open:", "gopen:"} {
			if strings.HasPrefix(low, pre) {
				f := a.s[len(pre):]
				if j := strings.IndexByte(f, ','); j >= 0 {
					f = f[:j]
				}
				if strings.HasPrefix(f, "~") {
					f = homeDir + f[1:]
				}
				if isCredentialPath(c.w.ctx().canon(cleanPath(f, ""))) {
					c.emit(RuleExfil, "socat sends the credential file "+f+" over the network")
					return
				}
			}
		}
	}
	c.payloadStdin("socat")
}

var sshArg = "BbcDEeFIiJLlmOopQRSWw"

func sshRule(c *cmd) {
	args := c.args()
	var operands []arg
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !a.static || !strings.HasPrefix(a.s, "-") || len(a.s) < 2 {
			operands = append(operands, args[i:]...)
			break
		}
		for j := 1; j < len(a.s); j++ {
			ch := a.s[j]
			if strings.IndexByte(sshArg, ch) < 0 {
				continue
			}
			var v arg
			if j+1 < len(a.s) {
				v = arg{s: a.s[j+1:], static: true, word: a.word}
			} else if i+1 < len(args) {
				i++
				v = args[i]
			}
			if ch == 'o' {
				sshOption(c, v)
			}
			break
		}
	}
	if len(operands) > 1 {
		// ssh joins the remaining words and runs them with the remote
		// user's shell.
		c.w.shellText(joinArgs(operands[1:]), "ssh remote command", c)
	}
	c.payloadStdin("ssh")
}

// sshOption checks -o Key=Value for options that run local commands.
func sshOption(c *cmd, v arg) {
	if !v.static {
		return
	}
	key, val, ok := strings.Cut(v.s, "=")
	if !ok {
		key, val, _ = strings.Cut(v.s, " ")
	}
	switch strings.ToLower(strings.TrimSpace(key)) {
	case "proxycommand", "localcommand", "knownhostscommand", "remotecommand":
		c.emit(RuleSshCommand, "ssh -o "+key+" runs a command through the shell")
		if val = strings.TrimSpace(val); val != "" && !strings.EqualFold(val, "none") {
			c.w.shellText(arg{s: val, static: true, word: v.word}, "ssh "+key, c)
		}
	}
}

func scpRule(c *cmd) {
	p := parseOpts(c.args(), &optSpec{short: "346ABCOpqRrsTv", shortArg: "cDFiJlmoPSX", posix: false})
	for _, o := range p.opts {
		for _, n := range o.names {
			if n == "-o" {
				sshOption(c, o.val)
			}
			if n == "-S" {
				c.w.shellText(o.val, c.name+" -S", c)
			}
		}
	}
	if len(p.operands) < 2 {
		return
	}
	dest := p.operands[len(p.operands)-1]
	exfilSources(c, p.operands[:len(p.operands)-1], dest, c.name)
}

// exfilSources flags credential files copied to a remote destination.
func exfilSources(c *cmd, sources []arg, dest arg, how string) {
	if dest.static && dest.s != "" && !isRemoteSpec(dest.s) && !strings.Contains(dest.s, "://") {
		return
	}
	for _, s := range sources {
		if s.static && isRemoteSpec(s.s) {
			continue
		}
		for _, p := range c.w.paths(s) {
			if isCredentialPath(p) {
				c.emit(RuleExfil, how+" copies "+s.s+" (credentials) to a remote host")
				return
			}
		}
	}
}

// zmodloadRule: zsh's TCP modules turn the shell into a network client,
// the building block of zsh reverse shells.
func zmodloadRule(c *cmd) {
	for _, a := range c.args() {
		if a.is("zsh/net/tcp", "zsh/net/socket") {
			c.emit(RuleReverseShell, "zmodload "+a.s+" gives the shell raw network sockets")
			return
		}
	}
}

// ghRule: gh gist create / release upload of credential files.
func ghRule(c *cmd) {
	args := c.args()
	if len(args) >= 2 && (args[0].is("gist") && args[1].is("create", "edit") || args[0].is("release") && args[1].is("upload") || args[0].is("secret") && args[1].is("set")) {
		exfilSources(c, args[2:], arg{}, "gh "+args[0].s+" "+args[1].s)
	}
}

func httpieRule(c *cmd) {
	for _, a := range c.args() {
		if !a.static {
			if c.payloadInline(a, c.name) {
				return
			}
			continue
		}
		if i := strings.Index(a.s, "@"); i >= 0 && (i == 0 || a.s[i-1] == '=' || a.s[i-1] == ':') {
			f := a.s[i+1:]
			if strings.HasPrefix(f, "~") {
				f = homeDir + f[1:]
			}
			if c.payloadFile(arg{s: f, static: true}, c.name) {
				return
			}
		}
	}
	c.payloadStdin(c.name)
}
