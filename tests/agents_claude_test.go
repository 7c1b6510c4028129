package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// agentRig is one agent run: a fresh HOME for the agent's own settings, a
// HERMES_HOME, and a PATH whose first entry holds a `bash` symlink to
// hermes-exec: the recipe in README's "Using it with agents".
type agentRig struct {
	*env
	agentHome string
	binDir    string
	work      string
}

func newAgentRig(t *testing.T) *agentRig {
	e := newEnv(t)
	r := &agentRig{env: e, agentHome: t.TempDir(), binDir: t.TempDir(), work: t.TempDir()}
	if err := os.Symlink(e.bin, filepath.Join(r.binDir, "bash")); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *agentRig) environ(extra ...string) []string {
	env := []string{
		"HOME=" + r.agentHome,
		"HERMES_HOME=" + r.home,
		"PATH=" + r.binDir + ":/usr/local/bin:/usr/bin:/bin",
		"LANG=C.UTF-8",
		"TERM=dumb",
		"USER=" + os.Getenv("USER"),
	}
	return append(env, extra...)
}

// runAgent runs an agent CLI to completion (no terminal: stdin empty).
func (r *agentRig) runAgent(env []string, name string, args ...string) (string, int) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, name, args...)
	c.Dir = r.work
	c.Env = env
	c.Stdin = strings.NewReader("")
	out, err := c.CombinedOutput()
	if ctx.Err() != nil {
		r.t.Fatalf("%s did not finish: %s", filepath.Base(name), out)
	}
	return string(out), exitCode(err)
}

