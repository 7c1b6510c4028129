package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Red-team: session approvals and yolo belong to HERMES_SESSION_ID. An
// agent in session B that learns another session's id (the audit log
// names it) sets it for a nested hermes-exec, whose script then runs on
// that session's yolo: the nested check, which would ask, says yes.
func TestRedteamCommandCannotBorrowAnotherSession(t *testing.T) {
	e := newEnv(t)
	if r := e.run([]string{"HERMES_SESSION_ID=human-trusted"}, "yolo", "on"); r.code != 0 {
		t.Fatalf("yolo on: %d %s", r.code, r.stderr)
	}
	marker := filepath.Join(e.dir, "ran-on-borrowed-yolo")
	script := filepath.Join(e.dir, "x.sh")
	if err := os.WriteFile(script, []byte("touch "+marker+"; history -c\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := "PATH=" + dirOf(e.bin) + ":" + os.Getenv("PATH")
	r := e.run([]string{path, "HERMES_SESSION_ID=agent-b"}, "-c", "HERMES_SESSION_ID=human-trusted hermes-exec "+script)
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("the script ran on another session's yolo (exit %d, stderr %q)", r.code, r.stderr)
	}
	if r.code != 126 || !strings.Contains(r.stderr, "hermes-exec: denied") {
		t.Fatalf("exit %d, stderr %q; want a denial", r.code, r.stderr)
	}
}
