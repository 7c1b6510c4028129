package policy

import (
	"sort"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// maxDepth bounds nested parsing (sh -c inside eval inside sh -c ...).
// Deeper nesting is reported instead of followed.
const maxDepth = 8

// finding is a Finding plus what the walker needs to order and filter it.
type finding struct {
	Finding
	off int // offset in the top-level text (source order)
	seq int // emission order, to keep the sort stable
	lvl int // wrapper level inside its simple command
	// sticky findings come from the shell around the command (redirects,
	// pipes feeding code) and are not removed by an allowlist match.
	sticky bool
	// opaque findings mean code ran that could not be seen; with deny rules
	// configured they also produce user-deny-unresolved.
	opaque bool
	// atExec findings are about a program the text does not name (a
	// command word built at run time, eval or sh -c of run-time text, a
	// script path in a variable): with exec checks on, that program is
	// classified when it is executed, so the text need not fail closed.
	atExec bool
	// program findings are about a program the text names and runs
	// (not a builtin); with Rules.DeferPrograms they are left to the
	// exec check of that program, which sees its real arguments.
	program bool
}

// textOnly rules are about what only the text shows even when they are
// reported on a program: code the program reads from a pipe or stdin, which
// its argv does not hold.
func textOnly(s string) bool {
	switch s {
	case "remote-code-exec", "decoded-code-exec", "dynamic-code",
		"parse-error", "internal-error", "unicode-lookalike":
		return true
	}
	return false
}

// seenAtExec marks a finding as one exec checks cover (see atExec).
func (f *finding) seenAtExec() *finding {
	f.atExec = true
	return f
}

// shared is the state common to a walker and all its nested walkers.
type shared struct {
	c   *Classifier
	out []finding
	// simpleFree are simple commands' states to use again (newSimple).
	simpleFree []*simpleState
	seq        int
	fetched    map[string]bool // files written by curl/wget in this script
	// written holds what earlier statements of this script wrote into
	// files (echo ... > x.sh, cat <<EOF > x.sh), so that running such a
	// file later is judged by what was written into it.
	written map[string]feed
	appends map[string]*strings.Builder // the text of written[p] while appended to
	// progCopies maps paths (and names) that this line made copies or
	// links of an installed program to that program's name.
	progCopies map[string]string
	// work counts what the walk did (see workBound); past maxWork the rest
	// of the text is not followed and the verdict asks instead (bounded
	// time, fail closed).
	work      int
	maxWork   int // workBound of the top-level text's length
	truncated bool
	loops     int // nesting of for loops walked item by item
	// progs caches progFacts for the names this text runs: a large
	// script runs the same few programs over and over.
	progs map[string]*progFacts
	// codeScans caches scanCode's results (codescan.go).
	codeScans map[codeScanKey]codeScan
	argsFree  [][]arg // argvs to use again (takeArgs)
}

// progFacts is what the rules look up about a program's name for every
// command it runs: its checks (handlers) and the tables it is in.
type progFacts struct {
	checks                          []func(*cmd)
	data, task, network, generalToo bool
}

// prog returns the name's progFacts, looked up once per name and text.
func (w *walker) prog(name string) *progFacts {
	if p, ok := w.progs[name]; ok {
		return p
	}
	p := &progFacts{checks: handlers(name), data: dataPrograms(name), task: taskRunners(name),
		network: networkTools(name), generalToo: generalToo(name)}
	if w.progs == nil {
		w.progs = make(map[string]*progFacts)
	}
	w.progs[name] = p
	return p
}

// The walk's budget grows with the text, so that every statement of a
// large script is checked while the work stays linear in the text's size.
// One unit is one statement walked (or one feed worked out), or workBytes
// bytes of text that the text itself does not hold: a variable's value
// copied into a word, a nested text (sh -c, eval, a file the script wrote)
// parsed. Ordinary scripts spend 0.02-0.06 units a byte (this machine's
// shell scripts), the densest plain lines 0.25-0.5 (`a=1`, `:`, `x;x`),
// degenerate ones up to 1.75 (`{ :|:; } >log` around `:|:` lines);
// what grows faster than the text (loops walked item by item, nested
// bash -c and eval, texts built from variables) runs out and asks.
const (
	workBase    = 20000 // units any text may spend, however short
	workPerByte = 2     // units per byte of the top-level text
	workBytes   = 8     // bytes of copied or re-parsed text per unit
)

// workBound is the budget of a classification of a top-level text of n
// bytes, nested texts and loop bodies included.
func workBound(n int) int { return workBase + workPerByte*n }

// spend charges units of work; past the budget it reports the text as too
// large to check, once, at node, and returns false.
func (w *walker) spend(units int, node syntax.Node) bool {
	if w.work += units; w.work <= w.maxWork {
		return true
	}
	if !w.truncated {
		w.truncated = true
		f := w.emitNode(RuleDynamicCode, boundReason, node)
		f.opaque = true
		if len(f.Command) > maxTruncatedCommand {
			// Without a node it is the whole nested text, maybe megabytes.
			f.Command = strings.ToValidUTF8(f.Command[:maxTruncatedCommand], "") + " ..."
		}
	}
	return false
}

// boundReason is the finding of a text that runs out of its budget.
const boundReason = "the text is too large or nested too deeply to check completely"

// maxTruncatedCommand bounds the text the bound's finding shows.
const maxTruncatedCommand = 1000

// walker walks one parsed script (the top-level text or a nested one).
type walker struct {
	*shared
	src      string
	depth    int
	anchored bool
	anchor   syntax.Pos // where the nested text sits in the top-level text
	vars     map[string]string
	trusted  map[string]bool // variables assigned exactly once, unconditionally
	// assignCount weighs every way a variable is set (a for loop counts 2).
	// Both are read through ask (walksplit.go).
	assignCount map[string]int
	// spec records what a walk that overlaps the parse asked of them.
	spec   specAnswers
	cwds   []string // possible working directories ("" = the initial one)
	lastCd []string // set by a cd just walked
	funcs  map[string]bool
	// forwarders are functions that run their arguments (forwarders.go);
	// inForwarder is set while such a function's body is walked.
	forwarders  map[string]bool
	inForwarder int
	// outer holds the tracked variables of the enclosing shell when this
	// walker reads text that runs in that same shell (eval, trap).
	outer     map[string]string
	aliases   map[string]string // alias name -> static value
	stdin     feed              // what the current command reads on stdin
	pos       []arg             // $0, $1 ... of text run by sh -c TEXT NAME ARGS
	pipeNames []string          // program names in the current pipeline
	cur       *simpleState
}

func newWalker(c *Classifier, src string, depth int) *walker {
	// Maps are allocated on first write: most commands assign nothing.
	w := &walker{
		shared: &shared{c: c, maxWork: workBound(len(src))},
		src:    src,
		depth:  depth,
		cwds:   rootCwds,
	}
	if c != nil && c.ctx != nil && c.ctx.cwd != "" {
		w.cwds = []string{c.ctx.cwd}
	}
	return w
}

// child makes a walker for text that the shell (or a program) will parse
// again: sh -c, eval, an alias value. Findings are anchored at node.
func (w *walker) child(text string, node syntax.Node) *walker {
	n := &walker{
		shared: w.shared,
		src:    text,
		depth:  w.depth + 1,
		cwds:   w.cwds,
	}
	switch {
	case w.anchored:
		n.anchored, n.anchor = true, w.anchor
	case node != nil:
		n.anchored, n.anchor = true, node.Pos()
	default:
		n.anchored, n.anchor = true, syntax.NewPos(0, 1, 1)
	}
	return n
}

// posOf returns the line:col and offset of a node in the top-level text.
func (w *walker) posOf(n syntax.Node) (string, int) {
	if w.anchored {
		return w.anchor.String(), int(w.anchor.Offset())
	}
	if n == nil || !n.Pos().IsValid() {
		return "1:1", 0
	}
	return n.Pos().String(), int(n.Pos().Offset())
}

// emitAt records a finding. The decision comes from the catalog so that
// the rule table is the single source of truth.
func (w *walker) emitAt(rule RuleID, desc, command, pos string, argv []string) *finding {
	w.seq++
	if strings.Contains(desc, homeDir) {
		desc = strings.ReplaceAll(desc, homeDir, "~")
	}
	f := finding{
		Finding: Finding{Rule: string(rule), Description: desc, Command: command, Pos: pos,
			Decision: ruleDecision(rule), Argv: argv},
		seq: w.seq,
	}
	if w.anchored {
		f.off = int(w.anchor.Offset())
	}
	if w.cur != nil {
		f.lvl = w.cur.lvl
		w.cur.findings = append(w.cur.findings, f)
		return &w.cur.findings[len(w.cur.findings)-1]
	}
	w.out = append(w.out, f)
	return &w.out[len(w.out)-1]
}

// emitNode records a finding about a construct (not a simple command's
// argv): it cannot be allowlisted and is never removed by one.
func (w *walker) emitNode(rule RuleID, desc string, n syntax.Node) *finding {
	pos, off := w.posOf(n)
	text := nodeText(w.src, n)
	if text == "" {
		text = w.src
	}
	saved := w.cur
	w.cur = nil
	f := w.emitAt(rule, desc, text, pos, nil)
	w.cur = saved
	f.off = off
	f.sticky = true
	return f
}

// verdict sorts findings into source order and derives the decision.
func (w *walker) verdict(key string) Verdict {
	out := w.out
	if w.c.execChecked {
		kept := out[:0:0]
		for _, f := range out {
			if f.atExec || (f.program && !f.sticky && f.Decision == Ask && !textOnly(f.Rule)) {
				continue
			}
			kept = append(kept, f)
		}
		out = kept
	}
	if len(w.c.deny) > 0 {
		for _, f := range out {
			if f.opaque {
				n := f
				n.Rule = string(RuleUserDenyUnresolved)
				n.Decision = Deny
				n.Description = "runs code that cannot be resolved statically, so a configured deny rule might match it"
				n.Argv = nil
				w.seq++
				n.seq = w.seq
				out = append(out, n)
				break
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].off != out[j].off {
			return out[i].off < out[j].off
		}
		return out[i].seq < out[j].seq
	})
	v := Verdict{Decision: Allow, Findings: make([]Finding, 0, len(out)), Key: key}
	for i, f := range out {
		// The same rule on the same command at the same place once is
		// enough (brace alternatives, loop bodies walked per item).
		if i > 0 && dupFinding(out[:i], f) {
			continue
		}
		v.Findings = append(v.Findings, f.Finding)
		if f.Decision > v.Decision {
			v.Decision = f.Decision
		}
	}
	return v
}

func dupFinding(prev []finding, f finding) bool {
	for j := len(prev) - 1; j >= 0 && j >= len(prev)-8; j-- {
		p := prev[j]
		if p.Rule == f.Rule && p.Pos == f.Pos && p.Command == f.Command && p.Decision == f.Decision {
			return true
		}
	}
	return false
}

// file walks a whole parsed script.
func (w *walker) file(f *syntax.File) {
	w.trusted, w.assignCount = trustedAssignments(f, w.src)
	for name, val := range w.outer {
		if w.assignCount[name] == 0 { // not set again by the text itself
			if w.trusted == nil {
				w.trusted = map[string]bool{}
			}
			w.trusted[name] = true
			w.setVar(name, val)
		}
	}
	if hasInvisible(w.src) {
		w.emitNode(RuleUnicodeLookalike, "the text contains invisible or bidirectional control characters that hide what it runs", f)
	}
	w.stmts(f.Stmts)
}

func hasInvisible(s string) bool {
	for _, r := range s {
		if r >= 0x80 && invisibleRune(r) {
			return true
		}
	}
	return false
}

// stmts walks a statement list in order, tracking cd.
func (w *walker) stmts(list []*syntax.Stmt) {
	for _, st := range list {
		w.stmt(st)
		if w.lastCd != nil {
			w.cwds = unionCwds(w.cwds, w.lastCd)
			w.lastCd = nil
		}
	}
}

func unionCwds(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, x := range b {
		dup := false
		for _, y := range out {
			if x == y {
				dup = true
			}
		}
		if !dup && len(out) < 8 {
			out = append(out, x)
		}
	}
	return out
}

// rootCwds is the initial working-directory set; slices holding cwds are
// never modified in place, only replaced.
var rootCwds = []string{""}

func (w *walker) setVar(name, val string) {
	if w.vars == nil {
		w.vars = map[string]string{}
	}
	w.vars[name] = val
}

func (w *walker) setFunc(name string) {
	if w.funcs == nil {
		w.funcs = map[string]bool{}
	}
	w.funcs[name] = true
}

// addWritten records content written into p; appends add to what is known.
func (s *shared) addWritten(p string, f feed, appendTo bool) {
	if s.written == nil {
		s.written = map[string]feed{}
	}
	if old, ok := s.written[p]; ok && appendTo && old.kind == feedStatic && f.kind == feedStatic {
		// A file written line by line (echo ... >> f) grows in a buffer
		// that doubles, so the appends cost linear time, not quadratic.
		// Earlier texts stay valid: a Builder only writes past them.
		b := s.appends[p]
		if b == nil {
			if s.appends == nil {
				s.appends = map[string]*strings.Builder{}
			}
			b = &strings.Builder{}
			b.WriteString(old.text)
			s.appends[p] = b
		}
		b.WriteString(f.text)
		f.text = b.String()
	} else {
		delete(s.appends, p)
	}
	s.written[p] = f
}

func (s *shared) setFetched(p string) {
	if s.fetched == nil {
		s.fetched = map[string]bool{}
	}
	s.fetched[p] = true
}

// isolated walks something that runs in a subshell: cd and variables do
// not leak out of it.
func (w *walker) isolated(fn func()) {
	cwds, vars := w.cwds, w.vars
	if len(vars) > 0 {
		w.vars = copyVars(vars)
	}
	fn()
	w.cwds, w.vars, w.lastCd = cwds, vars, nil
}

func copyVars(m map[string]string) map[string]string {
	n := make(map[string]string, len(m))
	for k, v := range m {
		n[k] = v
	}
	return n
}

// stmt walks one statement: its redirections, then its command.
func (w *walker) stmt(st *syntax.Stmt) {
	if st == nil {
		return
	}
	if !w.spend(1, st) {
		return
	}
	saved := w.stdin
	w.stdin = w.redirects(st, w.stdin)
	if st.Cmd != nil {
		w.command(st, st.Cmd)
		w.noteWrittenCode(st, saved)
	}
	w.stdin = saved
}

func (w *walker) command(st *syntax.Stmt, cmd syntax.Command) {
	switch c := cmd.(type) {
	case *syntax.CallExpr:
		w.call(st, c)
	case *syntax.BinaryCmd:
		w.binary(c)
	case *syntax.Subshell:
		w.isolated(func() { w.stmts(c.Stmts) })
	case *syntax.Block:
		w.stmts(c.Stmts)
	case *syntax.IfClause:
		for cl := c; cl != nil; cl = cl.Else {
			w.stmts(cl.Cond)
			w.stmts(cl.Then)
		}
	case *syntax.WhileClause:
		w.stmts(c.Cond)
		w.stmts(c.Do)
	case *syntax.ForClause:
		switch l := c.Loop.(type) {
		case *syntax.WordIter:
			for _, it := range l.Items {
				w.word(it)
			}
			if l.Name != nil {
				if w.loopOverItems(l, c.Do) {
					return
				}
				delete(w.vars, l.Name.Value)
			}
		case *syntax.CStyleLoop:
			w.arith(l.Init)
			w.arith(l.Cond)
			w.arith(l.Post)
		}
		w.stmts(c.Do)
	case *syntax.CaseClause:
		w.word(c.Word)
		for _, it := range c.Items {
			for _, p := range it.Patterns {
				w.word(p)
			}
			w.stmts(it.Stmts)
		}
	case *syntax.FuncDecl:
		w.funcDecl(c)
	case *syntax.ArithmCmd:
		w.arith(c.X)
	case *syntax.TestClause:
		w.test(c.X)
	case *syntax.DeclClause:
		w.decl(st, c)
	case *syntax.LetClause:
		for _, e := range c.Exprs {
			w.arith(e)
		}
	case *syntax.TimeClause:
		w.stmt(c.Stmt)
	case *syntax.CoprocClause:
		w.word(c.Name)
		saved := w.stdin
		// A coprocess reads whatever the script later writes to it.
		w.stdin = feed{kind: feedUnknown, what: "the coprocess pipe, written to later"}
		w.isolated(func() { w.stmt(c.Stmt) })
		w.stdin = saved
	case *syntax.TestDecl:
		w.word(c.Description)
		w.stmt(c.Body)
	default:
		w.emitNode(RuleParseError, "a shell construct the classifier does not know; asking instead", st)
	}
}

// maxLoopItems bounds how many loop items are followed one by one.
const maxLoopItems = 8

// loopOverItems walks a for loop's body once per static item with the
// loop variable bound, so that `for f in *.log; do rm "$f"; done` is
// judged by its real operands. It declines (false) when an item is not
// static or the variable is also set elsewhere.
func (w *walker) loopOverItems(l *syntax.WordIter, body []*syntax.Stmt) bool {
	name := l.Name.Value
	if !l.InPos.IsValid() || !w.forLoopOnly(name) || w.loops >= 2 {
		return false
	}
	w.loops++
	defer func() { w.loops-- }()
	items := w.evalWords(l.Items)
	if len(items) == 0 || len(items) > maxLoopItems {
		return false
	}
	for _, it := range items {
		if !it.static || it.split {
			return false
		}
	}
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it.s] {
			continue
		}
		seen[it.s] = true
		w.setVar(name, it.s)
		w.stmts(body)
	}
	delete(w.vars, name)
	return true
}

