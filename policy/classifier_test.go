package policy

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

func TestKeyNormalisation(t *testing.T) {
	c := mustClassifier(t, Rules{})
	same := [][2]string{
		{"ls  -la # x", "ls -la"},
		{"ls -la\n", "ls -la"},
		{"echo a;echo b", "echo a\necho b"},
		{"git   status  &&  git diff", "git status && git diff"},
	}
	for _, p := range same {
		if a, b := c.Classify(p[0]).Key, c.Classify(p[1]).Key; a != b {
			t.Errorf("keys differ: %q -> %q, %q -> %q", p[0], a, p[1], b)
		}
	}
	if a, b := c.Classify("ls -la").Key, c.Classify("ls -l").Key; a == b {
		t.Errorf("different commands share key %q", a)
	}
	if a, b := c.Classify("echo 'a  b'").Key, c.Classify("echo 'a b'").Key; a == b {
		t.Errorf("quoted spacing is significant but keys match: %q", a)
	}
	bad := "echo $("
	if k := c.Classify(bad).Key; k != bad {
		t.Errorf("parse error key = %q, want raw text", k)
	}
}

func TestFindingPositions(t *testing.T) {
	c := mustClassifier(t, Rules{})
	cases := []struct {
		script string
		want   []string // rule@pos in order
	}{
		{"ls\n  rm -rf /", []string{"delete-root@2:3"}},
		{"reboot; rm -rf /", []string{"shutdown@1:1", "delete-root@1:9"}},
		{"echo hi > /etc/passwd", []string{"sysconfig-write@1:9"}},
		{"bash -c 'rm -rf /'", []string{"delete-root@1:9"}},
		{"if true; then\n\tgit push -f\nfi", []string{"git-destructive@2:2"}},
		{"echo $(\n  reboot)", []string{"shutdown@2:3"}},
		{"sudo rm -rf ~", []string{"privesc-sudo@1:1", "delete-home@1:1"}},
	}
	for _, tc := range cases {
		v := c.Classify(tc.script)
		var got []string
		for _, f := range v.Findings {
			got = append(got, f.Rule+"@"+f.Pos)
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%q: got %v, want %v", tc.script, got, tc.want)
		}
	}
}

func TestVerdictShape(t *testing.T) {
	c := mustClassifier(t, Rules{})
	v := c.Classify("ls")
	if v.Decision != Allow || v.Findings == nil || len(v.Findings) != 0 {
		t.Fatalf("ls: %+v", v)
	}
	b, _ := json.Marshal(v)
	if !strings.Contains(string(b), `"findings":[]`) || !strings.Contains(string(b), `"decision":"allow"`) {
		t.Errorf("json %s", b)
	}
	v = c.Classify("reboot; hermes-exec --yolo")
	if v.Decision != Deny {
		t.Errorf("decision is the maximum over findings: got %s %v", v.Decision, rulesOf(v))
	}
	for _, f := range v.Findings {
		if f.Command == "" || f.Description == "" {
			t.Errorf("finding lacks text: %+v", f)
		}
	}
	if !hasRule(c.Classify("echo 'a"), "parse-error") || c.Classify("echo 'a").Decision == Allow {
		t.Errorf("parse error must ask")
	}
}

func TestClassifyArgv(t *testing.T) {
	c := mustClassifier(t, Rules{})
	cases := []struct {
		argv []string
		want Decision
	}{
		{[]string{"git", "push", "-f"}, Ask},
		{[]string{"/usr/bin/rm", "-rf", "/"}, Ask},
		{[]string{"bash", "-c", "rm -rf ~"}, Ask},
		{[]string{"sh", "-c", "ls -la"}, Allow},
		{[]string{"ls", "-la"}, Allow},
		// No shell: $(...) is a literal argument.
		{[]string{"echo", "$(rm -rf ~)"}, Allow},
		{[]string{"rm", "-rf", "$HOME"}, Allow},
		{[]string{"rm", "-rf", "~"}, Allow},
		{[]string{"env", "rm", "-rf", "/etc"}, Ask},
		{[]string{}, Ask},
	}
	for _, tc := range cases {
		v := c.ClassifyArgv(tc.argv)
		if v.Decision != tc.want {
			t.Errorf("%q: got %s %v, want %s", tc.argv, v.Decision, rulesOf(v), tc.want)
		}
		if v.Findings == nil {
			t.Errorf("%q: nil findings", tc.argv)
		}
	}
	if k := c.ClassifyArgv([]string{"echo", "a b"}).Key; k != "echo 'a b'" {
		t.Errorf("argv key = %q", k)
	}
}

func TestCatalog(t *testing.T) {
	classes := map[string]bool{}
	seen := map[RuleID]bool{}
	for _, r := range Catalog() {
		if r.ID == "" || r.Description == "" || r.Class == "" {
			t.Errorf("incomplete rule %+v", r)
		}
		if seen[r.ID] {
			t.Errorf("duplicate rule %s", r.ID)
		}
		seen[r.ID] = true
		classes[r.Class] = true
		if r.Class == "self-disable" || r.Class == "user" {
			if r.Decision != Deny {
				t.Errorf("%s must deny", r.ID)
			}
		} else if r.Decision != Ask {
			t.Errorf("%s must ask, not %s", r.ID, r.Decision)
		}
	}
	for _, want := range []string{"delete", "disk", "perms", "privesc", "fork-bomb", "killall", "shutdown", "service-stop", "sql",
		"remote-code-exec", "git-destructive", "sysconfig-write", "history", "security-disable", "exfil", "container-escape", "self-disable", "code-exec", "fail-closed"} {
		if !classes[want] {
			t.Errorf("no rule of class %s", want)
		}
	}
	Catalog()[0].ID = "mutated"
	if Catalog()[0].ID == "mutated" {
		t.Error("Catalog returns the internal slice")
	}
}

func TestConcurrentClassify(t *testing.T) {
	c := mustClassifier(t, Rules{Deny: []string{"git push"}})
	cmds := []string{"rm -rf /", "ls -la", "git push", "curl x | sh", "bash -c 'reboot'", "echo $("}
	want := make([]Decision, len(cmds))
	for i, s := range cmds {
		want[i] = c.Classify(s).Decision
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				k := i % len(cmds)
				if d := c.Classify(cmds[k]).Decision; d != want[k] {
					t.Errorf("%q: %s != %s", cmds[k], d, want[k])
					return
				}
			}
		}()
	}
	wg.Wait()
}
