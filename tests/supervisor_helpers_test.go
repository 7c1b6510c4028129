package tests

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hermes-exec/internal/testutil"
)

// The supervisor is tested as CI's judge runs it: real users (useradd),
// the daemon started by hand (no systemd), commands run as those users.
// The binaries are a test build (EXTRATAGS=hermes_testpolicy): the only
// difference is that HERMES_TEST_POLICY and HERMES_TEST_SUPERVISOR_SOCKET
// point them at this test's own policy file and socket, so that no test
// touches the machine's /etc/hermes-exec/policy.yaml under other runs.

var (
	svBuildOnce sync.Once
	svBinDir    string
	svBuildErr  error
)

// supervisorBinaries builds the test build once, into a directory every
// user can run from.
func supervisorBinaries(t *testing.T) string {
	t.Helper()
	svBuildOnce.Do(func() {
		// One directory per test process, named for it: with no
		// package-wide teardown, each run removes those of runs that
		// have ended.
		old, _ := filepath.Glob("/var/tmp/hermes-sv-bin-*")
		for _, d := range old {
			if pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "hermes-sv-bin-")); err == nil && syscall.Kill(pid, 0) != nil {
				os.RemoveAll(d)
			}
		}
		dir := fmt.Sprintf("/var/tmp/hermes-sv-bin-%d", os.Getpid())
		if err := os.Mkdir(dir, 0o755); err != nil {
			svBuildErr = err
			return
		}
		_ = os.Chmod(dir, 0o755)
		svBinDir = dir
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("make", "build", "BINDIR="+dir, "VERSION=e2e-sv", "EXTRATAGS=hermes_testpolicy")
		cmd.Dir = filepath.Dir(filepath.Dir(file))
		if out, err := cmd.CombinedOutput(); err != nil {
			svBuildErr = errors.New("make build: " + err.Error() + "\n" + string(out))
		}
	})
	if svBuildErr != nil {
		t.Fatal(svBuildErr)
	}
	return svBinDir
}

// requireSupervisor skips, with the reason, where the machine cannot run
// it: it needs root (users, the daemon) and useradd.
func requireSupervisor(t *testing.T) {
	t.Helper()
	skip := func(format string, a ...any) {
		t.Helper()
		if os.Getenv("HERMES_TEST_REQUIRE_ALL") == "1" {
			t.Fatalf(format+", and HERMES_TEST_REQUIRE_ALL=1", a...)
		}
		t.Skipf(format, a...)
	}
	if os.Geteuid() != 0 {
		skip("the supervisor tests need root (real users, a root daemon)")
	}
	if _, err := os.Stat("/proc/self/ns/user"); err != nil {
		skip("kernel without user namespaces")
	}
	for _, tool := range []string{"useradd", "userdel", "groupadd", "groupdel", "perl"} {
		if _, err := exec.LookPath(tool); err != nil {
			skip("needs %s to create test users and run the probes", tool)
		}
	}
}

// svUser is a real user made for one test.
type svUser struct {
	name     string
	uid, gid int
	home     string
}

// svFixture is one supervisor with its users, policy and socket.
type svFixture struct {
	t      *testing.T
	bin    string // the test build's hermes-exec
	dir    string // /run/hermes-sv-test-*: policy, socket, state, audit (root's, 0755)
	policy string
	socket string
	state  string
	audit  string
	group  string
	gid    int
	daemon *exec.Cmd
	log    *testutil.Buffer
}

func randSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// newSupervisor makes a group, a policy file (policyYAML, "" for none)
// and starts the daemon. Users come from f.user.
func newSupervisor(t *testing.T, policyYAML string) *svFixture {
	t.Helper()
	requireSupervisor(t)
	binDir := supervisorBinaries(t)
	dir, err := os.MkdirTemp("/run", "hermes-sv-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := &svFixture{
		t: t, bin: filepath.Join(binDir, "hermes-exec"), dir: dir,
		policy: filepath.Join(dir, "policy.yaml"), socket: filepath.Join(dir, "supervisor.sock"),
		state: filepath.Join(dir, "state"), audit: filepath.Join(dir, "audit"),
		group: "hxg" + randSuffix(), log: &testutil.Buffer{},
	}
	mustRun(t, "groupadd", f.group)
	t.Cleanup(func() { _ = exec.Command("groupdel", f.group).Run() })
	g, err := user.LookupGroup(f.group)
	if err != nil {
		t.Fatal(err)
	}
	f.gid, _ = strconv.Atoi(g.Gid)
	if policyYAML != "" {
		f.writePolicy(policyYAML)
	}
	f.start()
	t.Cleanup(f.cleanup)
	return f
}

