package tty

import (
	"context"
	"strings"
	"testing"

	"hermes-exec/policy"
)

// The prompt says what "always" will add before anyone can choose it.
func TestPromptShowsWhatAlwaysAdds(t *testing.T) {
	r := dangerous
	r.Findings = []policy.Finding{{Rule: "git-destructive", Description: "force push", Command: "git push -f origin main",
		Pos: "1:1", Decision: policy.Ask, Argv: []string{"git", "push", "-f", "origin", "main"}}}
	h := startPrompt(t, context.Background(), r)
	h.keys <- []byte("n")
	h.reply(t)
	out := h.out.String()
	i := strings.Index(out, "[a]lways adds to approvals.allowlist: git push -f origin main")
	j := strings.Index(out, "[y]es once")
	if i < 0 || j < 0 || i > j {
		t.Fatalf("the allowlist entry is not shown before the choices:\n%q", out)
	}
	r.CanAlways = false
	h = startPrompt(t, context.Background(), r)
	h.keys <- []byte("n")
	h.reply(t)
	if strings.Contains(h.out.String(), "adds to approvals.allowlist") {
		t.Errorf("shown although always is not offered")
	}
}