// noteWrittenCode remembers files a statement fills: with downloaded or
// decoded content (curl ... > x.sh, base64 -d > x.sh), or with anything
// else (echo 'rm -rf ~' > x.sh), so running them later is judged as
// running that content.
func (w *walker) noteWrittenCode(st *syntax.Stmt, in feed) {
	for _, r := range st.Redirs {
		if r.Op != syntax.RdrOut && r.Op != syntax.AppOut && r.Op != syntax.RdrClob {
			continue
		}
		if n := r.N; n != nil && n.Value != "1" {
			continue
		}
		t := w.evalWord(r.Word)
		if !t.static {
			continue
		}
		f := w.feedOfStmt(st, in)
		for _, p := range w.paths(t) {
			if f.kind == feedRemote || f.kind == feedDecoded {
				w.setFetched(p)
			} else if f.kind != feedNone {
				w.addWritten(p, f, r.Op == syntax.AppOut)
			}
		}
	}
}

// binary walks &&, || and pipelines. A pipeline computes what each stage
// feeds the next one, so that `curl ... | sh` is judged by what sh reads.
func (w *walker) binary(b *syntax.BinaryCmd) {
	switch b.Op {
	case syntax.Pipe, syntax.PipeAll:
		stages := flattenPipe(b)
		savedNames, savedIn := w.pipeNames, w.stdin
		w.pipeNames = w.pipelineNames(stages)
		in := w.stdin
		for i, s := range stages {
			w.stdin = in
			w.isolated(func() { w.stmt(s) })
			if i < len(stages)-1 {
				in = w.feedOfStmt(s, in)
			}
		}
		w.pipeNames, w.stdin = savedNames, savedIn
	case syntax.AndStmt:
		w.stmt(b.X)
		if w.lastCd != nil {
			// The right side only runs when cd succeeded.
			w.cwds, w.lastCd = w.lastCd, nil
		}
		w.stmt(b.Y)
	default:
		w.stmt(b.X)
		if w.lastCd != nil {
			w.cwds = unionCwds(w.cwds, w.lastCd)
			w.lastCd = nil
		}
		w.stmt(b.Y)
	}
}

