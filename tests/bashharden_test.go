package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The exact script form's private layout can be changed by any process of
// the same user. These tests play that process deterministically, with a
// `bash` (terminal.shell) that changes the layout on its way to the real
// bash, and check that the unchecked text never runs: not its commands,
// not a command substitution in its first statement.

// evilFirst is text another process might put in place of the checked
// copy: its first statement sets what the trap once used as its guard and
// runs a command substitution before any trap of a plain script could run.
func evilFirst(dir string) string {
	return "for _ in ${__hermes_exec_w=} $(touch " + filepath.Join(dir, "m1") + "); do :; done\ntouch " + filepath.Join(dir, "m2") + "\necho UNCHECKED-RAN\n"
}

// swappingShell writes a bash wrapper that runs sh code and then the real
// bash, and makes it e's terminal.shell.
func swappingShell(t *testing.T, e *env, code string) {
	t.Helper()
	shellDir := filepath.Join(filepath.Dir(e.dir), "shell")
	os.MkdirAll(shellDir, 0o755)
	os.WriteFile(filepath.Join(shellDir, "bash"), []byte("#!/bin/sh\n"+code+"\n"), 0o755)
	e.writeConfig("terminal:\n  shell: " + filepath.Join(shellDir, "bash") + "\n")
	if e.uid != 0 {
		chownTree(t, e.home)
		chownTree(t, shellDir)
	}
}

func noMarkers(t *testing.T, dir string) {
	t.Helper()
	for _, m := range []string{"m1", "m2", "m3"} {
		if _, err := os.Stat(filepath.Join(dir, m)); err == nil {
			t.Errorf("the unchecked text ran (%s exists)", m)
		}
	}
}

