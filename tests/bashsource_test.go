package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// asUser makes e run hermes-exec as nobody: its home, working directory
// and a copy of the binary in places that user owns or may read.
func asUser(t *testing.T, e *env) {
	t.Helper()
	requireRoot(t, "to run hermes-exec as an ordinary user (nobody)")
	root := t.TempDir()
	for d := root; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	e.home, e.dir = filepath.Join(root, "home"), filepath.Join(root, "work")
	os.Mkdir(e.home, 0o700)
	os.Mkdir(e.dir, 0o755)
	os.Mkdir(filepath.Join(root, "bin"), 0o755)
	bin := filepath.Join(root, "bin", "hermes-exec")
	copyExecutable(t, e.bin, bin)
	// The subcommands (gateway run) are hermes-exec-admin's, beside it.
	copyExecutable(t, filepath.Join(filepath.Dir(e.bin), "hermes-exec-admin"), filepath.Join(root, "bin", "hermes-exec-admin"))
	e.bin, e.uid = bin, nobodyUID
	chownTree(t, e.home)
	chownTree(t, e.dir)
}

// asWho runs body as root and as an ordinary user, each in an env of its
// own.
func asWho(t *testing.T, body func(t *testing.T, e *env)) {
	t.Run("root", func(t *testing.T) {
		requireRoot(t, "the root case pins the name with a mount namespace")
		body(t, newEnv(t))
	})
	t.Run("user", func(t *testing.T) {
		e := newEnv(t)
		asUser(t, e)
		body(t, e)
	})
}

// realBash runs the real bash as e's user, in dir, with e's environment.
func (e *env) realBash(dir string, extraEnv []string, args ...string) result {
	e.t.Helper()
	c := exec.Command("bash", args...)
	c.Dir = dir
	c.Env = e.baseEnv(extraEnv...)
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: e.credential()}
	return runCmd(e.t, c)
}

// hermesIn runs hermes-exec like e.run, in dir.
func (e *env) hermesIn(dir string, extraEnv []string, args ...string) result {
	e.t.Helper()
	c := e.cmd(extraEnv, args...)
	c.Dir = dir
	return runCmd(e.t, c)
}

// What a script sees of itself: BASH_SOURCE, $0, BASH_ARGV, LINENO,
// caller, FUNCNAME, an error message naming it, the set -u SCRIPT_DIR
// idiom, the main guard, the directory variables, traps and $_ before
// anything ran, the options, the exit status.
const selfScript = `echo "first: _=$_ traps=$(trap -p) opts=$-"
set -u
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
echo "0=$0 src=${BASH_SOURCE[*]} dir=$SCRIPT_DIR args=$# $* line=$LINENO argv=${BASH_ARGV[*]}"
f() { echo "f: ${BASH_SOURCE[*]} ${FUNCNAME[*]} line=$LINENO caller=$(caller 0)"; }
f one "t w o"
declare -p PWD OLDPWD BASH_ENV 2>&1
echo "vars=$(declare -p | grep -c .) functions=$(declare -F | wc -l)"
no-such-command-xyz
[[ "${BASH_SOURCE[0]}" == "$0" ]] && echo main-guard
exit 7
`

// hermes-exec NAME gives what bash NAME gives, as root and as an ordinary
// user: relative names, a directory with spaces, a symlinked script, names
// with .. from a subdirectory, a bare name; absolute names too as root.
func TestBashSourceIsBashsAsRootAndUser(t *testing.T) {
	asWho(t, func(t *testing.T, e *env) {
		for _, d := range []string{"scripts/sub", "sp ace"} {
			os.MkdirAll(filepath.Join(e.dir, d), 0o755)
		}
		os.WriteFile(filepath.Join(e.dir, "scripts", "build.sh"), []byte(selfScript), 0o755)
		os.WriteFile(filepath.Join(e.dir, "sp ace", "my script.sh"), []byte(selfScript), 0o755)
		os.WriteFile(filepath.Join(e.dir, "here.sh"), []byte(selfScript), 0o755)
		os.Symlink("scripts/build.sh", filepath.Join(e.dir, "link.sh"))
		if e.uid != 0 {
			chownTree(t, e.dir)
		}
		sub := filepath.Join(e.dir, "scripts", "sub")
		cases := []struct{ dir, name string }{
			{e.dir, "./scripts/build.sh"},
			{e.dir, "scripts/build.sh"},
			{e.dir, "./sp ace/my script.sh"},
			{e.dir, "link.sh"},
			{e.dir, "here.sh"},
			{sub, "../build.sh"},
			{sub, "../../link.sh"},
			{sub, "./../../scripts/./build.sh"},
		}
		if e.uid == 0 {
			cases = append(cases, struct{ dir, name string }{sub, filepath.Join(e.dir, "scripts", "build.sh")})
		}
		extra := []string{"_=/usr/bin/bash", "OLDPWD=" + e.dir}
		for _, c := range cases {
			want := e.realBash(c.dir, extra, c.name, "a", "b c")
			got := e.hermesIn(c.dir, extra, c.name, "a", "b c")
			if want.code != 7 || !strings.Contains(want.stdout, "main-guard") || !strings.Contains(want.stderr, c.name+": line 9: no-such-command-xyz") {
				t.Fatalf("%s: real bash gave exit %d %q %q: the script does not test what it should", c.name, want.code, want.stdout, want.stderr)
			}
			if got.stdout != want.stdout || got.stderr != want.stderr || got.code != want.code {
				t.Errorf("%s (in %s):\nhermes-exec exit %d\n%s%s\nbash exit %d\n%s%s", c.name, c.dir, got.code, got.stdout, got.stderr, want.code, want.stdout, want.stderr)
			}
		}
	})
}

