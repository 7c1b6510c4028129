package policy

import (
	"strings"
)

// Regular expressions here scan the code text of other languages (Python,
// JavaScript, Perl...), never shell text. They look for calls that run
// commands, delete files, kill processes or evaluate strings as code: the
// exact target rarely matters, since building the target at run time
// ('r'+'m') is trivial.
var codePatterns = map[string]*lazyRegexp{
	"python": regexpMust(`\bos\s*\.\s*(system|popen|exec\w*|spawn\w*|remove|unlink|rmdir|removedirs|kill|killpg|fork|forkpty|setuid|posix_spawn\w*)\b|\bsubprocess\b|\bpty\b|\bcommands\s*\.|\bshutil\s*\.\s*(rmtree|move|chown)|__import__|\bgetattr\b|\bimportlib\b|\bctypes\b|\bsocket\b|\beval\s*\(|\bexec\s*\(|\bcompile\s*\(|\bexecfile\b|\.unlink\s*\(|\.rmdir\s*\(|\bsystem\s*\(|\bpopen\b|\bremove\s*\(|\bunlink\s*\(|\brmtree\s*\(|\bkill\s*\(|\bmarshal\b|\bpickle\s*\.\s*loads|\bbuiltins\b|\bglobals\s*\(`),
	"node":   regexpMust(`\bchild_process\b|\bexecSync\b|\bexecFileSync\b|\bspawnSync\b|\bexecFile\s*\(|\bspawn\s*\(|\bexec\s*\(|\bfork\s*\(|\brmSync\b|\brmdirSync\b|\bunlinkSync\b|\bfs\s*\.\s*(rm|rmdir|unlink)\s*\(|\bprocess\s*\.\s*(kill|binding|dlopen)\b|\beval\s*\(|\bFunction\s*\(|\bvm\s*\.|\brequire\s*\(\s*[^'"` + "`" + `\s)]|\bimport\s*\(\s*[^'"\s)]|\bnet\s*\.\s*(connect|createConnection|Socket)|\bBun\s*\.\s*(spawn|spawnSync|\$)|\bDeno\s*\.\s*(run|Command|remove|kill)|\$\s*` + "`"),
	"ruby":   regexpMust("`" + `|%x|\b(system|exec|spawn|fork|syscall|Open3|popen|eval|instance_eval|class_eval|send|public_send|TCPSocket|Socket)\b|\bKernel\s*\.|\bFileUtils\s*\.\s*(rm\w*|remove\w*|mv)|\bFile\s*\.\s*(delete|unlink)|\bDir\s*\.\s*(delete|rmdir|unlink)|\bProcess\s*\.\s*kill`),
	"perl":   regexpMust("`" + `|\b(system|exec|qx|fork|kill|unlink|rmdir|remove_tree|rmtree|eval|syscall|socket)\b|IO::Socket|\bopen\s*\(?[^;]*['"]\s*-?\|` + `|\|\s*['"]\s*\)`),
	"php":    regexpMust("`" + `|\b(system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec|eval|assert|unlink|rmdir|fsockopen|socket_create|create_function|call_user_func\w*|putenv|dl)\s*\(`),
	"lua":    regexpMust(`\bos\s*\.\s*(execute|remove|rename|exit)|\bio\s*\.\s*popen|\bloadstring\b|\bload\s*\(|\bdofile\b|socket`),
	"r":      regexpMust(`\b(system2?|shell|unlink|file\.remove|eval|pipe|processx|callr)\s*\(`),
	"awk":    regexpMust(`\bsystem\s*\(|\|\s*getline|\|&|\bprintf?\b[^;}]*\|\s*("|[A-Za-z_$])`),
	"pwsh":   regexpMust(`(?i)\b(Remove-Item|rm|del|rmdir|ri|erase|Invoke-Expression|iex|Start-Process|saps|Invoke-WebRequest|iwr|Invoke-RestMethod|irm|Stop-Computer|Restart-Computer|Format-Volume|Clear-Disk|Set-ExecutionPolicy|Stop-Process|kill|Add-Type)\b|System\.Net|Diagnostics\.Process`),
	"julia":  regexpMust("`" + `|\b(run|rm|eval|pipeline)\s*\(`),
	"osa":    regexpMust(`(?i)do\s+shell\s+script`),
	"vim":    regexpMust(`!|\bsystem\s*\(|\bterminal\b|\bcall\s+delete\s*\(|\bdelete\s*\(|\bpy\w*\b|\blua\b|\bperl\b|\bruby\b`),
}

// codeHints are substrings every match of a language's pattern contains;
// code without any of them skips the (comparatively slow) regexp.
var codeHints = map[string][]string{
	"python": {"os", "subprocess", "pty", "commands", "shutil", "__import__", "getattr", "importlib", "ctypes", "socket",
		"eval", "exec", "compile", "unlink", "rmdir", "system", "popen", "remove", "rmtree", "kill", "marshal", "pickle", "builtins", "globals"},
	"node": {"child_process", "exec", "spawn", "fork", "rmSync", "rmdirSync", "unlinkSync", "fs", "process", "eval", "Function",
		"vm", "require", "import", "net", "Bun", "Deno", "$"},
}

func mayMatch(lang, code string) bool {
	hints, ok := codeHints[lang]
	if !ok {
		return true
	}
	for _, h := range hints {
		if strings.Contains(code, h) {
			return true
		}
	}
	return false
}

