package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Red-team: the agent removes the evidence. Cutting records off the end of
// the audit log, deleting it, or deleting the rotated file that holds its
// start all leave a chain that is valid as far as it goes; the anchor
// (audit.anchor, written with the genesis, by an intact verify and at each
// rotation) makes `audit verify` report them, and its deletion, and verify
// says what it cannot prove.
func TestRedteamStrippedAuditChainIsReported(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 5; i++ {
		if r := e.run(nil, "-c", "true"); r.code != 0 {
			t.Fatalf("%+v", r)
		}
	}
	log := filepath.Join(e.home, "audit.jsonl")
	verify := func(what string, wantOK bool, want string) {
		t.Helper()
		r := e.run(nil, "audit", "verify")
		if ok := r.code == 0; ok != wantOK || !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("%s: audit verify exit %d, want ok=%v and %q\n%s%s", what, r.code, wantOK, want, r.stdout, r.stderr)
		}
	}
	verify("intact", true, "cannot prove:")
	full, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(full), "\n")
	os.WriteFile(log, []byte(strings.Join(lines[:len(lines)-4], "")), 0o600)
	verify("tail cut off", false, "truncated")
	os.Remove(log)
	verify("log deleted", false, "truncated")
	os.WriteFile(log, full, 0o600)
	verify("restored", true, "intact")

	// Rotate, keep writing, then delete the rotated file: the log's start.
	if r := e.run(nil, "audit", "rotate"); r.code != 0 {
		t.Fatalf("rotate: %+v", r)
	}
	e.run(nil, "-c", "true")
	rotated, _ := filepath.Glob(filepath.Join(e.home, "audit.2*.jsonl"))
	if len(rotated) != 1 {
		t.Fatalf("rotated files: %v", rotated)
	}
	os.Remove(rotated[0])
	verify("rotated start deleted", false, "removed")
	// The agent cannot accept it for you.
	if r := e.run(nil, "-c", e.bin+" audit verify --reanchor"); r.code != 126 || !strings.Contains(r.stderr, "hermes-exec: denied") {
		t.Errorf("--reanchor from a command line: exit %d %s", r.code, r.stderr)
	}
	verify("rotated start deleted, after the agent tried --reanchor", false, "removed")
	// Accepting it on purpose (retention) makes the next verify pass.
	e.run(nil, "audit", "verify", "--reanchor")
	verify("after --reanchor", true, "intact")
	// Deleting the anchor with the tail no longer hides the cut.
	lines = e.auditLines()
	os.WriteFile(log, []byte(strings.Join(lines[:len(lines)-1], "")), 0o600)
	os.Remove(filepath.Join(e.home, "audit.anchor"))
	verify("tail cut off and anchor deleted", false, "anchor: missing")
	e.run(nil, "-c", "true")
	verify("anchor deleted, then a command ran", false, "anchor: missing")
	// A command line cannot rewrite the anchor.
	if r := e.run(nil, "-c", "echo '{}' > "+filepath.Join(e.home, "audit.anchor")); r.code != 126 {
		t.Errorf("writing the anchor: exit %d %s", r.code, r.stderr)
	}
}
