package shim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hermes-exec/policy"
)

func sampleRecord(i int) Record {
	code := i % 3
	return Record{
		Time:     time.Date(2026, 1, 2, 3, 4, 5, i, time.UTC),
		Session:  "s1",
		User:     "me",
		Cwd:      "/work",
		Command:  fmt.Sprintf("echo %d", i),
		Decision: "allow",
		Verdict:  "ask",
		Findings: []policy.Finding{{Rule: "delete-recursive", Description: "deletes a lot", Command: "rm -rf x", Pos: "1:1", Decision: policy.Ask}},
		Approver: "me",
		Channel:  "tty",
		Backend:  "host",
		Exit:     &code,
	}
}

func TestAppendWritesOneJSONLinePerRecord(t *testing.T) {
	a := Audit{Path: filepath.Join(t.TempDir(), "home", "audit.jsonl")}
	never := Record{Command: "rm -rf /", Decision: "deny", Verdict: "deny", Channel: "policy", Reason: "too dangerous", Backend: "host"}
	if err := a.Append(sampleRecord(1)); err != nil {
		t.Fatal(err)
	}
	if err := a.Append(never); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a genesis line and 2 records, got %d lines:\n%s", len(lines), b)
	}
	if !strings.HasPrefix(lines[0], `{"seq":0,"prev":"","chain":{"kind":"genesis","nonce":"`) {
		t.Fatalf("first line is not a genesis record: %s", lines[0])
	}
	lines = lines[1:]
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &m); err != nil {
		t.Fatal(err)
	}
	// A command that never ran has "exit": null and "findings": [], and
	// gets a timestamp even if the caller gave none.
	if v, ok := m["exit"]; !ok || v != nil {
		t.Fatalf("exit = %v (present %v), want null", v, ok)
	}
	if f, ok := m["findings"].([]any); !ok || len(f) != 0 {
		t.Fatalf("findings = %#v, want []", m["findings"])
	}
	if m["time"] == "0001-01-01T00:00:00Z" || m["time"] == nil {
		t.Fatalf("time not set: %v", m["time"])
	}
	if _, ok := m["session"]; ok {
		t.Fatal("empty session should be omitted")
	}
	for _, k := range []string{"user", "cwd", "command", "decision", "verdict", "backend", "duration_ms"} {
		if _, ok := m[k]; !ok {
			t.Errorf("field %q missing", k)
		}
	}
	var first map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	if first["decision"] != "allow" || first["exit"] != float64(1) || first["findings"].([]any)[0].(map[string]any)["decision"] != "ask" {
		t.Fatalf("first record wrong: %s", lines[0])
	}
}

