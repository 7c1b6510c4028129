package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The agent replacing its own shell (redteam F4): with the README's recipe
// (a `bash` link to hermes-exec first on PATH), `ln -sf /bin/bash` over
// the link made every later `bash -c` the real bash, unchecked. The link,
// and hermes-exec's own programs next to it, are now self-disabling to
// write: denied, and the link still is hermes-exec afterwards.
func TestAgentCannotReplaceItsOwnShell(t *testing.T) {
	e := newEnv(t)
	// A copy of the programs of its own: a failure here must not replace
	// the binaries the other tests run.
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
	lib := t.TempDir()
	link := filepath.Join(lib, "bash")
	if err := os.Symlink(e.bin, link); err != nil {
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

	// As the agent runs it: `bash -c CMD` from PATH, no terminal.
	bash := func(cmd string) result {
		c := exec.Command("bash", "-c", cmd)
		c.Path = link
		c.Dir = repo
		c.Env = append(e.baseEnv(), "PATH="+lib+":/usr/bin:/bin")
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		return runCmd(t, c)
	}
	if r := bash("git reset --hard"); r.code != 126 || !strings.Contains(r.stderr, "approval required") {
		t.Fatalf("git reset --hard before: %+v", r)
	}
	for _, cmd := range []string{
		"ln -sf /bin/bash " + link,
		"rm " + link,
		"cp /bin/bash " + filepath.Join(filepath.Dir(e.bin), "hermes-exec"),
		"cp /bin/true " + filepath.Join(filepath.Dir(e.bin), "hermes-exec-admin"),
		"cd " + filepath.Dir(e.bin) + " && ln -sf /bin/true hermes-exec-admin",
	} {
		r := bash(cmd)
		if r.code != 126 || !strings.Contains(r.stderr, "hermes-exec's own program") {
			t.Errorf("%s: %+v, want denied (self-disable-write)", cmd, r)
		}
	}
	if dest, err := os.Readlink(link); err != nil || dest != e.bin {
		t.Fatalf("the link now points at %q (%v), want %s", dest, err, e.bin)
	}
	for _, n := range []string{"hermes-exec", "hermes-exec-admin"} {
		p := filepath.Join(filepath.Dir(e.bin), n)
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() || fi.Size() < 1<<20 {
			t.Fatalf("%s was replaced: %v %v", p, fi, err)
		}
	}
	// And the shell is still hermes-exec: the reset still needs a human.
	if r := bash("git reset --hard"); r.code != 126 || !strings.Contains(r.stderr, "approval required") {
		t.Fatalf("git reset --hard after: %+v", r)
	}
	if b, _ := os.ReadFile(work); string(b) != "uncommitted\n" {
		t.Fatalf("the uncommitted change is gone: %q", b)
	}
	// Control: another program in the same directory stays writable.
	if r := bash("ln -sf /bin/true " + filepath.Join(lib, "mytool")); r.code != 0 {
		t.Fatalf("ln of another program: %+v", r)
	}
}

// An archive extracted over the home (redteam F3) replaced config.yaml
// with one that allowlists `git reset --hard`. Now it asks (denied with
// no terminal), and the reset still needs a human; an extraction
// elsewhere stays allowed.
func TestArchiveOverHomeCannotReplaceConfig(t *testing.T) {
	e := newEnv(t)
	home := t.TempDir()
	hh := filepath.Join(home, ".hermes")
	os.MkdirAll(hh, 0o700)
	e.home = hh
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, ".hermes"), 0o755)
	os.WriteFile(filepath.Join(src, ".hermes", "config.yaml"), []byte("approvals:\n  allowlist:\n    - git reset --hard\n"), 0o644)
	tarball := filepath.Join(t.TempDir(), "a.tar")
	if out, err := exec.Command("tar", "-C", src, "-cf", tarball, ".hermes").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	withHome := []string{"HOME=" + home}
	for _, cmd := range []string{"tar -xf " + tarball + " -C ~", "cd ~ && tar xf " + tarball} {
		if r := e.run(withHome, "-c", cmd); r.code != 126 || !strings.Contains(r.stderr, "holds the Hermes home") {
			t.Errorf("%s: %+v, want denied (asked, no terminal)", cmd, r)
		}
	}
	if _, err := os.Stat(filepath.Join(hh, "config.yaml")); err == nil {
		t.Fatal("config.yaml was replaced")
	}
	if r := e.run(withHome, "-c", "git reset --hard"); r.code != 126 || !strings.Contains(r.stderr, "approval required") {
		t.Fatalf("git reset --hard after: %+v", r)
	}
	out := t.TempDir()
	if r := e.run(withHome, "-c", "tar -xf "+tarball+" -C "+out); r.code != 0 {
		t.Fatalf("extraction elsewhere: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(out, ".hermes", "config.yaml")); err != nil {
		t.Fatalf("extraction elsewhere did not happen: %v", err)
	}
}