func (r *agentRig) writeFile(path, content string) {
	r.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

func (r *agentRig) claude(t *testing.T, command string, hook bool) (*model, string) {
	claude := agentCLI(t, "claude")
	m := startModel(t, command, anthropic)
	settings := `{}`
	if hook {
		settings = `{"hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"` + r.bin + ` hook claude-code"}]}]}}`
	}
	r.writeFile(filepath.Join(r.agentHome, ".claude", "settings.json"), settings)
	env := r.environ(
		"ANTHROPIC_BASE_URL="+m.url,
		"ANTHROPIC_API_KEY=sk-ant-standin",
		"CLAUDE_CODE_SHELL="+filepath.Join(r.binDir, "bash"),
		"DISABLE_TELEMETRY=1", "DISABLE_ERROR_REPORTING=1", "DISABLE_AUTOUPDATER=1",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
	)
	args := []string{"-p", "run the command", "--output-format", "json", "--model", "claude-sonnet-4-5"}
	if !hook {
		// Without a hook, Claude Code's own permission check would stop
		// the call before the shell; let it through to test the shell.
		args = append(args, "--allowedTools", "Bash")
	}
	out, _ := r.runAgent(env, claude, args...)
	return m, out
}

// auditFor returns the audit records whose command contains substr.
func (r *agentRig) auditFor(substr string) []map[string]any {
	var out []map[string]any
	for _, rec := range finalRecords(r.t, r.auditRecords()) {
		if c, _ := rec["command"].(string); strings.Contains(c, substr) {
			out = append(out, rec)
		}
	}
	return out
}

// An everyday command goes through Claude Code's real wrapper
// (snapshot, eval, pwd -P >| /tmp/claude-XXXX-cwd) and hermes-exec as its
// shell; the agent gets the output and the exit status.
func TestClaudeCodeEverydayCommandThroughHermesShell(t *testing.T) {
	r := newAgentRig(t)
	m, out := r.claude(t, `echo "hello from $(basename "$0")"; echo to-stderr >&2; exit 3`, true)
	res := m.toolResults()
	for _, want := range []string{"Exit code 3", "hello from bash", "to-stderr"} {
		if !strings.Contains(res, want) {
			t.Errorf("the agent's tool result lacks %q:\n%s\nclaude: %s", want, res, out)
		}
	}
	recs := r.auditFor("hello from")
	if len(recs) != 1 || recs[0]["decision"] != "allow" || recs[0]["exit"] != float64(3) {
		t.Fatalf("want one allowed record with exit 3 for Claude Code's wrapped command, got %v", recs)
	}
	if c := recs[0]["command"].(string); !strings.Contains(c, "eval ") || !strings.Contains(c, "pwd -P >|") {
		t.Errorf("the audited text is not Claude Code's wrapper: %s", c)
	}
}

// A dangerous command is stopped by the hook before it reaches the shell:
// interactively Claude Code shows its own dialog (tested in
// TestClaudeCodeAsksInItsOwnDialog); headless (-p) it refuses, and the
// model sees hermes-exec's reason.
func TestClaudeCodeHookAsksForDangerous(t *testing.T) {
	r := newAgentRig(t)
	m, out := r.claude(t, "git push --force origin main", true)
	res := m.toolResults()
	if !strings.Contains(res, "hermes-exec: needs your approval: git-destructive") {
		t.Fatalf("the model did not see hermes-exec's reason:\n%s\nclaude: %s", res, out)
	}
	if recs := r.auditFor("git push --force"); len(recs) != 0 {
		t.Errorf("the command reached the shell: %v", recs)
	}
}

func TestClaudeCodeHookDeniesDenyRules(t *testing.T) {
	r := newAgentRig(t)
	r.writeConfig("approvals:\n  deny:\n    - terraform destroy\n")
	m, out := r.claude(t, "cd infra && terraform destroy -auto-approve", true)
	res := m.toolResults()
	if !strings.Contains(res, "hermes-exec: denied: user-deny") {
		t.Fatalf("the model did not see the denial:\n%s\nclaude: %s", res, out)
	}
	recs := r.auditFor("terraform destroy")
	if len(recs) != 1 || recs[0]["channel"] != "claude-code-hook" || recs[0]["decision"] != "deny" {
		t.Errorf("want the hook's denial in the audit log, got %v", recs)
	}
}

// Without the hook, hermes-exec as the shell is the line: there is no
// terminal a human could answer on, so it denies, and says so to the
// model.
func TestClaudeCodeShellDeniesWithoutHook(t *testing.T) {
	r := newAgentRig(t)
	m, out := r.claude(t, "git push --force origin main", false)
	res := m.toolResults()
	if !strings.Contains(res, "Exit code 126") || !strings.Contains(res, "hermes-exec: denied: approval required (git-destructive") {
		t.Fatalf("want a denial with exit 126 the model sees:\n%s\nclaude: %s", res, out)
	}
	recs := r.auditFor("git push --force")
	if len(recs) != 1 || recs[0]["decision"] != "deny" {
		t.Errorf("want one denial, got %v", recs)
	}
}

// The whole path with a human: Claude Code runs interactively on a
// terminal, the hook says "ask", Claude Code shows its own dialog with
// hermes-exec's reason, the human (this test, typing into Claude Code's
// UI, which the model cannot do) approves, and the command runs through
// hermes-exec as Claude Code's shell without a second prompt.
func TestClaudeCodeAsksInItsOwnDialog(t *testing.T) {
	claude := agentCLI(t, "claude")
	r := newAgentRig(t)
	marker := filepath.Join(r.work, "pushed")
	m := startModel(t, "git push --force origin main 2>/dev/null; touch "+marker, anthropic)
	r.writeFile(filepath.Join(r.agentHome, ".claude", "settings.json"),
		`{"hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"`+r.bin+` hook claude-code"}]}]}}`)
	key := "sk-ant-standin-0123456789abcdefghij"
	r.writeFile(filepath.Join(r.agentHome, ".claude.json"), `{"hasCompletedOnboarding":true,"theme":"dark","bypassPermissionsModeAccepted":false,`+
		`"customApiKeyResponses":{"approved":["`+key[len(key)-20:]+`"],"rejected":[]},`+
		`"projects":{"`+r.work+`":{"hasTrustDialogAccepted":true,"hasCompletedProjectOnboarding":true}}}`)
	env := r.environ(
		"ANTHROPIC_BASE_URL="+m.url, "ANTHROPIC_API_KEY="+key,
		"CLAUDE_CODE_SHELL="+filepath.Join(r.binDir, "bash"),
		"DISABLE_TELEMETRY=1", "DISABLE_ERROR_REPORTING=1", "DISABLE_AUTOUPDATER=1",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "TERM=xterm-256color",
	)
	s := r.startAgentTTY(env, claude, "run the command")
	s.waitScreen("needs your approval", 60*time.Second)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the command ran before the human answered")
	}
	s.send("\r") // the dialog's first choice: Yes
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the approved command did not run; screen:\n%s\nresults: %s\naudit: %v", s.screenText(), m.toolResults(), r.auditRecords())
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.waitAudit(t, func(rec map[string]any) bool {
		c, _ := rec["command"].(string)
		return strings.Contains(c, "git push --force") && rec["channel"] == "claude-code-hook" && rec["decision"] == "allow"
	})
	if recs := r.auditFor("git push --force"); len(recs) != 1 {
		t.Fatalf("want one run approved through Claude Code's dialog, got %v", recs)
	}
}

// waitAudit waits for a final audit record (a denial, or the outcome of
// a command that ran: its decision record alone is written before the
// command starts) that ok accepts.
func (r *agentRig) waitAudit(t *testing.T, ok func(map[string]any) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, rec := range finalRecords(t, r.auditRecords()) {
			if ok(rec) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no such audit record in %v", r.auditRecords())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
