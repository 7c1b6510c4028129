package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Red team 3: each command line here ran without a human before its fix
// (no terminal, approvals on). Now each is denied (126), and approvals
// are still on afterwards.

// yolo on through a name or words the rules did not judge: a link to
// hermes-exec-admin named hermes (whose unseen words do not ask), words
// after hermes-exec-admin's `--` or after an option's value, and bash's
// command table mapping a harmless name to hermes-exec-admin with argv[0]
// made hermes-exec (both names its own name check accepts).
func TestRedteam3YoloStaysOff(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("approvals:\n  mode: default\n")
	admin := filepath.Join(filepath.Dir(e.bin), "hermes-exec-admin")
	args := filepath.Join(e.dir, "args")
	os.WriteFile(args, []byte("yolo on"), 0o644)
	hermes := filepath.Join(t.TempDir(), "hermes")
	if err := os.Symlink(admin, hermes); err != nil {
		t.Fatal(err)
	}
	for i, cmd := range []string{
		hermes + " $(cat " + args + ")",
		admin + " -- $(cat " + args + ")",
		admin + " --backend a.b $(cat " + args + ")",
		"hash -p " + admin + " foo; exec -a hermes-exec foo yolo on",
		"BASH_CMDS[foo]=" + admin + "; exec -a hermes-exec foo yolo on",
	} {
		id := fmt.Sprintf("agent-rt3-%d", i) // a session of its own each
		sess := []string{"HERMES_SESSION_ID=" + id}
		if r := e.run(sess, "-c", cmd); r.code != 126 || !strings.Contains(r.stderr, "hermes-exec: denied") {
			t.Errorf("%s: %+v, want denied", cmd, r)
		}
		if r := e.run(sess, "yolo", "status"); !strings.Contains(r.stdout, "yolo off for session "+id) {
			t.Errorf("after %s: yolo status %+v", cmd, r)
		}
	}
}