func flattenPipe(b *syntax.BinaryCmd) []*syntax.Stmt {
	var out []*syntax.Stmt
	var rec func(s *syntax.Stmt)
	rec = func(s *syntax.Stmt) {
		if bc, ok := s.Cmd.(*syntax.BinaryCmd); ok && len(s.Redirs) == 0 && !s.Negated &&
			(bc.Op == syntax.Pipe || bc.Op == syntax.PipeAll) {
			rec(bc.X)
			rec(bc.Y)
			return
		}
		out = append(out, s)
	}
	rec(b.X)
	rec(b.Y)
	return out
}

// call walks a simple command: its words' nested code, its assignments,
// then the command itself.
func (w *walker) call(st *syntax.Stmt, c *syntax.CallExpr) {
	for _, as := range c.Assigns {
		w.assignNested(as)
	}
	for _, a := range c.Args {
		w.word(a)
	}
	for _, as := range c.Assigns {
		w.assignRules(st, as)
	}
	if len(c.Args) == 0 {
		for _, as := range c.Assigns {
			w.track(st, as)
		}
		return
	}
	argv := w.evalWords(c.Args)
	w.simpleArgv(argv, st, nodeText(w.src, st))
	w.putArgs(argv)
}

// word walks the code nested in a word: $(...), `...`, <(...), $((...)),
// ${x:-$(...)}, ${a[$(...)]}.
func (w *walker) word(word *syntax.Word) {
	if word == nil {
		return
	}
	for _, p := range word.Parts {
		w.wordPart(p)
	}
}