// sensitiveInCode and writeInCode together flag code that writes to
// system or credential files.
var (
	sensitiveInCode = regexpMust(`/etc/|/boot/|/usr/|/bin/|/sbin/|/lib|/root\b|/proc/sys|/sys/|/dev/(sd|nvme|vd|xvd|mmcblk|disk)|\.ssh\b|authorized_keys|\.bashrc|\.bash_profile|\.profile|\.zshrc|\.zshenv|sudoers|crontab|/var/spool/cron|ld\.so\.preload|\.gnupg|\.aws\b|\.kube\b`)
	hermesInCode    = regexpMust(`\.hermes\b|HERMES_HOME|HERMES_YOLO|HERMES_APPROVALS`)
	envInCode       = regexpMust(`os\.environ|process\.env\b|\bENV\b|%ENV|getenv|\$_ENV|\$_SERVER|Sys\.getenv|\.ssh/|\.aws/|credentials|\.env\b|/etc/shadow|\.netrc|\.kube/`)
	netInCode       = regexpMust(`\brequests\b|urllib|http\.client|https?\.request|\bfetch\s*\(|XMLHttpRequest|axios|Net::HTTP|LWP|HTTP::Tiny|curl_|file_get_contents\s*\(\s*['"]https?:|socket|smtplib|ftplib`)
	writeInCode     = regexpMust(`(?i)write|append|put_contents|symlink|chmod|chown|rename|copy|move|truncate|['"](w|a|wb|ab|w\+|a\+|r\+)['"]|>\s*['"]|\bopen\s*\(|\bFile\s*\.\s*new|environ`)
)

// scanCode flags interpreter code that runs commands, deletes files or
// writes sensitive files.
func (w *walker) scanCode(c *cmd, lang, code, how string) {
	k := codeScanKey{lang, code, how}
	r, ok := w.codeScans[k]
	if !ok {
		r = w.scanCodeFinding(lang, code, how)
		if len(code) <= maxCodeScanKept && len(w.codeScans) < maxCodeScansKept {
			// A large script runs the same awk or python one-liner again
			// and again; the regexps are most of a statement's cost.
			if w.codeScans == nil {
				w.codeScans = make(map[codeScanKey]codeScan)
			}
			w.codeScans[k] = r
		}
	}
	if r.rule != "" {
		c.emit(r.rule, r.desc)
	}
}

// The cache of scanCode's results: what it finds depends only on the
// language, the code, how it is run and the classifier (the same for the
// whole walk).
type (
	codeScanKey struct{ lang, code, how string }
	codeScan    struct {
		rule RuleID // "" when the code raises nothing
		desc string
	}
)

const (
	maxCodeScanKept  = 4 << 10
	maxCodeScansKept = 4096
)

// scanCodeFinding is the finding scanCode raises, if any.
func (w *walker) scanCodeFinding(lang, code, how string) codeScan {
	re := codePatterns[lang]
	if re != nil && mayMatch(lang, code) {
		if m := firstCodeMatch(re, code, w.c.execChecked); m != "" {
			return codeScan{RuleInterpreterCode, how + " runs code that calls " + quoteShort(strings.TrimSpace(m)) + " (runs commands, deletes files or evaluates strings as code)"}
		}
	}
	if envInCode.MatchString(code) && netInCode.MatchString(code) {
		return codeScan{RuleExfil, how + " reads the environment or credentials and talks to the network"}
	}
	if w.hermesInCode(code) {
		if writeInCode.MatchString(code) {
			return codeScan{RuleSelfDisableWrite, how + " writes to the Hermes configuration or environment"}
		}
		if secretNameInCode.MatchString(code) {
			return codeScan{RuleSelfSecretRead, how + " reads the agent's own secrets in the Hermes home"}
		}
	}
	if sensitiveInCode.MatchString(code) && writeInCode.MatchString(code) {
		return codeScan{RuleInterpreterCode, how + " writes to a system, start-up or credentials file"}
	}
	return codeScan{}
}

// secretNameInCode matches the names of hermeshome.Secrets as code may
// spell them (a path, or the name joined on at run time).
var secretNameInCode = regexpMust(`\.env\b|age-identity|gateway-key|pairing|hook-grants|state\.key`)

// hermesInCode reports code that names a Hermes home: ~/.hermes, the
// variable, or the HERMES_HOME this command runs under (which may be any
// directory, so its path is looked for as written).
func (w *walker) hermesInCode(code string) bool {
	if hermesInCode.MatchString(code) {
		return true
	}
	k := w.ctx()
	for _, h := range [...]string{k.hermes, k.defHermes} {
		if len(h) > 1 && strings.Contains(code, h) {
			return true
		}
	}
	return false
}

// spawnOnly matches the calls of codePatterns that only start programs.
// With exec checks on, every program such code starts is classified when
// it is executed, so these calls alone are no reason to ask; deleting
// files, evaluating strings or opening sockets still is.
var spawnOnly = regexpMust(`^(os\s*\.\s*(system|popen|exec\w*|spawn\w*|posix_spawn\w*|fork)|subprocess|popen|system\s*\(|child_process|execSync|execFileSync|spawnSync|execFile\s*\(|spawn\s*\(|fork\s*\(|system|spawn|fork|Open3|qx|` + "`" + `)$`)

// firstCodeMatch is the first match of re in code; with execChecked, the
// first that is not a mere program start.
func firstCodeMatch(re *lazyRegexp, code string, execChecked bool) string {
	if !execChecked {
		return re.FindString(code)
	}
	for _, m := range re.FindAllString(code, -1) {
		if !spawnOnly.MatchString(strings.TrimSpace(m)) {
			return m
		}
	}
	return ""
}
