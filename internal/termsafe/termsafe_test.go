package termsafe

import "testing"

func TestVisible(t *testing.T) {
	for in, want := range map[string]string{
		"git status":                   "git status",
		"echo hi\x1b[2K\r":             `echo hi\x1b[2K\r`,
		"a\tb\nc":                      `a\tb\nc`,
		"rm -rf / \u202e#txt.exe":      `rm -rf / \u202e#txt.exe`,
		"zero\u200bwidth":              `zero\u200bwidth`,
		"bad \xff utf8":                `bad \xff utf8`,
		"del\x7f c1\u009b":             `del\x7f c1\u009b`,
		"héllo wörld ✓":                "héllo wörld ✓",
		"\x1b]0;title\x07":             `\x1b]0;title\x07`,
		"line\u2028sep\u2029para":      `line\u2028sep\u2029para`,
		"backspace hides\b\b\b\b\bxxx": `backspace hides\x08\x08\x08\x08\x08xxx`,
	} {
		if got := Visible(in); got != want {
			t.Errorf("Visible(%q) = %q, want %q", in, got, want)
		}
	}
}