func (w *walker) wordPart(p syntax.WordPart) {
	switch p := p.(type) {
	case *syntax.DblQuoted:
		for _, q := range p.Parts {
			w.wordPart(q)
		}
	case *syntax.CmdSubst:
		saved := w.stdin
		w.stdin = feed{}
		w.isolated(func() { w.stmts(p.Stmts) })
		w.stdin = saved
	case *syntax.ProcSubst:
		saved := w.stdin
		w.stdin = feed{}
		if p.Op == syntax.CmdOut {
			// >(cmd) reads what the command it is attached to writes.
			w.stdin = feed{kind: feedUnknown, what: "the output of the command it is attached to"}
		}
		w.isolated(func() { w.stmts(p.Stmts) })
		w.stdin = saved
	case *syntax.ArithmExp:
		w.arith(p.X)
	case *syntax.ParamExp:
		w.paramNested(p)
	}
}

func (w *walker) paramNested(p *syntax.ParamExp) {
	if p.NestedParam != nil {
		w.wordPart(p.NestedParam)
	}
	w.arith(p.Index)
	if p.Slice != nil {
		w.arith(p.Slice.Offset)
		w.arith(p.Slice.Length)
	}
	if p.Repl != nil {
		w.word(p.Repl.Orig)
		w.word(p.Repl.With)
	}
	if p.Exp != nil {
		w.word(p.Exp.Word)
		if p.Exp.Op == syntax.OtherParamOps && p.Exp.Word != nil && strings.Contains(p.Exp.Word.Lit(), "P") {
			w.promptExpansion(p)
		}
	}
}

