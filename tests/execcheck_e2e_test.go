package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The scripts of these tests delete "$HOME/$V" through layers the text
// does not show: a function called through "$@", make running sh -c,
// xargs, and a Python subprocess. With exec checks on, the rm is stopped
// when it is executed.
const deepScript = `#!/bin/bash
via() { "$@"; }
case "$1" in
func) via rm -rf "$HOME/$V" ;;
make) make -s -f "$2/Makefile" clean ;;
xargs) printf '%s\n' "$HOME/$V" | xargs rm -rf ;;
python) /usr/bin/python3 "$2/del.py" ;;
esac
`

const deepMakefile = "clean:\n\t@sh -c 'rm -rf \"$$HOME/$$V\"'\n"

const deepPython = `import os, subprocess, sys
sys.exit(subprocess.call(["rm", "-rf", os.path.join(os.environ["HOME"], os.environ["V"])]))
`

// writeDeep puts the scripts in dir, readable by everyone.
func writeDeep(t *testing.T, dir string) {
	t.Helper()
	for name, text := range map[string]string{"deep.sh": deepScript, "Makefile": deepMakefile, "del.py": deepPython} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// deepCase is how each layer is seen in the chain of the audit record.
var deepCases = []struct{ mode, parent string }{
	{"func", "deep.sh func"},
	{"make", "make -s -f"},
	{"xargs", "xargs rm -rf"},
	{"python", "del.py"},
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("HERMES_TEST_REQUIRE_ALL") == "1" {
				t.Fatalf("%s is missing, and HERMES_TEST_REQUIRE_ALL=1", tool)
			}
			t.Skipf("%s is missing", tool)
		}
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		if os.Getenv("HERMES_TEST_REQUIRE_ALL") == "1" {
			t.Fatal("/usr/bin/python3 is missing, and HERMES_TEST_REQUIRE_ALL=1")
		}
		t.Skip("/usr/bin/python3 is missing")
	}
}

