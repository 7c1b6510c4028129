package tests

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hermes-exec/internal/testutil"
	"hermes-exec/isolate/conformance"
)

// The command runs as the caller's uid, in a sandbox, and both audit logs
// hold it: the user's, and root's per-user log that the user cannot edit.
func TestSupervisorRunsAsTheUser(t *testing.T) {
	f := newSupervisor(t, "")
	a := f.user("")
	r := f.sh(a, "echo uid=$(id -u) gid=$(id -g); touch made-here; stat -c %u made-here; test -e /proc/1/cmdline && tr '\\0' ' ' </proc/1/cmdline")
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	want := fmt.Sprintf("uid=%d gid=%d\n%d\n", a.uid, a.gid, a.uid)
	if !strings.HasPrefix(r.stdout, want) {
		t.Errorf("stdout %q, want it to start %q", r.stdout, want)
	}
	if !strings.Contains(r.stdout, "sandbox") {
		t.Errorf("pid 1 is not the sandbox's reaper (not in a pid namespace of its own?): %q", r.stdout)
	}
	if uid, _ := ownerOf(t, filepath.Join(a.home, "work", "made-here")); int(uid) != a.uid {
		t.Errorf("file made inside belongs to uid %d on the host, want %d", uid, a.uid)
	}
	logPath := filepath.Join(f.audit, a.name+".jsonl")
	fi, err := os.Lstat(logPath)
	if err != nil {
		t.Fatalf("no root audit log for %s: %v", a.name, err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: owner %d mode %v, want root's, 0600", logPath, st.Uid, fi.Mode().Perm())
	}
	data, _ := os.ReadFile(logPath)
	var events []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var rec struct {
			Event string
			UID   int
			PID   int
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("bad audit line %q: %v", line, err)
		}
		if rec.UID != a.uid || rec.PID == 0 {
			t.Errorf("audit record has uid %d pid %d, want the caller's uid %d (from the kernel)", rec.UID, rec.PID, a.uid)
		}
		events = append(events, rec.Event)
	}
	if strings.Join(events, ",") != "start,end" {
		t.Errorf("root audit events %v, want start,end", events)
	}
	if !strings.Contains(readFile(t, filepath.Join(a.home, ".hermes", "audit.jsonl")), `"backend":"supervisor"`) {
		t.Error("the user's own audit log does not record the supervisor backend")
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The policy's memory cap holds although the user's config asks for more.
func TestSupervisorMemoryBombStoppedByPolicyCap(t *testing.T) {
	f := newSupervisor(t, "default:\n  max_memory: 64m\n")
	a := f.user("approvals:\n  mode: \"off\"\nterminal:\n  backend: supervisor\ncontainer:\n  persist: none\n  memory: 8g\n")
	r := f.sh(a, `echo RAN; exec /usr/bin/perl -e '$x = "a" x (1<<20); @a = (); push @a, $x . $_ for 1..100000; print "ALLOCATED\n"'`)
	mustHaveRun(t, r)
	if strings.Contains(r.stdout, "ALLOCATED") || r.code != 137 {
		t.Fatalf("memory bomb: exit %d, stdout %q; want 137 before it allocated 100 GB\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "out of memory") {
		t.Errorf("no out-of-memory reason:\n%s", r.stderr)
	}
	if ok := f.sh(a, "echo fine"); ok.code != 0 || ok.stdout != "fine\n" {
		t.Errorf("after the bomb: %+v", ok)
	}
}

// A cannot read B's home (even one the host shows everyone), see B's
// processes, or reach B's sandbox state.
func TestSupervisorUsersAreIsolated(t *testing.T) {
	f := newSupervisor(t, "")
	sessionCfg := "approvals:\n  mode: \"off\"\nterminal:\n  backend: supervisor\n"
	a, b := f.user(sessionCfg), f.user(sessionCfg)
	if err := os.Chmod(b.home, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(b.home, "notes.txt"), "B-PRIVATE-NOTES-5d1")
	_ = os.Chmod(filepath.Join(b.home, "notes.txt"), 0o644)
	marker := "hxsv-b-" + randSuffix()
	bCmd := f.cmd(b, []string{"HERMES_SESSION_ID=shared-name"}, "-c", "echo READY; exec -a "+marker+" sleep 60")
	var bOut testutil.Buffer
	bCmd.Stdout = &bOut
	if err := bCmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = bCmd.Process.Kill(); _ = bCmd.Wait() }()
	if !waitFor(30*time.Second, func() bool { return strings.Contains(bOut.String(), "READY") }) {
		t.Fatal("B's command never started")
	}
	// The same session name: A gets a sandbox of its own, not B's.
	// (The command's own text shows in ps: what is looked for is only
	// in B's file, or spelt differently there.)
	r := f.sh(a, "cat "+filepath.Join(b.home, "notes.txt")+"; test -e "+filepath.Join(b.home, "notes.txt")+` && echo SEEN-"B"-FILE; ps axww; cat /proc/*/cmdline 2>/dev/null | tr '\0' ' '`, "HERMES_SESSION_ID=shared-name")
	if strings.Contains(r.stdout, "B-PRIVATE") || strings.Contains(r.stdout, "SEEN-B-FILE") {
		t.Errorf("A read B's home through the supervisor:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, marker) {
		t.Errorf("A sees B's process:\n%s", r.stdout)
	}
	// On the host, A cannot list the state directories or reach B's.
	host := exec.Command("ls", filepath.Join(f.state, strconv.Itoa(b.uid)))
	host.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid), Groups: []uint32{}}}
	if out, err := host.CombinedOutput(); err == nil {
		t.Errorf("A lists B's sandbox state: %s", out)
	}
	if findProcess(marker) == 0 {
		t.Error("B's command did not survive A's commands")
	}
}