// promptExpansion handles ${x@P}: bash expands the value as a prompt
// string, which runs any $(...) in it.
func (w *walker) promptExpansion(p *syntax.ParamExp) {
	if p.Param != nil {
		if v, ok := w.vars[p.Param.Value]; ok && w.isTrusted(p.Param.Value) {
			if !strings.Contains(v, "$(") && !strings.Contains(v, "`") {
				return
			}
			w.child(v, p).docNested(v)
		}
	}
	w.emitNode(RuleDynamicCode, "${var@P} expands the value as a prompt, running any command substitution in it; the value is not known", p).opaque = true
}

// docNested parses text the way bash expands a prompt or a here-document
// and walks its command substitutions.
func (w *walker) docNested(text string) {
	p := parserPool.Get().(*syntax.Parser)
	word, err := p.Document(strings.NewReader(text))
	parserPool.Put(p)
	if err != nil {
		w.emitNode(RuleParseError, "embedded text does not parse: "+err.Error(), nil)
		return
	}
	w.word(word)
}

// arith walks arithmetic expressions; words inside may hold $(...), and a
// quoted string is evaluated again as arithmetic, subscripts included.
func (w *walker) arith(x syntax.ArithmExpr) {
	if x == nil {
		return
	}
	switch x := x.(type) {
	case *syntax.Word:
		w.word(x)
		a := w.evalWord(x)
		if a.static {
			w.subscriptCode(a.s, x)
		}
	case *syntax.BinaryArithm:
		w.arith(x.X)
		w.arith(x.Y)
	case *syntax.UnaryArithm:
		w.arith(x.X)
	case *syntax.ParenArithm:
		w.arith(x.X)
	case *syntax.FlagsArithm:
		w.arith(x.X)
	}
}

