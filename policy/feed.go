package policy

import (
	"strings"

	"hermes-exec/internal/credentials"

	"mvdan.cc/sh/v3/syntax"
)

// feedKind says what a command reads on stdin (or what a $(...) or
// <(...) produces), as far as it can be known statically.
type feedKind int

const (
	feedNone    feedKind = iota // inherited stdin: not produced by this script
	feedStatic                  // known text (echo 'ls', a quoted here-document)
	feedRemote                  // downloaded or received from the network
	feedDecoded                 // decoded or transformed text (base64 -d, rev, tr)
	feedSecrets                 // environment dumps or credential files
	feedPaths                   // a listing of paths under known roots (find, ls)
	feedUnknown                 // anything else
)

type feed struct {
	kind  feedKind
	text  string   // feedStatic
	roots []string // feedPaths: start paths
	whole bool     // feedPaths: everything under the roots, unfiltered
	// compressed marks feedDecoded text that was only decompressed (a dump
	// restored with gunzip -c), not encoded to hide what it says.
	compressed bool
	what       string // short description of the producer
}

// redirects walks a statement's redirections: nested code, writes to
// sensitive targets, network redirections. It returns the stdin the
// command will read.
func (w *walker) redirects(st *syntax.Stmt, in feed) feed {
	for _, r := range st.Redirs {
		w.word(r.Word)
		if r.Hdoc != nil {
			w.word(r.Hdoc)
		}
		switch r.Op {
		case syntax.RdrOut, syntax.AppOut, syntax.RdrClob, syntax.RdrAll, syntax.AppAll, syntax.RdrInOut, syntax.DplOut:
			if r.Op == syntax.DplOut {
				if l := r.Word.Lit(); l == "-" || isDigits(l) {
					continue
				}
			}
			t := w.evalWord(r.Word)
			if !t.static {
				continue
			}
			for _, p := range w.paths(t) {
				if risk, ok := w.writeRisk(p); ok {
					w.emitNode(risk.rule, "redirection "+risk.reason, r)
				}
			}
			if r.Op == syntax.RdrInOut {
				in = w.fileFeed(t)
			}
		case syntax.RdrIn:
			t := w.evalWord(r.Word)
			if t.static {
				w.hermesSecretRedirect(t, r)
				for _, p := range w.paths(t) {
					if strings.HasPrefix(p, "/dev/tcp/") || strings.HasPrefix(p, "/dev/udp/") {
						w.emitNode(RuleReverseShell, "redirection reads from a network connection (/dev/tcp)", r)
					}
				}
			}
			in = w.fileFeed(t)
		case syntax.DplIn:
		case syntax.Hdoc, syntax.DashHdoc:
			in = w.hdocFeed(r)
		case syntax.WordHdoc:
			in = w.hereStringFeed(r)
		}
	}
	return in
}

// fileFeed is stdin redirected from a file.
func (w *walker) fileFeed(t arg) feed {
	if len(t.procs) > 0 {
		return w.feedOfStmts(t.procs[0].Stmts)
	}
	if !t.static {
		return feed{kind: feedUnknown, what: "a file whose name is not known"}
	}
	for _, p := range w.paths(t) {
		if isCredentialPath(p) {
			return feed{kind: feedSecrets, what: "credential file " + t.s}
		}
		if strings.HasPrefix(p, "/dev/tcp/") || strings.HasPrefix(p, "/dev/udp/") {
			return feed{kind: feedRemote, what: "a network connection"}
		}
		if w.fetched[p] {
			return feed{kind: feedRemote, what: "a file downloaded earlier (" + t.s + ")"}
		}
	}
	if t.s == "/dev/stdin" || t.s == "-" {
		return w.stdin
	}
	return feed{kind: feedUnknown, what: "the file " + t.s}
}

// hdocFeed is the body of a here-document when it has no expansions.
func (w *walker) hdocFeed(r *syntax.Redirect) feed {
	if r.Hdoc == nil {
		return feed{kind: feedStatic, what: "an empty here-document"}
	}
	var b strings.Builder
	for _, p := range r.Hdoc.Parts {
		l, ok := p.(*syntax.Lit)
		if !ok {
			return feed{kind: feedUnknown, what: "a here-document with expansions"}
		}
		b.WriteString(l.Value)
	}
	text := b.String()
	if quotedDelimiter(r.Word) {
		return feed{kind: feedStatic, text: text, what: "a here-document"}
	}
	return feed{kind: feedStatic, text: unescapeDquote(text), what: "a here-document"}
}