// backends: [supervisor] cannot be undone by the user's config or flags,
// and the approvals floor and deny rules hold.
func TestSupervisorForcedBackendAndFloors(t *testing.T) {
	f := newSupervisor(t, `default:
  backends: [supervisor]
  deny: ["terraform destroy"]
  approvals: {forbid_off: true, forbid_yolo: true, max_timeout: 600}
`)
	host := f.user("approvals:\n  mode: \"off\"\n  in_container: ask\nterminal:\n  backend: host\n")
	// terminal.backend: host is overruled: the command runs in the
	// supervisor's sandbox (pid 1 is its reaper), not on the host.
	r := f.sh(host, "tr '\\0' ' ' </proc/1/cmdline")
	if r.code != 0 || !strings.Contains(r.stdout, "sandbox-reaper") {
		t.Errorf("config backend host under backends [supervisor]: %+v, want the command in the sandbox", r)
	}
	marker := filepath.Join(host.home, "work", "ran-on-host")
	r = runCmd(t, f.cmd(host, nil, "--backend", "host", "-c", "touch "+marker))
	if r.code != 126 || !strings.Contains(r.stderr, `backend "host" is not allowed`) {
		t.Errorf("--backend host: exit %d %q, want 126 naming the policy", r.code, r.stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a command ran against the policy")
	}
	// No backend named: the policy's.
	plain := f.user("approvals:\n  mode: \"off\"\n  in_container: ask\n")
	r = f.sh(plain, "echo inside-$(id -u)")
	if r.code != 0 || r.stdout != fmt.Sprintf("inside-%d\n", plain.uid) {
		t.Fatalf("default backend under the policy: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(f.audit, plain.name+".jsonl")); err != nil {
		t.Errorf("the command did not go through the supervisor: %v", err)
	}
	// mode off and --yolo are forbidden: a command that needs asking,
	// with no one to ask, is denied.
	for _, args := range [][]string{{"-c", "git push --force"}, {"--yolo", "-c", "git push --force"}} {
		r = runCmd(t, f.cmd(plain, []string{"HERMES_YOLO=1"}, args...))
		if r.code != 126 || !strings.Contains(r.stderr, "approval required") {
			t.Errorf("%v with approvals off/yolo forbidden: exit %d %q, want 126 approval required", args, r.code, r.stderr)
		}
	}
	r = f.sh(plain, "terraform destroy -auto-approve")
	if r.code != 126 || !strings.Contains(r.stderr, "denied") {
		t.Errorf("policy deny rule: exit %d %q, want 126", r.code, r.stderr)
	}
	show := runCmd(t, f.cmd(plain, nil, "policy", "show"))
	for _, want := range []string{"backends: [supervisor]", "forbid_yolo: true", "max_timeout: 600", "terraform destroy"} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("policy show lacks %q:\n%s", want, show.stdout)
		}
	}
}

