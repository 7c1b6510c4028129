package policy

import (
	"strings"
	"testing"
)

// FuzzClassify: no input makes the classifier fail internally (a recovered
// panic would surface as internal-error), and text that does not parse is
// never allowed.
func FuzzClassify(f *testing.F) {
	for _, path := range []string{"testdata/corpus-sample.jsonl", "testdata/extra.jsonl"} {
		for _, e := range loadCorpus(f, path) {
			f.Add(e.Cmd)
		}
	}
	// Regression seeds: option values missing at the end of argv.
	for _, s := range []string{"kill -s", "find -D", "git -C", "docker -H", "sudo -u", "tmux -S", "ssh -o"} {
		f.Add(s)
	}
	c, err := NewClassifier(Rules{Allowlist: []string{"git push"}, Deny: []string{"rm -rf"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, script string) {
		v := c.Classify(script)
		if v.Findings == nil {
			t.Fatalf("nil findings for %q", script)
		}
		for _, fd := range v.Findings {
			if fd.Rule == "internal-error" {
				t.Fatalf("internal error on %q: %s", script, fd.Description)
			}
			if fd.Decision > v.Decision {
				t.Fatalf("decision %s below finding %s for %q", v.Decision, fd.Decision, script)
			}
		}
		if _, err := parseScript(script); err != nil && v.Decision == Allow {
			t.Fatalf("unparsable %q allowed", script)
		}
		if strings.TrimSpace(script) != "" && v.Key == "" && v.Decision == Allow {
			// An allowed script always has a key for session approval.
			if f, err := parseScript(script); err == nil && len(f.Stmts) > 0 {
				t.Fatalf("empty key for %q", script)
			}
		}
		_ = c.ClassifyArgv(strings.Split(script, " "))
	})
}