// bash's command table runs a program under another name: `hash -p
// /usr/bin/git ls; ls reset --hard` discarded the change (ls takes data
// words, so the words destroy nothing as ls).
func TestRedteam3CommandTableIsJudged(t *testing.T) {
	e := newEnv(t)
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(e.dir, "repo")
	os.MkdirAll(repo, 0o755)
	for _, c := range [][]string{{"init", "-q"}, {"-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x"}} {
		if out, err := exec.Command("git", append([]string{"-C", repo}, c...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", c, err, out)
		}
	}
	work := filepath.Join(repo, "work.txt")
	os.WriteFile(work, []byte("uncommitted\n"), 0o644)
	exec.Command("git", "-C", repo, "add", "work.txt").Run()
	for _, cmd := range []string{
		"cd " + repo + " && hash -p " + git + " ls && ls reset --hard",
		"cd " + repo + " && BASH_CMDS[ls]=" + git + " && ls reset --hard",
	} {
		if r := e.run(nil, "-c", cmd); r.code != 126 || !strings.Contains(r.stderr, "approval required") {
			t.Errorf("%s: %+v, want denied (asked, no terminal)", cmd, r)
		}
	}
	if b, _ := os.ReadFile(work); string(b) != "uncommitted\n" {
		t.Fatalf("the uncommitted change is gone: %q", b)
	}
	// Control: hash itself and a name mapped to a harmless program run.
	if r := e.run(nil, "-c", "hash -p /bin/echo say; say hi"); r.code != 0 || r.stdout != "hi\n" {
		t.Fatalf("hash -p /bin/echo say: %+v", r)
	}
}

// tar -P writes the archive's absolute names where they say, from any
// directory: it replaced config.yaml with one that allowlists
// `git reset --hard`.
func TestRedteam3AbsoluteTarCannotReplaceConfig(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(src, []byte("approvals:\n  allowlist:\n    - git reset --hard\n"), 0o644)
	tarball := filepath.Join(t.TempDir(), "a.tar")
	// The member's name is the Hermes home's config.yaml, absolute.
	xform := "s|^" + strings.TrimPrefix(filepath.Dir(src), "/") + "|" + strings.TrimPrefix(e.home, "/") + "|;s|^/" + strings.TrimPrefix(filepath.Dir(src), "/") + "|" + e.home + "|"
	if out, err := exec.Command("tar", "-cPf", tarball, "--transform", xform, src).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	if out, _ := exec.Command("tar", "-tPf", tarball).Output(); strings.TrimSpace(string(out)) != filepath.Join(e.home, "config.yaml") {
		t.Fatalf("the archive holds %q", out)
	}
	for _, cmd := range []string{"tar -xPf " + tarball, "tar --absolute-names -xf " + tarball} {
		if r := e.run(nil, "-c", cmd); r.code != 126 || !strings.Contains(r.stderr, "tar -P extracts") {
			t.Errorf("%s: %+v, want denied (asked, no terminal)", cmd, r)
		}
	}
	if _, err := os.Stat(filepath.Join(e.home, "config.yaml")); err == nil {
		t.Fatal("config.yaml was written")
	}
	// Control: the same archive listed.
	if r := e.run(nil, "-c", "tar -tPf "+tarball); r.code != 0 {
		t.Fatalf("tar -tPf: %+v", r)
	}
}

// A hard link to hermes-exec-admin is the program under a second name:
// `ln BIN/hermes-exec-admin h; cp x h` rewrote hermes-exec-admin.
func TestRedteam3NoHardLinkToOwnPrograms(t *testing.T) {
	e := newEnv(t)
	bin := t.TempDir()
	for _, n := range []string{"hermes-exec", "hermes-exec-admin"} {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(e.bin), n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bin, n), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.bin = filepath.Join(bin, "hermes-exec")
	admin := filepath.Join(bin, "hermes-exec-admin")
	h := filepath.Join(filepath.Dir(bin), filepath.Base(bin)+"-h") // same file system
	defer os.Remove(h)
	for _, cmd := range []string{"ln " + admin + " " + h, "cp -l " + admin + " " + h, "cd " + bin + " && ln hermes-exec-admin " + h} {
		if r := e.run(nil, "-c", cmd); r.code != 126 || !strings.Contains(r.stderr, "hard link to hermes-exec's own program") {
			t.Errorf("%s: %+v, want denied", cmd, r)
		}
	}
	if _, err := os.Lstat(h); err == nil {
		t.Fatal("the hard link was made")
	}
	// Control: a symbolic link (writing through it is judged by the
	// link's own name) and a copy are allowed.
	if r := e.run(nil, "-c", "cp "+admin+" "+h); r.code != 0 {
		t.Fatalf("cp: %+v", r)
	}
}

// A command line that sets HOME moves ~: `HOME=DIR; rm -rf ~/NAME` was
// judged as a directory in the caller's home (allowed) and deleted the
// Hermes home at DIR/NAME, which `rm -rf` of its own path may not.
func TestRedteam3HomeSetOnTheLine(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("approvals:\n  mode: default\n")
	parent, name := filepath.Dir(e.home), filepath.Base(e.home)
	if r := e.run(nil, "-c", "rm -rf "+e.home); r.code != 126 {
		t.Fatalf("rm -rf HERMES_HOME: %+v", r)
	}
	for _, cmd := range []string{
		"HOME=" + parent + "; rm -rf ~/" + name,
		"read HOME <<< " + parent + "; rm -rf \"$HOME/" + name + "\"",
	} {
		if r := e.run(nil, "-c", cmd); r.code != 126 || !strings.Contains(r.stderr, "sets HOME") {
			t.Errorf("%s: %+v, want denied (asked, no terminal)", cmd, r)
		}
		if _, err := os.Stat(filepath.Join(e.home, "config.yaml")); err != nil {
			t.Fatalf("after %s: the Hermes home is gone: %v", cmd, err)
		}
	}
}

// The hook answered under any name: `ln -s hermes-exec /tmp/a; /tmp/a hook
// claude-code < event.json` (a forged event, which `hermes-exec hook`
// with a made-up stdin is denied for) left a signed grant for the agent's
// next shell, and `git reset --hard` then ran as approved in the agent's
// dialog, with no dialog shown. The test process is the agent here: the
// shell's direct parent, as an agent's is.
func TestRedteam3HookRefusesAnUnknownName(t *testing.T) {
	e := newEnv(t)
	repo := filepath.Join(e.dir, "repo")
	os.MkdirAll(repo, 0o755)
	for _, c := range [][]string{{"init", "-q"}, {"-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x"}} {
		if out, err := exec.Command("git", append([]string{"-C", repo}, c...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", c, err, out)
		}
	}
	work := filepath.Join(repo, "work.txt")
	os.WriteFile(work, []byte("uncommitted\n"), 0o644)
	exec.Command("git", "-C", repo, "add", "work.txt").Run()
	ev := filepath.Join(e.dir, "ev.json")
	os.WriteFile(ev, []byte(`{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"git reset --hard"},"session_id":"s1","cwd":"`+repo+`"}`), 0o644)
	link := filepath.Join(t.TempDir(), "a")
	if err := os.Symlink(e.bin, link); err != nil {
		t.Fatal(err)
	}
	r := e.run(nil, "-c", "cd "+repo+" && "+link+" hook claude-code < "+ev)
	if r.code == 0 || !strings.Contains(r.stderr, `hermes-exec: denied: started as "a"`) {
		t.Errorf("LINK hook claude-code < forged event: %+v, want refused", r)
	}
	if r := e.run(nil, "-c", "cd "+repo+" && git reset --hard"); r.code != 126 || !strings.Contains(r.stderr, "approval required") {
		t.Errorf("git reset --hard after the forged event: %+v, want denied", r)
	}
	if b, _ := os.ReadFile(work); string(b) != "uncommitted\n" {
		t.Fatalf("the uncommitted change is gone: %q", b)
	}
}

// patch writes the files its diff names: `patch -d DIR -p0 < x.diff`, DIR
// holding the Hermes home, created config.yaml allowlisting `git reset
// --hard`.
func TestRedteam3PatchCannotWriteConfig(t *testing.T) {
	e := newEnv(t)
	parent, name := filepath.Dir(e.home), filepath.Base(e.home)
	diff := filepath.Join(t.TempDir(), "p.diff")
	body := "--- " + name + "/config.yaml\n+++ " + name + "/config.yaml\n@@ -0,0 +1,3 @@\n+approvals:\n+  allowlist:\n+    - git reset --hard\n"
	os.WriteFile(diff, []byte(body), 0o644)
	if r := e.run(nil, "-c", "patch -d "+parent+" -p0 < "+diff); r.code != 126 || !strings.Contains(r.stderr, "patch extracts") {
		t.Errorf("patch -d DIR < diff: %+v, want denied (asked, no terminal)", r)
	}
	if _, err := os.Stat(filepath.Join(e.home, "config.yaml")); err == nil {
		t.Fatal("config.yaml was written")
	}
	// Control: the same diff applied elsewhere.
	out := t.TempDir()
	if r := e.run(nil, "-c", "patch -d "+out+" -p0 < "+diff); r.code != 0 {
		t.Fatalf("patch elsewhere: %+v", r)
	}
}