// test walks [[ ... ]].
func (w *walker) test(x syntax.TestExpr) {
	switch x := x.(type) {
	case *syntax.Word:
		w.word(x)
	case *syntax.BinaryTest:
		w.test(x.X)
		w.test(x.Y)
		switch x.Op {
		case syntax.TsEql, syntax.TsNeq, syntax.TsLss, syntax.TsLeq, syntax.TsGtr, syntax.TsGeq:
			// Operands of arithmetic comparisons are evaluated as
			// arithmetic, subscripts and all.
			for _, side := range []syntax.TestExpr{x.X, x.Y} {
				if wd, ok := side.(*syntax.Word); ok {
					if a := w.evalWord(wd); a.static {
						w.subscriptCode(a.s, wd)
					}
				}
			}
		}
	case *syntax.UnaryTest:
		w.test(x.X)
		if x.Op == syntax.TsVarSet {
			if wd, ok := x.X.(*syntax.Word); ok {
				if a := w.evalWord(wd); a.static {
					w.subscriptCode(a.s, wd)
				}
			}
		}
	case *syntax.ParenTest:
		w.test(x.X)
	}
}

// subscriptCode handles a string that bash evaluates as a variable name
// with an arithmetic subscript (printf -v, declare, read, test -v, unset,
// let): a $(...) or `...` inside the subscript runs.
func (w *walker) subscriptCode(s string, node syntax.Node) {
	open := strings.IndexByte(s, '[')
	if open < 0 || !strings.Contains(s[open:], "$(") && !strings.Contains(s[open:], "`") {
		return
	}
	sub := s[open+1:]
	if end := strings.LastIndexByte(sub, ']'); end >= 0 {
		sub = sub[:end]
	}
	w.emitNode(RuleArithmeticCode, "an array subscript evaluated as arithmetic contains a command substitution, which bash runs", node)
	if w.depth >= maxDepth {
		return
	}
	w.child(sub, node).docNested(sub)
}

