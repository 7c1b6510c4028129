package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A script read through a name that means "the calling process"
// (/proc/self, reached by a symlink or a path the prefix check misses):
// the supervisor would read its own file there (its stdin: /dev/null),
// find nothing to object to, and let python run the deleting code from the
// process's stdin. It must be asked about (no terminal: denied), and the
// victim kept.
func TestExecChecksAskAboutAScriptReachedThroughProcSelf(t *testing.T) {
	requireRoot(t, "the victim directory lives under /etc, a system directory to the rules")
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("/usr/bin/python3 is missing")
	}
	e := newEnv(t)
	e.writeConfig("terminal:\n  exec_checks: on\n")
	home, err := os.MkdirTemp("/etc", "hermes-exec-checks-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	victim := filepath.Join(home, "x")
	code := fmt.Sprintf("import shutil\nshutil.rmtree(%q)\n", victim)
	if err := os.WriteFile(filepath.Join(e.dir, "evil.py"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/proc/self/fd/0", filepath.Join(e.dir, "l")); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(e.dir, "l"), "/proc//self/fd/0", "/proc/net/../fd/0"} {
		t.Run(path, func(t *testing.T) {
			if err := os.MkdirAll(filepath.Join(victim, "keep"), 0o700); err != nil {
				t.Fatal(err)
			}
			r := runCmd(t, e.cmdHome(home, "-c", "/usr/bin/python3 "+path+" < evil.py"))
			if _, err := os.Stat(filepath.Join(victim, "keep")); err != nil {
				t.Fatalf("the directory was deleted: exit %d\n%s", r.code, r.stderr)
			}
			if r.code == 0 || !strings.Contains(r.stderr, "hermes-exec: denied: /usr/bin/python3 "+path) || !strings.Contains(r.stderr, "exec-check-path") {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
		})
	}
	// The same program and script by their own names still run.
	r := runCmd(t, e.cmdHome(home, "-c", "/usr/bin/python3 -c 'print(6*7)' && bash <(echo echo hi)"))
	if r.code != 0 || r.stdout != "42\nhi\n" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// In the container, a workspace symlink to /tmp/e.py names the container's
// /tmp/e.py; looked up from the host's root it named nothing, so the script
// was not read and python ran unchecked (stopped here only by the read-only
// /etc). The script must be judged (denied: no terminal) before it runs.
func TestExecChecksInTheSandboxFollowAbsoluteLinksInTheContainer(t *testing.T) {
	s, home := execSandboxEnv(t, "none")
	victim := filepath.Join(home, "x")
	if err := os.MkdirAll(filepath.Join(victim, "keep"), 0o700); err != nil {
		t.Fatal(err)
	}
	code := fmt.Sprintf("import shutil\nshutil.rmtree(%q)\n", victim)
	if err := os.WriteFile(filepath.Join(s.ws, "evil.py"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, run := range []string{"python3 l", "mkdir -p sub && cd sub && python3 ../l"} {
		t.Run(run, func(t *testing.T) {
			r := s.sh("cp evil.py /tmp/e.py && ln -sf /tmp/e.py l && " + run)
			if _, err := os.Stat(filepath.Join(victim, "keep")); err != nil {
				t.Fatalf("the directory was deleted: exit %d\n%s", r.code, r.stderr)
			}
			if strings.Contains(r.stderr, "Read-only file system") || !strings.Contains(r.stderr, "hermes-exec: denied: python3 ") ||
				!strings.Contains(r.stderr, "shutil.rmtree") {
				t.Fatalf("python ran unchecked: exit %d\n%s", r.code, r.stderr)
			}
		})
	}
	// A link to a harmless script there runs.
	r := s.sh("echo 'print(6*7)' > /tmp/ok.py && ln -sf /tmp/ok.py k && python3 k")
	if r.code != 0 || r.stdout != "42\n" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// execveatFromDetached is a program that clones the tree at argv[1]
// (open_tree: a detached mount) and runs argv[2] in it by execveat, from
// a descriptor of the file (AT_EMPTY_PATH) or relative to the tree's
// (argv[3] given). The descriptor's link reads as a path from the
// detached mount's root, which on the host names another file.
const execveatFromDetached = `#define _GNU_SOURCE
#include <unistd.h>
#include <stdio.h>
#include <fcntl.h>
#include <sys/syscall.h>
int main(int c, char **v) {
	int t = syscall(SYS_open_tree, AT_FDCWD, v[1], 1 /* OPEN_TREE_CLONE */);
	if (t < 0) { perror("open_tree"); return 1; }
	int fd = openat(t, v[2], O_PATH);
	if (fd < 0) { perror("openat"); return 1; }
	char *a[] = {"prog", 0}, *e[] = {0};
	if (c > 3) syscall(SYS_execveat, t, v[2], a, e, 0);
	else syscall(SYS_execveat, fd, "", a, e, AT_EMPTY_PATH);
	perror("execveat");
	return 1;
}
`

// The program execveat runs from a descriptor is the descriptor's file,
// not the host's file at the path its link reads as.
func TestExecChecksJudgeTheFileExecveatRuns(t *testing.T) {
	requireRoot(t, "open_tree(OPEN_TREE_CLONE) needs root; the victim lives under /etc")
	needTools(t, "cc")
	e := newEnv(t)
	e.writeConfig("terminal:\n  exec_checks: on\n")
	home, err := os.MkdirTemp("/etc", "hermes-exec-checks-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	victim := filepath.Join(home, "x")
	src := filepath.Join(e.dir, "detached.c")
	if err := os.WriteFile(src, []byte(execveatFromDetached), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cc", "-o", filepath.Join(e.dir, "detached"), src).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	// The same path in the tree and on the host: a deleting script there,
	// a harmless one here.
	tree := filepath.Join(e.dir, "tree")
	host, err := os.MkdirTemp("/tmp", "hermes-exec-at-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(host) })
	rel := strings.TrimPrefix(host, "/") + "/s.py"
	if err := os.MkdirAll(filepath.Dir(filepath.Join(tree, rel)), 0o755); err != nil {
		t.Fatal(err)
	}
	evil := fmt.Sprintf("#!/usr/bin/python3\nimport shutil\nshutil.rmtree(%q)\n", victim)
	if err := os.WriteFile(filepath.Join(tree, rel), []byte(evil), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/"+rel, []byte("#!/usr/bin/python3\nprint(1)\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, how := range []string{"", " relative"} {
		t.Run("execveat"+how, func(t *testing.T) {
			if err := os.MkdirAll(filepath.Join(victim, "keep"), 0o700); err != nil {
				t.Fatal(err)
			}
			r := runCmd(t, e.cmdHome(home, "-c", "./detached "+tree+" "+rel+how))
			if _, err := os.Stat(filepath.Join(victim, "keep")); err != nil {
				t.Fatalf("the directory was deleted: exit %d\n%s", r.code, r.stderr)
			}
			if r.code == 0 || !strings.Contains(r.stderr, "hermes-exec: denied: ") || !strings.Contains(r.stderr, "shutil.rmtree") {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
		})
	}
}
