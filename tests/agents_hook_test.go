package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func (e *env) hook(agent, event string) result {
	e.t.Helper()
	c := e.cmd(nil, "hook", agent)
	c.Stdin = strings.NewReader(event)
	return runCmd(e.t, c)
}

// After the hook said "ask" (the agent shows the human its dialog), the
// one command the human approved runs in hermes-exec as the agent's
// shell without a second prompt, once, and only for a shell the agent
// itself started. This test process plays the agent.
func TestHookAskHandsTheApprovalToTheShellOnce(t *testing.T) {
	e := newEnv(t)
	marker := filepath.Join(e.dir, "pushed")
	event := `{"session_id":"s","cwd":"` + e.dir + `","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"git push --force origin main"}}`
	r := e.hook("claude-code", event)
	var out struct {
		H struct {
			Decision string `json:"permissionDecision"`
		} `json:"hookSpecificOutput"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil || out.H.Decision != "ask" {
		t.Fatalf("hook: %+v", r)
	}
	// Claude Code's wrapper around the approved command, as it runs it.
	wrapped := "source /tmp/snap.sh 2>/dev/null || true && eval 'git push --force origin main 2>/dev/null; touch " + marker + "' < /dev/null && pwd -P >| /tmp/claude-ab12-cwd"

	// A process the agent did not start itself (a grandchild, as a
	// background job of an earlier command would be) cannot use it.
	g := exec.Command("sh", "-c", `"$0" -c "$1"; exit $?`, e.bin, wrapped)
	g.Dir, g.Env = e.dir, e.baseEnv()
	if code := exitCode(g.Run()); code != 126 {
		t.Fatalf("a grandchild used the grant (exit %d)", code)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the command ran for a grandchild")
	}
	// The agent's own shell runs it, once.
	r = e.run(nil, "-c", wrapped)
	if r.code != 0 {
		t.Fatalf("the approved command did not run: %+v", r)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("the approved command did not run")
	}
	rec := e.lastAudit()
	if rec["channel"] != "claude-code-hook" || rec["decision"] != "allow" {
		t.Errorf("audited as %v", rec)
	}
	os.Remove(marker)
	if r := e.run(nil, "-c", wrapped); r.code != 126 {
		t.Fatalf("the grant was used twice: %+v", r)
	}
}

// A hook that cannot decide blocks the call (exit 2), for every agent.
func TestHookFailsClosed(t *testing.T) {
	e := newEnv(t)
	for _, agent := range []string{"claude-code", "codex", "gemini"} {
		if r := e.hook(agent, "{not json"); r.code != 2 || !strings.Contains(r.stderr, "hermes-exec: denied") {
			t.Errorf("%s: %+v", agent, r)
		}
	}
	e.writeConfig("approvals:\n  mode: [broken\n")
	if r := e.hook("claude-code", `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}`); r.code != 2 {
		t.Errorf("broken config: %+v", r)
	}
}

// The agents' real wrapper formats classify as what they wrap.
func TestAgentWrapperFormatsClassify(t *testing.T) {
	e := newEnv(t)
	wrappers := map[string]string{
		"claude":   "source /root/.claude/shell-snapshots/snapshot-bash-1.sh 2>/dev/null || true && \\builtin shopt -u extglob 2>/dev/null || true && eval %s < /dev/null && pwd -P >| /tmp/claude-9f3a-cwd",
		"gemini":   "shopt -u promptvars nullglob extglob nocaseglob dotglob; _bgpids_file=/tmp/gemini-shell-x/bgpids.tmp\n(\n  trap 'jobs -p > \"$_bgpids_file\"' EXIT\n%s\n)\n__code=$?\nexit $__code",
		"hermes":   "source /tmp/hermes-snap-1.sh 2>/dev/null; builtin cd -- /tmp || exit 126; eval %s; __hermes_ec=$?; export -p > /tmp/hermes-snap-1.sh 2>/dev/null; pwd -P > /tmp/hermes-cwd-1 2>/dev/null; exit $__hermes_ec",
		"codex-lc": "%s",
	}
	for name, w := range wrappers {
		for cmd, want := range map[string]int{"ls -la": 0, "git push --force origin main": 1, "hermes-exec yolo on": 2} {
			arg := cmd
			if name != "gemini" && name != "codex-lc" {
				arg = "'" + cmd + "'"
			}
			text := strings.Replace(w, "%s", arg, 1)
			if r := e.run(nil, "check", "-c", text); r.code != want {
				t.Errorf("%s wrapping %q: check exit %d, want %d\n%s", name, cmd, r.code, want, r.stdout)
			}
		}
	}
}

// Hermes Agent's local-backend wrapper runs as bash would run it: the
// command's output, its exit status, and the snapshot and cwd files the
// agent reads afterwards.
func TestHermesAgentWrapperRuns(t *testing.T) {
	e := newEnv(t)
	snap, cwdFile := filepath.Join(e.dir, "snap.sh"), filepath.Join(e.dir, "cwd")
	os.WriteFile(snap, []byte("export FROM_SNAPSHOT=yes\n"), 0o600)
	text := "source " + snap + " 2>/dev/null; builtin cd -- " + e.dir + " || exit 126; eval 'echo \"hi $FROM_SNAPSHOT\"; export LATER=1; exit 3'; __hermes_ec=$?; export -p > " + snap + " 2>/dev/null; pwd -P > " + cwdFile + " 2>/dev/null; exit $__hermes_ec"
	r := e.run(nil, "-c", text)
	if r.code != 3 || r.stdout != "hi yes\n" {
		t.Fatalf("%+v", r)
	}
}