// funcDecl walks a function body where it is defined (it may be called
// later in ways we do not follow) and recognises fork bombs.
func (w *walker) funcDecl(fd *syntax.FuncDecl) {
	names := fd.Names
	if fd.Name != nil {
		names = append([]*syntax.Lit{fd.Name}, names...)
	}
	forwards := w.isForwarder(fd.Body)
	// A call of the function by its name has the name in the body's
	// text (unless a line continuation splits it): a body without it is
	// not walked for one (a large script's functions mostly call others).
	body := nodeText(w.src, fd.Body)
	mayCall := func(name string) bool {
		return !shortcuts || body == "" || strings.Contains(body, name) || strings.Contains(body, "\\\n")
	}
	for _, n := range names {
		if mayCall(n.Value) && selfSpawning(n.Value, fd.Body) {
			w.emitNode(RuleForkBomb, "function "+n.Value+" calls itself in a pipeline or in the background: a fork bomb", fd)
		}
		w.setFunc(n.Value)
		if forwards {
			w.setForwarder(n.Value)
		}
	}
	savedCur := w.cur
	w.cur = nil
	if forwards {
		w.inForwarder++
	}
	w.isolated(func() { w.stmt(fd.Body) })
	if forwards {
		w.inForwarder--
	}
	w.cur = savedCur
}

// selfSpawning reports a call to name inside a pipeline or a background
// statement in body.
func selfSpawning(name string, body *syntax.Stmt) bool {
	found := false
	var visit func(n syntax.Node, spawning bool)
	visit = func(n syntax.Node, spawning bool) {
		syntax.Walk(n, func(m syntax.Node) bool {
			if found {
				return false
			}
			switch m := m.(type) {
			case *syntax.Stmt:
				if m != n && (m.Background || m.Coprocess) {
					visit(m.Cmd, true)
					return false
				}
			case *syntax.BinaryCmd:
				if m.Op == syntax.Pipe || m.Op == syntax.PipeAll {
					visit(m.X, true)
					visit(m.Y, true)
					return false
				}
			case *syntax.CallExpr:
				if spawning && len(m.Args) > 0 && m.Args[0].Lit() == name {
					found = true
				}
			}
			return true
		})
	}
	visit(body, false)
	return found
}