func quotedDelimiter(w *syntax.Word) bool {
	if w == nil {
		return false
	}
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.SglQuoted, *syntax.DblQuoted:
			return true
		case *syntax.Lit:
			if strings.Contains(p.Value, "\\") {
				return true
			}
		}
	}
	return false
}

// feedOfStmts is what a $(...) or <(...) produces: the output of its last
// statement (following a pipeline to its last stage).
func (w *walker) feedOfStmts(stmts []*syntax.Stmt) feed {
	if len(stmts) == 0 {
		return feed{kind: feedStatic, what: "nothing"}
	}
	if len(stmts) > 1 {
		// Several commands: static only when all are, else the strongest.
		var text strings.Builder
		for _, s := range stmts {
			f := w.feedOfStmt(s, feed{})
			if f.kind != feedStatic {
				return f
			}
			text.WriteString(f.text)
		}
		return feed{kind: feedStatic, text: text.String(), what: "several commands"}
	}
	return w.feedOfStmt(stmts[0], feed{})
}

// feedOfStmt is what a statement writes to stdout, given its stdin.
func (w *walker) feedOfStmt(st *syntax.Stmt, in feed) feed {
	if st == nil {
		return feed{kind: feedUnknown}
	}
	// Feeds are recomputed for nested pipelines; they share the work
	// budget so that deeply nested text stays bounded.
	if !w.spend(1, st) {
		return feed{kind: feedUnknown, what: "text too complex to follow"}
	}
	in = w.peekRedirects(st, in)
	switch c := st.Cmd.(type) {
	case *syntax.CallExpr:
		if len(c.Args) == 0 {
			return feed{kind: feedStatic, what: "an assignment"}
		}
		argv := w.evalWords(c.Args)
		f := w.feedOfArgv(argv, in)
		w.putArgs(argv)
		return f
	case *syntax.BinaryCmd:
		if c.Op == syntax.Pipe || c.Op == syntax.PipeAll {
			f := in
			for _, s := range flattenPipe(c) {
				f = w.feedOfStmt(s, f)
			}
			return f
		}
		return w.feedOfChain(c, in)
	case *syntax.Block:
		return w.feedOfStmts(c.Stmts)
	case *syntax.Subshell:
		return w.feedOfStmts(c.Stmts)
	}
	return feed{kind: feedUnknown, what: "a compound command"}
}

// feedOfChain is what a && b || c ... writes: strongerFeed of its parts,
// folded in order, with the static texts joined in one buffer so that a
// long chain costs linear time, not quadratic.
func (w *walker) feedOfChain(c *syntax.BinaryCmd, in feed) feed {
	var acc feed
	var text strings.Builder
	joined, first := false, true // joined: text holds acc.text
	var rec func(st *syntax.Stmt)
	rec = func(st *syntax.Stmt) {
		if bc, ok := st.Cmd.(*syntax.BinaryCmd); ok && len(st.Redirs) == 0 && !st.Negated && !st.Background &&
			(bc.Op == syntax.AndStmt || bc.Op == syntax.OrStmt) {
			rec(bc.X)
			rec(bc.Y)
			return
		}
		f := w.feedOfStmt(st, in)
		switch {
		case first:
			acc, first = f, false
		case acc.kind == feedStatic && f.kind == feedStatic:
			if !joined {
				text.Reset()
				text.WriteString(acc.text)
				joined = true
			}
			text.WriteString(f.text)
			acc.text = text.String()
		default:
			acc, joined = strongerFeed(acc, f), false
		}
	}
	rec(c.X)
	rec(c.Y)
	return acc
}

