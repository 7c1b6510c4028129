package policy

import "testing"

// hermes-exec-admin holds hermes-exec's subcommands (hermes-exec execs it
// for them) and is installed next to it, on the agent's PATH: every
// subcommand form that hermes-exec's rules refuse is refused under that
// name too, and the same subcommands stay allowed.
func TestHermesExecAdminIsHermesExec(t *testing.T) {
	c := srvHermesClassifier(t)
	for _, tc := range []struct {
		cmd  string
		want Decision
	}{
		{"yolo on", Deny},
		{"yolo", Deny},
		{`allowlist add "git reset --hard"`, Deny},
		{"gateway pair", Deny},
		{"pairing approve 123456", Deny},
		{"audit verify --reanchor", Deny},
		{"--yolo run -- git reset --hard", Deny},
		{"--config /tmp/other.yaml check ls", Deny},
		{"secrets get OPENAI_API_KEY", Ask},
		{"secrets set OPENAI_API_KEY", Deny},
		{"run -- git reset --hard", Ask},
		{"yolo status", Allow},
		{"audit verify", Allow},
		{"check 'rm -rf /'", Allow},
	} {
		for _, prog := range []string{"hermes-exec", "hermes-exec-admin", "/usr/local/bin/hermes-exec-admin"} {
			cmd := prog + " " + tc.cmd
			if v := c.Classify(cmd); v.Decision != tc.want {
				t.Errorf("%s: got %s %v, want %s", cmd, v.Decision, rulesOf(v), tc.want)
			}
		}
	}
}
