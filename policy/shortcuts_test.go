package policy

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// classifyBoth classifies text with and without the shortcuts (work on a
// second core, text checks that skip a walk) and fails when the verdicts
// differ in anything: decision, findings, positions, key.
func classifyBoth(t *testing.T, c *Classifier, text string) Verdict {
	t.Helper()
	fast := c.Classify(text)
	shortcuts = false
	plain := c.Classify(text)
	shortcuts = true
	if !reflect.DeepEqual(fast, plain) {
		t.Errorf("verdicts differ with the shortcuts for %q:\nwith:    %s %+v\nwithout: %s %+v", quoteShort(text), fast.Decision, fast.Findings, plain.Decision, plain.Findings)
	}
	// Without the key, the same verdict (hermes-exec check).
	nokey := c.ClassifyNoKey(text)
	if fast.Key == "" && fast.Decision == Allow && strings.TrimSpace(text) != "" && !strings.HasPrefix(strings.TrimSpace(text), "#") {
		t.Errorf("no key for %q", quoteShort(text))
	}
	nokey.Key = fast.Key
	if !reflect.DeepEqual(fast, nokey) {
		t.Errorf("ClassifyNoKey differs for %q:\n%s %+v\n%s %+v", quoteShort(text), fast.Decision, fast.Findings, nokey.Decision, nokey.Findings)
	}
	return fast
}

// The corpus one command at a time, and all of it as one large script
// (top level, and each command inside a function of its own, so that the
// function checks and the two halves of the assignment count see it).
func TestShortcutsSameVerdicts(t *testing.T) {
	c := mustClassifier(t, Rules{Allowlist: []string{"git push --force", "rm -rf ../shared"}, Deny: []string{"terraform destroy"}})
	var cmds []string
	for _, path := range []string{"testdata/corpus-sample.jsonl", "testdata/extra.jsonl", "testdata/round2.jsonl"} {
		for _, e := range loadCorpus(t, path) {
			cmds = append(cmds, e.Cmd)
		}
	}
	for _, s := range cmds {
		classifyBoth(t, c, s)
	}
	var top, funcs strings.Builder
	for i, s := range cmds {
		top.WriteString(s + "\n")
		fmt.Fprintf(&funcs, "f%d() {\n%s\n}\n", i, s)
	}
	for _, big := range []string{top.String(), funcs.String()} {
		for len(big) < 2*concurrentKeyMin {
			big += big
		}
		if v := classifyBoth(t, c, big); len(v.Findings) == 0 {
			t.Errorf("the corpus as one script raised nothing")
		}
	}
}

// Large generated scripts with what the shortcuts skip: a variable set
// once at the top and again in the second half (the two halves' counts
// must add up), fork bombs and forwarders among many functions, a call
// split by a line continuation.
func TestShortcutsLargeScripts(t *testing.T) {
	c := mustClassifier(t, Rules{})
	base := bigScript(3 * concurrentKeyMin)
	cases := map[string]string{
		"plain":         base,
		"reassigned":    "d=/tmp/x\n" + base + "d=/\nrm -rf $d\n",
		"once":          "d=/srv/data\n" + base + "rm -rf $d\n",
		"fork bomb":     base + "bomb() { bomb | bomb & }\nbomb\n",
		"continued":     base + "bo() { b\\\no | b\\\no & }\nbo\n",
		"forwarder":     base + "run() { \"$@\"; }\nrun rm -rf /\n",
		"forwarder top": "run() { \"$@\"; }\n" + base + "run rm -rf ~\n",
		"eval half":     base + "eval \"$x\"\nrm -rf $d\n",
		"read half":     "d=/tmp/x\n" + base + "read d\nrm -rf $d\n",
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			v := classifyBoth(t, c, s)
			if name != "plain" && v.Decision == Allow {
				t.Errorf("%s: allowed; the dangerous end of the script was missed", name)
			}
		})
	}
}
