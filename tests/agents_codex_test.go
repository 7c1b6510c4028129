package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"hermes-exec/internal/testutil"
)

// openaiResponses is the OpenAI Responses API (POST /v1/responses,
// streamed) as Codex uses it: the model answers with one function_call
// item of the shell tool the request offers (exec_command, shell_command
// or shell), then with a message once a function_call_output comes back.
func openaiResponses(tty, escalate bool) func(m *model) http.Handler {
	return func(m *model) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.addRequest(r.URL.Path)
			if !strings.HasSuffix(r.URL.Path, "/responses") {
				http.Error(w, `{"error":{"message":"stand-in","type":"not_found"}}`, 404)
				return
			}
			body, _ := io.ReadAll(r.Body)
			var req struct {
				Input []map[string]any `json:"input"`
				Tools []map[string]any `json:"tools"`
			}
			if err := json.Unmarshal(body, &req); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			tools := map[string]bool{}
			for _, t := range req.Tools {
				if n, ok := t["name"].(string); ok {
					tools[n] = true
				}
			}
			sawOutput := false
			for i, it := range req.Input {
				if it["type"] == "function_call_output" {
					sawOutput = true
					if i == len(req.Input)-1 || true {
						m.addResult(mustJSON(it["output"]))
					}
				}
			}
			created := mustJSON(map[string]any{"type": "response.created", "response": map[string]any{"id": "resp_standin"}})
			completed := mustJSON(map[string]any{"type": "response.completed", "response": map[string]any{"id": "resp_standin",
				"usage": map[string]any{"input_tokens": 10, "input_tokens_details": nil, "output_tokens": 5, "output_tokens_details": nil, "total_tokens": 15}}})
			var item map[string]any
			switch {
			case !sawOutput && tools["exec_command"]:
				args := map[string]any{"cmd": m.command}
				if tty {
					args["tty"] = true
					args["yield_time_ms"] = 10000
				}
				if escalate {
					args["sandbox_permissions"] = "require_escalated"
					args["justification"] = "the test asks for it"
				}
				for k, v := range m.execArgs {
					args[k] = v
				}
				item = map[string]any{"type": "function_call", "name": "exec_command", "arguments": mustJSON(args), "call_id": "call_standin1"}
			case !sawOutput && tools["shell_command"]:
				item = map[string]any{"type": "function_call", "name": "shell_command", "arguments": mustJSON(map[string]any{"command": m.command}), "call_id": "call_standin1"}
			case !sawOutput && tools["shell"]:
				item = map[string]any{"type": "function_call", "name": "shell", "arguments": mustJSON(map[string]any{"command": []string{"bash", "-lc", m.command}}), "call_id": "call_standin1"}
			default:
				item = map[string]any{"type": "message", "role": "assistant", "id": "msg_standin", "content": []any{map[string]any{"type": "output_text", "text": "done"}}}
			}
			sse(w,
				[2]string{"response.created", created},
				[2]string{"response.output_item.done", mustJSON(map[string]any{"type": "response.output_item.done", "item": item})},
				[2]string{"response.completed", completed},
			)
		})
	}
}

func (r *agentRig) codex(t *testing.T, command string, tty bool, config string) (*model, string, int) {
	return r.codexWith(t, command, tty, config, nil)
}

// codexWith is codex with more arguments for the model's exec_command call.
func (r *agentRig) codexWith(t *testing.T, command string, tty bool, config string, execArgs map[string]any) (*model, string, int) {
	cx := agentCLI(t, "codex")
	m := startModel(t, command, openaiResponses(tty, strings.Contains(config, "on-request")))
	m.execArgs = execArgs
	codexHome := filepath.Join(r.agentHome, ".codex")
	r.writeFile(filepath.Join(codexHome, "config.toml"), `model = "gpt-5-standin"
model_provider = "standin"
`+config+`
[model_providers.standin]
name = "standin"
base_url = "`+m.url+`/v1"
wire_api = "responses"
env_key = "STANDIN_API_KEY"
request_max_retries = 0
stream_max_retries = 0
`)
	env := r.environ("CODEX_HOME="+codexHome, "STANDIN_API_KEY=standin", "SHELL="+filepath.Join(r.binDir, "bash"))
	argv := r.withLoginShell(filepath.Join(r.binDir, "bash"), cx, "exec", "--skip-git-repo-check", "--dangerously-bypass-hook-trust", "run the command")
	out, code := r.runAgent(env, argv[0], argv[1:]...)
	return m, out, code
}