// A policy file someone else could change is refused by the wrapper and
// the supervisor alike: every command denied, with the reason.
func TestSupervisorRefusesUntrustedPolicy(t *testing.T) {
	f := newSupervisor(t, "default:\n  max_memory: 1g\n")
	a := f.user("")
	if r := f.sh(a, "echo ok"); r.code != 0 {
		t.Fatalf("with a sound policy: %+v", r)
	}
	for _, tc := range []struct {
		name  string
		setup func()
		want  string
	}{
		{"group-writable", func() { _ = os.Chmod(f.policy, 0o664) }, "writable by group or others"},
		{"owned-by-user", func() { _ = os.Chmod(f.policy, 0o644); _ = os.Chown(f.policy, a.uid, a.gid) }, "not root"},
		{"symlink", func() {
			_ = os.Chown(f.policy, 0, 0)
			_ = os.Rename(f.policy, f.policy+".real")
			_ = os.Symlink(f.policy+".real", f.policy)
		}, "symlink"},
		{"parse-error", func() {
			_ = os.Remove(f.policy)
			f.writePolicy("default:\n  max_memory: 1g\n  max_pids: lots\n")
		}, "policy.yaml:3:"},
		{"unknown-key", func() { f.writePolicy("default:\n  max_memroy: 1g\n") }, "policy.yaml:2:"},
		{"writable-dir", func() {
			f.writePolicy("default:\n  max_memory: 1g\n")
			_ = os.Chmod(f.dir, 0o777)
		}, "writable by group or others"},
	} {
		tc.setup()
		marker := filepath.Join(a.home, "work", "ran-"+tc.name)
		r := f.sh(a, "touch "+marker)
		if r.code != 126 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d %q, want 126 with %q", tc.name, r.code, r.stderr, tc.want)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Errorf("%s: the command ran", tc.name)
		}
	}
	_ = os.Chmod(f.dir, 0o755)
}

// One user's fork bomb leaves another user's command running.
func TestSupervisorForkBombLeavesOthersRunning(t *testing.T) {
	f := newSupervisor(t, "")
	a, b := f.user(""), f.user("")
	f.writePolicy(fmt.Sprintf("default:\n  max_pids: 512\nusers:\n  %s: {max_pids: 32}\n", a.name))
	bCmd := f.cmd(b, nil, "-c", "echo READY; sleep 4; echo B-ALIVE")
	var bOut testutil.Buffer
	bCmd.Stdout = &bOut
	if err := bCmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(30*time.Second, func() bool { return strings.Contains(bOut.String(), "READY") }) {
		_ = bCmd.Process.Kill()
		t.Fatal("B's command never started")
	}
	r := f.sh(a, forkProbe)
	mustHaveRun(t, r)
	if n := forkedCount(r.stdout); n == 0 || n >= 32 {
		t.Errorf("A's fork bomb started %d processes under max_pids 32", n)
	}
	err := bCmd.Wait()
	if err != nil || !strings.Contains(bOut.String(), "B-ALIVE") {
		t.Errorf("B's command after A's fork bomb: %v %q", err, bOut.String())
	}
}

