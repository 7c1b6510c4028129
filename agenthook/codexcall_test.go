package agenthook

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rolloutLine is one function call item as Codex 0.171 writes it to the
// session's rollout.
func rolloutLine(t *testing.T, name, callID string, args map[string]any) string {
	t.Helper()
	a, _ := json.Marshal(args)
	b, err := json.Marshal(map[string]any{
		"timestamp": "2026-12-02T02:10:55.620Z", "type": "response_item",
		"payload": map[string]any{"type": "function_call", "id": "fc_1", "name": name, "arguments": string(a), "call_id": callID},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

func writeTranscript(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rollout.jsonl")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCodexCallNamesItsShell(t *testing.T) {
	old := TranscriptWait
	TranscriptWait = 200 * time.Millisecond
	t.Cleanup(func() { TranscriptWait = old })
	meta := `{"timestamp":"x","type":"session_meta","payload":{"id":"s"}}` + "\n"
	output := `{"type":"response_item","payload":{"type":"function_call_output","call_id":"call_2","output":"x"}}` + "\n"
	p := writeTranscript(t, meta,
		rolloutLine(t, "exec_command", "call_1", map[string]any{"cmd": "ls"}),
		rolloutLine(t, "exec_command", "call_2", map[string]any{"cmd": "ls", "shell": "/bin/sh"}),
		output,
		rolloutLine(t, "exec_command", "call_3", map[string]any{"cmd": "ls", "shell": nil}),
		rolloutLine(t, "exec_command", "call_4", map[string]any{"cmd": "ls", "shell": ""}),
		rolloutLine(t, "exec_command", "call_5", map[string]any{"cmd": "ls", "shell": 7}),
		rolloutLine(t, "exec_command", "call_6", map[string]any{"cmd": "ls", "shell": "bash"}),
		rolloutLine(t, "exec_command", "call_6", map[string]any{"cmd": "ls", "shell": "sh"}),
		rolloutLine(t, "exec_command", "call_7", map[string]any{"cmd": "ls"}),
		rolloutLine(t, "exec_command", "call_7", map[string]any{"cmd": "ls"}),
	)
	for _, c := range []struct {
		id, shell string
		err       bool
	}{
		{"call_1", "", false},
		{"call_2", "/bin/sh", false}, // the output item with the same id is not the call
		{"call_3", "", false},        // null: Codex uses the login shell
		{"call_4", `""`, false},      // empty: Codex resolves it to /bin/sh
		{"call_5", "", true},
		{"call_6", "", true}, // twice, with different shells
		{"call_7", "", false},
		{"call_8", "", true}, // never written
	} {
		got, err := CodexCallOf(p, c.id)
		if (err != nil) != c.err || got.Shell != c.shell {
			t.Errorf("%s: got %+v, %v; want shell %q, error %v", c.id, got, err, c.shell, c.err)
		}
		if err == nil && got.Tool != "exec_command" {
			t.Errorf("%s: tool %q", c.id, got.Tool)
		}
	}
	for _, c := range [][2]string{{"", "call_1"}, {p, ""}, {filepath.Join(t.TempDir(), "none.jsonl"), "call_1"}, {t.TempDir(), "call_1"}} {
		if _, err := CodexCallOf(c[0], c[1]); err == nil {
			t.Errorf("CodexCallOf(%q, %q) did not fail", c[0], c[1])
		}
	}
}

// The hook may start before Codex has written the call; a line without
// its newline is still being written and is not read.
func TestCodexCallWaitsForTheTranscript(t *testing.T) {
	line := rolloutLine(t, "exec_command", "call_1", map[string]any{"cmd": "ls", "shell": "/bin/sh"})
	p := writeTranscript(t, line[:len(line)-20])
	go func() {
		time.Sleep(300 * time.Millisecond)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
		if err == nil {
			f.WriteString(line)
			f.Close()
		}
	}()
	got, err := CodexCallOf(p, "call_1")
	if err != nil || got.Shell != "/bin/sh" {
		t.Fatalf("got %+v, %v", got, err)
	}
}

// A long session: the call is found in the tail, and also when an older
// call is further back than the tail that is read first.
func TestCodexCallInALongTranscript(t *testing.T) {
	old := TranscriptWait
	TranscriptWait = 0
	t.Cleanup(func() { TranscriptWait = old })
	filler := `{"type":"response_item","payload":{"type":"function_call_output","call_id":"x","output":"` + strings.Repeat("a", 1<<20) + `"}}` + "\n"
	lines := []string{rolloutLine(t, "exec_command", "call_old", map[string]any{"cmd": "ls", "shell": "/bin/sh"})}
	for range 6 {
		lines = append(lines, filler)
	}
	lines = append(lines, rolloutLine(t, "exec_command", "call_new", map[string]any{"cmd": "ls"}))
	p := writeTranscript(t, lines...)
	for id, want := range map[string]string{"call_new": "", "call_old": "/bin/sh"} {
		got, err := CodexCallOf(p, id)
		if err != nil || got.Shell != want {
			t.Errorf("%s: got %+v, %v; want %q", id, got, err, want)
		}
	}
}