// The layout's name swapped to another file before bash opens it: the
// prelude's check just before the open denies, and nothing of the other
// file runs.
func TestBashSourceLayoutSwappedBeforeTheOpen(t *testing.T) {
	asWho(t, func(t *testing.T, e *env) {
		evil := filepath.Join(filepath.Dir(e.dir), "evil.sh")
		os.WriteFile(evil, []byte(evilFirst(e.dir)), 0o755)
		// bash starts in the layout's start directory; open is beside it.
		swappingShell(t, e, "ln -sfn "+evil+" \"$PWD/../open/x.sh\" || exit 99\nexec bash \"$@\"")
		os.WriteFile(filepath.Join(e.dir, "x.sh"), []byte("echo checked\n"), 0o755)
		if e.uid != 0 {
			chownTree(t, e.dir)
			os.Chown(evil, nobodyUID, nobodyGID)
		}
		r := e.run(nil, "./x.sh")
		if r.code != 126 || r.stdout != "" || r.stderr != "hermes-exec: denied: ./x.sh does not lead to the checked copy of the script (changed by another process)\n" {
			t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
		noMarkers(t, e.dir)
	})
}

// The swap lands after the prelude's check, just before bash opens the
// name (the race a concurrent process can still win): the DEBUG trap
// denies before anything of the other file runs, whatever its first
// statement does with expansions, and also when that statement puts the
// checked copy at bash's script descriptor for a compound command.
func TestBashSourceTrapCannotBeSkipped(t *testing.T) {
	asWho(t, func(t *testing.T, e *env) {
		evil := filepath.Join(filepath.Dir(e.dir), "evil.sh")
		evil2 := filepath.Join(filepath.Dir(e.dir), "evil2.sh")
		os.WriteFile(evil, []byte(evilFirst(e.dir)), 0o755)
		// The copy is the first of hermes-exec's sealed files, two below
		// the prelude.
		os.WriteFile(evil2, []byte("{ touch "+filepath.Join(e.dir, "m3")+"; echo UNCHECKED-RAN; } 255<\"${ORIG%/*}/$(( ${ORIG##*/} - 2 ))\"\n"), 0o755)
		mod := filepath.Join(filepath.Dir(e.dir), "shell", "prelude.sh")
		// The prelude as it is, but with the swap in place of its check
		// of the name (what winning the race amounts to).
		swappingShell(t, e, "export ORIG=\"$BASH_ENV\"\n"+
			"sed -e '/^\\[\\[ .* -ef .* ]] || /d' -e \"/^builtin cd -- '.*\\/open' || /a ln -sfn $EVIL ./x.sh\" \"$BASH_ENV\" > "+mod+" || exit 99\n"+
			"grep -q '^ln -sfn' "+mod+" || exit 98\n"+
			"BASH_ENV="+mod+" exec bash \"$@\"")
		os.WriteFile(filepath.Join(e.dir, "x.sh"), []byte("echo checked\n"), 0o755)
		if e.uid != 0 {
			chownTree(t, e.dir)
			chownTree(t, filepath.Dir(mod))
			os.Chown(evil, nobodyUID, nobodyGID)
			os.Chown(evil2, nobodyUID, nobodyGID)
		}
		for _, ev := range []string{evil, evil2} {
			r := e.run([]string{"EVIL=" + ev}, "./x.sh")
			if r.code != 126 || r.stdout != "" || !strings.HasSuffix(r.stderr, "hermes-exec: denied: bash did not open the checked copy of the script\n") {
				t.Fatalf("%s: exit %d stdout %q stderr %q", filepath.Base(ev), r.code, r.stdout, r.stderr)
			}
			noMarkers(t, e.dir)
		}
	})
}

// While a human is asked, the layout does not exist yet: a process of the
// same user finds nothing to swap, and after "once" the checked text runs.
func TestBashSourceNoLayoutWhileAsked(t *testing.T) {
	asWho(t, func(t *testing.T, e *env) {
		e.writeConfig("approvals:\n  timeout: 20\n")
		if e.uid != 0 {
			chownTree(t, e.home)
		}
		g := e.startGateway()
		alice := g.pairedClient("alice")
		name := fmt.Sprintf("asked%d.sh", time.Now().UnixNano())
		os.WriteFile(filepath.Join(e.dir, name), []byte("echo checked; git reset --hard 2>/dev/null; exit 0\n"), 0o755)
		if e.uid != 0 {
			chownTree(t, e.dir)
		}
		done := e.background(nil, "./"+name)
		req := g.waitRequests(alice, 1)[0]
		for _, parent := range []string{"/dev/shm", os.TempDir()} {
			if m, _ := filepath.Glob(filepath.Join(parent, "hermes-exec-name-*", "open", name)); len(m) != 0 {
				t.Errorf("the layout exists while the human is asked: %v", m)
			}
		}
		if st := g.api(alice, "POST", "/api/v1/requests/"+req.ID+"/decision", `{"decision":"once"}`, nil); st != 200 {
			t.Fatalf("approve: %d", st)
		}
		if r := waitResult(t, done, 20*time.Second); r.code != 0 || r.stdout != "checked\n" {
			t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
}

// bash puts the script at its highest free descriptor below 256 (or the
// descriptor limit); descriptors the caller left open above it are no
// reason to deny.
func TestBashSourceInheritedHighDescriptors(t *testing.T) {
	asWho(t, func(t *testing.T, e *env) {
		os.WriteFile(filepath.Join(e.dir, "ok.sh"), []byte("echo \"ok $0 ${BASH_SOURCE[0]}\"\n"), 0o755)
		if e.uid != 0 {
			chownTree(t, e.dir)
		}
		for _, how := range []string{"255</dev/null", "100</dev/null 39</dev/null; ulimit -n 40"} {
			r := e.realBash(e.dir, nil, "-c", "exec "+how+"; exec "+e.bin+" ./ok.sh")
			if r.code != 0 || r.stdout != "ok ./ok.sh ./ok.sh\n" {
				t.Errorf("%s: exit %d stdout %q stderr %q", how, r.code, r.stdout, r.stderr)
			}
		}
	})
}

// A layout left by a hermes-exec that was killed is collected by the next
// one of the same user; layouts of live processes and of other users stay,
// and nothing is followed out of a stale layout.
func TestBashSourceStaleLayoutsCollected(t *testing.T) {
	asWho(t, func(t *testing.T, e *env) {
		os.WriteFile(filepath.Join(e.dir, "slp.sh"), []byte("sleep 30\n"), 0o755)
		os.WriteFile(filepath.Join(e.dir, "ok.sh"), []byte("echo ok\n"), 0o755)
		victim := filepath.Join(e.dir, "victim")
		os.Mkdir(victim, 0o755)
		os.WriteFile(filepath.Join(victim, "keep"), nil, 0o644)
		if e.uid != 0 {
			chownTree(t, e.dir)
		}
		c := e.cmd(nil, "./slp.sh")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		pid := c.Process.Pid
		var layout []string
		for i := 0; i < 100 && len(layout) == 0; i++ {
			time.Sleep(50 * time.Millisecond)
			layout, _ = filepath.Glob("/dev/shm/hermes-exec-name-" + strconv.Itoa(pid) + "-*")
		}
		if len(layout) != 1 {
			c.Process.Kill()
			c.Wait()
			t.Fatalf("no layout named with the process id %d: %v", pid, layout)
		}
		c.Process.Signal(syscall.SIGKILL)
		c.Wait()
		// A dead process's id for the planted layouts.
		dead := exec.Command("true")
		dead.Run()
		deadPID := strconv.Itoa(dead.Process.Pid)
		own := "/dev/shm/hermes-exec-name-" + deadPID + "-planted" + strconv.Itoa(int(e.uid))
		other := "/dev/shm/hermes-exec-name-" + deadPID + "-other" + strconv.Itoa(int(e.uid))
		os.Mkdir(own, 0o700)
		os.Symlink(victim, filepath.Join(own, "open"))
		os.Mkdir(other, 0o700)
		otherUID := nobodyUID
		if e.uid != 0 {
			otherUID = 0
			os.Chown(own, nobodyUID, nobodyGID)
			os.Lchown(filepath.Join(own, "open"), nobodyUID, nobodyGID)
		}
		os.Chown(other, otherUID, 0)
		defer os.RemoveAll(other)
		defer os.RemoveAll(own)
		if _, err := os.Stat(layout[0]); err != nil {
			t.Fatalf("the killed run's layout is already gone: %v", err)
		}
		if r := e.run(nil, "./ok.sh"); r.code != 0 || r.stdout != "ok\n" {
			t.Fatalf("exit %d %q %q", r.code, r.stdout, r.stderr)
		}
		for _, gone := range []string{layout[0], own} {
			if _, err := os.Lstat(gone); err == nil {
				t.Errorf("%s was not collected", gone)
			}
		}
		if _, err := os.Stat(other); err != nil {
			t.Errorf("another user's layout was removed: %v", err)
		}
		if _, err := os.Stat(filepath.Join(victim, "keep")); err != nil {
			t.Errorf("a symlink in a stale layout was followed: %v", err)
		}
	})
}

// As root an absolute name is pinned in a mount namespace right before
// bash starts; a file renamed over the name in the shared directory in the
// instant after (here: by the shell on its way to bash) would be what bash
// opens. The prelude's check before the open denies it.
func TestBashSourcePinnedNameRenamedAsRoot(t *testing.T) {
	requireRoot(t, "the name is pinned in a mount namespace")
	e := newEnv(t)
	p := filepath.Join(e.dir, "x.sh")
	evil := filepath.Join(e.dir, "evil.sh")
	os.WriteFile(evil, []byte(evilFirst(e.dir)), 0o755)
	// The rename happens in the test's own mount namespace, where the
	// name is no mount point.
	swappingShell(t, e, "nsenter --mount=/proc/"+strconv.Itoa(os.Getpid())+"/ns/mnt -- mv -f "+evil+" "+p+" || exit 99\nexec bash \"$@\"")
	os.WriteFile(p, []byte("echo checked\n"), 0o755)
	r := e.run(nil, p)
	if r.code != 126 || r.stdout != "" || r.stderr != "hermes-exec: denied: "+p+" does not lead to the checked copy of the script (changed by another process)\n" {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	noMarkers(t, e.dir)
}
