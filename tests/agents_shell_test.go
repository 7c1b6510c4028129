package tests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"
)

// bashLink makes a directory holding `bash` and `sh` symlinks to
// hermes-exec, the recipe for agents that run `bash` from PATH.
func (e *env) bashLink() string {
	e.t.Helper()
	dir := e.t.TempDir()
	for _, n := range []string{"bash", "sh"} {
		if err := os.Symlink(e.bin, filepath.Join(dir, n)); err != nil {
			e.t.Fatal(err)
		}
	}
	return dir
}

func (e *env) linkedCmd(dir string, extraEnv []string, args ...string) *exec.Cmd {
	c := exec.Command(filepath.Join(dir, args[0]), args[1:]...)
	c.Dir = e.dir
	c.Env = append(e.baseEnv(extraEnv...), "PATH="+dir+":/usr/local/bin:/usr/bin:/bin")
	return c
}

// A bash symlink to hermes-exec first on PATH: `bash -c` and `bash
// script.sh` run with the real bash, and hermes-exec never finds itself.
func TestBashSymlinkFirstOnPathDoesNotRecurse(t *testing.T) {
	e := newEnv(t)
	dir := e.bashLink()
	script := filepath.Join(e.dir, "script.sh")
	os.WriteFile(script, []byte("echo \"script $1\"; bash -c 'echo nested $0'\n"), 0o644)

	r := runCmd(t, e.linkedCmd(dir, nil, "bash", "-c", "echo ok; echo $BASH_VERSION | cut -c1"))
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ok\n") || len(r.stdout) < 5 {
		t.Fatalf("bash -c: %+v", r)
	}
	r = runCmd(t, e.linkedCmd(dir, nil, "bash", "script.sh", "arg"))
	if r.code != 0 || r.stdout != "script arg\nnested bash\n" {
		t.Fatalf("bash script.sh: %+v", r)
	}
	// Each level was checked by hermes-exec: the script and the nested
	// bash -c (found on PATH, which is the symlink again).
	if n := len(finalRecords(t, e.auditRecords())); n != 3 {
		t.Errorf("want 3 audit records (bash -c, the script, its nested bash -c), got %d", n)
	}
	// As sh it runs the real sh.
	r = runCmd(t, e.linkedCmd(dir, nil, "sh", "-c", "echo sh-ok"))
	if r.code != 0 || r.stdout != "sh-ok\n" {
		t.Fatalf("sh -c: %+v", r)
	}
}

// terminal.shell that is hermes-exec itself is refused, not looped on.
func TestTerminalShellThatIsHermesExecIsDenied(t *testing.T) {
	e := newEnv(t)
	dir := e.bashLink()
	e.writeConfig("terminal:\n  shell: " + filepath.Join(dir, "bash") + "\n")
	r := runCmd(t, e.linkedCmd(dir, nil, "bash", "-c", "echo never"))
	if r.code != 126 || !strings.Contains(r.stderr, "is hermes-exec itself") || r.stdout != "" {
		t.Fatalf("%+v", r)
	}
	e.writeConfig("terminal:\n  shell: /bin/bash\n")
	if r := runCmd(t, e.linkedCmd(dir, nil, "bash", "-c", "echo fine")); r.stdout != "fine\n" {
		t.Fatalf("%+v", r)
	}
}

// hermes-exec ./x.sh gives what bash ./x.sh gives: $0, BASH_SOURCE (the
// SCRIPT_DIR idiom under set -u), the arguments and the exit status.
func TestScriptFileIsBashCompatible(t *testing.T) {
	e := newEnv(t)
	sub := filepath.Join(e.dir, "scripts")
	os.MkdirAll(sub, 0o755)
	body := `set -eu
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
echo "0=$0 src=${BASH_SOURCE[0]} dir=$SCRIPT_DIR args=$*"
f() { echo "in f: ${BASH_SOURCE[0]} line $LINENO"; }
f
exit 5
`
	os.WriteFile(filepath.Join(sub, "build.sh"), []byte(body), 0o755)
	names := []string{"./scripts/build.sh", "scripts/build.sh"}
	if os.Geteuid() == 0 {
		// As a user an absolute name runs by its relative form
		// (TestBashSourceAbsoluteAsUser).
		names = append(names, filepath.Join(sub, "build.sh"))
	}
	for _, name := range names {
		bc := exec.Command("bash", name, "a", "b c")
		bc.Dir = e.dir
		want := runCmd(t, bc)
		got := e.run(nil, name, "a", "b c")
		if got.stdout != want.stdout || got.code != want.code || got.code != 5 {
			t.Errorf("%s: hermes-exec gave %q (exit %d), bash %q (exit %d)", name, got.stdout, got.code, want.stdout, want.code)
		}
	}
}