// strongerFeed picks the more dangerous of two possible outputs.
func strongerFeed(a, b feed) feed {
	rank := func(f feed) int {
		switch f.kind {
		case feedRemote:
			return 6
		case feedSecrets:
			return 5
		case feedDecoded:
			return 4
		case feedUnknown:
			return 3
		case feedPaths:
			return 2
		case feedStatic:
			return 1
		}
		return 0
	}
	if a.kind == feedStatic && b.kind == feedStatic {
		return feed{kind: feedStatic, text: a.text + b.text, what: a.what}
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// peekRedirects computes a statement's stdin from its redirections
// without reporting anything (the statement is walked separately).
func (w *walker) peekRedirects(st *syntax.Stmt, in feed) feed {
	for _, r := range st.Redirs {
		switch r.Op {
		case syntax.RdrIn:
			in = w.fileFeed(w.evalWord(r.Word))
		case syntax.Hdoc, syntax.DashHdoc:
			in = w.hdocFeed(r)
		case syntax.WordHdoc:
			in = w.hereStringFeed(r)
		}
	}
	return in
}

// hereStringFeed is the text a <<< word feeds.
func (w *walker) hereStringFeed(r *syntax.Redirect) feed {
	t := w.evalWord(r.Word)
	switch {
	case t.static:
		return feed{kind: feedStatic, text: t.s + "\n", what: "a here-string"}
	case len(t.substs) > 0:
		return w.feedOfStmts(t.substs[len(t.substs)-1].Stmts)
	}
	return feed{kind: feedUnknown, what: "a here-string with expansions"}
}

// feedOfArgv is what a simple command writes to stdout.
func (w *walker) feedOfArgv(argv []arg, in feed) feed {
	argv = w.effectiveArgv(argv)
	if len(argv) == 0 {
		return feed{kind: feedUnknown}
	}
	if !argv[0].static {
		return feed{kind: feedUnknown, what: "a command whose name is not known"}
	}
	name := progName(argv[0].s)
	args := argv[1:]
	for _, a := range args {
		if !a.static {
			continue
		}
		for _, p := range w.paths(a) {
			if isCredentialPath(p) {
				return feed{kind: feedSecrets, what: name + " of " + a.s}
			}
		}
	}
	if in.kind == feedSecrets {
		// Filters (grep, base64, gzip, tee...) keep the secrets in the data.
		switch name {
		case "wc", "true", ":", "sleep":
		default:
			return in
		}
	}
	switch name {
	case "openssl":
		if len(args) > 0 && args[0].is("base64", "enc", "aes-256-cbc", "des3") && (hasStatic(args, "-d") || hasStatic(args, "-D")) {
			return feed{kind: feedDecoded, what: "openssl decoding"}
		}
	case "gpg", "gpg2":
		if hasStatic(args, "--export-secret-keys") || hasStatic(args, "--export-secret-subkeys") {
			return feed{kind: feedSecrets, what: "exported private keys"}
		}
	}
	switch name {
	case "echo":
		return echoFeed(args)
	case "printf":
		return printfFeed(args)
	case "cat", "tee":
		if name == "cat" && len(args) > 0 && !(len(args) == 1 && args[0].is("-")) {
			return feed{kind: feedUnknown, what: "cat of a file"}
		}
		if in.kind == feedNone {
			return feed{kind: feedUnknown, what: name + " of inherited stdin"}
		}
		return in
	case "curl", "wget", "fetch", "aria2c", "http", "https", "xh", "lwp-request", "GET", "lynx", "links", "ftp", "tftp",
		"nc", "ncat", "netcat", "socat", "telnet", "openssl", "ssh", "scp", "sftp", "rsync", "s3cmd", "gsutil", "aws":
		if name == "openssl" && !(len(args) > 0 && args[0].is("s_client")) {
			break
		}
		if name == "aws" || name == "gsutil" {
			if !hasStatic(args, "cp") && !hasStatic(args, "cat") {
				break
			}
		}
		return feed{kind: feedRemote, what: name + " output (from the network)"}
	case "base64", "base32", "basenc", "xxd", "uudecode", "gzip", "gunzip", "zcat", "bzcat", "bunzip2", "bzip2",
		"xz", "unxz", "xzcat", "zstd", "zstdcat", "unzstd", "lz4", "lz4cat", "rev", "tr", "openssl-enc", "gpg", "uncompress", "brotli", "sed", "awk", "perl", "python", "iconv", "dd", "od", "zmore", "unpack200", "recode":
		if name == "sed" || name == "awk" || name == "perl" || name == "python" || name == "dd" {
			if in.kind == feedStatic || in.kind == feedNone {
				return feed{kind: feedUnknown, what: name + " output"}
			}
			return feed{kind: feedDecoded, what: name + " transforming " + in.what}
		}
		switch name {
		case "gzip", "gunzip", "zcat", "bzcat", "bunzip2", "bzip2", "xz", "unxz", "xzcat", "zstd", "zstdcat", "unzstd",
			"lz4", "lz4cat", "uncompress", "brotli", "zmore":
			return feed{kind: feedDecoded, compressed: true, what: name + " output (decompressed)"}
		}
		return feed{kind: feedDecoded, what: name + " output (decoded or transformed text)"}
	case "env", "printenv", "export", "set", "declare", "typeset", "compgen":
		if name == "printenv" && len(args) > 0 {
			return feed{kind: feedUnknown, what: "printenv of a variable"}
		}
		if (name == "export" || name == "declare" || name == "typeset") && !(len(args) == 0 || hasStatic(args, "-p") || hasStatic(args, "-x")) {
			break
		}
		return feed{kind: feedSecrets, what: name + " (the environment, with its secrets)"}
	case "find", "fd", "fdfind", "ls", "git", "rg", "grep", "locate":
		return w.pathsFeed(name, args)
	case "true", ":":
		return feed{kind: feedStatic, what: name}
	}
	return feed{kind: feedUnknown, what: name + " output"}
}

func hasStatic(args []arg, s string) bool {
	for _, a := range args {
		if a.is(s) {
			return true
		}
	}
	return false
}

// pathsFeed describes listings of paths, which xargs turns into operands.
func (w *walker) pathsFeed(name string, args []arg) feed {
	switch name {
	case "find":
		starts, expr := findStarts(args)
		var roots []string
		for _, s := range starts {
			if !s.static {
				return feed{kind: feedUnknown, what: "find over an unknown directory"}
			}
			roots = append(roots, s.s)
		}
		if len(roots) == 0 {
			roots = []string{"."}
		}
		return feed{kind: feedPaths, roots: roots, what: "find output", whole: !findFiltered(expr)}
	case "git":
		if !hasStatic(args, "ls-files") && !hasStatic(args, "diff") {
			return feed{kind: feedUnknown, what: "git output"}
		}
	case "grep", "rg":
		if !hasStatic(args, "-l") && !hasStatic(args, "--files-with-matches") && !hasStatic(args, "-rl") && !hasStatic(args, "-lr") && !hasStatic(args, "--files") {
			return feed{kind: feedUnknown, what: name + " output"}
		}
	}
	if name == "ls" || name == "git" {
		return listingFeed(name, args)
	}
	// Paths relative to the operands (or the working directory).
	var roots []string
	for _, a := range args {
		if !a.static {
			return feed{kind: feedUnknown, what: name + " over an unknown directory"}
		}
		if !strings.HasPrefix(a.s, "-") && (strings.HasPrefix(a.s, "/") || strings.HasPrefix(a.s, "~") || strings.HasPrefix(a.s, ".")) {
			roots = append(roots, a.s)
		}
	}
	if len(roots) == 0 {
		roots = []string{"."}
	}
	return feed{kind: feedPaths, roots: roots, what: name + " output"}
}

// listingFeed: ls (or git ls-files) without a narrowing pattern lists a
// whole directory, so deleting what it prints deletes all of it.
func listingFeed(name string, args []arg) feed {
	var roots []string
	whole := true
	for i, a := range args {
		if !a.static {
			return feed{kind: feedUnknown, what: name + " over an unknown directory"}
		}
		if name == "git" && i == 0 {
			if !a.is("ls-files") {
				return feed{kind: feedPaths, roots: []string{"."}, what: "git output"}
			}
			continue
		}
		if strings.HasPrefix(a.s, "-") {
			if name == "ls" && (a.is("-d", "--directory") || shortBundleHas(a, "d", "")) && !hasPureGlobOperand(args) ||
				name == "git" && a.is("--modified", "-m", "--deleted", "-d", "--others", "-o", "--ignored", "-i", "--killed", "-k", "--unmerged", "-u") {
				whole = false
			}
			continue
		}
		if (a.glob || strings.ContainsAny(a.s, "*?[")) && !pureGlob(strings.TrimSuffix(a.s, "/")) {
			whole = false
		}
		roots = append(roots, a.s)
	}
	if len(roots) == 0 {
		roots = []string{"."}
	}
	return feed{kind: feedPaths, roots: roots, whole: whole, what: name + " output"}
}

func hasPureGlobOperand(args []arg) bool {
	for _, a := range args {
		if a.static && !strings.HasPrefix(a.s, "-") && pureGlob(strings.TrimSuffix(a.s, "/")) {
			return true
		}
	}
	return false
}

// echoFeed renders what echo prints when its words are static.
func echoFeed(args []arg) feed {
	escapes := false
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if !a.static || len(a.s) < 2 || a.s[0] != '-' || strings.Trim(a.s[1:], "neE") != "" {
			break
		}
		if strings.Contains(a.s, "e") {
			escapes = true
		}
	}
	var parts []string
	for _, a := range args[i:] {
		if !a.static {
			if len(a.substs) > 0 {
				return feed{kind: feedUnknown, what: "echo of a command's output"}
			}
			return feed{kind: feedUnknown, what: "echo of an expansion"}
		}
		parts = append(parts, a.s)
	}
	text := strings.Join(parts, " ") + "\n"
	if escapes {
		text = decodeEcho(text)
	}
	return feed{kind: feedStatic, text: text, what: "echo"}
}

// printfFeed renders printf FORMAT [ARGS] for the common static cases.
func printfFeed(args []arg) feed {
	if len(args) == 0 || !args[0].static {
		return feed{kind: feedUnknown, what: "printf with a dynamic format"}
	}
	if args[0].is("-v") {
		return feed{kind: feedStatic, what: "printf -v"}
	}
	if args[0].is("--") {
		args = args[1:]
		if len(args) == 0 {
			return feed{kind: feedStatic}
		}
	}
	rest := args[1:]
	for _, a := range rest {
		if !a.static {
			return feed{kind: feedUnknown, what: "printf of an expansion"}
		}
	}
	format := decodeEcho(args[0].s)
	var b strings.Builder
	ai := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 >= len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		// Skip flags, width and precision.
		for i < len(format) && strings.IndexByte("-+ #0123456789.", format[i]) >= 0 {
			i++
		}
		if i >= len(format) {
			break
		}
		switch format[i] {
		case '%':
			b.WriteByte('%')
		case 'b':
			if ai < len(rest) {
				b.WriteString(decodeEcho(rest[ai].s))
			}
			ai++
		default:
			if ai < len(rest) {
				b.WriteString(rest[ai].s)
			}
			ai++
		}
	}
	for ai < len(rest) && ai > 0 {
		// The format is reused for the remaining arguments; they are
		// still static text, so keep them in the output.
		b.WriteString(" ")
		b.WriteString(rest[ai].s)
		ai++
	}
	return feed{kind: feedStatic, text: b.String(), what: "printf"}
}

