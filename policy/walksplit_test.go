package policy

import (
	"reflect"
	"runtime"
	"testing"
)

// A large script walked part by part while it is parsed gives the
// sequential walk's verdict, also when what a later part assigns changes
// an answer the walk of an earlier part got (then the walk is redone), and
// the redo happens exactly then.
func TestWalkPartsSameVerdicts(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	c := mustClassifier(t, Rules{Allowlist: []string{"git push"}})
	base := bigScript(3 * splitMin)
	cases := []struct {
		name, text string
		redo       bool // an answer of an early part's walk changes
	}{
		{"plain", base, false},
		{"used early, set again late", "d=/tmp/x\nrm -rf $d\n" + base + "d=/\n", true},
		{"used early, eval late", "d=/tmp/x\nrm -rf $d\n" + base + "eval \"$x\"\n", true},
		{"used early, read late", "d=/tmp/x\nrm -rf $d/*\n" + base + "read d\n", true},
		{"loop early, set late", "for zz in /tmp/a /tmp/b; do rm -rf $zz; done\n" + base + "zz=/\n", true},
		{"TMPDIR early, set late", "rm -rf $TMPDIR/x\n" + base + "TMPDIR=/\n", true},
		{"set once early", "d=/tmp/x\nrm -rf $d\n" + base + "rm -rf $d\n", false},
		{"set late only", base + "d=/\nrm -rf $d\n", false},
		{"invisible", "echo \u200b\n" + base, false},
		{"broken late", base + "if true; then\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, agreed, ok := c.walkParts(tc.text)
			if want := tc.name != "invisible" && tc.name != "broken late"; ok != want {
				t.Errorf("walked in parts: %v, want %v", ok, want)
			}
			if ok && agreed == tc.redo {
				t.Errorf("agreed %v, want %v", agreed, !tc.redo)
			}
			got := c.ClassifyNoKey(tc.text)
			shortcuts = false
			want := c.ClassifyNoKey(tc.text)
			shortcuts = true
			if !reflect.DeepEqual(got, want) {
				t.Errorf("verdicts differ:\nparts:      %s %+v\nsequential: %s %+v", got.Decision, got.Findings, want.Decision, want.Findings)
			}
		})
	}
}