// A supervisor that is down is a denial, never a run on the host.
func TestSupervisorDownDenies(t *testing.T) {
	f := newSupervisor(t, "")
	a := f.user("")
	f.stop(syscall.SIGTERM)
	marker := filepath.Join(a.home, "work", "ran")
	r := f.sh(a, "touch "+marker)
	if r.code != 126 || !strings.Contains(r.stderr, "hermes-exec: denied: supervisor: cannot reach the supervisor") {
		t.Errorf("supervisor down: exit %d %q, want 126 and the reason", r.code, r.stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran somewhere although the supervisor is down")
	}
}

// A restart ends running commands cleanly (126 with the reason, nothing
// left running), and a session is taken up again by the next supervisor.
func TestSupervisorRestart(t *testing.T) {
	f := newSupervisor(t, "")
	a := f.user("approvals:\n  mode: \"off\"\nterminal:\n  backend: supervisor\n")
	sid := "HERMES_SESSION_ID=restart-" + randSuffix()
	if r := f.sh(a, "echo kept > /tmp/session-file", sid); r.code != 0 {
		t.Fatalf("first command: %+v", r)
	}
	marker := "hxsv-restart-" + randSuffix()
	c := f.cmd(a, []string{sid}, "-c", "echo READY; exec -a "+marker+" sleep 120")
	var out, errb testutil.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(30*time.Second, func() bool { return findProcess(marker) != 0 }) {
		_ = c.Process.Kill()
		t.Fatalf("never started: %s %s", out.String(), errb.String())
	}
	f.stop(syscall.SIGTERM)
	err := c.Wait()
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 126 || !strings.Contains(errb.String(), "supervisor stopped") {
		t.Errorf("wrapper after the restart: exit %d %q, want 126 saying the supervisor stopped", code, errb.String())
	}
	if !waitFor(10*time.Second, func() bool { return findProcess(marker) == 0 }) {
		t.Error("the command outlived the supervisor")
	}
	f.start()
	r := f.sh(a, "cat /tmp/session-file", sid)
	if r.code != 0 || r.stdout != "kept\n" {
		t.Errorf("the session after the restart: %+v, want its /tmp kept (re-adopted)", r)
	}
}

// The backend conformance suite, through the supervisor, as a real user.
func TestConformanceSupervisor(t *testing.T) {
	f := newSupervisor(t, "default:\n  max_memory: 256m\n")
	for _, persist := range []string{"none", "session"} {
		t.Run(persist, func(t *testing.T) {
			u := f.user("approvals:\n  mode: \"off\"\nterminal:\n  backend: supervisor\ncontainer:\n  persist: " + persist + "\n")
			sid := "HERMES_SESSION_ID=conformance-sv-" + persist
			conformance.Run(t, conformance.Target{Command: func(script string, env ...string) *exec.Cmd {
				return f.cmd(u, append([]string{sid}, env...), "-c", script)
			}})
		})
	}
}

// The sandbox's probes (issue 6) hold through the supervisor too.
func TestSupervisorSandboxProbes(t *testing.T) {
	f := newSupervisor(t, "")
	a := f.user("approvals:\n  mode: \"off\"\nterminal:\n  backend: supervisor\n")
	mkdir(t, filepath.Join(a.home, "work"), ".git")
	mkdir(t, a.home, ".ssh")
	write(t, filepath.Join(a.home, ".ssh", "id_ed25519"), "SECRET-SV-KEY-22aa")
	for _, p := range []string{filepath.Join(a.home, "work", ".git"), filepath.Join(a.home, ".ssh"), filepath.Join(a.home, ".ssh", "id_ed25519")} {
		_ = os.Chown(p, a.uid, a.gid)
	}
	for _, tc := range []struct{ name, script, forbidden string }{
		{"etc-read-only", "echo x > /etc/hxsv-probe && echo WROTE", "WROTE"},
		{"shadow-hidden", "cat /etc/shadow", "root:"},
		{"ssh-key-hidden", "cat ~/.ssh/id_ed25519 " + filepath.Join(a.home, ".ssh/id_ed25519"), "SECRET-SV-KEY"},
		{"hermes-home-hidden", "cat " + filepath.Join(a.home, ".hermes", "config.yaml"), "backend"},
		{"no-setuid", "cp /bin/true ./su-probe && chmod 4755 ./su-probe && stat -c %A ./su-probe", "rws"},
		{"git-hooks-read-only", "mkdir -p .git/hooks && echo evil > .git/hooks/pre-commit && echo WROTE", "WROTE"},
		{"run-private", "ls /run/hermes-exec /run/user 2>&1; ls " + f.dir + " && echo LISTED", "LISTED"},
		{"no-network", "cat < /dev/tcp/1.1.1.1/53 && echo CONNECTED", "CONNECTED"},
	} {
		r := f.sh(a, tc.script, "HERMES_SESSION_ID=probes")
		if strings.Contains(r.stdout, tc.forbidden) {
			t.Errorf("%s: %q got through:\n%s", tc.name, tc.forbidden, r.stdout)
		}
	}
	if _, err := os.Stat("/etc/hxsv-probe"); err == nil {
		os.Remove("/etc/hxsv-probe")
		t.Error("the host's /etc was written")
	}
	if _, err := os.Stat(filepath.Join(a.home, "work", ".git", "hooks", "pre-commit")); err == nil {
		t.Error("a git hook was planted in the workspace")
	}
}

// systemd's socket activation, without systemd: the socket is made by the
// starter and passed as fd 3 with LISTEN_FDS and LISTEN_PID.
func TestSupervisorSocketActivation(t *testing.T) {
	f := newSupervisor(t, "")
	a := f.user("")
	f.stop(syscall.SIGTERM)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: f.socket, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_ = os.Chown(f.socket, 0, f.gid)
	_ = os.Chmod(f.socket, 0o660)
	lf, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" supervisor --listen /nonexistent/never-made.sock --state-dir "$1" --audit-dir "$2"`, f.bin, f.state, f.audit)
	c.Env = []string{"PATH=/usr/bin:/bin", "HERMES_TEST_POLICY=" + f.policy}
	c.ExtraFiles = []*os.File{lf}
	c.Stdout, c.Stderr = f.log, f.log
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	lf.Close()
	f.daemon = c
	r := f.sh(a, "id -u")
	if r.code != 0 || r.stdout != strconv.Itoa(a.uid)+"\n" {
		t.Errorf("through the socket systemd would pass: %+v\n%s", r, f.log.String())
	}
	if _, err := os.Stat("/nonexistent/never-made.sock"); err == nil {
		t.Error("--listen was used although a socket was passed")
	}
}

// svClient builds tests/svclient (a raw client of the socket) where every
// user can run it.
func svClient(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(supervisorBinaries(t), "svclient")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	c := exec.Command("go", "build", "-tags", "hermes_testpolicy", "-o", bin, "./svclient")
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("building svclient: %v\n%s", err, out)
	}
	return bin
}

