package policy

import (
	"fmt"
	"slices"
	"testing"
)

// The parser-free reading of plain entries must give what the parser gives:
// the same words, or the entry is left to the parser (which then decides,
// including the errors).
func TestPlainWordsAgreeWithParser(t *testing.T) {
	parts := []string{"git", "push", "--force", "origin", "main", "-u", "x=y", "a.b", "/usr/bin/rm", "python3.12",
		"if", "time", "declare", "export", "let", "in", "!", "{", "}", "[[", "~", "~/x", "$HOME", "'q'", `"q"`, `a\b`,
		"*.go", "a?", "[ab]", "{a,b}", "#c", ";", "&", "|", ">x", "<x", "2>&1", "$(id)", "`id`", "a=b", "-", "--",
		"@", "%1", "a+b", "a,b", "a:b", "node18", "./x", "../y", "", " ", "\t", "fi", "done", "coproc", "function"}
	var entries []string
	for _, a := range parts {
		entries = append(entries, a)
		for _, b := range parts {
			entries = append(entries, a+" "+b, a+"\t"+b+" ", " "+a+"  "+b)
		}
		// Longer entries, so that each part sits at every place of
		// plainEntry's eight-byte blocks and of its last eight bytes.
		for pad := 0; pad < 10; pad++ {
			x := "abcdefghij"[:pad]
			entries = append(entries, "kubectl "+x+a, "kubectl "+x+a+" delete-pod-x", a+x+"/long/path/name",
				"git"+a+" push "+x+"origin")
		}
	}
	for _, e := range entries {
		words, ok := plainWords(e)
		if plainEntry(e) != ok {
			t.Errorf("%q: plainEntry %v, plainWords %v", e, plainEntry(e), ok)
		}
		slow, err := parseUserRule(e)
		if !ok {
			continue
		}
		if err != nil {
			t.Errorf("%q: plain words %q, but the parser refuses it: %v", e, words, err)
			continue
		}
		words[0] = progName(words[0])
		if name := progName(firstWord(e)); name != slow.words[0] {
			t.Errorf("%q: indexed under %q, compiles for %q", e, name, slow.words[0])
		}
		if !slices.Equal(words, slow.words) {
			t.Errorf("%q: plain words %q, parser %q", e, words, slow.words)
		}
	}
	// Those the fast path must leave to the parser.
	for _, e := range []string{"a=b git", "if x", "time git push", "declare x", "~/bin/x", "git $X", "git '*'", "rm *.o", "git push;"} {
		if w, ok := plainWords(e); ok {
			t.Errorf("%q read as plain words %q", e, w)
		}
	}
}

// A long allowlist is indexed by program: the entries for other programs
// are never tried, and the right entry still covers its command.
func TestLongAllowlistIndexed(t *testing.T) {
	var allow, deny []string
	for i := 0; i < 10000; i++ {
		allow = append(allow, fmt.Sprintf("prog%d push", i))
	}
	allow = append(allow, "git push")
	deny = append(deny, "prog7 push --force", "git push --force")
	c, err := NewClassifier(Rules{Allowlist: allow, Deny: deny})
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Classify("git push origin main"); v.Decision != Allow {
		t.Errorf("git push with it allowlisted: %v %+v", v.Decision, v.Findings)
	}
	if v := c.Classify("git push --force origin main"); v.Decision != Deny {
		t.Errorf("git push --force denied by a rule: %v", v.Decision)
	}
	if v := c.Classify("/usr/bin/git push --force"); v.Decision != Deny {
		t.Errorf("/usr/bin/git push --force: %v", v.Decision)
	}
	if v := c.Classify(`p=prog7; "$p" push --force`); v.Decision != Deny {
		t.Errorf("a dynamic program name against a deny rule: %v", v.Decision)
	}
	if v := c.Classify("git push --force-with-lease"); v.Decision == Deny {
		t.Errorf("git push --force-with-lease is not git push --force")
	}
}

// A large script's key is printed concurrently with the walk: the verdict
// and the key are those of the sequential path.
func TestLargeScriptKeyConcurrent(t *testing.T) {
	c, _ := NewClassifier(Rules{Allowlist: []string{"git push"}})
	var b []byte
	for i := 0; len(b) < concurrentKeyMin*2; i++ {
		b = fmt.Appendf(b, "f%d() {\n  echo   %d | grep  -q x && git push  origin\n}\nrm -rf /tmp/x%d\n", i, i, i)
	}
	big := string(b)
	v := c.Classify(big)
	f, err := parseScript(big)
	if err != nil {
		t.Fatal(err)
	}
	if want := printKey(f); v.Key != want || want == "" {
		t.Errorf("key of the large script differs from printKey's (%d vs %d bytes)", len(v.Key), len(want))
	}
	if v.Decision != Allow {
		t.Errorf("decision %v, want allow (%d findings)", v.Decision, len(v.Findings))
	}
	if c.Classify(big+"\nrm -rf /\n").Decision == Allow {
		t.Error("a dangerous command at the end of a large script passed")
	}
}

// BenchmarkNewClassifierLongAllowlist: what a 10,000-entry allowlist costs
// a command that raises nothing (the entries are only checked), and one
// that raises a finding (the allowlist compiled and indexed to look).
func BenchmarkNewClassifierLongAllowlist(b *testing.B) {
	progs := []string{"git push", "npm publish", "docker rm", "kubectl delete pod", "terraform apply", "make deploy", "rm -rf build", "cargo publish"}
	allow := make([]string, 10000)
	for i := range allow {
		allow[i] = fmt.Sprintf("%s target%d", progs[i%len(progs)], i)
	}
	b.Run("true", func(b *testing.B) {
		for b.Loop() {
			c, err := NewClassifier(Rules{Allowlist: allow})
			if err != nil || c.Classify("true").Decision != Allow {
				b.Fatal(err)
			}
		}
	})
	b.Run("finding", func(b *testing.B) {
		for b.Loop() {
			c, err := NewClassifier(Rules{Allowlist: allow})
			if err != nil || c.Classify("rm -rf /srv").Decision != Ask {
				b.Fatal(err)
			}
		}
	})
}
