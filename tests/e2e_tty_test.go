package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The approval prompt is on the controlling terminal even when stdin and
// stdout are pipes, which is how an agent runs its shell.

func TestPromptYesRunsOnce(t *testing.T) {
	e := newEnv(t)
	marker := filepath.Join(e.dir, "ran")
	s := e.startTTY(true, []string{"HERMES_SESSION_ID=t1"}, "-c", dangerous(marker))
	s.waitScreen("git reset --hard", 10*time.Second)
	s.send("y")
	s.wait(10 * time.Second)
	if !exists(marker) {
		t.Fatalf("approved command did not run; terminal:\n%s", s.screenText())
	}
	if rec := e.lastAudit(); rec["channel"] != "tty" || rec["decision"] != "allow" {
		t.Fatalf("audit %v", rec)
	}
	// Once means once: the same command asks again (and, without a
	// terminal, is denied).
	os.Remove(marker)
	if r := e.run([]string{"HERMES_SESSION_ID=t1"}, "-c", dangerous(marker)); r.code != 126 || exists(marker) {
		t.Fatalf("a once-approval was remembered: exit %d", r.code)
	}
}

func TestPromptNoDenies(t *testing.T) {
	e := newEnv(t)
	marker := filepath.Join(e.dir, "ran")
	s := e.startTTY(true, nil, "-c", dangerous(marker))
	s.waitScreen("git reset --hard", 10*time.Second)
	s.send("n")
	if code := s.wait(10 * time.Second); code != 126 {
		t.Fatalf("exit %d, want 126", code)
	}
	if exists(marker) {
		t.Fatal("denied command ran")
	}
	if !strings.Contains(s.outText(), "hermes-exec: denied: ") {
		t.Fatalf("stderr lacks the denial line: %q", s.outText())
	}
}

func TestPromptEnterDoesNotApprove(t *testing.T) {
	e := newEnv(t)
	marker := filepath.Join(e.dir, "ran")
	s := e.startTTY(true, nil, "-c", dangerous(marker))
	s.waitScreen("git reset --hard", 10*time.Second)
	s.send("\r\r x")
	time.Sleep(300 * time.Millisecond)
	if exists(marker) {
		t.Fatal("Enter or a stray key approved the command")
	}
	s.send("n")
	s.wait(10 * time.Second)
}

func TestPromptSessionIsRemembered(t *testing.T) {
	e := newEnv(t)
	marker := filepath.Join(e.dir, "ran")
	sess := []string{"HERMES_SESSION_ID=sess-42"}
	s := e.startTTY(true, sess, "-c", dangerous(marker))
	s.waitScreen("git reset --hard", 10*time.Second)
	s.send("s")
	s.wait(10 * time.Second)
	if !exists(marker) {
		t.Fatal("session-approved command did not run")
	}
	os.Remove(marker)
	// Same session, no terminal: runs without asking.
	e.run(sess, "-c", dangerous(marker))
	if !exists(marker) {
		t.Fatal("session approval was not remembered")
	}
	if rec := e.lastAudit(); rec["channel"] != "session" {
		t.Fatalf("audit channel %v, want session", rec["channel"])
	}
	// Another session does not inherit it.
	os.Remove(marker)
	if r := e.run([]string{"HERMES_SESSION_ID=other"}, "-c", dangerous(marker)); r.code != 126 || exists(marker) {
		t.Fatalf("another session ran it: exit %d", r.code)
	}
}

func TestPromptAlwaysAddsToAllowlist(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("# my settings\napprovals:\n  # keep this comment\n  timeout: 300\n")
	marker := filepath.Join(e.dir, "ran")
	s := e.startTTY(true, nil, "-c", "git reset --hard")
	s.waitScreen("git reset --hard", 10*time.Second)
	s.send("a")
	s.wait(10 * time.Second)
	cfg, _ := os.ReadFile(filepath.Join(e.home, "config.yaml"))
	if !strings.Contains(string(cfg), "git reset --hard") || !strings.Contains(string(cfg), "# keep this comment") || !strings.Contains(string(cfg), "# my settings") {
		t.Fatalf("config.yaml after always:\n%s", cfg)
	}
	if fi, _ := os.Stat(filepath.Join(e.home, "config.yaml")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("config.yaml mode %v", fi.Mode())
	}
	// Now allowed without a terminal, but only that command.
	if r := e.run(nil, "-c", "git reset --hard"); r.code == 126 {
		t.Fatalf("allowlisted command denied: %q", r.stderr)
	}
	if r := e.run(nil, "-c", "git reset --hard; touch "+marker+"; git clean -fdx"); r.code != 126 || exists(marker) {
		t.Fatalf("the allowlist let another command through: exit %d", r.code)
	}
}

func TestPromptTimeoutDenies(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("approvals:\n  timeout: 1\n")
	marker := filepath.Join(e.dir, "ran")
	start := time.Now()
	s := e.startTTY(true, nil, "-c", dangerous(marker))
	s.waitScreen("git reset --hard", 10*time.Second)
	if code := s.wait(15 * time.Second); code != 126 {
		t.Fatalf("exit %d, want 126", code)
	}
	if exists(marker) {
		t.Fatal("timed-out command ran")
	}
	if time.Since(start) < time.Second {
		t.Fatal("denied before the timeout ran out")
	}
	if rec := e.lastAudit(); rec["decision"] != "deny" {
		t.Fatalf("audit %v", rec)
	}
}

func TestCommandGetsATerminalWhenCallerHasOne(t *testing.T) {
	e := newEnv(t)
	s := e.startTTY(false, nil, "-c", `test -t 0 && test -t 1 && echo "TTY $(stty size)"; exit 4`)
	if code := s.wait(10 * time.Second); code != 4 {
		t.Fatalf("exit %d, want 4; terminal:\n%s", code, s.screenText())
	}
	// The wrapper has exited; what it wrote may still be on its way from
	// the terminal's master side.
	s.waitScreen("TTY 40 120", 10*time.Second)
}
