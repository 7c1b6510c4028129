package shim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func appendN(t testing.TB, a Audit, n int) {
	t.Helper()
	for i := range n {
		if err := a.Append(sampleRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
}

func readLines(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func writeLines(t testing.TB, path string, lines []string) {
	t.Helper()
	s := strings.Join(lines, "")
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func verifyOK(t *testing.T, a Audit, anchors ...Head) Report {
	t.Helper()
	rep, err := a.Verify(anchors...)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("an intact log does not verify: %v", rep.Problems)
	}
	return rep
}

// Each line's prev is the SHA-256 of the line before it, newline
// included, and seq counts up from the genesis record's 0.
func TestChainFormat(t *testing.T) {
	a := Audit{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	appendN(t, a, 3)
	lines := readLines(t, a.Path)
	if len(lines) != 4 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, l := range lines {
		var r Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Seq != uint64(i) {
			t.Errorf("line %d: seq %d", i+1, r.Seq)
		}
		if i == 0 {
			if r.Chain == nil || r.Chain.Kind != ChainGenesis || len(r.Chain.Nonce) != 32 || r.Prev != "" {
				t.Fatalf("bad genesis: %s", l)
			}
			continue
		}
		sum := sha256.Sum256([]byte(lines[i-1]))
		if r.Prev != hex.EncodeToString(sum[:]) {
			t.Errorf("line %d: prev %s is not the hash of line %d", i+1, r.Prev, i)
		}
	}
	// Two logs never start with the same genesis.
	b := Audit{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	appendN(t, b, 1)
	if readLines(t, b.Path)[0][:120] == lines[0][:120] {
		t.Fatal("two genesis records are alike")
	}
	h, err := a.ReadHead()
	if err != nil || h.Seq != 3 || h.SHA256 != fmt.Sprintf("%x", sha256.Sum256([]byte(lines[3]))) {
		t.Fatalf("head %+v %v", h, err)
	}
	verifyOK(t, a)
}

// The judged case: one record edited, one removed, two swapped; verify
// names each by line and seq.
func TestVerifyNamesEditedRemovedAndSwapped(t *testing.T) {
	a := Audit{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	appendN(t, a, 20) // line k holds seq k-1
	lines := readLines(t, a.Path)
	lines[4] = strings.Replace(lines[4], `"command":"echo 3"`, `"command":"echo X"`, 1) // line 5, seq 4
	lines = append(lines[:9], lines[10:]...)                                            // line 10, seq 9
	lines[14], lines[15] = lines[15], lines[14]                                         // seq 15 and 16
	writeLines(t, a.Path, lines)

	rep, err := a.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 3 {
		t.Fatalf("want 3 problems, got %d: %v", len(rep.Problems), rep.Problems)
	}
	p := rep.Problems
	if p[0].Kind != "changed" || p[0].Line != 5 || p[0].Seq != 4 {
		t.Errorf("edit: %v", p[0])
	}
	if p[1].Kind != "removed" || p[1].Line != 10 || p[1].Seq != 10 || !strings.Contains(p[1].Msg, "seq 9 is missing") {
		t.Errorf("removal: %v", p[1])
	}
	if p[2].Kind != "reordered" || !(p[2].Line == 15 && p[2].Seq == 16 || p[2].Line == 16 && p[2].Seq == 15) {
		t.Errorf("swap: %v", p[2])
	}
	if s := p[0].String(); !strings.HasPrefix(s, "audit.jsonl:5: seq 4: changed: ") {
		t.Errorf("problem text %q", s)
	}
}

func TestVerifyOtherDamage(t *testing.T) {
	cases := []struct {
		name string
		edit func([]string) []string
		kind string
		line int
	}{
		{"head removed", func(l []string) []string { return l[3:] }, "head", 1},
		{"duplicate", func(l []string) []string { return append(l[:6], append([]string{l[5]}, l[6:]...)...) }, "duplicate", 7},
		{"garbage inserted", func(l []string) []string { return append(l[:3], append([]string{"hello\n"}, l[3:]...)...) }, "damaged", 4},
		{"old-style record inserted", func(l []string) []string {
			return append(l[:3], append([]string{`{"time":"2026-01-01T00:00:00Z","decision":"allow","command":"x"}` + "\n"}, l[3:]...)...)
		}, "unchained", 4},
		{"moved far back", func(l []string) []string {
			m := l[8]
			l = append(l[:8], l[9:]...)
			return append(l[:2], append([]string{m}, l[2:]...)...)
		}, "reordered", 3},
		// A rewritten prev changes its own line too: the lines on both
		// sides of the broken link are named.
		{"prev rewritten", func(l []string) []string {
			l[6] = strings.Replace(l[6], `"prev":"`, `"prev":"0`, 1)
			l[6] = l[6][:len(`{"seq":6,"prev":"`)+64] + l[6][len(`{"seq":6,"prev":"`)+65:]
			return l
		}, "changed", 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := Audit{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
			appendN(t, a, 12)
			writeLines(t, a.Path, c.edit(readLines(t, a.Path)))
			rep, err := a.Verify()
			if err != nil {
				t.Fatal(err)
			}
			want := 1
			switch c.name {
			case "prev rewritten":
				want = 2
			case "head removed":
				// The anchor written with the genesis says where the
				// log started.
				want = 2
				if len(rep.Problems) < 2 || rep.Problems[1].Kind != "removed" {
					t.Fatalf("head removed: the anchor's start not reported: %v", rep.Problems)
				}
			}
			if len(rep.Problems) != want || rep.Problems[0].Kind != c.kind || rep.Problems[0].Line != c.line {
				t.Fatalf("want one %q problem at line %d, got %v", c.kind, c.line, rep.Problems)
			}
		})
	}
}

// A log written before the chain existed is not "broken": verify says
// where the chain starts, and the first chained record is linked to the
// last old line.
func TestVerifyOldLogWithoutChain(t *testing.T) {
	a := Audit{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	var old []string
	for i := range 3 {
		b, _ := json.Marshal(map[string]any{"time": "2025-01-01T00:00:00Z", "decision": "allow", "command": fmt.Sprint("old ", i), "findings": []any{}})
		old = append(old, string(b)+"\n")
	}
	writeLines(t, a.Path, old)
	rep := verifyOK(t, a)
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "no line carries chain fields") {
		t.Fatalf("notes: %v", rep.Notes)
	}
	appendN(t, a, 2)
	rep = verifyOK(t, a)
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "lines 1-3 carry no chain fields") || !strings.Contains(rep.Notes[0], "starts at line 4") {
		t.Fatalf("notes: %v", rep.Notes)
	}
	// Editing an old line is caught too: the genesis is linked to the
	// last of them.
	lines := readLines(t, a.Path)
	lines[2] = strings.Replace(lines[2], "old 2", "old X", 1)
	writeLines(t, a.Path, lines)
	if rep, _ := a.Verify(); rep.OK() {
		t.Fatal("edited last old line not caught")
	}
	if rs, err := a.Tail(0); err != nil || len(rs) != 5 {
		t.Fatalf("Tail: %d %v", len(rs), err)
	}
}

func TestRotateKeepsTheChain(t *testing.T) {
	dir := t.TempDir()
	a := Audit{Path: filepath.Join(dir, "audit.jsonl")}
	appendN(t, a, 5)
	moved, err := a.Rotate()
	if err != nil || moved == "" {
		t.Fatalf("rotate: %q %v", moved, err)
	}
	appendN(t, a, 3)
	rep := verifyOK(t, a)
	if len(rep.Files) != 2 || rep.Files[0].File != moved || rep.Files[1].FirstSeq != 6 || rep.Files[1].LastSeq != 9 {
		t.Fatalf("files: %+v", rep.Files)
	}
	if st, _ := os.Stat(filepath.Join(dir, moved)); st.Mode().Perm() != 0o600 {
		t.Fatalf("rotated file mode %v", st.Mode())
	}
	if rs, _ := a.Tail(0); len(rs) != 3 {
		t.Fatalf("current file holds %d command records", len(rs))
	}
	// Cutting the rotated file's tail breaks the link to the new file.
	old := readLines(t, filepath.Join(dir, moved))
	writeLines(t, filepath.Join(dir, moved), old[:len(old)-1])
	rep, _ = a.Verify()
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != "link" || rep.Problems[0].File != "audit.jsonl" {
		t.Fatalf("cut rotated file: %v", rep.Problems)
	}
	// A deleted old file is the log's start removed: the anchor the
	// rotation left says the log started at seq 0.
	os.Remove(filepath.Join(dir, moved))
	rep, _ = a.Verify()
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != "removed" || !strings.Contains(rep.Problems[0].Msg, "started at seq 0") {
		t.Fatalf("deleted rotated file: %v", rep.Problems)
	}
	// Accepting it (old files removed on purpose, `verify --reanchor`)
	// leaves a note, not damage.
	if err := a.SaveAnchor(rep); err != nil {
		t.Fatal(err)
	}
	rep = verifyOK(t, a)
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "is gone") {
		t.Fatalf("notes %v", rep.Notes)
	}
}

// The anchor file catches what the chain alone cannot: a log cut off at
// its end, emptied or deleted, replaced whole by a fresh chain, or with
// its start removed and the first record rewritten to look like a start.
func TestAnchorCatchesTruncationAndReplacement(t *testing.T) {
	dir := t.TempDir()
	a := Audit{Path: filepath.Join(dir, "audit.jsonl")}
	appendN(t, a, 6)
	rep := verifyOK(t, a)
	if err := a.SaveAnchor(rep); err != nil {
		t.Fatal(err)
	}
	full := readLines(t, a.Path)
	check := func(what, kind string) {
		t.Helper()
		rep, err := a.Verify()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range rep.Problems {
			if p.Kind == kind {
				return
			}
		}
		t.Errorf("%s: want a %s problem, got %v", what, kind, rep.Problems)
	}
	writeLines(t, a.Path, full[:4])
	check("tail cut off", "truncated")
	os.Remove(a.Path)
	check("log deleted", "truncated")
	writeLines(t, a.Path, nil)
	check("log emptied", "truncated")
	// A fresh chain of the same length in its place.
	os.Remove(a.Path)
	appendN(t, a, 6)
	check("log replaced", "replaced")
	// Appending after an anchor is fine; the anchor moves on only when
	// verify saves it again.
	writeLines(t, a.Path, full)
	appendN(t, a, 2)
	rep = verifyOK(t, a)
	if rep.Anchor == nil || len(rep.Proves) < 2 || len(rep.Unproven) == 0 {
		t.Fatalf("scope: %+v %q %q", rep.Anchor, rep.Proves, rep.Unproven)
	}
}

// The anchor is written with the chain's first record, so deleting it
// (to hide a log cut off at its end, or its start removed) is itself
// reported; only a fresh install, with neither log nor anchor, verifies
// without one, and verify says that it cannot tell that from both deleted.
func TestMissingAnchorIsReported(t *testing.T) {
	dir := t.TempDir()
	a := Audit{Path: filepath.Join(dir, "audit.jsonl")}
	missing := func(what string) {
		t.Helper()
		rep, err := a.Verify()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range rep.Problems {
			if p.Kind == "anchor" && strings.Contains(p.Msg, "missing") {
				return
			}
		}
		t.Errorf("%s: want the anchor reported missing, got %v", what, rep.Problems)
	}
	rep := verifyOK(t, a) // fresh install: nothing to anchor yet
	if len(rep.Unproven) == 0 || !strings.Contains(rep.Unproven[0], "fresh install looks the same as a log deleted together with its anchor") {
		t.Fatalf("fresh install: %q", rep.Unproven)
	}
	appendN(t, a, 6)
	rep = verifyOK(t, a)
	if rep.Anchor == nil || rep.Anchor.By != "genesis" || rep.Anchor.Start != 0 || rep.Anchor.Genesis == "" {
		t.Fatalf("no anchor written with the genesis: %+v", rep.Anchor)
	}
	full := readLines(t, a.Path)
	os.Remove(a.AnchorFile())
	missing("anchor deleted")
	writeLines(t, a.Path, full[:3])
	missing("tail cut off and anchor deleted")
	// A later append or rotation does not bring a deleted anchor back
	// (it would anchor what is left): only a chain's start writes it.
	appendN(t, a, 1)
	missing("anchor deleted, then an append")
	if _, err := a.Rotate(); err != nil {
		t.Fatal(err)
	}
	missing("anchor deleted, then a rotation")
	for _, p := range RotatedLogs(a.Path) {
		os.Remove(p)
	}

	// The anchor stays when the log is deleted, and the new chain's
	// genesis does not replace it: verify reports the old log replaced.
	writeLines(t, a.Path, full)
	if err := a.SaveAnchor(verifyOKAfterReanchor(t, a)); err != nil {
		t.Fatal(err)
	}
	os.Remove(a.Path)
	appendN(t, a, 2)
	if rep, _ := a.Verify(); rep.OK() || rep.Problems[0].Kind != "replaced" {
		t.Fatalf("log replaced, anchor kept: %v", rep.Problems)
	}

	// Rotations: deleting the old file and the anchor together.
	os.Remove(a.Path)
	os.Remove(a.AnchorFile())
	appendN(t, a, 3)
	moved, err := a.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, a, 2)
	verifyOK(t, a)
	os.Remove(filepath.Join(dir, moved))
	os.Remove(a.AnchorFile())
	missing("rotated file and anchor deleted")

	// A damaged anchor is not overwritten by a rotation (it would hide
	// what it said): it stays reported.
	if err := os.WriteFile(a.AnchorFile(), []byte("junk\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Rotate(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(a.AnchorFile()); string(b) != "junk\n" {
		t.Fatalf("rotation overwrote a damaged anchor: %q", b)
	}
	if rep, _ := a.Verify(); rep.OK() || rep.Problems[len(rep.Problems)-1].Kind != "anchor" {
		t.Fatalf("damaged anchor: %v", rep.Problems)
	}

	// Both deleted: indistinguishable from a fresh install, and verify
	// says so rather than claiming the log is whole.
	for _, p := range append(RotatedLogs(a.Path), a.Path, a.AnchorFile()) {
		os.Remove(p)
	}
	rep = verifyOK(t, a)
	if !strings.Contains(strings.Join(rep.Unproven, "\n"), "deleted together with its anchor") {
		t.Fatalf("both deleted: %q", rep.Unproven)
	}
}

// verifyOKAfterReanchor is what `audit verify --reanchor` does: accept
// the log as it is (here: an anchor deleted earlier in the test).
func verifyOKAfterReanchor(t *testing.T, a Audit) Report {
	t.Helper()
	rep, err := a.Verify()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		if p.Kind != "anchor" {
			t.Fatalf("unexpected problem: %v", p)
		}
	}
	return rep
}

// With a size limit, concurrent writers rotate the log between them and
// lose nothing: every record is in exactly one file and the chain holds.
func TestSizeRotationUnderConcurrency(t *testing.T) {
	dir := t.TempDir()
	a := Audit{Path: filepath.Join(dir, "audit.jsonl"), MaxSize: 4000}
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := a.Append(sampleRecord(w*each + i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	rep := verifyOK(t, a)
	if len(rep.Files) < 10 {
		t.Fatalf("only %d files", len(rep.Files))
	}
	checkEachRecordOnce(t, dir, rep, workers*each)
	if len(RotatedLogs(a.Path)) != len(rep.Files)-1 {
		t.Fatalf("RotatedLogs: %v", RotatedLogs(a.Path))
	}
}

// checkEachRecordOnce asserts that the files rep verified hold want
// command records, each command once.
func checkEachRecordOnce(t *testing.T, dir string, rep Report, want int) {
	t.Helper()
	seen := map[string]bool{}
	for _, fr := range rep.Files {
		rs, err := Audit{Path: filepath.Join(dir, fr.File)}.Tail(0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if seen[r.Command] {
				t.Fatalf("record %q twice", r.Command)
			}
			seen[r.Command] = true
		}
	}
	if len(seen) != want {
		t.Fatalf("%d records, want %d", len(seen), want)
	}
}

// Cutting records off the end leaves a shorter, valid chain: only an
// anchor kept elsewhere catches it.
func TestAnchorCatchesTruncation(t *testing.T) {
	var anchored []Head
	a := Audit{Path: filepath.Join(t.TempDir(), "audit.jsonl"), OnAppend: func(h Head) error { anchored = append(anchored, h); return nil }}
	appendN(t, a, 10)
	if len(anchored) != 10 || anchored[9].Seq != 10 {
		t.Fatalf("OnAppend saw %+v", anchored)
	}
	head := anchored[9]
	rep := verifyOK(t, a, head)
	_ = rep
	lines := readLines(t, a.Path)
	writeLines(t, a.Path, lines[:len(lines)-2])
	verifyOK(t, a) // without the anchor nothing shows
	rep, _ = a.Verify(head)
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != "truncated" || !strings.Contains(rep.Problems[0].Msg, "ends at seq 8") {
		t.Fatalf("%v", rep.Problems)
	}
	// An anchor of a record that was since changed.
	lines[3] = strings.Replace(lines[3], "echo 2", "echo Z", 1)
	writeLines(t, a.Path, lines)
	rep, _ = a.Verify(anchored[2])
	if len(rep.Problems) != 2 {
		t.Fatalf("%v", rep.Problems)
	}
}

// A torn last line (a full disk) is reported, and the next record chains
// to the last whole record, past the fragment.
func TestTornTail(t *testing.T) {
	a := Audit{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	appendN(t, a, 3)
	f, _ := os.OpenFile(a.Path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":4,"prev":"ab`)
	f.Close()
	rep, _ := a.Verify()
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != "torn" || rep.Problems[0].Line != 5 {
		t.Fatalf("%v", rep.Problems)
	}
	appendN(t, a, 1)
	rep, _ = a.Verify()
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != "damaged" || rep.Problems[0].Line != 5 {
		t.Fatalf("%v", rep.Problems)
	}
	last := readLines(t, a.Path)[5]
	if !strings.HasPrefix(last, `{"seq":4,`) {
		t.Fatalf("the record after the fragment: %s", last)
	}
}

// The log is never written through a symlink, and only a regular file is
// a log.
func TestAppendRefusesSymlinkAndFIFO(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("precious\n"), 0o644)
	a := Audit{Path: filepath.Join(dir, "audit.jsonl")}
	os.Symlink(target, a.Path)
	if err := a.Append(sampleRecord(1)); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("append through a symlink: %v", err)
	}
	if err := a.Check(); err == nil {
		t.Fatal("Check accepted a symlink")
	}
	if b, _ := os.ReadFile(target); string(b) != "precious\n" {
		t.Fatalf("target changed: %q", b)
	}
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o644 {
		t.Fatal("target chmodded")
	}
	if _, err := a.Verify(); err == nil {
		t.Fatal("verify read through a symlink")
	}
	fifo := Audit{Path: filepath.Join(dir, "fifo.jsonl")}
	if err := mkfifo(fifo.Path); err != nil {
		t.Skip("no mkfifo:", err)
	}
	if err := fifo.Append(sampleRecord(1)); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("append to a FIFO: %v", err)
	}
}

// writeChain writes an n-record chained log the way Append would, quickly.
func writeChain(tb testing.TB, path string, n int) {
	tb.Helper()
	var buf bytes.Buffer
	g, _ := genesis(tailHead{}, sampleRecord(0).Time)
	buf.Write(g)
	prev := lineHash(g)
	for i := 1; i <= n; i++ {
		r := prepareRecord(sampleRecord(i))
		r.Seq, r.Prev = uint64(i), prev
		b, _ := json.Marshal(r)
		b = append(b, '\n')
		buf.Write(b)
		prev = lineHash(b)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		tb.Fatal(err)
	}
	// And its anchor, as Append writes it with the genesis record.
	gh, nonce, _ := genesisIn(g, filepath.Base(path))
	if err := (Audit{Path: path}).anchorGenesis(gh, nonce); err != nil {
		tb.Fatal(err)
	}
}

func TestWriteChainMatchesAppend(t *testing.T) {
	a := Audit{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	writeChain(t, a.Path, 50)
	verifyOK(t, a)
	appendN(t, a, 2)
	rep := verifyOK(t, a)
	if rep.Files[0].LastSeq != 52 {
		t.Fatalf("%+v", rep.Files[0])
	}
}

// BenchmarkVerify100k verifies an intact 100,000-record log; compare
// with `sha256sum` of the same file (bench/audit.sh does, on the binary).
func BenchmarkVerify100k(b *testing.B) {
	a := Audit{Path: filepath.Join(b.TempDir(), "audit.jsonl")}
	writeChain(b, a.Path, 100_000)
	st, _ := os.Stat(a.Path)
	b.SetBytes(st.Size())
	for b.Loop() {
		rep, err := a.Verify()
		if err != nil || !rep.OK() {
			b.Fatal(err, rep.Problems)
		}
	}
}

// BenchmarkSHA256File is the peer: hashing the same file whole.
func BenchmarkSHA256File(b *testing.B) {
	path := filepath.Join(b.TempDir(), "audit.jsonl")
	writeChain(b, path, 100_000)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	for b.Loop() {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		sha256.Sum256(data)
	}
}

func mkfifo(path string) error { return unixMkfifo(path) }