// withLoginShell is the command line that runs argv with shell as the
// current user's login shell. Codex runs the login shell of the user
// database, whatever PATH and SHELL say; the recipe gives the agent's user
// a login shell that is a bash symlink to hermes-exec (chsh). Here, in a
// private mount namespace, /etc is a read-only overlay whose top layer is a
// copy of /etc/passwd saying exactly that.
//
// Not a bind mount of the file over /etc/passwd: useradd, userdel or chsh
// run by anyone on the machine replace /etc/passwd by rename, and since
// Linux 3.18 that detaches a mount on that dentry in every other mount
// namespace, so Codex read the real database halfway through a test and
// ran /bin/bash (seen as a flake under load, while other tests added
// users: the command ran, no audit record). An overlay mounted on /etc
// itself is not undone by renames inside it.
//
// It needs root (mount); others skip.
func (r *agentRig) withLoginShell(shell string, argv ...string) []string {
	r.t.Helper()
	top := r.loginShellPasswd(shell)
	script := `mount -t overlay -o lowerdir="$1":/etc overlay /etc && shift && exec "$@"`
	return append([]string{"unshare", "-m", "sh", "-c", script, "sh", top}, argv...)
}

// loginShellPasswd writes, in a new directory, a copy of /etc/passwd in
// which the current user's login shell is shell, and returns the
// directory.
func (r *agentRig) loginShellPasswd(shell string) string {
	r.t.Helper()
	if os.Geteuid() != 0 {
		msg := "changing the login shell Codex reads needs root (a private mount namespace)"
		if os.Getenv("HERMES_TEST_REQUIRE_ALL") == "1" {
			r.t.Fatal(msg)
		}
		r.t.Skip(msg)
	}
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		r.t.Fatal(err)
	}
	uid := strconv.Itoa(os.Getuid())
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		f := strings.Split(l, ":")
		if len(f) == 7 && f[2] == uid {
			f[6] = shell
			l = strings.Join(f, ":")
		}
		lines = append(lines, l)
	}
	dir := r.t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		r.t.Fatal(err)
	}
	return dir
}

const codexFullAccess = "approval_policy = \"never\"\nsandbox_mode = \"danger-full-access\"\n"

// Codex's real command path (its shell snapshot, then bash -lc CMD)
// through hermes-exec as the login shell.
func TestCodexEverydayCommandThroughHermesShell(t *testing.T) {
	r := newAgentRig(t)
	m, out, _ := r.codex(t, `echo "hi from codex"; exit 3`, false, codexFullAccess)
	res := m.toolResults()
	for _, want := range []string{"Process exited with code 3", "hi from codex"} {
		if !strings.Contains(res, want) {
			t.Errorf("the tool result lacks %q:\n%s\ncodex: %s", want, res, out)
		}
	}
	// Once its snapshot is ready, Codex wraps the command in text that
	// sources it and runs the command with bash -c, which is hermes-exec
	// again: each level is a record, all allowed, all exit 3.
	recs := r.auditFor("hi from codex")
	if len(recs) == 0 {
		t.Fatal("no audit record of the command")
	}
	for _, rec := range recs {
		if rec["decision"] != "allow" || rec["exit"] != float64(3) {
			t.Errorf("want allowed with exit 3: %v", rec)
		}
	}
	// Codex's snapshot script (with its "$@" helper) is not denied.
	for _, rec := range r.auditRecords() {
		if rec["decision"] != "allow" {
			t.Errorf("denied under Codex: %v", rec)
		}
	}
}

