package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// startsWithTrap's answers are checked against real bash: with a DEBUG
// trap that changes directory, as the prelude's does, every text it
// accepts does its first directory-dependent thing (writing ./m) after the
// trap; every text it refuses is one where bash does it before, which is
// why it is refused.
func TestStartsWithTrapAgreesWithBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to compare with")
	}
	cases := []struct {
		text string
		ok   bool
	}{
		{"pwd > m", true},
		{"> m", true},
		{"x=$(pwd > m)", true},
		{"declare x=$(pwd > m)", true},
		{"pwd > m & wait", true},
		{"time pwd > m", true},
		{"! pwd > m", true},
		{"true | { pwd > m; }", true},
		{"pwd > m && true", true},
		{"if pwd > m; then :; fi", true},
		{"while pwd > m; do break; done", true},
		{"{ pwd > m; }", true},
		{"[[ $(pwd > m) ]]", true},
		{"(( $(pwd > m; echo 1) ))", true},
		{"case $(pwd > m) in *) ;; esac", true},
		{"f() { :; } > m2\npwd > m", true},
		{"# comment\n\npwd > m", true},
		{"{ :; } > m", false},
		{"( pwd > m )", false},
		{"for f in $(pwd > m); do :; done", false},
		{"if true; then :; fi > m", false},
		{"coproc pwd > m\nwait", false},
		{"[[ x ]] > m", false},
		{"(( 1 )) > m", false},
		{"case x in *) ;; esac > m", false},
	}
	for _, c := range cases {
		if got := startsWithTrap(c.text); got != c.ok {
			t.Errorf("startsWithTrap(%q) = %v, want %v", c.text, got, c.ok)
			continue
		}
		real, priv := t.TempDir(), t.TempDir()
		env := filepath.Join(t.TempDir(), "env.sh")
		os.WriteFile(env, []byte("cd "+shq(priv)+"\ntrap "+shq("trap - DEBUG; cd "+shq(real))+" DEBUG\n"), 0o644)
		os.WriteFile(filepath.Join(priv, "x.sh"), []byte(c.text+"\n"), 0o644)
		cmd := exec.Command(bash, "x.sh")
		cmd.Dir = real
		cmd.Env = []string{"PATH=/usr/bin:/bin", "BASH_ENV=" + env}
		cmd.Run()
		_, inReal := os.Stat(filepath.Join(real, "m"))
		_, inPriv := os.Stat(filepath.Join(priv, "m"))
		if c.ok && (inReal != nil || inPriv == nil) {
			t.Errorf("%q: accepted, but bash wrote m before the trap ran (in the private directory)", c.text)
		}
		if !c.ok && inPriv != nil {
			t.Errorf("%q: refused, yet bash ran the trap first (the refusal is not needed)", c.text)
		}
	}
}

// mirrorName lays out directories so that the name, with its "." and
// "..", leads from the returned directory to the target.
func TestMirrorNameResolvesLikeTheKernel(t *testing.T) {
	target := filepath.Join(t.TempDir(), "target")
	os.WriteFile(target, []byte("ok"), 0o644)
	for _, name := range []string{"x.sh", "./x.sh", "a/b/x.sh", "../x.sh", "../../a/./b/../x.sh", "sp ace/x y.sh", "d/../d/x.sh"} {
		var made []string
		start, err := mirrorName(filepath.Join(t.TempDir(), "root"), name, target, &made)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cmd := exec.Command("cat", name)
		cmd.Dir = start
		if out, err := cmd.Output(); err != nil || string(out) != "ok" {
			t.Errorf("%s from %s: %q %v", name, start, out, err)
		}
		for i := len(made) - 1; i >= 0; i-- {
			if err := os.Remove(made[i]); err != nil {
				t.Errorf("%s: what was made cannot be removed deepest first: %v", name, err)
			}
		}
	}
	if _, err := mirrorName(filepath.Join(t.TempDir(), "root"), "x/..", target, new([]string)); err == nil {
		t.Error("a name ending in .. was laid out")
	}
}
