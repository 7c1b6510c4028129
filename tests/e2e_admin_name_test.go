package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The classifier knows hermes-exec's self-disabling subcommands by the
// program's name. A link to hermes-exec-admin (or to hermes-exec, which
// hands subcommands on to it) under a name it does not know would pass
// `yolo on` unjudged (red-team F8): the subcommands refuse to run so, and
// approvals stay on. Under its own name, from anywhere, it works.
func TestSubcommandsRefuseAnUnknownName(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("approvals:\n  mode: default\n")
	dir := t.TempDir()
	admin := filepath.Join(filepath.Dir(e.bin), "hermes-exec-admin")
	for _, target := range []string{admin, e.bin} {
		link := filepath.Join(dir, "a")
		os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		c := e.cmd([]string{"HERMES_SESSION_ID=agent-f8"}, "yolo", "on")
		c.Path, c.Args[0] = link, link
		r := runCmd(t, c)
		if r.code != 126 || !strings.Contains(r.stderr, `hermes-exec: denied: started as "a"`) {
			t.Errorf("%s as a: yolo on: %d %q %q", filepath.Base(target), r.code, r.stdout, r.stderr)
		}
	}
	// argv[0] made to say hermes-exec (`exec -a hermes-exec /tmp/a`, an
	// interpreter's execv) does not pass: the file exec'd is the link.
	for _, target := range []string{admin, e.bin} {
		link := filepath.Join(dir, "b")
		os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		c := e.cmd([]string{"HERMES_SESSION_ID=agent-f8"}, "yolo", "on")
		c.Path, c.Args[0] = link, "hermes-exec"
		r := runCmd(t, c)
		if r.code != 126 || !strings.Contains(r.stderr, `hermes-exec: denied: started as "b"`) {
			t.Errorf("%s as b, argv[0] hermes-exec: yolo on: %d %q %q", filepath.Base(target), r.code, r.stdout, r.stderr)
		}
	}
	// The same through the shell, as an agent would write it.
	r := e.run([]string{"HERMES_SESSION_ID=agent-f8"}, "-c", "exec -a hermes-exec "+filepath.Join(dir, "b")+" yolo on")
	if r.code != 126 || !strings.Contains(r.stderr, `started as "b"`) {
		t.Errorf("exec -a hermes-exec LINK yolo on: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// Approvals are still on for that session: a dangerous command with
	// no terminal is denied.
	if r := e.run([]string{"HERMES_SESSION_ID=agent-f8"}, "-c", "git push --force"); r.code != 126 {
		t.Errorf("after the refused yolo on, git push --force: %d %q", r.code, r.stderr)
	}
	// A link under the program's own name works.
	own := filepath.Join(dir, "hermes-exec-admin")
	if err := os.Symlink(admin, own); err != nil {
		t.Fatal(err)
	}
	c := e.cmd([]string{"HERMES_SESSION_ID=agent-f8"}, "yolo", "status")
	c.Path, c.Args[0] = own, own
	if r := runCmd(t, c); r.code != 0 || !strings.Contains(r.stdout, "yolo off for session agent-f8") {
		t.Errorf("hermes-exec-admin yolo status through a link of its own name: %d %q %q", r.code, r.stdout, r.stderr)
	}
}
