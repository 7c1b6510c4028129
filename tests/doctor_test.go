package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// requireRoot skips with the reason, or fails when CI demands every test
// run (HERMES_TEST_REQUIRE_ALL=1).
func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("HERMES_TEST_REQUIRE_ALL") == "1" {
		t.Fatalf("needs root (%s), and HERMES_TEST_REQUIRE_ALL=1", why)
	}
	t.Skipf("needs root: %s", why)
}

type doctorReport struct {
	Results []struct {
		Check, Status, Message, Fix, Fixed string
	}
	Errors, Warnings int
}

func (e *env) doctor(args ...string) (doctorReport, result) {
	e.t.Helper()
	r := e.run(nil, append([]string{"doctor", "--json"}, args...)...)
	var rep doctorReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		e.t.Fatalf("doctor --json: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	return rep, r
}

// find returns the results of a check whose message contains substr.
func (d doctorReport) find(check, status, substr string) bool {
	for _, r := range d.Results {
		if r.Check == check && r.Status == status && strings.Contains(r.Message, substr) {
			return true
		}
	}
	return false
}

func (d doctorReport) errorsText() string {
	var b strings.Builder
	for _, r := range d.Results {
		if r.Status == "error" {
			b.WriteString(r.Check + ": " + r.Message + "\n")
		}
	}
	return b.String()
}

// A fresh install (install.sh, for real, into a temporary prefix and
// home) has no errors.
func TestDoctorFreshInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and installs with install.sh")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		if os.Getenv("HERMES_TEST_REQUIRE_ALL") == "1" {
			t.Fatal("install.sh needs gcc, and HERMES_TEST_REQUIRE_ALL=1")
		}
		t.Skip("install.sh needs gcc and libseccomp-dev")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home", ".hermes")
	os.MkdirAll(filepath.Dir(home), 0o755)
	inst := exec.Command("./install.sh")
	inst.Dir = root
	inst.Env = append(os.Environ(), "PREFIX="+filepath.Join(tmp, "prefix"), "HERMES_HOME="+home, "HOME="+filepath.Dir(home))
	// The fresh home is the user's, not Go's: with HOME moved, go would
	// download every module and build every package again under it (10
	// minutes on a 2-core machine, most of the suite's budget), so the
	// build keeps the caches it already has.
	for _, v := range []string{"GOPATH", "GOMODCACHE", "GOCACHE"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", v, err)
		}
		inst.Env = append(inst.Env, v+"="+strings.TrimSpace(string(out)))
	}
	if out, err := inst.CombinedOutput(); err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	bin := filepath.Join(tmp, "prefix", "bin", "hermes-exec")
	// The first command of the quick start, then doctor.
	first := exec.Command(bin, "-c", "echo hello")
	first.Env = []string{"PATH=" + os.Getenv("PATH"), "HERMES_HOME=" + home, "HOME=" + filepath.Dir(home)}
	first.Dir = tmp
	if r := runCmd(t, first); r.code != 0 {
		t.Fatalf("first command: %+v", r)
	}
	doc := exec.Command(bin, "doctor")
	doc.Env = first.Env
	doc.Dir = tmp
	r := runCmd(t, doc)
	if r.code != 0 || !strings.Contains(r.stdout, " 0 error(s)") && !strings.HasPrefix(lastLine(r.stdout), "0 error(s)") {
		t.Fatalf("doctor on a fresh install: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"ok     home", "ok     config.yaml", "ok     audit ", "warn   gateway       gateway not running", "ok     sandbox "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func lastLine(s string) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return l[len(l)-1]
}

// The judged case: a world-readable .env, approvals.mode: off, an
// allowlist entry `bash`, a config.yaml symlink: each reported, exit 1;
// --fix repairs the modes and says so, and touches no symlink target.
func TestDoctorReportsAndFixes(t *testing.T) {
	e := newEnv(t)
	os.Chmod(e.home, 0o755)
	real := filepath.Join(t.TempDir(), "real-config.yaml")
	os.WriteFile(real, []byte("approvals:\n  mode: off\n  allowlist:\n    - bash\n    - git push\n"), 0o644)
	os.Symlink(real, filepath.Join(e.home, "config.yaml"))
	os.WriteFile(filepath.Join(e.home, ".env"), []byte("OPENAI_API_KEY=sk-test-123456\n"), 0o644)

	rep, r := e.doctor()
	if r.code != 1 {
		t.Fatalf("doctor exit %d, want 1\n%s", r.code, r.stdout)
	}
	for _, c := range []struct{ check, substr string }{
		{"home", "mode 0755"},
		{".env", "mode 0644"},
		{"config.yaml", "is a symlink to " + real},
		{"approvals", "approvals.mode is off"},
		{"allowlist", `"bash" is too broad`},
	} {
		if !rep.find(c.check, "error", c.substr) {
			t.Errorf("no error %s: %q in:\n%s", c.check, c.substr, rep.errorsText())
		}
	}
	// The text form: one line per check, ok/warn/error, what to do.
	txt := e.run(nil, "doctor")
	if txt.code != 1 || !strings.Contains(txt.stdout, "error  .env ") || !strings.Contains(txt.stdout, "-> chmod 600") {
		t.Fatalf("text report:\n%s", txt.stdout)
	}

	rep, r = e.doctor("--fix")
	fixed := map[string]string{}
	for _, x := range rep.Results {
		if x.Fixed != "" {
			fixed[x.Check] = x.Fixed
		}
	}
	if !strings.Contains(fixed["home"], "chmod 0700") || !strings.Contains(fixed[".env"], "chmod 0600") || len(fixed) != 2 {
		t.Fatalf("--fix changed %v", fixed)
	}
	if st, _ := os.Stat(e.home); st.Mode().Perm() != 0o700 {
		t.Errorf("home is %v after --fix", st.Mode().Perm())
	}
	if st, _ := os.Stat(filepath.Join(e.home, ".env")); st.Mode().Perm() != 0o600 {
		t.Errorf(".env is %v after --fix", st.Mode().Perm())
	}
	if st, _ := os.Stat(real); st.Mode().Perm() != 0o644 {
		t.Errorf("--fix changed the symlink's target to %v", st.Mode().Perm())
	}
	// What --fix cannot repair is still an error.
	if r.code != 1 || !rep.find("config.yaml", "error", "symlink") || !rep.find("approvals", "error", "off") {
		t.Fatalf("after --fix: exit %d\n%s", r.code, rep.errorsText())
	}
	// Once the rest is repaired by hand, no errors remain.
	os.Remove(filepath.Join(e.home, "config.yaml"))
	e.writeConfig("approvals:\n  mode: default\n  allowlist: [git push]\n")
	if rep, r := e.doctor(); r.code != 0 || rep.Errors != 0 {
		t.Fatalf("after repairs: exit %d\n%s", r.code, rep.errorsText())
	}
}

// Root fixing a user's home: ownership is corrected to the home's owner,
// and a symlink planted in it is never followed.
func TestDoctorFixAsRootNeverFollowsSymlinks(t *testing.T) {
	requireRoot(t, "chown, and root's view of another user's home")
	e := newEnv(t)
	const nobody = 65534
	// A root-owned audit log in the user's home (a `sudo hermes-exec` once,
	// made before the home was the user's: root refuses to use another
	// user's HERMES_HOME now).
	e.run(nil, "-c", "true")
	os.Chown(e.home, nobody, nobody)
	os.Chmod(e.home, 0o700)
	e.writeConfig("approvals:\n  mode: default\n")
	os.Chown(filepath.Join(e.home, "config.yaml"), nobody, nobody)
	victim := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(victim, []byte("root:x:0:0\n"), 0o644)
	os.Symlink(victim, filepath.Join(e.home, ".env"))
	os.MkdirAll(filepath.Join(e.home, "sessions"), 0o700)
	os.Chown(filepath.Join(e.home, "sessions"), nobody, nobody)
	os.Symlink(victim, filepath.Join(e.home, "sessions", "x.json"))

	rep, _ := e.doctor()
	if !rep.find("audit.jsonl", "error", "owned by root") {
		t.Fatalf("root-owned audit log not reported:\n%s", rep.errorsText())
	}
	rep, _ = e.doctor("--fix")
	var st = mustStat(t, filepath.Join(e.home, "audit.jsonl"))
	if st.uid != nobody {
		t.Errorf("audit.jsonl owner %d after --fix", st.uid)
	}
	v := mustStat(t, victim)
	if v.uid != 0 || v.mode != 0o644 {
		t.Fatalf("--fix followed a symlink: the target is now uid %d mode %o", v.uid, v.mode)
	}
	if !rep.find(".env", "error", "symlink") || !rep.find("sessions/x.json", "error", "symlink") {
		t.Fatalf("planted symlinks not reported:\n%s", rep.errorsText())
	}
}

type statInfo struct {
	uid  int
	mode os.FileMode
}

func mustStat(t *testing.T, p string) statInfo {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return statInfo{uid: int(fi.Sys().(*syscall.Stat_t).Uid), mode: fi.Mode().Perm()}
}

// Doctor against the real gateway: not running is a warning; running,
// its certificate matches HERMES_HOME's; no approver is a warning until
// one is paired.
func TestDoctorSeesTheGateway(t *testing.T) {
	e := newEnv(t)
	os.Chmod(e.home, 0o700) // t.TempDir is 0755: an error of its own
	rep, _ := e.doctor()
	if !rep.find("gateway", "warn", "gateway not running") {
		t.Fatalf("no gateway: %+v", rep.Results)
	}
	g := e.startGateway()
	rep, _ = e.doctor()
	if !rep.find("gateway", "ok", "running, listening on") || !rep.find("approvers", "warn", "no approver is paired") {
		t.Fatalf("running gateway: %+v\n%s", rep.Results, rep.errorsText())
	}
	if !rep.find("gateway-tls", "ok", "fingerprint") || rep.find("gateway-tls", "error", "") {
		t.Fatalf("certificate: %+v", rep.Results)
	}
	g.pairedClient("phone")
	rep, r := e.doctor()
	if !rep.find("approvers", "ok", "1 approver") || r.code != 0 {
		t.Fatalf("after pairing: exit %d %+v\n%s", r.code, rep.Results, rep.errorsText())
	}
	// The pairing store doctor checks is the gateway's own.
	if !rep.find("pairing", "ok", "directory, 0700") {
		t.Fatalf("pairing dir not checked: %+v", rep.Results)
	}
}
