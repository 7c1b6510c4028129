package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Red-team: the agent grants itself an approval by writing a hook grant
// file. It knows the format (grants are plain JSON under
// $HERMES_HOME/run/hook-grants), and the agent's pid and start time are
// in /proc. A program the classifier cannot see into (a script the agent
// wrote) writes it; here the test writes it, as such a program would. The
// grant is not honoured: it carries no MAC under the state key. A command
// line that writes there is denied outright. This test process plays the
// agent: the hook and the shell are its children.
func TestRedteamForgedHookGrantIsNotHonoured(t *testing.T) {
	e := newEnv(t)
	marker := filepath.Join(e.dir, "ran-on-a-forged-grant")
	dangerous := "git push --force origin main 2>/dev/null; touch " + marker
	event := `{"session_id":"s","cwd":"` + e.dir + `","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":` + jsonString(dangerous) + `}}`
	// A genuine grant shows the format (and where the name comes from).
	if r := e.hook("claude-code", event); r.code != 0 || !strings.Contains(r.stdout, `"ask"`) {
		t.Fatalf("hook: %+v", r)
	}
	dir := filepath.Join(e.home, "run", "hook-grants")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 1 {
		t.Fatalf("grant files: %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var g map[string]any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	// The forger's grant: the same fields, written fresh, without the
	// hook's MAC (and with a made-up one).
	os.Remove(files[0])
	name := filepath.Base(files[0])
	for i, mac := range []any{nil, strings.Repeat("ab", 32)} {
		delete(g, "mac")
		if mac != nil {
			g["mac"] = mac
		}
		fb, _ := json.Marshal(g)
		forged := filepath.Join(dir, name[:33]+strings.Repeat(string(rune('0'+i)), 16)+".json")
		if err := os.WriteFile(forged, fb, 0o600); err != nil {
			t.Fatal(err)
		}
		r := e.run(nil, "-c", dangerous)
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("the dangerous command ran on a forged grant (mac %v): exit %d %s", mac, r.code, r.stderr)
		}
		if r.code != 126 || !strings.Contains(r.stderr, "hermes-exec: denied") {
			t.Errorf("forged grant (mac %v): exit %d, stderr %q; want a denial", mac, r.code, r.stderr)
		}
		os.Remove(forged)
	}
	// Writing a grant (or a pairing record) from a command line is denied.
	for _, text := range []string{
		"echo '{}' > " + filepath.Join(dir, "x.json"),
		"cp /dev/null " + filepath.Join(e.home, "pairing", "web.json"),
		"touch " + filepath.Join(e.home, "run", "state.key"),
	} {
		if r := e.run(nil, "-c", text); r.code != 126 || !strings.Contains(r.stderr, "self-disable-write") && !strings.Contains(r.stderr, "Hermes home") {
			t.Errorf("%q: exit %d, stderr %q; want a denial", text, r.code, r.stderr)
		}
	}
}

// Red-team: the agent pairs itself by writing the pairing store. It asks
// the gateway for a code (open to anyone on the host), finds its own
// requester id in $HERMES_HOME/pairing/web.json, and moves it to the
// approvers, as a script of its own would. The gateway must not honour a
// record it did not sign.
func TestRedteamForgedPairingRecordIsNotHonoured(t *testing.T) {
	e := newEnv(t)
	g := e.startGateway()
	agent := g.client()
	var p struct{ Code string }
	if st := g.api(agent, "POST", "/api/v1/pair", `{"name":"agent"}`, &p); st != 200 || len(p.Code) != 8 {
		t.Fatalf("pair: %d %+v", st, p)
	}
	path := filepath.Join(e.home, "pairing", "web.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	pending, _ := st["pending"].([]any)
	if len(pending) != 1 {
		t.Fatalf("pending: %v", st["pending"])
	}
	id := pending[0].(map[string]any)["requester_id"]
	st["approved"] = []any{map[string]any{"platform": "web", "id": id, "name": "agent", "paired": "2026-01-01T00:00:00Z"}}
	st["pending"] = []any{}
	delete(st, "mac")
	fb, _ := json.Marshal(st)
	if err := os.WriteFile(path, fb, 0o600); err != nil {
		t.Fatal(err)
	}
	var s struct {
		Paired bool `json:"paired"`
	}
	g.api(agent, "GET", "/api/v1/session", "", &s)
	if s.Paired {
		t.Fatal("a pairing record the agent wrote made it an approver")
	}
	r := e.run(nil, "pairing", "list")
	if !strings.Contains(r.stdout+r.stderr, "signature") {
		t.Errorf("pairing list does not say the store is forged: %+v", r)
	}
	// A genuine pairing still works once the forged file is gone.
	os.Remove(path)
	human := g.pairedClient("alice")
	g.api(human, "GET", "/api/v1/session", "", &s)
	if !s.Paired {
		t.Fatal("a genuine pairing is not honoured")
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
