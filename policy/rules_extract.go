package policy

import "strings"

// Extractors other than tar, unzip and patch: the names they write come
// from the archive, not the command line, so each is judged as an
// extraction into its directory (extractsOverHermes: it asks over a
// directory that holds the Hermes home or hermes-exec's programs).
func init() {
	register(cpioRule, "cpio")
	register(sevenZipRule, "7z", "7za", "7zr")
	register(jarRule, "jar")
	register(arRule, "ar")
	register(paxRule, "pax")
}

// cpioRule: copy-in (-i) writes the archive's names below -D DIR (or the
// working directory), and keeps absolute names unless told not to (GNU
// cpio's no_abs_paths_flag is off by default): those go anywhere.
// Pass-through (-p DEST) writes the names it reads below DEST.
func cpioRule(c *cmd) {
	p := parseOpts(c.args(), &optSpec{short: "0aAbBcdfiLlmnoprStsuvV", shortArg: "CDEFHIMOR", long: []string{"extract", "create", "pass-through", "list", "make-directories", "no-absolute-filenames", "absolute-filenames", "to-stdout", "only-verify-crc", "null", "link", "unconditional", "preserve-modification-time", "verbose", "quiet", "dot", "nonmatching", "rename", "sparse", "swap", "swap-bytes", "swap-halfwords", "numeric-uid-gid", "no-preserve-owner", "reset-access-time", "dereference", "append", "force-local"}, longArg: []string{"directory", "file", "format", "io-size", "block-size", "pattern-file", "owner", "message", "rsh-command", "rename-batch-file"}})
	dir := arg{s: ".", static: true}
	if d, ok := p.value("-D", "--directory"); ok {
		dir = d
	}
	switch {
	case p.has("-p", "--pass-through"):
		if n := len(p.operands); n > 0 {
			extractsOverHermes(c, []arg{joinDir(dir, p.operands[n-1])}, "cpio -p")
		}
	case p.has("-i", "--extract"):
		if p.has("-t", "--list", "--to-stdout", "--only-verify-crc") {
			return
		}
		extractsOverHermes(c, []arg{dir}, "cpio")
		if !p.has("--no-absolute-filenames") {
			c.emit(RuleSysconfigWrite, "cpio -i keeps the archive's absolute names (unless --no-absolute-filenames) and writes wherever they point: one may overwrite the Hermes configuration or audit log, or a system file")
		}
	}
}

// joinDir is name below dir (name itself when absolute or dir is ".").
func joinDir(dir, name arg) arg {
	if !name.static || strings.HasPrefix(name.s, "/") || dir.static && dir.s == "." {
		return name
	}
	if !dir.static {
		return arg{word: name.word}
	}
	return arg{s: strings.TrimSuffix(dir.s, "/") + "/" + name.s, static: true, word: name.word}
}

// sevenZipRule: 7z x/e extract into -oDIR (or the working directory);
// -spf keeps the archive's absolute paths.
func sevenZipRule(c *cmd) {
	args := c.args()
	if len(args) == 0 || !args[0].static || (args[0].s != "x" && args[0].s != "e") {
		return
	}
	dir := arg{s: ".", static: true}
	for _, a := range args[1:] {
		switch {
		case a.static && strings.HasPrefix(a.s, "-o"):
			dir = arg{s: a.s[2:], static: true, word: a.word}
			if dir.s == "" {
				dir.s = "."
			}
		case a.static && strings.HasPrefix(a.s, "-spf"):
			c.emit(RuleSysconfigWrite, "7z -spf extracts the archive's absolute paths wherever they point: one may overwrite the Hermes configuration or a system file")
		}
	}
	extractsOverHermes(c, []arg{dir}, c.name)
}

// jarRule: jar x (xf, -x, --extract) writes the archive's names in the
// working directory, or in --dir DIR (JDK 21's -C for extraction).
func jarRule(c *cmd) {
	args := c.args()
	if len(args) == 0 || !args[0].static {
		return
	}
	first := args[0].s
	extract := false
	switch {
	case first == "--extract":
		extract = true
	case strings.HasPrefix(first, "--"):
	case strings.HasPrefix(first, "-"):
		extract = strings.IndexByte(first, 'x') > 0
	default:
		extract = strings.IndexByte(first, 'x') >= 0
	}
	for _, a := range args {
		if a.is("-x", "--extract") {
			extract = true
		}
	}
	if !extract {
		return
	}
	dir := arg{s: ".", static: true}
	for i, a := range args {
		switch {
		case a.is("--dir", "-C") && i+1 < len(args):
			dir = args[i+1]
		case a.static && strings.HasPrefix(a.s, "--dir="):
			dir = arg{s: a.s[len("--dir="):], static: true, word: a.word}
		}
	}
	extractsOverHermes(c, []arg{dir}, "jar x")
}

// arRule: ar x writes the archive's members in the working directory
// (or --output DIR).
func arRule(c *cmd) {
	args := c.args()
	dir := arg{s: ".", static: true}
	extract := false
	for i, a := range args {
		switch {
		case a.is("--output") && i+1 < len(args):
			dir = args[i+1]
		case a.static && strings.HasPrefix(a.s, "--output="):
			dir = arg{s: a.s[len("--output="):], static: true, word: a.word}
		case a.static && strings.HasPrefix(a.s, "--"):
		case a.static && !extract:
			// The operation letters: the first word, with or without
			// a dash (x, xv, -x, xo).
			key := strings.TrimPrefix(a.s, "-")
			if key != "" && strings.Trim(key, "xvoPcsSTDUNfluV0123456789") == "" {
				extract = strings.IndexByte(key, 'x') >= 0
			}
			if !extract && !strings.HasPrefix(a.s, "-") {
				return // the operation word came and is not x
			}
		}
	}
	if extract {
		extractsOverHermes(c, []arg{dir}, "ar x")
	}
}

// paxRule: pax -r writes the archive's names in the working directory;
// pax -rw copies the named files into the last operand.
func paxRule(c *cmd) {
	p := parseOpts(c.args(), &optSpec{short: "rwacdiklntuvHLPXz0", shortArg: "bfopsx"})
	if !p.has("-r") {
		return
	}
	dir := arg{s: ".", static: true}
	if p.has("-w") {
		n := len(p.operands)
		if n == 0 {
			return
		}
		dir = p.operands[n-1]
	}
	extractsOverHermes(c, []arg{dir}, "pax -r")
}
