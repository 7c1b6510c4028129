package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"hermes-exec/policy"
)

// TestRulesCommand runs `hermes-exec rules [--json]` in-process: the
// whole catalog, with decisions and programs.
func TestRulesCommand(t *testing.T) {
	text := string(runRules(t))
	if !strings.Contains(text, "self-disable-write") || !strings.Contains(text, "any command") ||
		strings.Count(text, "\n") != 2*len(policy.Catalog()) {
		t.Errorf("text listing: %s", text)
	}
	got := runRules(t, "--json")
	var cat []policy.RuleInfo
	if err := json.Unmarshal(got, &cat); err != nil {
		t.Fatalf("rules --json: %v\n%s", err, got)
	}
	if len(cat) != len(policy.Catalog()) {
		t.Fatalf("rules --json lists %d rules, the catalog has %d", len(cat), len(policy.Catalog()))
	}
	byID := map[policy.RuleID]policy.RuleInfo{}
	for _, r := range cat {
		byID[r.ID] = r
	}
	if r := byID["self-disable-cli"]; r.Decision != policy.Deny || !contains(r.Programs, "hermes-exec") {
		t.Errorf("self-disable-cli: %+v", r)
	}
	if r := byID["delete-system"]; r.Decision != policy.Ask || !contains(r.Programs, "rm") || !contains(r.Programs, "find") {
		t.Errorf("delete-system: %+v", r)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// runRules runs the rules subcommand through the app, capturing stdout.
func runRules(t *testing.T, args ...string) []byte {
	t.Helper()
	var out bytes.Buffer
	app := newApp()
	app.Writer = &out
	if err := app.Run(append([]string{"hermes-exec", "rules"}, args...)); err != nil {
		t.Fatalf("hermes-exec rules %v: %v", args, err)
	}
	return out.Bytes()
}
