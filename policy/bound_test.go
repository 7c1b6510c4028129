package policy

import (
	"fmt"
	"strings"
	"testing"
)

// linesOf repeats line (with N replaced by the line's number) until the
// text reaches size bytes.
func linesOf(line string, size int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		b.WriteString(strings.ReplaceAll(line, "N", fmt.Sprint(i)))
	}
	return b.String()
}

func hasBoundFinding(v Verdict) bool {
	for _, f := range v.Findings {
		if f.Description == boundReason {
			return true
		}
	}
	return false
}

func findingsText(v Verdict) string {
	var b strings.Builder
	for _, f := range v.Findings {
		c := f.Command
		if len(c) > 60 {
			c = c[:60] + "..."
		}
		fmt.Fprintf(&b, "\n  %s %s %s: %s", f.Pos, f.Rule, c, f.Description)
	}
	return b.String()
}

// Every statement of an ordinary 1 MiB script is walked: the budget grows
// with the text. (With a fixed 20,000 statements, 80,000 echo lines were
// asked about as "too large".)
func TestBoundLargeOrdinaryScriptsAreWalkedWhole(t *testing.T) {
	c := mustClassifier(t, Rules{})
	const mib = 1 << 20
	scripts := map[string]string{
		"echo lines":  linesOf("echo line N\n", mib),
		"assignments": linesOf("a=N\n", mib),
		"same value":  linesOf("a=1\n", mib),
		"colons":      linesOf(":\n", mib),
		"x;x;x":       linesOf("x;", mib),
		"pipes":       linesOf(":|:\n", mib),
		"functions":   linesOf("f_N() { echo N; }; f_N\n", mib),
		"appends":     linesOf("echo line N >> out.txt\n", mib) + "cat out.txt\n",
		"build":       bigScript(mib),
		// One statement wrapping them all (its output redirected: the
		// feed of the block is worked out as well).
		"wrapped": "{\n" + linesOf("echo line N\n", mib) + "} > log.txt 2>&1\n",
	}
	for name, s := range scripts {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v := c.ClassifyNoKey(s)
			if v.Decision != Allow || hasBoundFinding(v) {
				t.Errorf("%d bytes: %s%s", len(s), v.Decision, findingsText(v))
			}
			// The whole text is seen: a dangerous last line is found as
			// itself, not hidden behind the bound.
			v = c.ClassifyNoKey(s + "rm -rf ~\n")
			if v.Decision == Allow || hasBoundFinding(v) || !strings.Contains(findingsText(v), "rm -rf ~") {
				t.Errorf("+ rm -rf ~: %s%s", v.Decision, findingsText(v))
			}
		})
	}
}

// What grows faster than the text still runs out of the budget and asks,
// with the bound's reason, and quickly (each case builds or walks
// millions of statements or bytes without the bound).
func TestBoundBlowUpsAsk(t *testing.T) {
	c := mustClassifier(t, Rules{})
	body64k := linesOf(":\n", 64<<10)
	doubling := func(to string) string {
		var b strings.Builder
		b.WriteString("v0=':;:;:;:;'\n")
		for i := 1; i <= 40; i++ {
			fmt.Fprintf(&b, "v%d=\"$v%d$v%d\"\n", i, i-1, i-1)
		}
		return b.String() + strings.ReplaceAll(to, "V", "$v40")
	}
	nestRedirected := func(levels int) string {
		return strings.Repeat("{\n", levels) + linesOf(":|:\n", 32<<10) + strings.Repeat("} > log.txt\n", levels)
	}
	cases := map[string]string{
		// 64 items x 32,768 statements.
		"loops walked item by item": "for i in 1 2 3 4 5 6 7 8; do for j in 1 2 3 4 5 6 7 8; do\n" + body64k + "done; done\n",
		// 64 parses and walks of a 64 KiB literal.
		"bash -c of a literal in loops": "for i in a b c d e f g h; do for j in a b c d e f g h; do bash -c '" +
			body64k + "'; done; done\n",
		// 8 GiB of text from 40 lines.
		"doubling into bash -c": doubling("bash -c \"V\"\n"),
		"doubling into echo":    doubling("echo \"V\"\n"),
		// 16,384 copies of 2 KiB: 32 MiB of nested text from 34 KiB.
		"copies into bash -c": "s='" + strings.Repeat(":;", 1<<10) + "'\nbash -c \"" + strings.Repeat("$s", 1<<14) + "\"\n",
		"copies through $1":   "sh -c 'sh -c \"" + strings.Repeat("$1", 1<<14) + "\"' _ '" + strings.Repeat(":;", 1<<10) + "'\n",
		// Each redirected level works out the feed of everything inside.
		"nested redirected blocks": nestRedirected(200),
	}
	for name, s := range cases {
		v := c.ClassifyNoKey(s)
		if v.Decision == Allow || !hasBoundFinding(v) {
			t.Errorf("%s (%d bytes): %s, want the bound's finding%s", name, len(s), v.Decision, findingsText(v))
		}
		for _, f := range v.Findings {
			if f.Description == boundReason && len(f.Command) > maxTruncatedCommand+10 {
				t.Errorf("%s: the bound's finding shows %d bytes of text", name, len(f.Command))
			}
		}
	}
	// A few levels of redirected blocks around ordinary lines fit.
	wrapped := strings.Repeat("{\n", 3) + bigScript(1<<20) + strings.Repeat("} > log.txt\n", 3)
	if v := c.ClassifyNoKey(wrapped); v.Decision != Allow {
		t.Errorf("3 redirected blocks: %s%s", v.Decision, findingsText(v))
	}
}