// A user who skips the wrapper and talks to the socket directly still
// meets the policy: deny rules, caps on limits, the allowed backends.
func TestSupervisorEnforcesPolicyWithoutTheWrapper(t *testing.T) {
	f := newSupervisor(t, "default:\n  max_memory: 64m\n  deny: [\"terraform destroy\"]\n")
	a := f.user("")
	client := svClient(t)
	raw := func(args ...string) result {
		c := f.cmd(a, nil)
		c.Path, c.Args = client, append([]string{client}, args...)
		return runCmd(t, c)
	}
	if r := raw("--", "id", "-u"); r.code != 0 || r.stdout != strconv.Itoa(a.uid)+"\n" {
		t.Fatalf("raw client: %+v", r)
	}
	if r := raw("--", "bash", "-c", "terraform destroy -auto-approve"); r.code != 126 || !strings.Contains(r.stderr, "administrator's policy") {
		t.Errorf("deny rule through the raw socket: %+v", r)
	}
	r := raw("-memory", strconv.Itoa(8<<30), "--", "/usr/bin/perl", "-e", `$x = "a" x (1<<20); @a = (); push @a, $x . $_ for 1..100000; print "ALLOCATED\n"`)
	if r.code != 137 || strings.Contains(r.stdout, "ALLOCATED") {
		t.Errorf("asking for 8g past max_memory 64m: %+v", r)
	}
	f.writePolicy("default:\n  backends: [sandbox]\n")
	if r := raw("--", "true"); r.code != 126 || !strings.Contains(r.stderr, "not allowed") {
		t.Errorf("supervisor not among the allowed backends: %+v", r)
	}
}

// Per-user caps: sessions and concurrent commands. A user at a cap is
// refused at once; another user is not held back.
func TestSupervisorPerUserCaps(t *testing.T) {
	f := newSupervisor(t, "default:\n  max_sessions: 2\n  max_commands: 2\n")
	sessionCfg := "approvals:\n  mode: \"off\"\nterminal:\n  backend: supervisor\n"
	a, b := f.user(sessionCfg), f.user(sessionCfg)
	for i := 1; i <= 2; i++ {
		if r := f.sh(a, "true", fmt.Sprintf("HERMES_SESSION_ID=cap-%d", i)); r.code != 0 {
			t.Fatalf("session %d: %+v", i, r)
		}
	}
	if r := f.sh(a, "true", "HERMES_SESSION_ID=cap-3"); r.code != 126 || !strings.Contains(r.stderr, "max_sessions 2") {
		t.Errorf("third session at max_sessions 2: %+v", r)
	}
	if r := f.sh(a, "echo again", "HERMES_SESSION_ID=cap-1"); r.code != 0 {
		t.Errorf("an existing session at the cap: %+v", r)
	}
	var running []*exec.Cmd
	for i := 1; i <= 2; i++ {
		c := f.cmd(a, []string{fmt.Sprintf("HERMES_SESSION_ID=cap-%d", i)}, "-c", "sleep 30")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		running = append(running, c)
	}
	defer func() {
		for _, c := range running {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}()
	if !waitFor(20*time.Second, func() bool {
		return strings.Count(readFileOr(filepath.Join(f.audit, a.name+".jsonl")), `"event":"start"`) >= 5
	}) {
		t.Fatal("the two long commands never started")
	}
	if r := f.sh(a, "true", "HERMES_SESSION_ID=cap-1"); r.code != 126 || !strings.Contains(r.stderr, "max_commands 2") {
		t.Errorf("third command at max_commands 2: %+v", r)
	}
	if r := f.sh(b, "echo b-runs"); r.code != 0 || r.stdout != "b-runs\n" {
		t.Errorf("B held back by A's caps: %+v", r)
	}
}

func readFileOr(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}
