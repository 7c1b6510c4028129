package agenthook

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hermes-exec/policy"
)

func TestParse(t *testing.T) {
	in, err := Parse(ClaudeCode, []byte(`{"session_id":"s1","cwd":"/w","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls -la","description":"list"}}`))
	if err != nil || !in.IsShell() || in.Command != "ls -la" || in.SessionID != "s1" || in.Event != "PreToolUse" {
		t.Fatalf("%+v %v", in, err)
	}
	in, err = Parse(Gemini, []byte(`{"hook_event_name":"BeforeTool","tool_name":"run_shell_command","tool_input":{"command":"make"}}`))
	if err != nil || !in.IsShell() || in.Command != "make" {
		t.Fatalf("%+v %v", in, err)
	}
	// Another tool is not judged.
	in, err = Parse(ClaudeCode, []byte(`{"hook_event_name":"PreToolUse","tool_name":"Read","tool_input":{"file_path":"/etc/passwd"}}`))
	if err != nil || in.IsShell() {
		t.Fatalf("%+v %v", in, err)
	}
	for _, bad := range []string{`not json`, `{"tool_name":"Bash","tool_input":{}}`, `{"tool_name":"Bash","tool_input":{"command":5}}`} {
		if _, err := Parse(Codex, []byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, err := Parse("cursor", []byte(`{}`)); err == nil {
		t.Error("unknown agent accepted")
	}
}

func decode(t *testing.T, a Answer) map[string]any {
	t.Helper()
	if len(a.Stdout) == 0 {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(a.Stdout, &m); err != nil {
		t.Fatalf("not JSON: %s", a.Stdout)
	}
	return m
}

func hso(m map[string]any) map[string]any {
	h, _ := m["hookSpecificOutput"].(map[string]any)
	return h
}

func TestRespondInEachAgentsFormat(t *testing.T) {
	pre := Input{Agent: ClaudeCode, Event: "PreToolUse", Tool: "Bash"}
	for _, d := range []policy.Decision{policy.Allow, policy.Ask, policy.Deny} {
		h := hso(decode(t, Respond(pre, d, "why")))
		if h["hookEventName"] != "PreToolUse" || h["permissionDecision"] != d.String() || h["permissionDecisionReason"] != "why" {
			t.Errorf("claude %v: %v", d, h)
		}
	}
	for _, agent := range []string{ClaudeCode, Codex} {
		pr := Input{Agent: agent, Event: "PermissionRequest", Tool: "Bash"}
		if dec := hso(decode(t, Respond(pr, policy.Allow, "")))["decision"].(map[string]any); dec["behavior"] != "allow" {
			t.Errorf("%s PermissionRequest allow: %v", agent, dec)
		}
		if dec := hso(decode(t, Respond(pr, policy.Deny, "no")))["decision"].(map[string]any); dec["behavior"] != "deny" || dec["message"] != "no" {
			t.Errorf("%s PermissionRequest deny: %v", agent, dec)
		}
		if a := Respond(pr, policy.Ask, "x"); len(a.Stdout) != 0 || a.Exit != 0 {
			t.Errorf("%s PermissionRequest ask must leave the dialog to the agent: %s", agent, a.Stdout)
		}
	}
	// Codex's PreToolUse supports only deny; anything else would be
	// rejected as unsupported, so nothing is said.
	cx := Input{Agent: Codex, Event: "PreToolUse", Tool: "Bash"}
	for _, d := range []policy.Decision{policy.Allow, policy.Ask} {
		if a := Respond(cx, d, "x"); len(a.Stdout) != 0 {
			t.Errorf("codex PreToolUse %v: %s", d, a.Stdout)
		}
	}
	if h := hso(decode(t, Respond(cx, policy.Deny, "no"))); h["permissionDecision"] != "deny" || h["permissionDecisionReason"] != "no" {
		t.Errorf("codex deny: %v", h)
	}
	g := Input{Agent: Gemini, Event: "BeforeTool", Tool: "run_shell_command"}
	if m := decode(t, Respond(g, policy.Deny, "no")); m["decision"] != "deny" || m["reason"] != "no" {
		t.Errorf("gemini deny: %v", m)
	}
	if m := decode(t, Respond(g, policy.Ask, "asking")); m["decision"] != "ask" || m["systemMessage"] != "asking" {
		t.Errorf("gemini ask: %v", m)
	}
	if m := decode(t, Respond(g, policy.Allow, "")); m["decision"] != "allow" {
		t.Errorf("gemini allow: %v", m)
	}
}

func TestGrantsAreOneUseAndForOneProcess(t *testing.T) {
	d := t.TempDir()
	g := Grants{Dir: filepath.Join(d, "grants"), KeyFile: filepath.Join(d, "state.key")}
	if err := g.Put("k", ClaudeCode, 42, "1000", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, ok := g.Take("k", []Process{{PID: 43, Start: "1000"}}); ok {
		t.Fatal("another process took the grant")
	}
	if _, ok := g.Take("k", []Process{{PID: 42, Start: "999"}}); ok {
		t.Fatal("a reused pid took the grant")
	}
	if _, ok := g.Take("other", []Process{{PID: 42, Start: "1000"}}); ok {
		t.Fatal("another command took the grant")
	}
	if a, ok := g.Take("k", []Process{{PID: 42, Start: "1000"}}); !ok || a != ClaudeCode {
		t.Fatal("the grant was not taken")
	}
	if _, ok := g.Take("k", []Process{{PID: 42, Start: "1000"}}); ok {
		t.Fatal("the grant was used twice")
	}
	g.Put("old", Codex, 42, "1000", -time.Second)
	if _, ok := g.Take("old", []Process{{PID: 42, Start: "1000"}}); ok {
		t.Fatal("an expired grant was taken")
	}
	if ents, _ := os.ReadDir(g.Dir); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
	// An agent's grant is for the shell the agent starts itself, not for
	// one further down (a loop the model left running in the background).
	g.Put("k", Codex, 42, "1000", time.Minute)
	if _, ok := g.Take("k", []Process{{PID: 50, Start: "1"}, {PID: 42, Start: "1000"}}); ok {
		t.Fatal("a grandchild of the agent took its grant")
	}
}

// The shell that took a grant hands it to the shells its approved
// command starts: any descendant, any number of times, only that key.
func TestInheritedGrantsAreForDescendants(t *testing.T) {
	d := t.TempDir()
	g := Grants{Dir: filepath.Join(d, "grants"), KeyFile: filepath.Join(d, "state.key")}
	if err := g.PutInherited("k", Codex, 42, "1000", time.Minute); err != nil {
		t.Fatal(err)
	}
	below := []Process{{PID: 60, Start: "5"}, {PID: 42, Start: "1000"}, {PID: 1, Start: "0"}}
	for i := 0; i < 2; i++ {
		if a, ok := g.Take("k", below); !ok || a != Codex {
			t.Fatalf("use %d: a descendant could not use the inherited grant", i)
		}
	}
	if _, ok := g.Take("other", below); ok {
		t.Fatal("another command used the inherited grant")
	}
	if _, ok := g.Take("k", []Process{{PID: 61, Start: "5"}, {PID: 1, Start: "0"}}); ok {
		t.Fatal("a process outside the approved command used it")
	}
	if _, ok := g.Take("k", []Process{{PID: 42, Start: "999"}}); ok {
		t.Fatal("a reused pid used it")
	}
}

func TestReason(t *testing.T) {
	v := policy.Verdict{Decision: policy.Ask, Findings: []policy.Finding{{Rule: "git-destructive", Description: "force push", Command: "git push -f", Decision: policy.Ask}}}
	if got := Reason(v); got != "hermes-exec: needs your approval: git-destructive: force push (`git push -f`)" {
		t.Errorf("%q", got)
	}
}

// A grant file written by anything but Put (a command that read the
// agent's pid from /proc) carries no valid MAC and is not honoured, nor is
// a genuine one whose fields were edited.
func TestForgedGrantIsNotHonoured(t *testing.T) {
	d := t.TempDir()
	g := Grants{Dir: filepath.Join(d, "grants"), KeyFile: filepath.Join(d, "state.key")}
	if err := g.Put("real", ClaudeCode, 42, "1000", time.Minute); err != nil {
		t.Fatal(err)
	}
	h := keyHash("forged")
	forged, _ := json.Marshal(grantFile{Key: h, Agent: ClaudeCode, PID: 42, Start: "1000", Expires: time.Now().Add(time.Hour)})
	if err := os.WriteFile(filepath.Join(g.Dir, h[:32]+"-0000000000000000.json"), forged, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := g.Take("forged", []Process{{PID: 42, Start: "1000"}}); ok {
		t.Fatal("a grant without a MAC was honoured")
	}
	// A genuine grant moved to another process by editing its pid.
	m, _ := filepath.Glob(filepath.Join(g.Dir, keyHash("real")[:32]+"-*.json"))
	if len(m) != 1 {
		t.Fatalf("grant files: %v", m)
	}
	b, _ := os.ReadFile(m[0])
	var gf grantFile
	if err := json.Unmarshal(b, &gf); err != nil {
		t.Fatal(err)
	}
	gf.PID = 43
	b, _ = json.Marshal(gf)
	os.WriteFile(m[0], b, 0o600)
	if _, ok := g.Take("real", []Process{{PID: 43, Start: "1000"}}); ok {
		t.Fatal("an edited grant was honoured")
	}
}
