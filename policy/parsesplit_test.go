package policy

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"hermes-exec/internal/testutil"

	"mvdan.cc/sh/v3/syntax"
)

// checkSplit parses text in the parts cuts delimits and, when the split
// parse claims success, requires the very tree of the sequential parse
// (DeepEqual: every node, offset, line and column). It reports whether
// the split parse was taken.
func checkSplit(t testing.TB, text string, cuts []int) bool {
	t.Helper()
	seq, err := parseScript(text)
	return checkSplitAgainst(t, text, cuts, seq, err)
}

// checkSplitAgainst is checkSplit with the sequential parse done.
func checkSplitAgainst(t testing.TB, text string, cuts []int, seq *syntax.File, seqErr error) bool {
	t.Helper()
	f, ok := parseSplit(text, cuts)
	if !ok {
		return false
	}
	if seqErr != nil {
		t.Fatalf("cuts %v: the split parse succeeded where the sequential one fails (%v) on %q", cuts, seqErr, quoteShort(text))
	}
	if !reflect.DeepEqual(f, seq) {
		t.Fatalf("cuts %v: the split parse differs from the sequential one on %q:\n%s", cuts, quoteShort(text), firstDiff(f, seq))
	}
	return true
}

// firstDiff names the first statement that differs, printed with its
// position.
func firstDiff(a, b *syntax.File) string {
	show := func(st *syntax.Stmt) string {
		var sb strings.Builder
		syntax.NewPrinter().Print(&sb, st)
		return st.Pos().String() + "-" + st.End().String() + " " + sb.String()
	}
	for i := 0; i < len(a.Stmts) && i < len(b.Stmts); i++ {
		if !reflect.DeepEqual(a.Stmts[i], b.Stmts[i]) {
			return fmt.Sprintf("statement %d:\nsplit:      %s\nsequential: %s", i, show(a.Stmts[i]), show(b.Stmts[i]))
		}
	}
	return fmt.Sprintf("%d statements against %d (Last %v, %v)", len(a.Stmts), len(b.Stmts), a.Last, b.Last)
}

// lineStarts lists the offsets just after each '\n' of text but its end.
func lineStarts(text string) []int {
	var out []int
	for i := 0; i < len(text)-1; i++ {
		if text[i] == '\n' {
			out = append(out, i+1)
		}
	}
	return out
}

// everyCut tries each line break of text (or every step-th) as a
// two-part cut, and a three-part cut with a later one; it returns how
// many splits were taken and tried.
func everyCut(t testing.TB, text string, step int, rng *rand.Rand) (taken, tried int) {
	t.Helper()
	starts := lineStarts(text)
	seq, err := parseScript(text)
	for i := 0; i < len(starts); i += step {
		tried++
		if checkSplitAgainst(t, text, []int{starts[i]}, seq, err) {
			taken++
		}
		if j := i + 1 + rng.Intn(len(starts)-i); j < len(starts) {
			checkSplitAgainst(t, text, []int{starts[i], starts[j]}, seq, err)
		}
	}
	return taken, tried
}

// Snippets with what can carry the parser's state over a line break:
// here-documents (bodies that look like commands or like a function's
// end, <<-, quoted and empty delimiters, two on one line, inside $( )),
// continuations (also in comments and after an escaped backslash),
// quotes, $( and backquotes across lines, arithmetic, [[, arrays, an
// operator at the end of a line, CRLF lines, compound commands.
var splitSnippets = []string{
	"echo one\n",
	"cat <<EOF\nrm -rf /\n}\necho body\nEOF\n",
	"cat <<-EOF\n\techo tabbed\n\tEOF\n",
	"cat <<'EOF'\n$(not run)\nEOF\n",
	"cat <<\"E O\"\nx\nE O\n",
	"cat <<''\nbody\n\n",
	"cat <<A; cat <<B\na\nA\nb\nB\n",
	"x=$(cat <<EOF\ninner\nEOF\n)\n",
	"cat <<EOF | sh\nrm -rf ~\nEOF\n",
	"echo a \\\nb\n",
	"echo a \\\n\\\nc\n",
	"# a comment ending in a backslash \\\necho after\n",
	"echo escaped \\\\\necho next\n",
	"echo \"multi\nline\"\n",
	"echo 'single\nline'\n",
	"echo $(\necho sub\n)\n",
	"echo `\necho back\n`\n",
	"(( x = 1 +\n2 ))\n",
	"[[ -n $x &&\n-n $y ]]\n",
	"arr=(a\nb\nc)\n",
	"true &&\nfalse\n",
	"true |\ncat\n",
	"echo crlf\r\n",
	"echo crlf2\r\necho more\r\n",
	"f() {\necho in f\n}\n",
	"g()\n{\necho in g\n}\n",
	"if true; then\necho y\nelse\necho n\nfi\n",
	"case $x in\na) echo a ;;\n*) echo other ;;\nesac\n",
	"for i in 1 2; do\necho $i\ndone\n",
	"while false; do :; done\n",
	"{ echo group; }\n",
	"( echo sub )\n",
	"echo ${x:-\ndefault}\n",
	"echo $'\\n'\n",
	"alias ll='ls -l'\nll\n",
	"echo done\n",
	"x=1; y=2\n",
	"echo unicode é ✓\n",
	"\n",
	"   \n",
	"\t# indented comment\n",
	"echo tail # trailing comment\n",
	"rm -rf /srv/build &\n",
	"! true\n",
	"coproc cat\n",
	"function h { echo h; }\n",
	"select s in a b; do break; done\n",
	"echo <<<here\n",
	"cat <<EOF\n",         // unterminated: a part ending here must not parse
	"echo \"open\n",       // an unclosed quote
	"f() {\n",             // an unclosed function
	"fi\n",                // a stray reserved word
	"echo a \\\n",         // a continuation into whatever follows
	"EOF\n",               // a delimiter line out of place
	"}\n",                 // a stray close
	"done\n",              // a stray close
	"echo $((1+\n",        // an unclosed arithmetic
	"cat <<EOF\nbody\\\n", // a continued body line
	"echo a\\\x00\nb\n",   // a NUL between a backslash and the line break
	"echo nul\x00\n",
	"echo a\\\r\nb\n", // a continuation through CRLF
	"echo \x00\\\nb\n",
}

