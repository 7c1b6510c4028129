package shim

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"hermes-exec/policy"

	"github.com/creack/pty"
)

func TestSessionApprovals(t *testing.T) {
	s := Sessions{Dir: filepath.Join(t.TempDir(), "hermes", "sessions")}
	const id, key = "sess-1", "rm -rf ./build && curl -H 'Authorization: Bearer sekrit' x"
	if s.Approved(id, key) {
		t.Fatal("approved before anything was stored")
	}
	if err := s.Approve(id, key); err != nil {
		t.Fatal(err)
	}
	if !s.Approved(id, key) {
		t.Fatal("approval not remembered")
	}
	if s.Approved(id, key+" ") || s.Approved(id, "rm -rf ./build") {
		t.Fatal("a different command counts as approved")
	}
	if s.Approved("sess-2", key) {
		t.Fatal("an approval leaked into another session")
	}
	// Approving twice stores it once.
	if err := s.Approve(id, key); err != nil {
		t.Fatal(err)
	}
	ls, err := s.List()
	if err != nil || len(ls) != 1 || ls[0].Approvals != 1 || ls[0].ID != id {
		t.Fatalf("List: %+v %v", ls, err)
	}
	// The command text is not stored: it may hold secrets.
	b, err := os.ReadFile(filepath.Join(s.Dir, id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "sekrit") || strings.Contains(string(b), "rm -rf") {
		t.Fatalf("command text stored: %s", b)
	}
	if st, _ := os.Stat(filepath.Join(s.Dir, id+".json")); st.Mode().Perm() != 0o600 {
		t.Fatalf("session file mode %v", st.Mode().Perm())
	}
	if st, _ := os.Stat(s.Dir); st.Mode().Perm() != 0o700 {
		t.Fatalf("sessions dir mode %v", st.Mode().Perm())
	}
}

func TestNoSessionRemembersNothing(t *testing.T) {
	s := Sessions{Dir: t.TempDir()}
	if err := s.Approve("", "ls"); err == nil {
		t.Fatal("approving without a session id must fail")
	}
	if err := s.SetYolo("", true); err == nil {
		t.Fatal("yolo without a session id must fail")
	}
	if s.Approved("", "ls") || s.Yolo("") {
		t.Fatal("the empty session has state")
	}
	if err := (Sessions{}).Approve("x", "ls"); err == nil {
		t.Fatal("no directory must fail")
	}
}

func TestSessionYolo(t *testing.T) {
	s := Sessions{Dir: t.TempDir()}
	if s.Yolo("a") {
		t.Fatal("yolo on by default")
	}
	if err := s.SetYolo("a", true); err != nil {
		t.Fatal(err)
	}
	if !s.Yolo("a") || s.Yolo("b") {
		t.Fatal("yolo switch wrong")
	}
	if err := s.Approve("a", "k"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetYolo("a", false); err != nil {
		t.Fatal(err)
	}
	if s.Yolo("a") || !s.Approved("a", "k") {
		t.Fatal("turning yolo off lost approvals or stayed on")
	}
	if err := s.Remove("a"); err != nil {
		t.Fatal(err)
	}
	if s.Approved("a", "k") {
		t.Fatal("Remove kept approvals")
	}
	if err := s.Remove("a"); err != nil {
		t.Fatal("removing a missing session:", err)
	}
}

// Session ids come from the environment; none may name a file outside the
// sessions directory, and ids that map to hashed names stay distinct.
func TestSessionIDsStayInsideDir(t *testing.T) {
	root := t.TempDir()
	s := Sessions{Dir: filepath.Join(root, "sessions")}
	ids := []string{"../../escape", "/etc/passwd", ".hidden", "a/b", "", "x\x00y", strings.Repeat("l", 200), "sha256-abc", "ok-id_1.2"}
	for _, id := range ids[:4] {
		if err := s.Approve(id, "k"); err != nil {
			t.Fatal(err)
		}
		if !s.Approved(id, "k") {
			t.Fatalf("%q not approved", id)
		}
	}
	for _, id := range ids[5:] {
		if err := s.Approve(id, "k"); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := os.ReadDir(root)
	if len(ents) != 1 || ents[0].Name() != "sessions" {
		t.Fatalf("files created outside the sessions dir: %v", ents)
	}
	ls, err := s.List()
	if err != nil || len(ls) != 8 {
		t.Fatalf("List: %d sessions, %v", len(ls), err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "ok-id_1.2.json")); err != nil {
		t.Fatal("a plain id should keep a readable file name")
	}
}

// Damaged state is never trusted, is reported by List, and is replaced by
// the next write.
func TestDamagedSessionFile(t *testing.T) {
	s := Sessions{Dir: t.TempDir()}
	if err := s.SetYolo("x", true); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(s.Dir, "x.json")
	os.WriteFile(p, []byte(`{"id":"x","yolo":tr`), 0o600)
	if s.Yolo("x") {
		t.Fatal("a damaged file turned yolo on")
	}
	// A file claiming another id is not trusted either.
	os.WriteFile(p, []byte(`{"id":"other","yolo":true}`), 0o600)
	if s.Yolo("x") {
		t.Fatal("a file for another id was trusted")
	}
	if _, err := s.List(); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("List did not report %s: %v", p, err)
	}
	if err := s.Approve("x", "k"); err != nil {
		t.Fatal(err)
	}
	if !s.Approved("x", "k") || s.Yolo("x") {
		t.Fatal("state after rewrite is wrong")
	}
}

func TestConcurrentSessionApprovals(t *testing.T) {
	s := Sessions{Dir: t.TempDir()}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Approve("shared", fmt.Sprintf("cmd %d", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range 30 {
		if !s.Approved("shared", fmt.Sprintf("cmd %d", i)) {
			t.Fatalf("approval %d lost", i)
		}
	}
}

func TestSessionIDFromEnvironment(t *testing.T) {
	t.Setenv("HERMES_SESSION_ID", "hermes-abc")
	if got := SessionID(); got != "hermes-abc" {
		t.Fatalf("SessionID() = %q", got)
	}
}

// TestSessionIDHelperProcess is not a test: it prints SessionID() for
// TestSessionIDFromTerminal and returns at once when run normally.
func TestSessionIDHelperProcess(t *testing.T) {
	if os.Getenv("HERMES_SESSION_HELPER") == "" {
		return
	}
	fmt.Printf("pid=%d id=%s\n", os.Getpid(), SessionID())
	os.Exit(0)
}

func TestSessionIDFromTerminal(t *testing.T) {
	run := func(ctty *os.File) (pid int, id string) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSessionIDHelperProcess$")
		cmd.Env = append(os.Environ(), "HERMES_SESSION_HELPER=1", "HERMES_SESSION_ID=")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if ctty != nil {
			cmd.Stdin = ctty
			cmd.SysProcAttr.Setctty = true
			cmd.SysProcAttr.Ctty = 0
		}
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		line := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
		if _, err := fmt.Sscanf(line, "pid=%d id=", &pid); err != nil {
			t.Fatalf("helper said %q", out)
		}
		_, id, _ = strings.Cut(line, " id=")
		return pid, id
	}
	// A new session without a terminal has no session id.
	if _, id := run(nil); id != "" {
		t.Fatalf("without a terminal: %q, want \"\"", id)
	}
	// A session leader with a controlling terminal: tty-<its pid>-<start>.
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer slave.Close()
	pid, id := run(slave)
	prefix := "tty-" + strconv.Itoa(pid) + "-"
	if !strings.HasPrefix(id, prefix) {
		t.Fatalf("with a terminal: %q, want prefix %q", id, prefix)
	}
	if _, err := strconv.ParseUint(strings.TrimPrefix(id, prefix), 10, 64); err != nil {
		t.Fatalf("start time part of %q: %v", id, err)
	}
}

func BenchmarkApprovedMissing(b *testing.B) {
	s := Sessions{Dir: b.TempDir()}
	for b.Loop() {
		s.Approved("no-such-session", "ls -la")
	}
}

func BenchmarkApprovedHit(b *testing.B) {
	s := Sessions{Dir: b.TempDir()}
	for i := range 50 {
		s.Approve("sess", fmt.Sprintf("cmd %d", i))
	}
	for b.Loop() {
		if !s.Approved("sess", "cmd 49") {
			b.Fatal("not approved")
		}
	}
}

func BenchmarkSessionID(b *testing.B) {
	b.Setenv("HERMES_SESSION_ID", "")
	for b.Loop() {
		SessionID()
	}
}

// Session approvals are keyed by the dangerous commands, not by the text
// agents wrap them in (fresh temporary paths every time).
func TestSessionKeyIgnoresTheWrapper(t *testing.T) {
	c, err := policy.NewClassifier(policy.Rules{})
	if err != nil {
		t.Fatal(err)
	}
	claude := func(tmp string) string {
		return "source /home/u/.claude/shell-snapshots/snapshot-bash-1.sh 2>/dev/null || true && eval 'git push --force origin main' < /dev/null && pwd -P >| /tmp/claude-" + tmp + "-cwd"
	}
	hermes := "source /tmp/hermes-snap-9.sh; builtin cd -- /work || exit 126; eval 'git push --force origin main'; __ec=$?; export -p > /tmp/hermes-snap-9.sh; pwd -P > /tmp/hermes-cwd-9; exit $__ec"
	k1, k2, k3 := SessionKey(c.Classify(claude("ab12"))), SessionKey(c.Classify(claude("cd34"))), SessionKey(c.Classify(hermes))
	if k1 != k2 || k1 != k3 {
		t.Fatalf("the same dangerous command has different keys:\n%q\n%q\n%q", k1, k2, k3)
	}
	if k := SessionKey(c.Classify("git push --force origin other")); k == k1 {
		t.Fatal("another command has the same key")
	}
	if k := SessionKey(c.Classify("git push --force origin main; git reset --hard")); k == k1 {
		t.Fatal("a second dangerous command shares the key of the first")
	}
	// A dynamic command cannot be recognised again: the key is the text.
	v := c.Classify(`$cmd --force`)
	if SessionKey(v) != v.Key {
		t.Fatal("a dynamic command got an argv key")
	}
	s := Sessions{Dir: t.TempDir()}
	if err := s.Approve("s", k1); err != nil || !s.Approved("s", k3) {
		t.Fatalf("approving under one wrapper does not cover the other: %v", err)
	}
}
