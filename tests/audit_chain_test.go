package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func (e *env) auditLines() []string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.home, "audit.jsonl"))
	if err != nil {
		e.t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	return lines[:len(lines)-1] // the text after the final newline is empty
}

// Commands run through the binary make a chain that verifies; one record
// edited, one removed and two swapped are each named by line and seq, and
// verify exits 1.
func TestAuditVerifyOnTheBinary(t *testing.T) {
	e := newEnv(t)
	for i := range 12 {
		if r := e.run(nil, "-c", fmt.Sprintf("echo cmd-%d", i)); r.code != 0 {
			t.Fatalf("%+v", r)
		}
	}
	if r := e.run(nil, "audit", "verify"); r.code != 0 || !strings.Contains(r.stdout, "intact") {
		t.Fatalf("intact log: %+v", r)
	}
	lines := e.auditLines()
	n := len(lines)
	// Find the seq of each line.
	seqOf := func(l string) int {
		var m struct{ Seq int }
		json.Unmarshal([]byte(l), &m)
		return m.Seq
	}
	edited, removed := 3, 6 // 1-based line numbers in the original
	lines[edited-1] = strings.Replace(lines[edited-1], `"exit":0`, `"exit":1`, 1)
	removedSeq := seqOf(lines[removed-1])
	lines = append(lines[:removed-1], lines[removed:]...)
	a, b := n-4, n-3 // 1-based, after the removal
	swapSeqs := []int{seqOf(lines[a-1]), seqOf(lines[b-1])}
	lines[a-1], lines[b-1] = lines[b-1], lines[a-1]
	os.WriteFile(filepath.Join(e.home, "audit.jsonl"), []byte(strings.Join(lines, "")), 0o600)

	r := e.run(nil, "audit", "verify")
	if r.code != 1 {
		t.Fatalf("verify of a tampered log: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		fmt.Sprintf("audit.jsonl:%d: seq %d: changed:", edited, edited-1),
		fmt.Sprintf("seq %d is missing", removedSeq),
		"reordered:",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("verify output lacks %q:\n%s", want, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, fmt.Sprintf("seq %d: reordered", swapSeqs[0])) && !strings.Contains(r.stderr, fmt.Sprintf("seq %d: reordered", swapSeqs[1])) {
		t.Errorf("the swapped pair (seq %v) is not named:\n%s", swapSeqs, r.stderr)
	}
	if got := strings.Count(r.stderr, "\n"); got != 3 {
		t.Logf("stdout: %s", r.stdout)
		t.Errorf("want exactly 3 problems, got %d:\n%s", got, r.stderr)
	}
	// doctor reports the broken chain as an error.
	d := e.run(nil, "doctor")
	if d.code != 1 || !strings.Contains(d.stdout, "error  audit") {
		t.Errorf("doctor on a broken chain:\n%s", d.stdout)
	}
}

// An old log without chain fields is not "broken"; a head kept elsewhere
// catches a cut tail; rotation keeps the chain.
func TestAuditOldLogAnchorAndRotate(t *testing.T) {
	e := newEnv(t)
	old := `{"time":"2025-01-01T00:00:00Z","user":"me","cwd":"/","command":"ls","decision":"allow","verdict":"allow","findings":[],"backend":"host","exit":0,"duration_ms":1}` + "\n"
	os.WriteFile(filepath.Join(e.home, "audit.jsonl"), []byte(old+old), 0o600)
	e.run(nil, "-c", "true")
	r := e.run(nil, "audit", "verify")
	if r.code != 0 || !strings.Contains(r.stdout, "lines 1-2 carry no chain fields") || !strings.Contains(r.stdout, "starts at line 3") {
		t.Fatalf("old log: %+v", r)
	}
	e.run(nil, "-c", "true")
	head := strings.TrimSpace(e.run(nil, "audit", "head").stdout)
	last := e.auditLines()[len(e.auditLines())-1]
	sum := sha256.Sum256([]byte(last))
	if !strings.HasSuffix(head, ":"+hex.EncodeToString(sum[:])) {
		t.Fatalf("audit head %q is not the last line's SHA-256", head)
	}
	if r := e.run(nil, "audit", "rotate"); r.code != 0 || !strings.Contains(r.stdout, "rotated") {
		t.Fatalf("rotate: %+v", r)
	}
	e.run(nil, "-c", "true")
	if r := e.run(nil, "audit", "verify", "--anchor", head); r.code != 0 || !strings.Contains(r.stdout, "2 file(s)") {
		t.Fatalf("verify across the rotation: %+v", r)
	}
	// Cut the current file's tail: a shorter chain, caught by an anchor of
	// the newest head.
	e.run(nil, "-c", "true")
	newest := strings.TrimSpace(e.run(nil, "audit", "head").stdout)
	lines := e.auditLines()
	os.WriteFile(filepath.Join(e.home, "audit.jsonl"), []byte(strings.Join(lines[:len(lines)-1], "")), 0o600)
	if r := e.run(nil, "audit", "verify"); r.code != 0 {
		t.Fatalf("without an anchor a cut tail verifies (documented): %+v", r)
	}
	if r := e.run(nil, "audit", "verify", "--anchor", newest); r.code != 1 || !strings.Contains(r.stderr, "truncated") {
		t.Fatalf("anchor did not catch the cut tail: %+v", r)
	}
	if r := e.run(nil, "audit", "verify", "--anchor", "nonsense"); r.code != 64 {
		t.Fatalf("bad anchor: %+v", r)
	}
}

// 100,000 records verify (the time is measured by bench/audit.sh and
// BenchmarkVerify100k, not here).
func TestAuditVerifyLargeLog(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 100,000-record log")
	}
	e := newEnv(t)
	writeChainedLog(t, filepath.Join(e.home, "audit.jsonl"), 100_000)
	// A chained log without its anchor (as one written before anchoring
	// existed) is reported until a human accepts it.
	r := e.run(nil, "audit", "verify")
	if r.code != 1 || !strings.Contains(r.stderr, "anchor: missing") || !strings.Contains(r.stderr, "--reanchor") {
		t.Fatalf("chained log without an anchor: %+v", r)
	}
	if r := e.run(nil, "audit", "verify", "--reanchor"); r.code != 1 {
		t.Fatalf("--reanchor still reports what it accepts: %+v", r)
	}
	r = e.run(nil, "audit", "verify")
	if r.code != 0 || !strings.Contains(r.stdout, "100001 chained records") {
		t.Fatalf("%+v", r)
	}
	if r := e.run(nil, "audit", "--tail", "3"); r.code != 0 || strings.Count(r.stdout, "\n") != 4 {
		t.Fatalf("tail of a large log: %+v", r)
	}
}

// writeChainedLog writes a log in the documented format, independently of
// the package that writes it: seq from 0, prev = SHA-256 of the previous
// line with its newline.
func writeChainedLog(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := `{"seq":0,"prev":"","chain":{"kind":"genesis","nonce":"00112233445566778899aabbccddeeff"},"time":"2026-01-01T00:00:00Z","user":"me","cwd":"/","command":"","decision":"","verdict":"","findings":[],"backend":"","exit":null,"duration_ms":0}` + "\n"
	buf := []byte(line)
	for i := 1; i <= n; i++ {
		sum := sha256.Sum256([]byte(line))
		line = fmt.Sprintf(`{"seq":%d,"prev":"%s","time":"2026-01-01T00:00:00Z","session":"s1","user":"me","cwd":"/home/me/project","command":"git status && make test -j4 # %d","decision":"allow","verdict":"allow","findings":[],"channel":"policy","backend":"host","exit":0,"duration_ms":12.5}`+"\n", i, hex.EncodeToString(sum[:]), i)
		buf = append(buf, line...)
	}
	if _, err := f.Write(buf); err != nil {
		t.Fatal(err)
	}
}

// `audit --tail` shows command text with control characters escaped: a
// command cannot erase or repaint its own line.
func TestAuditTailEscapesControlCharacters(t *testing.T) {
	e := newEnv(t)
	e.run(nil, "-c", "true # \x1b[2K\x1b[1Ahidden\rfake \u202e")
	r := e.run(nil, "audit", "--tail", "1")
	if strings.ContainsAny(r.stdout, "\x1b\r\u202e") {
		t.Fatalf("raw control characters in audit --tail: %q", r.stdout)
	}
	if !strings.Contains(r.stdout, `\x1b[2K\x1b[1Ahidden\rfake \u202e`) {
		t.Fatalf("escapes not shown: %q", r.stdout)
	}
}