// Generated scripts of random snippets, split at every line break (and
// with a second cut), must give the sequential parse's tree whenever the
// split is taken, for scripts that parse and scripts that do not.
func TestParseSplitGenerated(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	taken, tried := 0, 0
	for n := 0; n < 300; n++ {
		var b strings.Builder
		good := n%3 != 0 // a third of the scripts may hold broken snippets
		for i := 0; i < 5+rng.Intn(30); i++ {
			s := splitSnippets[rng.Intn(len(splitSnippets))]
			if good {
				if _, err := parseScript(s); err != nil {
					continue
				}
			}
			b.WriteString(s)
		}
		tk, tr := everyCut(t, b.String(), 1, rng)
		taken += tk
		tried += tr
	}
	t.Logf("%d of %d cuts taken", taken, tried)
	if taken < tried/10 {
		t.Errorf("only %d of %d cuts were taken: the test checks little", taken, tried)
	}
}

// The cases each check of parseSplit is for: a continuation (the one the
// parse of the part cannot see), an open here-document, a cut inside a
// function, a quote or a $( ), and text that does not parse at all.
func TestParseSplitRefused(t *testing.T) {
	cases := []struct {
		text string
		cut  string // the cut is just after the first occurrence of this
	}{
		{"echo a \\\nb\n", "\\\n"},
		{"echo a \\\r\nb\n", "\r\n"},
		{"echo a \\\x00\nb\n", "\x00\n"},
		{"cat <<EOF\nbody\nEOF\necho x\n", "body\n"},
		{"cat <<EOF\nbody\nEOF\necho x\n", "<<EOF\n"},
		{"f() {\necho in f\n}\n", "{\n"},
		{"echo \"a\nb\"\n", "a\n"},
		{"echo $(\necho b\n)\n", "(\n"},
		{"echo ok\nfi\n", "ok\n"},
		{"echo ok\n)\n", "ok\n"},
	}
	for _, c := range cases {
		cut := strings.Index(c.text, c.cut) + len(c.cut)
		if _, ok := parseSplit(c.text, []int{cut}); ok {
			t.Errorf("%q cut after %q: the split parse was taken", c.text, c.cut)
		}
		// Whatever parseLarge returns is the sequential parse.
		checkSplit(t, c.text, []int{cut})
	}
	// The line endings cutAllowed refuses are the cases the parts' parses
	// accept one by one: without the check, the merged tree would differ.
	for _, text := range []string{"echo a \\\nb\n", "echo a \\\r\nb\n", "echo a \\\x00\nb\n"} {
		cut := strings.Index(text, "\n") + 1
		a, errA := parseScript(text[:cut])
		b, errB := parsePart(blankPrefix(text[:cut]), text[cut:])
		seq, _ := parseScript(text)
		if errA != nil || errB != nil {
			t.Fatalf("the parts of %q should parse one by one: %v, %v", text, errA, errB)
		}
		merged := &syntax.File{Stmts: append(a.Stmts, b.Stmts...)}
		if reflect.DeepEqual(merged, seq) {
			t.Errorf("%q: the cut merges into the sequential tree; the check would be for nothing", text)
		}
	}
}