// A script changed after it was checked is not what runs: bash reads a
// script as it goes, so a line appended to it meanwhile would run; under
// hermes-exec the checked text runs, and only that.
func TestScriptAppendedWhileRunningRunsTheCheckedText(t *testing.T) {
	e := newEnv(t)
	p := filepath.Join(e.dir, "x.sh")
	text := "echo 'echo APPENDED' >> \"$0\" 2>/dev/null\necho checked-text\n"
	os.WriteFile(p, []byte(text), 0o644)
	bc := exec.Command("bash", "./x.sh")
	bc.Dir = e.dir
	if r := runCmd(t, bc); !strings.Contains(r.stdout, "APPENDED") {
		t.Fatalf("plain bash did not run the appended line, so this test proves nothing: %+v", r)
	}
	os.WriteFile(p, []byte(text), 0o644)
	r := e.run(nil, "./x.sh")
	if strings.Contains(r.stdout, "APPENDED") || !strings.Contains(r.stdout, "checked-text") {
		t.Fatalf("%+v", r)
	}
}

// Scripts of 1 MiB and more run whole, from a file and on stdin, with
// bash's output and exit status, and check allows them: ordinary lines
// with nothing to pad them out (80,000 echo lines, dense assignments, `:`,
// functions defined and called), as root and as an ordinary user.
func TestOneMiBScriptAndStdinRun(t *testing.T) {
	lines := func(head, line, tail string, n int) string {
		var b strings.Builder
		b.WriteString(head)
		for i := 0; i < n || b.Len() < 1<<20; i++ {
			b.WriteString(strings.ReplaceAll(line, "N", strconv.Itoa(i)))
		}
		return b.String() + tail
	}
	scripts := []struct{ name, text string }{
		{"echo", lines("", "echo line N\n", "exit 4\n", 80000)},
		{"assignments", lines("", "a=N\n", "echo \"a=$a\"; exit 4\n", 0)},
		{"colons", lines("n=1\n", ":\n", "echo \"n=$n\"; exit 4\n", 0)},
		{"functions", lines("n=0\n", "f_N() { n=$((n+N)); }; f_N\n", "echo \"n=$n\"; exit 4\n", 0)},
		{"padded", lines("n=0\n", "n=$((n+1)) # padding padding padding padding padding padding padding\n", "echo \"lines=$n\"; exit 4\n", 0)},
	}
	asWho(t, func(t *testing.T, e *env) {
		for _, sc := range scripts {
			p := filepath.Join(e.dir, sc.name+".sh")
			if err := os.WriteFile(p, []byte(sc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			want := e.realBash(e.dir, nil, p)
			if want.code != 4 || want.stdout == "" {
				t.Fatalf("%s: bash itself gave %d %.80q", sc.name, want.code, want.stdout)
			}
			r := e.run(nil, p)
			if r.code != 4 || r.stdout != want.stdout {
				t.Errorf("%s (%d bytes) as a file: exit %d, %d bytes of output (bash: %d), stderr %s", sc.name, len(sc.text), r.code, len(r.stdout), len(want.stdout), r.stderr)
			}
			c := e.cmd(nil)
			c.Stdin = strings.NewReader(sc.text)
			r = runCmd(t, c)
			if r.code != 4 || r.stdout != want.stdout {
				t.Errorf("%s on stdin: exit %d, %d bytes of output (bash: %d), stderr %s", sc.name, r.code, len(r.stdout), len(want.stdout), r.stderr)
			}
			c = e.cmd(nil, "check")
			c.Stdin = strings.NewReader(sc.text)
			if r = runCmd(t, c); r.code != 0 || strings.TrimSpace(r.stdout) != "allow" {
				t.Errorf("%s: check gave %d %.300s %s", sc.name, r.code, r.stdout, r.stderr)
			}
		}
	})
}

// A script on stdin shares stdin with its commands, as with `... | bash`.
func TestStdinScriptSharesStdinLikeBash(t *testing.T) {
	e := newEnv(t)
	script := "read -r line; echo \"got $line\"\nthis line is data\necho after\n"
	c := e.cmd(nil)
	c.Stdin = strings.NewReader(script)
	r := runCmd(t, c)
	b := exec.Command("bash")
	b.Stdin = strings.NewReader(script)
	want := runCmd(t, b)
	if r.stdout != want.stdout {
		t.Fatalf("hermes-exec %q, bash %q", r.stdout, want.stdout)
	}
}

// When the command dies of a signal the wrapper dies of the same signal,
// as bash -c 'CMD' (which execs CMD) does: Node sees signal=SIGTERM.
func TestSignalDeathIsReRaised(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{{"-c", "kill -TERM $$"}, {"-c", "sleep 0.1; kill -INT $$"}} {
		c := e.cmd(nil, args...)
		err := c.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%v: %v", args, err)
		}
		ws := ee.Sys().(syscall.WaitStatus)
		want := syscall.SIGTERM
		if strings.Contains(args[1], "INT") {
			want = syscall.SIGINT
		}
		if !ws.Signaled() || ws.Signal() != want {
			t.Errorf("%v: wait status %v, want death by %v", args, ws, want)
		}
	}
	// Exiting with 143 is not a signal death.
	if r := e.run(nil, "-c", "exit 143"); r.code != 143 {
		t.Errorf("exit 143 gave %d", r.code)
	}
	if node, err := exec.LookPath("node"); err == nil {
		c := exec.Command(node, "-e", `const r=require("child_process").spawnSync(process.argv[1],["-c","kill -TERM $$"],{env:process.env});console.log(r.status+" "+r.signal)`, e.bin)
		c.Env = e.baseEnv()
		out, err := c.Output()
		if err != nil || strings.TrimSpace(string(out)) != "null SIGTERM" {
			t.Errorf("node saw %q (%v), want \"null SIGTERM\"", out, err)
		}
	}
}

func TestNULBytesAreDeniedAndAuditedAsDenied(t *testing.T) {
	e := newEnv(t)
	c := e.cmd(nil)
	c.Stdin = bytes.NewReader([]byte("echo a\x00b\n"))
	r := runCmd(t, c)
	if r.code != 126 || !strings.Contains(r.stderr, "NUL") {
		t.Fatalf("%+v", r)
	}
	rec := e.lastAudit()
	if rec["decision"] != "deny" || rec["verdict"] != "deny" || rec["exit"] != nil {
		t.Fatalf("audited as %v", rec)
	}
}

// Gemini CLI's git settings in the environment reach git.
func TestGitConfigEnvironmentPasses(t *testing.T) {
	e := newEnv(t)
	env := []string{"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=core.pager", "GIT_CONFIG_VALUE_0=cat",
		"GIT_CONFIG_KEY_1=credential.helper", "GIT_CONFIG_VALUE_1=", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"PASSWORD_STORE_DIR=/tmp/pass", "HF_HUB_DISABLE_IMPLICIT_TOKEN=1", "GH_TOKEN=ghp_should_not_pass"}
	r := e.run(env, "-c", `git init -q repo && cd repo && git config --get core.pager && echo "dir=$PASSWORD_STORE_DIR hf=$HF_HUB_DISABLE_IMPLICIT_TOKEN gh=${GH_TOKEN-unset}"`)
	if r.code != 0 || r.stdout != "cat\ndir=/tmp/pass hf=1 gh=unset\n" {
		t.Fatalf("%+v", r)
	}
	// hermes-exec env names what is withheld, never the value.
	r = e.run(env, "env")
	if r.code != 0 || !strings.Contains(r.stdout, "GH_TOKEN") || strings.Contains(r.stdout, "ghp_should_not_pass") || strings.Contains(r.stdout, "GIT_CONFIG") {
		t.Fatalf("hermes-exec env: %+v", r)
	}
}

// Started interactively (tmux's default-shell, a login shell on a
// terminal) it says in one line what it is, instead of its whole help.
func TestInteractiveStartSaysWhatItIs(t *testing.T) {
	e := newEnv(t)
	for _, argv0 := range []string{"-hermes-exec", "-bash", "bash"} {
		c := exec.Command(e.bin)
		c.Args[0] = argv0
		c.Env = e.baseEnv("TERM=xterm")
		f, err := pty.Start(c)
		if err != nil {
			t.Skipf("no pseudo-terminals: %v", err)
		}
		var out bytes.Buffer
		done := make(chan struct{})
		go func() { out.ReadFrom(f); close(done) }()
		err = c.Wait()
		<-done
		f.Close()
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if exitCode(err) != 2 || len(lines) != 1 || !strings.Contains(lines[0], "not an interactive shell") {
			t.Errorf("%s: exit %d, terminal:\n%s", argv0, exitCode(err), out.String())
		}
	}
}
