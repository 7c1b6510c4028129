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

// Words hermes-exec is given that the command line does not show ask: one
// of them may be `yolo on` (`printf 'yolo on' > f; hermes-exec $(cat f)`
// turned approvals off).
func TestHermesExecUnseenArgsAsk(t *testing.T) {
	c := srvHermesClassifier(t)
	for _, tc := range []struct {
		cmd  string
		want Decision
	}{
		{"hermes-exec $(cat /tmp/args)", Ask},
		{"a=$(cat /tmp/args); hermes-exec $a", Ask},
		{"hermes-exec-admin $(cat /tmp/args)", Ask},
		{"xargs -a /tmp/args hermes-exec", Ask},
		{"xargs hermes-exec < /tmp/args", Ask},
		{"hermes-exec yolo $(cat /tmp/x)", Deny},
		{"hermes-exec audit verify $(cat /tmp/x)", Ask},
		{"echo yolo on | xargs hermes-exec", Deny},
		// The words after `--` and after an option's value are the
		// subcommand's: hermes-exec-admin -- yolo on runs yolo on, and a
		// value with a dot is not a script (red team 3, G2).
		{"hermes-exec-admin -- $(cat /tmp/args)", Ask},
		{"hermes-exec-admin --backend a.b $(cat /tmp/args)", Ask},
		{"hermes-exec-admin -backend a.b $(cat /tmp/args)", Ask},
		{"hermes-exec --backend a.b $(cat /tmp/args)", Ask},
		{"hermes-exec --log-level x/y $(cat /tmp/args)", Ask},
		{"hermes-exec-admin --log-level debug -- $(cat /tmp/args)", Ask},
		{`hermes-exec -- ./deploy.sh "$(date +%s)"`, Allow},
		{`hermes-exec --backend sandbox ./deploy.sh "$(date +%s)"`, Allow},
		// Controls: a script's arguments, check's text, -c's text.
		{`hermes-exec ./deploy.sh "$(date +%s)"`, Allow},
		{`hermes-exec check "$(cat /tmp/cmd)"`, Allow},
		{`hermes-exec -c 'echo "$1"' x "$(date)"`, Allow},
		{"hermes-exec yolo status", Allow},
	} {
		if v := c.Classify(tc.cmd); v.Decision != tc.want {
			t.Errorf("%s: got %s %v, want %s", tc.cmd, v.Decision, rulesOf(v), tc.want)
		}
	}
}

// run's own options were taken for its command (`run --yolo -- git reset
// --hard` was judged as a program named --yolo: allowed, and it ran
// without asking), and the subcommands' parser takes a long option with
// one dash (-yolo, -reanchor) as with two.
func TestHermesExecRunOptions(t *testing.T) {
	c := srvHermesClassifier(t)
	for _, tc := range []struct {
		cmd  string
		want Decision
	}{
		{"hermes-exec run --yolo -- git reset --hard", Deny},
		{"hermes-exec run -yolo -- git reset --hard", Deny},
		{"hermes-exec-admin run --yolo=true git reset --hard", Deny},
		{"hermes-exec run --config /tmp/c.yaml -- ls", Deny},
		{"hermes-exec audit verify -reanchor", Deny},
		{"hermes-exec-admin -yolo run -- ls", Deny},
		{"hermes-exec run --backend sandbox -- git reset --hard", Ask},
		{"hermes-exec run --backend=host git reset --hard", Ask},
		{"hermes-exec run -- git reset --hard", Ask},
		{"hermes-exec run --backend sandbox -- ls -la", Allow},
		{"hermes-exec run git status", Allow},
	} {
		if v := c.Classify(tc.cmd); v.Decision != tc.want {
			t.Errorf("%s: got %s %v, want %s", tc.cmd, v.Decision, rulesOf(v), tc.want)
		}
	}
}

// IsHermesExecName is what hermes-exec-admin runs its subcommands under:
// every such name must be judged as hermes-exec, words it cannot see
// included (or a link under it would turn approvals off unjudged), and a
// name that is not must be refused. `hermes` (the Hermes agent's CLI) is
// judged by the same rules on the words it shows, but its unseen words
// do not ask (`hermes chat "$msg"`): a link to hermes-exec-admin named
// hermes ran `hermes $(cat f)` with f = "yolo on" (red team 3, G1).
func TestIsHermesExecNameIsJudgedAsHermesExec(t *testing.T) {
	c := srvHermesClassifier(t)
	for _, name := range []string{"hermes-exec", "hermes-exec-admin"} {
		if !IsHermesExecName(name) {
			t.Errorf("IsHermesExecName(%q) = false", name)
		}
		if v := c.Classify(name + " yolo on"); v.Decision != Deny {
			t.Errorf("%s yolo on: %s %v, want deny", name, v.Decision, rulesOf(v))
		}
		if v := c.Classify(name + " $(cat /tmp/args)"); v.Decision != Ask {
			t.Errorf("%s $(cat /tmp/args): %s %v, want ask", name, v.Decision, rulesOf(v))
		}
	}
	if v := c.Classify("hermes yolo on"); v.Decision != Deny {
		t.Errorf("hermes yolo on: %s %v, want deny", v.Decision, rulesOf(v))
	}
	for _, name := range []string{"a", "hermes", "hermes-exec-sandbox", "bash", "hermes-exec-admin2", "", "/usr/bin/hermes-exec"} {
		if IsHermesExecName(name) {
			t.Errorf("IsHermesExecName(%q) = true", name)
		}
	}
}