// As an ordinary user an absolute name cannot be made to lead to another
// file for bash alone (that takes a mount namespace): the script runs as
// bash would run it by the relative name from the working directory,
// consistently ($0, BASH_SOURCE, error messages), so the SCRIPT_DIR idiom
// and the main guard work; the arguments and exit status are bash's.
func TestBashSourceAbsoluteAsUser(t *testing.T) {
	e := newEnv(t)
	asUser(t, e)
	os.MkdirAll(filepath.Join(e.dir, "scripts", "sub"), 0o755)
	p := filepath.Join(e.dir, "scripts", "abs.sh")
	os.WriteFile(p, []byte(selfScript), 0o755)
	chownTree(t, e.dir)
	sub := filepath.Join(e.dir, "scripts", "sub")
	extra := []string{"_=/usr/bin/bash", "OLDPWD=" + e.dir}
	want := e.realBash(sub, extra, "../abs.sh", "a", "b c")
	got := e.hermesIn(sub, extra, p, "a", "b c")
	if got.stdout != want.stdout || got.stderr != want.stderr || got.code != want.code || want.code != 7 {
		t.Fatalf("hermes-exec %s: exit %d\n%s%s\nbash ../abs.sh: exit %d\n%s%s", p, got.code, got.stdout, got.stderr, want.code, want.stdout, want.stderr)
	}
	abs := e.realBash(sub, extra, p, "a", "b c")
	if !strings.Contains(abs.stdout, "dir="+filepath.Join(e.dir, "scripts")+" args=2 a b c") || !strings.Contains(got.stdout, "dir="+filepath.Join(e.dir, "scripts")+" args=2 a b c") {
		t.Fatalf("SCRIPT_DIR and the arguments differ from bash %s:\n%s\n%s", p, got.stdout, abs.stdout)
	}
}

// A script whose first command runs before a DEBUG trap could (a for loop
// expands its words first) still runs exactly the checked text, in the
// right directory, as bash -c TEXT NAME.
func TestBashSourceFallbackRunsCheckedTextAsUser(t *testing.T) {
	e := newEnv(t)
	asUser(t, e)
	os.WriteFile(filepath.Join(e.dir, "f.sh"), []byte("for f in *.sh; do echo \"$f in $PWD as $0\"; done\nexit 4\n"), 0o755)
	chownTree(t, e.dir)
	got := e.hermesIn(e.dir, nil, "./f.sh")
	if got.code != 4 || got.stdout != "f.sh in "+e.dir+" as ./f.sh\n" {
		t.Fatalf("exit %d %q %q", got.code, got.stdout, got.stderr)
	}
}

// A bash that does not read hermes-exec's BASH_ENV prelude never opens the
// script by its name: the name leads to a text that denies.
func TestBashSourceFailsClosedWithoutThePreludeAsUser(t *testing.T) {
	e := newEnv(t)
	asUser(t, e)
	shellDir := filepath.Join(filepath.Dir(e.dir), "shell")
	os.Mkdir(shellDir, 0o755)
	// A "bash" that drops BASH_ENV on its way to the real one.
	os.WriteFile(filepath.Join(shellDir, "bash"), []byte("#!/bin/sh\nunset BASH_ENV\nexec bash \"$@\"\n"), 0o755)
	e.writeConfig("terminal:\n  shell: " + filepath.Join(shellDir, "bash") + "\n")
	chownTree(t, e.home)
	marker := filepath.Join(e.dir, "ran")
	os.WriteFile(filepath.Join(e.dir, "x.sh"), []byte("touch "+marker+"\n"), 0o755)
	chownTree(t, e.dir)
	r := e.run(nil, "./x.sh")
	if r.code != 126 || !strings.Contains(r.stderr, "hermes-exec: denied: bash did not read hermes-exec's BASH_ENV prelude") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the script ran although its name could not be pinned")
	}
}