// As root the scripts run with HOME under /etc, so that "$HOME/x" is part
// of a system directory to the rules (a directory in one's own home is an
// everyday delete, in the text and at exec time alike).
func TestExecChecksStopADeepDeleteWithoutTerminal(t *testing.T) {
	requireRoot(t, "the victim directory lives under /etc, a system directory to the rules")
	needTools(t, "make", "xargs")
	e := newEnv(t)
	e.writeConfig("terminal:\n  exec_checks: on\n")
	writeDeep(t, e.dir)
	home, err := os.MkdirTemp("/etc", "hermes-exec-checks-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	for _, tc := range deepCases {
		t.Run(tc.mode, func(t *testing.T) {
			victim := filepath.Join(home, "x")
			if err := os.MkdirAll(filepath.Join(victim, "keep"), 0o700); err != nil {
				t.Fatal(err)
			}
			before := len(e.auditRecords0())
			r := runCmd(t, e.cmdHome(home, "-c", "./deep.sh "+tc.mode+" "+e.dir))
			if _, err := os.Stat(filepath.Join(victim, "keep")); err != nil {
				t.Fatalf("the directory was deleted: exit %d\n%s", r.code, r.stderr)
			}
			if r.code == 0 || !strings.Contains(r.stderr, "Permission denied") || !strings.Contains(r.stderr, "hermes-exec: denied: /usr/bin/rm -rf "+victim) &&
				!strings.Contains(r.stderr, "hermes-exec: denied: rm -rf "+victim) {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			if tc.mode == "func" && r.code != 126 {
				t.Errorf("bash reports a refused exec as 126, got %d", r.code)
			}
			rec := execRecord(t, e.auditRecords0()[before:], victim)
			if rec["decision"] != "deny" || rec["channel"] != "none" {
				t.Errorf("audit: %v", rec)
			}
			if !chainHas(rec, tc.parent) || !chainHas(rec, "./deep.sh "+tc.mode) {
				t.Errorf("the chain %v does not show %q under the script", rec["parents"], tc.parent)
			}
		})
	}
	// Off: the same script deletes the directory (what exec checks add).
	e.writeConfig("terminal:\n  exec_checks: off\n")
	victim := filepath.Join(home, "x")
	r := runCmd(t, e.cmdHome(home, "-c", "./deep.sh make "+e.dir))
	if _, err := os.Stat(victim); err == nil || r.code != 0 {
		t.Fatalf("without exec checks the layered delete is not seen (exit %d, %s); the test's premise changed", r.code, r.stderr)
	}
}

// The same exec approved on the gateway runs.
func TestExecChecksAskTheGateway(t *testing.T) {
	requireRoot(t, "the victim directory lives under /etc")
	needTools(t, "make", "xargs")
	e := newEnv(t)
	e.writeConfig("approvals:\n  timeout: 20\nterminal:\n  exec_checks: on\n")
	writeDeep(t, e.dir)
	g := e.startGateway()
	alice := g.pairedClient("alice")
	home, err := os.MkdirTemp("/etc", "hermes-exec-checks-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	victim := filepath.Join(home, "x")
	os.MkdirAll(victim, 0o700)

	c := e.cmdHome(home, "-c", "./deep.sh make "+e.dir)
	done := make(chan result, 1)
	go func() { done <- runCmd(t, c) }()
	req := g.waitRequests(alice, 1)[0]
	if !strings.Contains(req.Command, "make -s -f") || !strings.Contains(req.Command, "-> ") || !strings.Contains(req.Command, "rm -rf "+victim) {
		t.Errorf("the request shows %q; want the chain down to the rm", req.Command)
	}
	if st := g.api(alice, "POST", "/api/v1/requests/"+req.ID+"/decision", `{"decision":"once"}`, nil); st != 200 {
		t.Fatalf("decision: %d", st)
	}
	r := waitResult(t, done, 30*time.Second)
	if r.code != 0 {
		t.Fatalf("approved: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(victim); err == nil {
		t.Fatal("the approved rm did not run")
	}
	rec := execRecord(t, e.auditRecords0(), victim)
	if rec["decision"] != "allow" || rec["approver"] != "web:alice" || rec["channel"] != "gateway" {
		t.Errorf("audit: %v", rec)
	}
}

// As an unprivileged user the launcher sets no_new_privs; the same layers
// are stopped (the home's .ssh: credentials).
func TestExecChecksAsUnprivilegedUser(t *testing.T) {
	requireRoot(t, "creates a user with useradd and runs hermes-exec as that user")
	needTools(t, "make", "xargs", "useradd", "userdel")
	name := fmt.Sprintf("hxec%d", os.Getpid()%100000)
	if out, err := exec.Command("useradd", "-m", "-s", "/bin/bash", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", "-r", "-f", name).Run() })
	out, err := exec.Command("id", "-u", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	home := "/home/" + name
	// The binary and scripts where the user can read them.
	bin := filepath.Join(home, "hermes-exec")
	for _, name := range []string{"hermes-exec", "hermes-exec-admin"} {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(e2eBinary(t)), name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(home, name), data, 0o755)
	}
	work := filepath.Join(home, "work")
	hh := filepath.Join(home, ".hermes")
	os.MkdirAll(work, 0o755)
	os.MkdirAll(hh, 0o700)
	writeDeep(t, work)
	os.WriteFile(filepath.Join(hh, "config.yaml"), []byte("terminal:\n  exec_checks: off\n"), 0o600)
	chown := exec.Command("chown", "-R", name+":"+name, home)
	if out, err := chown.CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	run := func(args ...string) result {
		c := exec.Command(bin, args...)
		c.Dir = work
		c.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home, "HERMES_HOME=" + hh, "LANG=C", "V=.ssh"}
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}}
		return runCmd(t, c)
	}
	// What no_new_privs changes: a set-uid program keeps the caller's
	// rights (README). Off, the same program runs as its owner.
	suid := filepath.Join(home, "suid-id")
	idBin, err := os.ReadFile("/usr/bin/id")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(suid, idBin, 0o755)
	os.Chown(suid, 0, 0)
	os.Chmod(suid, os.ModeSetuid|0o755)
	r := run("run", "--", suid, "-u")
	suidWorks := r.code == 0 && strings.TrimSpace(r.stdout) == "0"
	if !suidWorks {
		t.Logf("set-uid programs do not run as their owner here even without exec checks (%q %s): no_new_privs not checked", r.stdout, r.stderr)
	}
	os.WriteFile(filepath.Join(hh, "config.yaml"), []byte("terminal:\n  exec_checks: on\n"), 0o600)
	os.Chown(filepath.Join(hh, "config.yaml"), uid, uid)
	if r := run("run", "--", suid, "-u"); suidWorks && (r.code != 0 || strings.TrimSpace(r.stdout) != strconv.Itoa(uid)) {
		t.Errorf("under exec checks a set-uid program ran as %q (exit %d, %s); want the caller's uid %d (no_new_privs)", r.stdout, r.code, r.stderr, uid)
	}
	for _, tc := range deepCases {
		t.Run(tc.mode, func(t *testing.T) {
			victim := filepath.Join(home, ".ssh")
			os.MkdirAll(filepath.Join(victim, "keep"), 0o700)
			exec.Command("chown", "-R", name+":"+name, victim).Run()
			c := exec.Command(bin, "-c", "./deep.sh "+tc.mode+" "+work)
			c.Dir = work
			c.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home, "HERMES_HOME=" + hh, "LANG=C", "V=.ssh"}
			c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}}
			r := runCmd(t, c)
			if _, err := os.Stat(filepath.Join(victim, "keep")); err != nil {
				t.Fatalf("~/.ssh was deleted: exit %d\n%s", r.code, r.stderr)
			}
			if r.code == 0 || !strings.Contains(r.stderr, "Permission denied") || !strings.Contains(r.stderr, "hermes-exec: denied:") {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			env := &env{t: t, home: hh}
			rec := execRecord(t, env.auditRecords0(), victim)
			if rec["user"] != name || !chainHas(rec, tc.parent) {
				t.Errorf("audit: %v", rec)
			}
		})
	}
}

// cmdHome is e.cmd with HOME and V set for the deep scripts.
func (e *env) cmdHome(home string, args ...string) *exec.Cmd {
	c := e.cmd([]string{"V=x"}, args...)
	for i, kv := range c.Env {
		if strings.HasPrefix(kv, "HOME=") {
			c.Env[i] = "HOME=" + home
		}
	}
	return c
}

// auditRecords0 is auditRecords without failing on an empty log.
func (e *env) auditRecords0() []map[string]any {
	if _, err := os.Stat(filepath.Join(e.home, "audit.jsonl")); err != nil {
		return nil
	}
	return e.auditRecords()
}

// execRecord finds the exec check's record of the rm of victim.
func execRecord(t *testing.T, recs []map[string]any, victim string) map[string]any {
	t.Helper()
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		if _, ok := r["parents"]; ok && strings.Contains(fmt.Sprint(r["command"]), "rm -rf "+victim) {
			return r
		}
	}
	t.Fatalf("no exec-check record of rm -rf %s in %v", victim, recs)
	return nil
}

func chainHas(rec map[string]any, s string) bool {
	ps, _ := rec["parents"].([]any)
	for _, p := range ps {
		if strings.Contains(fmt.Sprint(p), s) {
			return true
		}
	}
	return false
}