// Texts that look like blow-ups but are walked once: their verdict is the
// command's own.
func TestBoundNoBlowUpWhereNothingMultiplies(t *testing.T) {
	c := mustClassifier(t, Rules{})
	cases := []struct {
		text string
		want Decision
		rule string
	}{
		// A function's body is walked once, where it is defined, however
		// often (or recursively) it is called.
		{"f() { for i in 1 2 3 4 5 6 7 8; do for j in 1 2 3 4 5 6 7 8; do f; f; done; done; }\nf\n", Allow, ""},
		{"f() { for i in 1 2 3 4 5 6 7 8; do for j in 1 2 3 4 5 6 7 8; do f; rm -rf ~; done; done; }\nf\n", Ask, "delete"},
		// More than 64 brace alternatives are not expanded, and a loop
		// over them is walked once with the variable unknown.
		{"for i in {1..100000}; do for j in {1..100000}; do echo $i $j; done; done\n", Allow, ""},
		{"for i in {,{1..100000}}; do for j in {1..100000}; do rm -rf ~/$i; done; done\n", Ask, "delete-home"},
		// eval turns variable tracking off, and with it loops walked
		// item by item: the literal is walked once.
		{"for i in 1 2 3 4 5 6 7 8; do for j in 1 2 3 4 5 6 7 8; do eval '" + linesOf(":\n", 64<<10) + "'; done; done\n", Allow, ""},
	}
	for _, tc := range cases {
		v := c.ClassifyNoKey(tc.text)
		if v.Decision != tc.want || hasBoundFinding(v) || !strings.Contains(findingsText(v), tc.rule) {
			t.Errorf("%s: %s, want %s (%s)%s", quoteShort(tc.text), v.Decision, tc.want, tc.rule, findingsText(v))
		}
	}
}

// Files written piece by piece are followed in order (the appends share
// one growing buffer), and a fresh write starts them again; a chain's
// outputs are joined in order.
func TestBoundAppendsAndChainsKeepTheirText(t *testing.T) {
	c := mustClassifier(t, Rules{})
	cases := []struct {
		text string
		want Decision
	}{
		{"printf 'rm -rf ' > x.sh; printf '~' >> x.sh; printf '\\n' >> x.sh; sh x.sh", Ask},
		{"printf 'rm -rf ' > x.sh; printf '~' >> x.sh; printf 'echo ' > x.sh; printf 'hi' >> x.sh; sh x.sh", Allow},
		{"printf 'echo ' > x.sh; printf 'hi; ' >> x.sh; printf 'rm -rf ~' >> x.sh; sh x.sh", Ask},
		{"printf 'rm -rf ' > x.sh; printf '~' >> x.sh; printf 'x' >> y.sh; sh y.sh", Allow},
		{"{ echo 'echo a' && echo 'echo b' || echo 'rm -rf ~'; } | sh", Ask},
		{"{ echo 'echo a' && echo 'echo b' || echo 'echo c'; } | sh", Allow},
		{"{ printf 'rm -rf ' && printf '' && printf '~' ; } | sh", Ask},
		{"{ echo 'rm -rf ' && printf '~' ; } | sh", Allow}, // echo ends the line
		{"{ " + strings.Repeat("echo 'echo a' && ", 20000) + "echo 'rm -rf ~'; } | sh", Ask},
		{"{ " + strings.Repeat("echo 'echo a' && ", 20000) + "echo 'echo b'; } | sh", Allow},
		{linesOf("echo 'echo N' >> x.sh\n", 256<<10) + "echo 'rm -rf ~' >> x.sh\nbash x.sh\n", Ask},
		{linesOf("echo 'echo N' >> x.sh\n", 256<<10) + "bash x.sh\n", Allow},
	}
	for _, tc := range cases {
		v := c.ClassifyNoKey(tc.text)
		if v.Decision != tc.want || hasBoundFinding(v) {
			t.Errorf("%s: %s, want %s%s", quoteShort(tc.text), v.Decision, tc.want, findingsText(v))
		}
		if tc.want == Ask && !strings.Contains(findingsText(v), "rm -rf") {
			t.Errorf("%s: asks, but not about rm -rf:%s", quoteShort(tc.text), findingsText(v))
		}
	}
}
