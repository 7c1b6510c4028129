package tests

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The subcommands live in hermes-exec-admin; hermes-exec execs it. What a
// user sees must not change: help, output, exit statuses, the process
// that gets the signals.

func TestHelpListsEverySubcommandThroughTheSplit(t *testing.T) {
	e := newEnv(t)
	r := e.run(nil, "--help")
	if r.code != 0 {
		t.Fatalf("--help: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, sub := range []string{"check", "rules", "run", "allowlist", "audit", "yolo", "sandbox", "image", "secrets",
		"doctor", "gateway", "pairing", "supervisor", "policy", "version", "hook", "env"} {
		if !strings.Contains(r.stdout, "\n   "+sub) {
			t.Errorf("--help does not list %s:\n%s", sub, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "hermes-exec -c 'CMD'") || strings.Contains(r.stdout, "hermes-exec-admin") {
		t.Errorf("--help should teach hermes-exec, not the program behind it:\n%s", r.stdout)
	}
	g := e.run(nil, "gateway", "--help")
	if g.code != 0 || !strings.Contains(g.stdout, "hermes-exec gateway run &") || !strings.Contains(g.stdout, "hermes-exec gateway - ") {
		t.Fatalf("gateway --help: %d\n%s%s", g.code, g.stdout, g.stderr)
	}
	h := e.run(nil, "hook", "--help")
	if h.code != 0 || !strings.Contains(h.stdout, "hermes-exec hook claude-code|codex|gemini") {
		t.Fatalf("hook --help: %d\n%s%s", h.code, h.stdout, h.stderr)
	}
}

func TestSubcommandsWorkThroughTheSplit(t *testing.T) {
	e := newEnv(t)
	e.writeConfig("approvals:\n  mode: default\n")
	// doctor runs, from hermes-exec-admin, on this HERMES_HOME.
	d := e.run(nil, "doctor", "--json")
	if !strings.Contains(d.stdout, `"results"`) || !strings.Contains(d.stdout, e.home) {
		t.Fatalf("doctor: %d\n%s%s", d.code, d.stdout, d.stderr)
	}
	// Exit statuses are the subcommand's own: check says 1 for ask, 2
	// for deny; a usage mistake is 64; run returns the program's status.
	if r := e.run(nil, "check", "-c", "git push --force"); r.code != 1 || !strings.HasPrefix(r.stdout, "ask") {
		t.Errorf("check ask: %d %q", r.code, r.stdout)
	}
	if r := e.run(nil, "check", "--bogus"); r.code != 64 {
		t.Errorf("check --bogus: %d %q", r.code, r.stderr)
	}
	if r := e.run(nil, "run", "--", "sh", "-c", "echo out; echo err >&2; exit 7"); r.code != 7 || r.stdout != "out\n" || !strings.Contains(r.stderr, "err") {
		t.Errorf("run: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// stdin reaches the subcommand.
	c := e.cmd(nil, "check")
	c.Stdin = strings.NewReader("rm -rf ~")
	if r := runCmd(t, c); r.code != 1 || !strings.Contains(r.stdout, "rm -rf ~") {
		t.Errorf("check from stdin: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// Global options before the subcommand still count.
	if r := e.run(nil, "--log-level", "bogus", "env"); r.code != 64 || !strings.Contains(r.stderr, "--log-level") {
		t.Errorf("--log-level bogus env: %d %q", r.code, r.stderr)
	}
}

// The subcommand runs in the process that was started (exec, not a
// child): a daemon under systemd or a supervisor keeps its pid, and its
// signals reach it, not a wrapper in between.
func TestSubcommandIsTheStartedProcess(t *testing.T) {
	e := newEnv(t)
	g := e.startGateway()
	pid := g.cmd.Process.Pid
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil || filepath.Base(exe) != "hermes-exec-admin" {
		t.Fatalf("the started process runs %q (%v), not hermes-exec-admin", exe, err)
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not stop on SIGTERM")
	}
	if st := g.cmd.ProcessState; st == nil || st.ExitCode() != 0 {
		t.Fatalf("gateway after SIGTERM: %v\n%s", st, g.out.String())
	}
}

// hermes-exec without hermes-exec-admin beside it: the shell and the hook
// still work; a subcommand says in one line what is missing, exit 127.
func TestMissingAdminBinary(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	lone := filepath.Join(dir, "hermes-exec")
	data, err := os.ReadFile(e.bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lone, data, 0o755); err != nil {
		t.Fatal(err)
	}
	e.bin = lone
	if r := e.run(nil, "-c", "echo shell"); r.code != 0 || r.stdout != "shell\n" {
		t.Fatalf("shell mode without the admin binary: %d %q %q", r.code, r.stdout, r.stderr)
	}
	c := e.cmd(nil, "hook", "claude-code")
	c.Stdin = strings.NewReader(`{"session_id":"s","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}`)
	if r := runCmd(t, c); r.code != 0 || !strings.Contains(r.stdout, `"allow"`) {
		t.Fatalf("hook without the admin binary: %d %q %q", r.code, r.stdout, r.stderr)
	}
	for _, args := range [][]string{{"doctor"}, {"gateway", "run"}, {"--help"}} {
		r := e.run(nil, args...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != 127 || len(lines) != 1 || !strings.Contains(r.stderr, "hermes-exec-admin") || !strings.Contains(r.stderr, dir) {
			t.Errorf("%v without the admin binary: %d %q", args, r.code, r.stderr)
		}
	}
	// One that is there but cannot be run: 126.
	os.WriteFile(filepath.Join(dir, "hermes-exec-admin"), []byte("not a program"), 0o644)
	if r := e.run(nil, "doctor"); r.code != 126 || !strings.Contains(r.stderr, "hermes-exec-admin") {
		t.Errorf("doctor with an unrunnable admin binary: %d %q", r.code, r.stderr)
	}
}

// `run` under exec checks starts its program through the program it runs
// in as the launcher: hermes-exec-admin must be one, and the checks hold
// (HOME under /etc, as in TestExecChecksStopADeepDeleteWithoutTerminal).
func TestRunUnderExecChecksThroughTheSplit(t *testing.T) {
	requireRoot(t, "the victim directory lives under /etc, a system directory to the rules")
	needTools(t, "xargs")
	e := newEnv(t)
	e.writeConfig("terminal:\n  exec_checks: on\n")
	if r := e.run(nil, "run", "--", "sh", "-c", "echo ran; exit 4"); r.code != 4 || r.stdout != "ran\n" {
		t.Fatalf("run under exec checks: %d %q %q", r.code, r.stdout, r.stderr)
	}
	writeDeep(t, e.dir)
	home, err := os.MkdirTemp("/etc", "hermes-exec-checks-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	victim := filepath.Join(home, "x")
	if err := os.MkdirAll(filepath.Join(victim, "keep"), 0o700); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, e.cmdHome(home, "run", "--", "./deep.sh", "xargs", e.dir))
	if _, err := os.Stat(filepath.Join(victim, "keep")); err != nil {
		t.Fatalf("the directory was deleted: exit %d\n%s", r.code, r.stderr)
	}
	if r.code == 0 || !strings.Contains(r.stderr, "hermes-exec: denied:") || !strings.Contains(r.stderr, victim) {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