// corpusScript is the corpora's commands that parse, one after another.
func corpusScript(t testing.TB) string {
	var b strings.Builder
	for _, path := range []string{"testdata/corpus-sample.jsonl", "testdata/extra.jsonl", "testdata/round2.jsonl"} {
		for _, e := range loadCorpus(t, path) {
			if _, err := parseScript(e.Cmd + "\n"); err == nil {
				b.WriteString(e.Cmd + "\n")
			}
		}
	}
	return b.String()
}

// The corpora as one script, cut at many line breaks.
func TestParseSplitCorpora(t *testing.T) {
	text := corpusScript(t)
	if _, err := parseScript(text); err != nil {
		t.Fatalf("the corpora as one script do not parse: %v", err)
	}
	taken, tried := everyCut(t, text, max(1, len(lineStarts(text))/100), rand.New(rand.NewSource(2)))
	t.Logf("%d of %d cuts taken", taken, tried)
	if taken < tried/2 {
		t.Errorf("only %d of %d cuts of the corpora were taken", taken, tried)
	}
}

// systemScripts concatenates this machine's shell scripts (what
// bench/execcheck/scripts.sh classifies) that parse, up to size bytes.
func systemScripts(t testing.TB, size int) string {
	var b strings.Builder
	for _, d := range []string{"/usr/bin", "/usr/sbin", "/etc/init.d", "/usr/lib/git-core"} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if !e.Type().IsRegular() || b.Len() >= size {
				continue
			}
			data, err := os.ReadFile(filepath.Join(d, e.Name()))
			if err != nil || len(data) > 1<<20 {
				continue
			}
			s := string(data)
			first, _, _ := strings.Cut(s, "\n")
			if !strings.HasPrefix(first, "#!") || !(strings.HasSuffix(first, "/sh") || strings.HasSuffix(first, "bash") ||
				strings.HasSuffix(first, " sh") || strings.Contains(first, "/sh ") || strings.Contains(first, "bash ")) {
				continue
			}
			if !strings.HasSuffix(s, "\n") {
				s += "\n"
			}
			if _, err := parseScript(s); err == nil {
				b.WriteString(s)
			}
		}
	}
	return b.String()
}

// Debian's own scripts, concatenated to 1 MiB: cut at several hundred
// line breaks, and parsed by parseLarge as classify does.
func TestParseSplitSystemScripts(t *testing.T) {
	text := systemScripts(t, 1<<20)
	if len(text) < 2*splitMin {
		testutil.Skip(t, "only %d bytes of shell scripts on this machine", len(text))
	}
	seq, err := parseScript(text)
	if err != nil {
		t.Fatalf("the scripts as one text do not parse: %v", err)
	}
	step := max(1, len(lineStarts(text))/40)
	taken, tried := everyCut(t, text, step, rand.New(rand.NewSource(3)))
	t.Logf("%d bytes; %d of %d cuts taken", len(text), taken, tried)
	if taken < tried/4 {
		t.Errorf("only %d of %d cuts were taken", taken, tried)
	}
	cuts := splitCuts(text, 2)
	if !checkSplit(t, text, cuts) {
		t.Errorf("the chosen cut %v of the system scripts was refused", cuts)
	}
	if f, err := parseLarge(text); err != nil || !reflect.DeepEqual(f, seq) {
		t.Errorf("parseLarge differs from the sequential parse (%v)", err)
	}
}

// The benchmark's script: the cuts chosen are taken, so the split is
// what check runs.
func TestParseSplitChosenCuts(t *testing.T) {
	text := bigScript(1 << 20)
	for k := 2; k <= maxParts; k++ {
		cuts := splitCuts(text, k)
		if len(cuts) != k-1 || !checkSplit(t, text, cuts) {
			t.Errorf("%d parts: cuts %v not taken", k, cuts)
		}
	}
}

// FuzzParseSplit: any text, cut at line breaks chosen by i and j.
func FuzzParseSplit(f *testing.F) {
	for _, s := range splitSnippets {
		f.Add(s+s, uint16(0), uint16(1))
	}
	f.Add(strings.Join(splitSnippets, ""), uint16(7), uint16(40))
	f.Fuzz(func(t *testing.T, text string, i, j uint16) {
		starts := lineStarts(text)
		if len(starts) == 0 {
			return
		}
		a := starts[int(i)%len(starts)]
		checkSplit(t, text, []int{a})
		if b := starts[int(j)%len(starts)]; b > a {
			checkSplit(t, text, []int{a, b})
		}
		// The cuts parseLarge would choose.
		checkSplit(t, text, splitCuts(text, 2+int(i)%(maxParts-1)))
	})
}