func TestAppendModesAndDirectory(t *testing.T) {
	home := filepath.Join(t.TempDir(), "hermes")
	a := Audit{Path: filepath.Join(home, "audit.jsonl")}
	if err := a.Append(sampleRecord(1)); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(home); st.Mode().Perm() != 0o700 {
		t.Fatalf("HERMES_HOME mode %v", st.Mode().Perm())
	}
	if st, _ := os.Stat(a.Path); st.Mode().Perm() != 0o600 {
		t.Fatalf("audit.jsonl mode %v", st.Mode().Perm())
	}
	// A log someone made world-readable is narrowed again.
	if err := os.Chmod(a.Path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.Append(sampleRecord(2)); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(a.Path); st.Mode().Perm() != 0o600 {
		t.Fatalf("audit.jsonl mode %v after append, want 0600", st.Mode().Perm())
	}
}

// Append redacts even when the caller forgot to.
func TestAppendRedacts(t *testing.T) {
	t.Setenv("HERMES_TEST_API_KEY", "value-from-env-123")
	a := Audit{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	r := sampleRecord(1)
	r.Command = "curl -H 'Authorization: Bearer abcdefgh12345' -d value-from-env-123 https://x"
	r.Findings[0].Command = "echo value-from-env-123"
	r.Reason = "denied: GITHUB_TOKEN=ghp_123456789012345678901234 leaked"
	if err := a.Append(r); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(a.Path)
	for _, leak := range []string{"abcdefgh12345", "value-from-env-123", "ghp_1234"} {
		if bytes.Contains(b, []byte(leak)) {
			t.Errorf("secret %q reached the log: %s", leak, b)
		}
	}
}

func TestConcurrentAppendsFromGoroutines(t *testing.T) {
	a := Audit{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	const workers, each = 16, 50
	big := strings.Repeat("x", 8000) // several pages: a torn write would show
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := sampleRecord(w*each + i)
				r.Cwd = big
				if err := a.Append(r); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	checkLog(t, a.Path, workers*each)
}

// TestAuditHelperProcess is not a test: it is the body of the writer
// processes started by TestConcurrentAppendsFromProcesses, and returns at
// once when run normally.
func TestAuditHelperProcess(t *testing.T) {
	path := os.Getenv("HERMES_AUDIT_HELPER_PATH")
	if path == "" {
		return
	}
	n, _ := strconv.Atoi(os.Getenv("HERMES_AUDIT_HELPER_N"))
	max, _ := strconv.ParseInt(os.Getenv("HERMES_AUDIT_HELPER_MAX"), 10, 64)
	id := os.Getenv("HERMES_AUDIT_HELPER_ID")
	big := strings.Repeat("y", 5000)
	for i := range n {
		r := sampleRecord(i)
		r.Cwd = big
		if id != "" {
			r.Command = fmt.Sprintf("echo %s-%d", id, i)
		}
		if err := (Audit{Path: path, MaxSize: max}).Append(r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(0)
}

func TestConcurrentAppendsFromProcesses(t *testing.T) {
	a := Audit{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	const procs, each = 6, 100
	var cmds []*exec.Cmd
	for range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAuditHelperProcess$")
		cmd.Env = append(os.Environ(), "HERMES_AUDIT_HELPER_PATH="+a.Path, "HERMES_AUDIT_HELPER_N="+strconv.Itoa(each))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for i := range each {
		if err := a.Append(sampleRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("writer process: %v", err)
		}
	}
	checkLog(t, a.Path, (procs+1)*each)
}

// Writer processes that rotate the log between them (a small size limit)
// lose no record, and leave a chain and an anchor that verify: every
// record is in exactly one file.
func TestConcurrentRotationsFromProcesses(t *testing.T) {
	dir := t.TempDir()
	a := Audit{Path: filepath.Join(dir, "audit.jsonl"), MaxSize: 30000}
	const procs, each = 5, 60
	var cmds []*exec.Cmd
	for p := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAuditHelperProcess$")
		cmd.Env = append(os.Environ(), "HERMES_AUDIT_HELPER_PATH="+a.Path, "HERMES_AUDIT_HELPER_N="+strconv.Itoa(each),
			"HERMES_AUDIT_HELPER_MAX="+strconv.FormatInt(a.MaxSize, 10), "HERMES_AUDIT_HELPER_ID="+strconv.Itoa(p))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("writer process: %v", err)
		}
	}
	rep, err := a.Verify()
	if err != nil || !rep.OK() {
		t.Fatalf("chain or anchor broken by concurrent writers: %v %v", err, rep.Problems)
	}
	if rep.Anchor == nil || len(rep.Files) < 10 {
		t.Fatalf("anchor %+v, %d files: the log did not rotate", rep.Anchor, len(rep.Files))
	}
	checkEachRecordOnce(t, dir, rep, procs*each)
}

// checkLog asserts the exact line count and that every line is a whole
// record.
func checkLog(t *testing.T, path string, want int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n, line := 0, 0
	for sc.Scan() {
		line++
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d is not valid JSON: %v", line, err)
		}
		if r.Chain != nil {
			continue
		}
		n++
		if r.Decision != "allow" || len(r.Findings) != 1 {
			t.Fatalf("line %d is not a whole record", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("%d lines, want %d", n, want)
	}
	// Concurrent writers never fork the chain: each read the last
	// record under the lock it appended under.
	rep, err := (Audit{Path: path}).Verify()
	if err != nil || !rep.OK() {
		t.Fatalf("chain broken by concurrent writers: %v %v", err, rep.Problems)
	}
}

func TestTail(t *testing.T) {
	a := Audit{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	if rs, err := a.Tail(5); err != nil || rs != nil {
		t.Fatalf("missing log: %v %v", rs, err)
	}
	for i := range 300 {
		r := sampleRecord(i)
		r.Cwd = strings.Repeat("z", 500) // 300 records span several read chunks
		if err := a.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []int{1, 3, 150, 299, 300} {
		rs, err := a.Tail(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != n {
			t.Fatalf("Tail(%d) gave %d records", n, len(rs))
		}
		for i, r := range rs {
			if want := fmt.Sprintf("echo %d", 300-n+i); r.Command != want {
				t.Fatalf("Tail(%d)[%d] = %q, want %q", n, i, r.Command, want)
			}
		}
	}
	for _, n := range []int{0, -1, 1000} {
		rs, err := a.Tail(n)
		if err != nil || len(rs) != 300 || rs[0].Command != "echo 0" || rs[299].Command != "echo 299" {
			t.Fatalf("Tail(%d): %d records, %v", n, len(rs), err)
		}
	}
	if rs, _ := a.Tail(1); rs[0].Exit == nil || *rs[0].Exit != 299%3 || rs[0].Findings[0].Decision != policy.Ask {
		t.Fatalf("fields not decoded: %+v", rs[0])
	}
}

func TestTailReportsCorruptLineByNumber(t *testing.T) {
	a := Audit{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	for i := range 5 {
		if err := a.Append(sampleRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.OpenFile(a.Path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("{\"time\":\"2026-01-01T00:00:00Z\",\"decis\n") // a damaged line: line 7 (after the genesis and 5 records)
	f.Close()
	if err := a.Append(sampleRecord(6)); err != nil { // line 8
		t.Fatal(err)
	}
	// The damaged line is outside the last record: not read, no error.
	if rs, err := a.Tail(1); err != nil || len(rs) != 1 {
		t.Fatalf("Tail(1): %v %v", rs, err)
	}
	for _, n := range []int{2, 0} {
		_, err := a.Tail(n)
		if err == nil || !strings.Contains(err.Error(), a.Path+":7:") {
			t.Fatalf("Tail(%d): want an error naming line 7, got %v", n, err)
		}
	}
	// A blank line is damage too.
	b := Audit{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	b.Append(sampleRecord(1))
	os.WriteFile(b.Path, append(must(os.ReadFile(b.Path)), '\n'), 0o600)
	b.Append(sampleRecord(2))
	if _, err := b.Tail(0); err == nil || !strings.Contains(err.Error(), ":3:") {
		t.Fatalf("blank line: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func BenchmarkAppend(b *testing.B) {
	a := Audit{Path: filepath.Join(b.TempDir(), "audit.jsonl")}
	r := sampleRecord(1)
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Append(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTail20(b *testing.B) {
	a := Audit{Path: filepath.Join(b.TempDir(), "audit.jsonl")}
	for i := range 20000 {
		a.Append(sampleRecord(i))
	}
	for b.Loop() {
		if _, err := a.Tail(20); err != nil {
			b.Fatal(err)
		}
	}
}