func (f *svFixture) writePolicy(text string) {
	f.t.Helper()
	if err := os.WriteFile(f.policy, []byte(text), 0o644); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Chmod(f.policy, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// start runs the daemon and waits for its socket.
func (f *svFixture) start() {
	f.t.Helper()
	c := exec.Command(f.bin, "supervisor", "--listen", f.socket, "--group", f.group,
		"--state-dir", f.state, "--audit-dir", f.audit, "--grace", "2s")
	c.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HERMES_TEST_POLICY=" + f.policy}
	c.Stdout, c.Stderr = f.log, f.log
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		f.t.Fatal(err)
	}
	f.daemon = c
	if !waitFor(20*time.Second, func() bool { _, err := os.Stat(f.socket); return err == nil }) {
		f.t.Fatalf("the supervisor did not listen: %s", f.log.String())
	}
}

// stop ends the daemon with sig and waits for it.
func (f *svFixture) stop(sig syscall.Signal) {
	if f.daemon == nil {
		return
	}
	_ = f.daemon.Process.Signal(sig)
	done := make(chan struct{})
	go func() { _ = f.daemon.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = f.daemon.Process.Kill()
		<-done
	}
	f.daemon = nil
}

// cleanup stops the daemon and removes every sandbox its users left.
func (f *svFixture) cleanup() {
	f.stop(syscall.SIGTERM)
	dirs, _ := filepath.Glob(filepath.Join(f.state, "*"))
	for _, d := range dirs {
		req := fmt.Sprintf(`{"Options":{"StateDir":%q}}`, d)
		c := exec.Command(filepath.Join(filepath.Dir(f.bin), "hermes-exec-sandbox"), "rm", "--all")
		c.Dir = "/"
		c.Env = []string{"PATH=/usr/bin:/bin", "HERMES_SANDBOX_REQUEST=" + req}
		_ = c.Run()
	}
}

// user makes a real user in the fixture's group, with a HERMES_HOME whose
// config.yaml is configYAML (approvals off unless it says otherwise).
func (f *svFixture) user(configYAML string) *svUser {
	f.t.Helper()
	name := "hxu" + randSuffix()
	mustRun(f.t, "useradd", "-m", "-G", f.group, "-s", "/bin/bash", name)
	f.t.Cleanup(func() {
		// Nothing of the user's may run when it is removed.
		_ = exec.Command("pkill", "-KILL", "-u", name).Run()
		_ = exec.Command("userdel", "-r", "-f", name).Run()
	})
	u, err := user.Lookup(name)
	if err != nil {
		f.t.Fatal(err)
	}
	su := &svUser{name: name, home: u.HomeDir}
	su.uid, _ = strconv.Atoi(u.Uid)
	su.gid, _ = strconv.Atoi(u.Gid)
	hermes := filepath.Join(su.home, ".hermes")
	if err := os.MkdirAll(filepath.Join(su.home, "work"), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.MkdirAll(hermes, 0o700); err != nil {
		f.t.Fatal(err)
	}
	if configYAML == "" {
		configYAML = "approvals:\n  mode: \"off\"\nterminal:\n  backend: supervisor\ncontainer:\n  persist: none\n"
	}
	write(f.t, filepath.Join(hermes, "config.yaml"), configYAML)
	for _, p := range []string{su.home, hermes, filepath.Join(hermes, "config.yaml"), filepath.Join(su.home, "work")} {
		if err := os.Chown(p, su.uid, su.gid); err != nil {
			f.t.Fatal(err)
		}
	}
	return su
}

// cmd is the test build of hermes-exec run as u (setpriv's way: uid, gid,
// groups from the user database), in ~/work, in a session of its own.
func (f *svFixture) cmd(u *svUser, extraEnv []string, args ...string) *exec.Cmd {
	c := exec.Command(f.bin, args...)
	c.Dir = filepath.Join(u.home, "work")
	c.Env = append([]string{
		"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + u.home, "USER=" + u.name, "LANG=C",
		"HERMES_TEST_POLICY=" + f.policy, "HERMES_TEST_SUPERVISOR_SOCKET=" + f.socket,
	}, extraEnv...)
	c.SysProcAttr = &syscall.SysProcAttr{
		Setsid:     true,
		Credential: &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid), Groups: []uint32{uint32(u.gid), uint32(f.gid)}},
	}
	return c
}

func (f *svFixture) sh(u *svUser, text string, extraEnv ...string) result {
	f.t.Helper()
	return runCmd(f.t, f.cmd(u, extraEnv, "-c", text))
}
