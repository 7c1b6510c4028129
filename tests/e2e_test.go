package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dangerous is classified as dangerous (git reset --hard) but harmless when
// it runs outside a repository; the marker file shows whether it ran.
func dangerous(marker string) string {
	return fmt.Sprintf("touch %s && git reset --hard", marker)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestExitStatusIsBashs(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"true", 0},
		{"false", 1},
		{"exit 42", 42},
		{"exit 300", 44},
		{"kill -9 $$", 137},
		{"kill -TERM $$", 143},
		{"no-such-command-hermes", 127},
	} {
		r := e.run(nil, "-c", tc.script)
		if r.code != tc.want {
			t.Errorf("-c %q: exit %d, want %d (stderr %q)", tc.script, r.code, tc.want, r.stderr)
		}
	}
}

func TestPositionalParametersLikeBash(t *testing.T) {
	e := newEnv(t)
	r := e.run(nil, "-c", `echo "$0|$1|$2|$#"`, "name", "a b", "c")
	if got, want := r.stdout, "name|a b|c|2\n"; got != want {
		t.Fatalf("stdout %q, want %q", got, want)
	}
	r = e.run(nil, "-lc", "echo login-ok")
	if r.code != 0 || r.stdout != "login-ok\n" {
		t.Fatalf("-lc: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r = e.run(nil, "-e", "-c", "false; echo not-reached")
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("-e -c: exit %d stdout %q", r.code, r.stdout)
	}
}

func TestScriptFileAndStdin(t *testing.T) {
	e := newEnv(t)
	script := filepath.Join(e.dir, "s.sh")
	os.WriteFile(script, []byte("echo \"file:$1\"\nexit 3\n"), 0o644)
	r := e.run(nil, script, "arg")
	if r.code != 3 || r.stdout != "file:arg\n" {
		t.Fatalf("script file: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}

	c := e.cmd(nil)
	c.Stdin = strings.NewReader("echo from-stdin\nexit 5\n")
	out, err := c.Output()
	if code := exitCode(err); code != 5 || string(out) != "from-stdin\n" {
		t.Fatalf("stdin script: exit %d stdout %q", code, out)
	}

	// A dangerous line anywhere in the file denies the whole script.
	marker := filepath.Join(e.dir, "ran")
	os.WriteFile(script, []byte("echo first\n"+dangerous(marker)+"\n"), 0o644)
	r = e.run(nil, script)
	if r.code != 126 || exists(marker) || strings.Contains(r.stdout, "first") {
		t.Fatalf("dangerous script: exit %d stdout %q, marker exists %v", r.code, r.stdout, exists(marker))
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(interface{ ExitCode() int }); ok {
		return ee.ExitCode()
	}
	return -1
}

func TestDangerousWithoutTerminalIsDenied(t *testing.T) {
	e := newEnv(t)
	marker := filepath.Join(e.dir, "ran")
	r := e.run(nil, "-c", dangerous(marker))
	if r.code != 126 {
		t.Fatalf("exit %d, want 126; stderr %q", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "hermes-exec: denied: ") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("stderr should be one 'hermes-exec: denied: REASON' line, got %q", r.stderr)
	}
	if exists(marker) {
		t.Fatal("a denied command ran")
	}
	rec := e.lastAudit()
	if rec["decision"] != "deny" || rec["exit"] != nil {
		t.Fatalf("audit record %v", rec)
	}
}

func TestYoloRunsDangerousButDenyRulesHold(t *testing.T) {
	e := newEnv(t)
	marker := filepath.Join(e.dir, "ran")
	r := e.run(nil, "--yolo", "-c", dangerous(marker))
	if !exists(marker) {
		t.Fatalf("--yolo did not run it: exit %d stderr %q", r.code, r.stderr)
	}
	if rec := e.lastAudit(); rec["channel"] != "yolo" || rec["decision"] != "allow" {
		t.Fatalf("audit record %v", rec)
	}
	os.Remove(marker)
	r = e.run([]string{"HERMES_YOLO=1"}, "-c", dangerous(marker))
	if !exists(marker) {
		t.Fatalf("HERMES_YOLO=1 did not run it: exit %d stderr %q", r.code, r.stderr)
	}

	// mode: off also runs it.
	os.Remove(marker)
	e.writeConfig("approvals:\n  mode: \"off\"\n")
	e.run(nil, "-c", dangerous(marker))
	if !exists(marker) {
		t.Fatal("approvals.mode off did not run it")
	}

	// A deny rule holds under every switch, also inside nested shells.
	os.Remove(marker)
	e.writeConfig("approvals:\n  mode: \"off\"\n  deny:\n    - touch\n")
	for _, script := range []string{"touch " + marker, "echo hi; bash -c 'touch " + marker + "'", "/usr/bin/touch " + marker} {
		r = e.run([]string{"HERMES_YOLO=1"}, "--yolo", "-c", script)
		if r.code != 126 || exists(marker) {
			t.Fatalf("deny rule did not hold for %q: exit %d, marker %v", script, r.code, exists(marker))
		}
	}
}

func TestEveryCommandLeavesAnAuditLine(t *testing.T) {
	e := newEnv(t)
	marker := filepath.Join(e.dir, "m")
	e.run(nil, "-c", "echo hello")
	e.run(nil, "-c", "exit 3")
	e.run(nil, "-c", dangerous(marker))
	e.run(nil, "--yolo", "-c", dangerous(marker))
	e.run(nil, "run", "--", "true")
	// A command that runs has two records joined by an id, its decision
	// (written before it starts) and its outcome; a denial has one.
	all := e.auditRecords()
	recs := finalRecords(t, all)
	if len(recs) != 5 || len(all) != 9 {
		t.Fatalf("%d commands in %d audit records, want 5 in 9", len(recs), len(all))
	}
	want := []struct {
		decision string
		exit     any
	}{{"allow", 0.0}, {"allow", 3.0}, {"deny", nil}, {"allow", 128.0}, {"allow", 0.0}}
	for i, w := range want {
		r := recs[i]
		if r["decision"] != w.decision || r["exit"] != w.exit {
			t.Errorf("record %d: decision %v exit %v, want %v %v", i, r["decision"], r["exit"], w.decision, w.exit)
		}
		for _, k := range []string{"time", "user", "cwd", "command", "backend", "duration_ms"} {
			if _, ok := r[k]; !ok {
				t.Errorf("record %d lacks %q: %v", i, k, r)
			}
		}
	}
	if fi, err := os.Stat(filepath.Join(e.home, "audit.jsonl")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("audit.jsonl mode: %v %v", fi.Mode(), err)
	}
}

func TestAuditRedactsSecrets(t *testing.T) {
	e := newEnv(t)
	e.run([]string{"GITHUB_TOKEN=ghp_supersecretvalue123"}, "-c", "echo ghp_supersecretvalue123 >/dev/null")
	b, _ := os.ReadFile(filepath.Join(e.home, "audit.jsonl"))
	if strings.Contains(string(b), "supersecretvalue") {
		t.Fatalf("secret in audit log: %s", b)
	}
	// The command is on record, masked: an empty log would pass the
	// check above too.
	if rec := e.lastAudit(); rec["command"] != "echo *** >/dev/null" {
		t.Fatalf("audit record %v", rec)
	}
}

func TestSecretsDoNotReachTheCommand(t *testing.T) {
	e := newEnv(t)
	os.WriteFile(filepath.Join(e.home, ".env"), []byte("MY_SERVICE_URL=https://u:p@x\n"), 0o600)
	extra := []string{"OPENAI_API_KEY=sk-1", "AWS_SECRET_ACCESS_KEY=a", "MY_SERVICE_URL=u", "PLAIN=kept", "ALLOWED_TOKEN=t"}
	e.writeConfig("terminal:\n  env_passthrough: [ALLOWED_TOKEN]\n")
	r := e.run(extra, "-c", `echo "${OPENAI_API_KEY:-none}|${AWS_SECRET_ACCESS_KEY:-none}|${MY_SERVICE_URL:-none}|${PLAIN:-none}|${ALLOWED_TOKEN:-none}"`)
	if got, want := r.stdout, "none|none|none|kept|t\n"; got != want {
		t.Fatalf("command saw %q, want %q (stderr %q)", got, want, r.stderr)
	}
}

func TestBrokenConfigDeniesAndNamesTheLine(t *testing.T) {
	e := newEnv(t)
	marker := filepath.Join(e.dir, "ran")
	e.writeConfig("approvals:\n  mode: default\n  allowlist: [\n")
	r := e.run(nil, "-c", "touch "+marker)
	if r.code != 126 || exists(marker) {
		t.Fatalf("broken config: exit %d, marker %v", r.code, exists(marker))
	}
	if !strings.Contains(r.stderr, "config.yaml:") || !strings.HasPrefix(r.stderr, "hermes-exec: denied: ") {
		t.Fatalf("stderr should name the file and line: %q", r.stderr)
	}
	// The denial is audited although the configuration could not be read.
	if rec := e.lastAudit(); rec["decision"] != "deny" || rec["command"] != "touch "+marker || rec["exit"] != nil || !strings.Contains(rec["reason"].(string), "config.yaml:") {
		t.Fatalf("audit record %v", rec)
	}
}

func TestCheckCommand(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("approvals:\n  deny: ['git push']\n")
	for _, tc := range []struct {
		script string
		code   int
		dec    string
	}{
		{"ls -la", 0, "allow"},
		{"rm -rf /", 1, "ask"},
		{"git push origin main", 2, "deny"},
	} {
		r := e.run(nil, "check", "--json", "-c", tc.script)
		if r.code != tc.code {
			t.Errorf("check %q: exit %d, want %d", tc.script, r.code, tc.code)
		}
		var v struct {
			Decision string `json:"decision"`
			Findings []struct {
				Rule, Description, Command, Pos string
			} `json:"findings"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatalf("check --json output %q: %v", r.stdout, err)
		}
		if v.Decision != tc.dec || (tc.dec != "allow") != (len(v.Findings) > 0) {
			t.Errorf("check %q: %+v", tc.script, v)
		}
		for _, f := range v.Findings {
			if f.Rule == "" || f.Description == "" || f.Pos == "" {
				t.Errorf("incomplete finding %+v", f)
			}
		}
	}
	if r := e.run(nil, "check", "--bogus"); r.code != 64 {
		t.Errorf("usage error: exit %d, want 64", r.code)
	}
	if n := len(e.auditRecords()); n != 0 {
		t.Errorf("check wrote %d audit records; it runs nothing", n)
	}
}

func TestRunArgvForm(t *testing.T) {
	e := newEnv(t)
	r := e.run(nil, "run", "--", "sh", "-c", "exit 9")
	if r.code != 9 {
		t.Fatalf("run: exit %d", r.code)
	}
	if r := e.run(nil, "run", "--", "no-such-program-hermes"); r.code != 127 {
		t.Fatalf("missing program: exit %d, want 127 (%q)", r.code, r.stderr)
	}
	// Arguments are not shell text: the semicolon is just an argument.
	r = e.run(nil, "run", "--", "echo", "a;", "$HOME")
	if r.stdout != "a; $HOME\n" {
		t.Fatalf("run echoed %q", r.stdout)
	}
	marker := filepath.Join(e.dir, "ran")
	if r := e.run(nil, "run", "--", "bash", "-c", dangerous(marker)); r.code != 126 || exists(marker) {
		t.Fatalf("run -- bash -c DANGEROUS: exit %d marker %v", r.code, exists(marker))
	}
}

func TestSignalIsForwardedToTheCommand(t *testing.T) {
	e := newEnv(t)
	c := e.cmd(nil, "-c", `trap 'exit 7' TERM; echo ready; while :; do sleep 0.05; done`)
	out, _ := c.StdoutPipe()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := out.Read(buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("read %q %v", buf, err)
	}
	c.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		if code := exitCode(err); code != 7 {
			t.Fatalf("exit %d, want 7 (the command's TERM trap)", code)
		}
	case <-time.After(10 * time.Second):
		c.Process.Kill()
		t.Fatal("SIGTERM was not forwarded")
	}
}

func TestBinarySafePipes(t *testing.T) {
	e := newEnv(t)
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	c := e.cmd(nil, "-c", "cat")
	c.Stdin = strings.NewReader(string(data))
	out, err := c.Output()
	if err != nil || string(out) != string(data) {
		t.Fatalf("cat through hermes-exec changed the bytes (len %d vs %d, err %v)", len(out), len(data), err)
	}
}
