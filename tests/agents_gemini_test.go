package tests

import (
	"path/filepath"
	"strings"
	"testing"
)

func (r *agentRig) gemini(t *testing.T, command string, hook bool, extraArgs ...string) (*model, string, int) {
	gem := agentCLI(t, "gemini")
	m := startModel(t, command, gemini)
	settings := `{"security":{"auth":{"selectedType":"gemini-api-key"}},"privacy":{"usageStatisticsEnabled":false},"general":{"disableAutoUpdate":true}}`
	if hook {
		settings = `{"security":{"auth":{"selectedType":"gemini-api-key"}},"privacy":{"usageStatisticsEnabled":false},"general":{"disableAutoUpdate":true},` +
			`"hooks":{"BeforeTool":[{"matcher":"run_shell_command","hooks":[{"type":"command","command":"` + r.bin + ` hook gemini","name":"hermes-exec"}]}]}}`
	}
	r.writeFile(filepath.Join(r.agentHome, ".gemini", "settings.json"), settings)
	env := r.environ(
		"GOOGLE_GEMINI_BASE_URL="+m.url,
		"GEMINI_API_KEY=standin-key",
		"GEMINI_CLI_NO_RELAUNCH=true",
		"NO_COLOR=1", "GEMINI_CLI_TRUST_WORKSPACE=true",
	)
	args := append([]string{"-p", "run the command", "--model", "gemini-2.5-flash", "--output-format", "json"}, extraArgs...)
	out, code := r.runAgent(env, gem, args...)
	return m, out, code
}

// Gemini CLI's real wrapper (shopt -u promptvars ..., a subshell with a
// trap, __code=$?; exit $__code) through hermes-exec as its bash.
func TestGeminiEverydayCommandThroughHermesShell(t *testing.T) {
	r := newAgentRig(t)
	m, out, _ := r.gemini(t, `echo "hi from $0"; git --version >/dev/null && echo git-ok; exit 3`, true, "--yolo")
	res := m.toolResults()
	// $0 is argv[0] as Gemini CLI gave it, as bash -c would report it.
	for _, want := range []string{"hi from " + filepath.Join(r.binDir, "bash") + `\ngit-ok`, "Exit Code: 3"} {
		if !strings.Contains(res, want) {
			t.Errorf("the tool result lacks %q:\n%s\ngemini: %s", want, res, out)
		}
	}
	recs := r.auditFor("hi from")
	if len(recs) != 1 || recs[0]["decision"] != "allow" || recs[0]["exit"] != float64(3) {
		t.Fatalf("want one allowed record with exit 3, got %v", recs)
	}
	if c := recs[0]["command"].(string); !strings.Contains(c, "shopt -u promptvars") || !strings.Contains(c, "exit $__code") {
		t.Errorf("the audited text is not Gemini CLI's wrapper: %s", c)
	}
}

// "ask" from the hook makes Gemini CLI ask the user even in --yolo mode;
// headless there is nobody to ask, so the call does not run and Gemini
// CLI shows hermes-exec's reason.
func TestGeminiHookAsksEvenInYolo(t *testing.T) {
	r := newAgentRig(t)
	m, out, _ := r.gemini(t, "git push --force origin main", true, "--yolo")
	if recs := r.auditFor("git push --force"); len(recs) != 0 {
		t.Fatalf("the dangerous command reached the shell in yolo mode: %v\ngemini: %s", recs, out)
	}
	if !strings.Contains(out, "hermes-exec: needs your approval: git-destructive") {
		t.Fatalf("Gemini CLI did not show hermes-exec's reason:\n%s\nresults: %s", out, m.toolResults())
	}
}

func TestGeminiHookDeniesWithReason(t *testing.T) {
	r := newAgentRig(t)
	m, out, _ := r.gemini(t, "hermes-exec yolo on", true, "--yolo")
	res := m.toolResults()
	if !strings.Contains(res, "Tool execution blocked: hermes-exec: denied: self-disable-cli") {
		t.Fatalf("the model did not see the denial:\n%s\ngemini: %s", res, out)
	}
	recs := r.auditFor("hermes-exec yolo on")
	if len(recs) != 1 || recs[0]["channel"] != "gemini-hook" {
		t.Errorf("want the hook's denial audited, got %v", recs)
	}
}

// Without the hook (and in yolo mode, so Gemini CLI itself lets
// everything through) hermes-exec as the shell still denies.
func TestGeminiShellDeniesWithoutHook(t *testing.T) {
	r := newAgentRig(t)
	m, out, _ := r.gemini(t, "git push --force origin main", false, "--yolo")
	res := m.toolResults()
	if !strings.Contains(res, "hermes-exec: denied: approval required (git-destructive") || !strings.Contains(res, "126") {
		t.Fatalf("want hermes-exec's denial in the tool result:\n%s\ngemini: %s", res, out)
	}
}