// tty: true gives the command a PTY the model reads and writes: asking
// there would let the model approve its own command. hermes-exec denies,
// says why, and nothing runs, although the model is ready to type "y".
func TestCodexOwnedPTYNeverApproves(t *testing.T) {
	r := newAgentRig(t)
	marker := filepath.Join(r.work, "pushed")
	m, out, _ := r.codex(t, "git push --force origin main || touch "+marker, true, codexFullAccess)
	res := m.toolResults()
	if !strings.Contains(res, "no human terminal to ask on") || !strings.Contains(res, "126") {
		t.Fatalf("want a denial naming the agent's terminal:\n%s\ncodex: %s", res, out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran")
	}
	for _, rec := range r.auditFor("git push --force") {
		if rec["decision"] != "deny" || rec["channel"] == "tty" {
			t.Errorf("approved on the agent's own terminal: %v", rec)
		}
	}
}

// Codex's PreToolUse hook can deny (not ask): a deny rule stops the call
// before any shell, and the model sees the reason.
func TestCodexHookDenies(t *testing.T) {
	r := newAgentRig(t)
	r.writeConfig("approvals:\n  deny:\n    - terraform destroy\n")
	hooks := "[[hooks.PreToolUse]]\nmatcher = \"Bash\"\n[[hooks.PreToolUse.hooks]]\ntype = \"command\"\ncommand = \"" + r.bin + " hook codex\"\n"
	r.writeFile(filepath.Join(r.agentHome, ".codex", "hooks.toml.part"), hooks)
	m, out, _ := r.codex(t, "terraform destroy -auto-approve", false, codexFullAccess+hooks)
	res := m.toolResults()
	if !strings.Contains(res, "hermes-exec: denied: user-deny") {
		t.Fatalf("the model did not see the denial:\n%s\ncodex: %s", res, out)
	}
	// The hook denied it (not the shell behind it).
	recs := r.auditFor("terraform destroy")
	if len(recs) != 1 || recs[0]["channel"] != "codex-hook" {
		t.Fatalf("want the hook's denial and no shell run, got %v", recs)
	}
}

// Codex's exec_command lets the model name the shell; Codex then starts
// that program instead of the login shell, so hermes-exec would not be in
// the chain (before the shell snapshot is ready nothing of it runs: no deny
// rule, no audit record). The hook reads the call from Codex's transcript
// and denies it, saying why; the command never runs.
func TestCodexModelNamedShellIsDenied(t *testing.T) {
	r := newAgentRig(t)
	marker := filepath.Join(r.work, "ran")
	hooks := strings.ReplaceAll(codexHooks, "BIN", r.bin)
	for _, shell := range []string{"/bin/sh", "sh", ""} {
		os.Remove(marker)
		m, out, _ := r.codexWith(t, "touch "+marker, false, codexFullAccess+hooks, map[string]any{"shell": shell})
		res := m.toolResults()
		if !strings.Contains(res, "hermes-exec: denied: codex-shell") {
			t.Errorf("shell %q: the model did not see the denial:\n%s\ncodex: %s", shell, res, out)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Errorf("shell %q: the command ran", shell)
		}
	}
	recs := r.auditFor("touch " + marker)
	if len(recs) != 3 {
		t.Fatalf("want the hook's 3 denials and no shell run, got %v", recs)
	}
	for _, rec := range recs {
		if rec["channel"] != "codex-hook" || rec["decision"] != "deny" {
			t.Errorf("want the hook's denial: %v", rec)
		}
	}
}

const codexHooks = `
[[hooks.PreToolUse]]
matcher = "Bash"
[[hooks.PreToolUse.hooks]]
type = "command"
command = "BIN hook codex"

[[hooks.PermissionRequest]]
matcher = "Bash"
[[hooks.PermissionRequest.hooks]]
type = "command"
command = "BIN hook codex"
`

// codexTUI runs Codex's interactive UI on a terminal, with hermes-exec as
// its login shell and the hook on both events; the model asks to run
// command outside Codex's sandbox, which makes Codex ask for approval.
func (r *agentRig) codexTUI(t *testing.T, command string) (*ttySession, *model) {
	cx := agentCLI(t, "codex")
	m := startModel(t, command, openaiResponses(false, true))
	keepOnFailure(t, r.agentHome, r.home)
	codexHome := filepath.Join(r.agentHome, ".codex")
	r.writeFile(filepath.Join(codexHome, "config.toml"), `model = "gpt-5-standin"
model_provider = "standin"
approval_policy = "on-request"
sandbox_mode = "workspace-write"
check_for_update_on_startup = false
[projects."`+r.work+`"]
trust_level = "trusted"
[model_providers.standin]
name = "standin"
base_url = "`+m.url+`/v1"
wire_api = "responses"
env_key = "STANDIN_API_KEY"
request_max_retries = 0
stream_max_retries = 0
`+strings.ReplaceAll(codexHooks, "BIN", r.bin))
	env := r.environ("CODEX_HOME="+codexHome, "STANDIN_API_KEY=standin", "TERM=xterm-256color")
	// --dangerously-bypass-hook-trust: this test vouches for its hook
	// (interactively Codex asks once, in /hooks).
	argv := r.withLoginShell(filepath.Join(r.binDir, "bash"), cx, "--dangerously-bypass-hook-trust", "run the command")
	s := r.startAgentTTY(env, argv[0], argv[1:]...)
	s.answerTerminalQueries()
	return s, m
}

func waitFile(t *testing.T, p string, s *ttySession, m *model) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(p); err == nil {
			return
		}
		if time.Now().After(deadline) {
			scr := s.screenText()
			if len(scr) > 3000 {
				scr = scr[len(scr)-3000:]
			}
			ps, _ := exec.Command("sh", "-c", "ps -eo pid,ppid,pgid,sid,tty,stat,args --forest | grep -E \"codex|hermes|bash\" | grep -v grep | cut -c1-220").Output()
			t.Fatalf("%s never appeared; screen tail: %q\nresults: %s\nrequests: %v\nprocesses:\n%s", p, scr, m.toolResults(), m.requests, ps)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A harmless command that Codex would ask about: the hook allows it, so
// the human is not bothered.
func TestCodexHookAllowsHarmlessWithoutDialog(t *testing.T) {
	r := newAgentRig(t)
	marker := filepath.Join(r.work, "made")
	s, m := r.codexTUI(t, "touch "+marker)
	waitFile(t, marker, s, m)
	if strings.Contains(s.screenText(), "Would you like to run the following command?") {
		t.Error("Codex asked although the hook allowed the command")
	}
	// The record is written when the command has ended, just after the
	// file appeared.
	r.waitAudit(t, func(rec map[string]any) bool {
		c, _ := rec["command"].(string)
		return strings.Contains(c, "touch "+marker) && rec["decision"] == "allow" && rec["exit"] == float64(0)
	})
}

// A dangerous command: Codex's own dialog asks the human, and "y" there
// runs it through hermes-exec as the shell, which honours that approval
// (the hook's grant) rather than asking again or denying.
func TestCodexDialogYesRuns(t *testing.T) {
	r := newAgentRig(t)
	marker := filepath.Join(r.work, "approved")
	s, m := r.codexTUI(t, "git push --force origin main 2>/dev/null; touch "+marker)
	if !testutil.WaitFor(90*time.Second, func() bool { return strings.Contains(s.screenText(), "Would you like to run") }) {
		t.Fatalf("Codex never asked; screen tail: %q\nresults: %s", tail(s.screenText(), 3000), m.toolResults())
	}
	// The dialog takes keys once it is drawn: press y until Codex
	// leaves it (a key pressed while it is still being drawn is lost).
	answered := len(s.screenText())
	testutil.WaitFor(30*time.Second, func() bool {
		s.send("y")
		time.Sleep(500 * time.Millisecond)
		return strings.Contains(s.screenText()[answered:], "Exited") || strings.Contains(s.screenText()[answered:], "Ran ")
	})
	waitFile(t, marker, s, m)
	r.waitAudit(t, func(rec map[string]any) bool {
		c, _ := rec["command"].(string)
		return strings.Contains(c, "touch "+marker) && rec["decision"] == "allow" && rec["channel"] == "codex-hook"
	})
}

// keepOnFailure copies dirs (Codex's home with its logs_2.sqlite, shell
// snapshots and session rollouts; HERMES_HOME with the audit log) under
// $HERMES_TEST_KEEP when the test fails (always, with
// HERMES_TEST_KEEP_ALL=1, to compare with a passing run).
func keepOnFailure(t *testing.T, dirs ...string) {
	keep := os.Getenv("HERMES_TEST_KEEP")
	if keep == "" {
		return
	}
	t.Cleanup(func() {
		if !t.Failed() && os.Getenv("HERMES_TEST_KEEP_ALL") == "" {
			return
		}
		dst, _ := os.MkdirTemp(keep, strings.ReplaceAll(t.Name(), "/", "_")+"-")
		for i, d := range dirs {
			exec.Command("cp", "-a", d, filepath.Join(dst, strconv.Itoa(i))).Run()
		}
		t.Logf("kept %v in %s", dirs, dst)
	})
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// doctor says whether Codex's commands go through hermes-exec: the login
// shell Codex runs (the user database's, as Codex reads it) and the
// PreToolUse hook. The recipe's set-up is ok; each way of leaving
// hermes-exec out is a warning naming it.
func TestCodexDoctorSeesTheLoginShell(t *testing.T) {
	r := newAgentRig(t)
	cfg := filepath.Join(r.agentHome, ".codex", "config.toml")
	doctor := func(shell string) []map[string]any {
		t.Helper()
		argv := []string{r.bin, "doctor", "--json"}
		if shell != "" {
			argv = r.withLoginShell(shell, argv...)
		}
		c := exec.Command(argv[0], argv[1:]...)
		c.Env = r.environ()
		res := runCmd(t, c)
		var out struct {
			Results []map[string]any `json:"results"`
		}
		if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
			t.Fatalf("doctor: %v %+v", err, res)
		}
		var codex []map[string]any
		for _, x := range out.Results {
			if x["check"] == "codex" {
				codex = append(codex, x)
			}
		}
		return codex
	}
	says := func(rs []map[string]any, status, substr string) bool {
		for _, x := range rs {
			if x["status"] == status && strings.Contains(x["message"].(string), substr) {
				return true
			}
		}
		return false
	}
	if rs := doctor(""); len(rs) != 0 {
		t.Fatalf("no Codex set up, but %v", rs)
	}
	r.writeFile(cfg, strings.ReplaceAll(codexHooks, "BIN", r.bin))
	if rs := doctor(filepath.Join(r.binDir, "bash")); len(rs) != 1 || !says(rs, "ok", "through hermes-exec") {
		t.Errorf("the recipe's set-up: %v", rs)
	}
	if rs := doctor(""); !says(rs, "warn", "which is not hermes-exec") {
		t.Errorf("a system login shell: %v", rs)
	}
	if rs := doctor(r.bin); !says(rs, "warn", "Codex knows a shell by its name") {
		t.Errorf("hermes-exec under its own name: %v", rs)
	}
	r.writeFile(cfg, strings.SplitN(strings.ReplaceAll(codexHooks, "BIN", r.bin), "[[hooks.PermissionRequest]]", 2)[1])
	if rs := doctor(filepath.Join(r.binDir, "bash")); len(rs) != 1 || !says(rs, "warn", "no PreToolUse hook") {
		t.Errorf("no PreToolUse hook: %v", rs)
	}
}