// The window between the check and bash reading the file is real: a
// dangerous script waits for a human. Whatever happens to the file (and to
// the BASH_ENV file) meanwhile, the text that was checked is what runs.
func TestBashSourceFileSwappedAfterTheCheck(t *testing.T) {
	asWho(t, func(t *testing.T, e *env) {
		e.writeConfig("approvals:\n  timeout: 20\n")
		if e.uid != 0 {
			chownTree(t, e.home)
		}
		g := e.startGateway()
		alice := g.pairedClient("alice")
		checked := "echo \"checked $0 $BASH_ENV $FROM_ENV\"; git reset --hard 2>/dev/null; exit 0\n"
		evil := "echo SWAPPED-TEXT-RAN\n"
		bashEnv := filepath.Join(e.dir, "env.sh")
		i := 0
		for _, swap := range []string{"rename", "rewrite"} {
			for _, withEnv := range []bool{false, true} {
				i++
				name := fmt.Sprintf("s%d.sh", i)
				p := filepath.Join(e.dir, name)
				os.WriteFile(p, []byte(checked), 0o755)
				os.WriteFile(bashEnv, []byte("FROM_ENV=checked-env\n"), 0o644)
				if e.uid != 0 {
					chownTree(t, e.dir)
				}
				var env []string
				want := "checked ./" + name + "  \n"
				if withEnv {
					env = []string{"BASH_ENV=" + bashEnv}
					want = "checked ./" + name + " " + bashEnv + " checked-env\n"
				}
				done := e.background(env, "./"+name)
				req := g.waitRequests(alice, 1)[0]
				if swap == "rename" {
					os.WriteFile(p+".new", []byte(evil), 0o755)
					os.Rename(p+".new", p)
					os.WriteFile(bashEnv+".new", []byte(evil), 0o644)
					os.Rename(bashEnv+".new", bashEnv)
				} else {
					os.WriteFile(p, []byte(evil), 0o755)
					os.WriteFile(bashEnv, []byte(evil), 0o644)
				}
				if st := g.api(alice, "POST", "/api/v1/requests/"+req.ID+"/decision", `{"decision":"once"}`, nil); st != 200 {
					t.Fatalf("approve: %d", st)
				}
				r := waitResult(t, done, 20*time.Second)
				if e.uid == 0 && withEnv && swap == "rename" {
					// With BASH_ENV set, root pins the name in a mount
					// namespace, which needs the name to still be the
					// file that was read: it is not, so it is denied.
					if r.code != 126 || r.stdout != "" || !strings.Contains(r.stderr, "hermes-exec: denied: "+name+" changed while it was being checked") {
						t.Fatalf("%s, BASH_ENV %v: exit %d stdout %q stderr %q", swap, withEnv, r.code, r.stdout, r.stderr)
					}
					continue
				}
				if strings.Contains(r.stdout+r.stderr, "SWAPPED") || r.code != 0 || r.stdout != want {
					t.Fatalf("%s, BASH_ENV %v: exit %d stdout %q (want %q) stderr %q", swap, withEnv, r.code, r.stdout, want, r.stderr)
				}
			}
		}
		// Plain bash would have run the new text: the test proves something.
		os.WriteFile(bashEnv, []byte(evil), 0o644)
		if r := e.realBash(e.dir, []string{"BASH_ENV=" + bashEnv}, "./s1.sh"); !strings.Contains(r.stdout, "SWAPPED") {
			t.Fatalf("plain bash: %q", r.stdout)
		}
	})
}

// An exported function named builtin would run in place of the builtins
// hermes-exec's BASH_ENV code calls: with a BASH_ENV file to load it is
// denied; for a script the prelude is not used (bash -c TEXT NAME runs
// the checked text, the function replacing builtin as it would in bash).
func TestBashSourceExportedBuiltinFunction(t *testing.T) {
	e := newEnv(t)
	asUser(t, e)
	bashEnv := filepath.Join(e.dir, "env.sh")
	os.WriteFile(bashEnv, []byte("X=1\n"), 0o644)
	os.WriteFile(filepath.Join(e.dir, "x.sh"), []byte("echo \"ran $0 ${BASH_SOURCE[0]-none}\"\n"), 0o755)
	chownTree(t, e.dir)
	fn := "BASH_FUNC_builtin%%=() { command \"$@\"; }"
	r := e.run([]string{"BASH_ENV=" + bashEnv, fn}, "-c", "echo hi")
	if r.code != 126 || !strings.Contains(r.stderr, "hermes-exec: denied: the exported function builtin would run in place of the builtin that loads the checked BASH_ENV file") {
		t.Fatalf("with BASH_ENV: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = e.run([]string{fn}, "./x.sh")
	if r.code != 0 || r.stdout != "ran ./x.sh none\n" {
		t.Fatalf("script: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
}