// decodeEcho decodes the escapes echo -e and printf understand.
func decodeEcho(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	// \0NNN is octal in echo; $'...' rules cover the rest.
	s = strings.ReplaceAll(s, "\\0", "\\")
	return ansiC(s)
}

// isCredentialPath reports files and directories holding secrets.
func isCredentialPath(p string) bool {
	base := p
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		base = p[i+1:]
	}
	switch {
	case base == ".env" || strings.HasPrefix(base, ".env.") && base != ".env.example" && base != ".env.sample" && base != ".env.template",
		strings.HasPrefix(base, "id_rsa"), strings.HasPrefix(base, "id_ed25519"), strings.HasPrefix(base, "id_ecdsa"), strings.HasPrefix(base, "id_dsa"),
		strings.HasSuffix(base, ".pem"), strings.HasSuffix(base, ".key"), strings.HasSuffix(base, ".p12"), strings.HasSuffix(base, ".pfx"),
		strings.HasSuffix(base, ".kdbx"), base == "credentials.json", base == "service-account.json":
		if strings.HasSuffix(base, ".pub") {
			return false
		}
		return true
	case strings.HasPrefix(p, "/etc/ssh/ssh_host_") && !strings.HasSuffix(p, ".pub"):
		return true
	}
	for _, f := range credentials.SystemFiles {
		if f != "/root" && under(p, f) {
			return true
		}
	}
	rel, ok := homeRel(p)
	if !ok {
		return false
	}
	for _, d := range credentials.HomePaths {
		if under(rel, d) {
			if strings.HasSuffix(rel, ".pub") || rel == ".ssh/known_hosts" || rel == ".ssh/config" {
				return false
			}
			return true
		}
	}
	return false
}
