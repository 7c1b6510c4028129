package tests

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"hermes-exec/internal/testutil"
)

// The sandbox as a user without privileges: hermes-exec runs as nobody,
// so the container is rootless (its user namespace maps only nobody's uid)
// and no cgroup can be made on this cgroup v1 machine.

const (
	nobodyUID = 65534
	nobodyGID = 65534
)

// rootlessEnv is a hermes-exec home, workspace and binaries that nobody
// owns or can read, under /var/tmp (not /tmp: see sandboxEnv).
type rootlessEnv struct {
	t        *testing.T
	bin      string
	base     string
	home     string // HOME
	hermes   string // HERMES_HOME
	ws       string
	outside  string // nobody's, next to the workspace
	stateDir string
}

func newRootlessEnv(t *testing.T, container string) *rootlessEnv {
	t.Helper()
	requireRootlessSandbox(t)
	built := e2eBinary(t)
	base, err := os.MkdirTemp("/var/tmp", "hermes-sbx-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &rootlessEnv{t: t, base: base}
	// The test build directory is private to root: nobody runs copies.
	binDir := mkdir(t, base, "bin")
	for _, name := range []string{"hermes-exec", "hermes-exec-admin", "hermes-exec-sandbox"} {
		copyExecutable(t, filepath.Join(filepath.Dir(built), name), filepath.Join(binDir, name))
	}
	r.bin = filepath.Join(binDir, "hermes-exec")
	r.home = mkdir(t, base, "home")
	r.hermes = mkdir(t, base, "hermes-home")
	r.ws = mkdir(t, base, "ws")
	r.outside = mkdir(t, base, "outside")
	mkdir(t, r.home, ".ssh")
	write(t, filepath.Join(r.home, ".ssh", "id_ed25519"), "SECRET-ROOTLESS-KEY-4b1e")
	r.stateDir = filepath.Join(r.hermes, "run", "sandbox")
	r.writeConfig(container)
	for _, d := range []string{r.home, r.hermes, r.ws, r.outside} {
		chownTree(t, d)
	}
	t.Cleanup(func() {
		// Sessions a test made must not outlive it.
		_ = r.cmd(nil, "sandbox", "rm", "--all").Run()
	})
	return r
}

func (r *rootlessEnv) writeConfig(container string) {
	r.t.Helper()
	p := filepath.Join(r.hermes, "config.yaml")
	write(r.t, p, fmt.Sprintf("approvals:\n  mode: \"off\"\nterminal:\n  backend: sandbox\ncontainer:\n  workspace: %s\n%s", r.ws, container))
	if err := os.Chown(p, nobodyUID, nobodyGID); err != nil {
		r.t.Fatal(err)
	}
}

// cmd runs hermes-exec as nobody, without supplementary groups, in its own
// session, with no XDG_RUNTIME_DIR (the state goes under HERMES_HOME).
func (r *rootlessEnv) cmd(extraEnv []string, args ...string) *exec.Cmd {
	c := exec.Command(r.bin, args...)
	c.Dir = r.ws
	c.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + r.home, "HERMES_HOME=" + r.hermes, "LANG=C"}, extraEnv...)
	c.SysProcAttr = &syscall.SysProcAttr{
		Setsid:     true,
		Credential: &syscall.Credential{Uid: nobodyUID, Gid: nobodyGID, Groups: []uint32{}},
	}
	return c
}

func (r *rootlessEnv) sh(text string, extraEnv ...string) result {
	r.t.Helper()
	return runCmd(r.t, r.cmd(extraEnv, "-c", text))
}

// requireRootlessSandbox skips, saying why, when this machine cannot start
// an unprivileged process or the kernel forbids unprivileged user
// namespaces. CI runs as root on a kernel that allows them.
func requireRootlessSandbox(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.Skip(t, "needs root to start hermes-exec as nobody (uid 65534)")
	}
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err != nil || strings.TrimSpace(string(b)) == "0" {
		testutil.Skip(t, "the kernel allows no user namespaces (user.max_user_namespaces: %q %v)", b, err)
	}
	// Debian's switch for unprivileged user namespaces, where it exists.
	if b, err := os.ReadFile("/proc/sys/kernel/unprivileged_userns_clone"); err == nil && strings.TrimSpace(string(b)) == "0" {
		testutil.Skip(t, "the kernel forbids unprivileged user namespaces (kernel.unprivileged_userns_clone = 0)")
	}
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func chownTree(t *testing.T, dir string) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobodyUID, nobodyGID)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func ownerOf(t *testing.T, p string) (uint32, uint32) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid
}

func TestSandboxRootlessRunsAsCaller(t *testing.T) {
	r := newRootlessEnv(t, "  persist: none\n")
	l, got := listen(t, "tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	probe := fmt.Sprintf(`echo RAN
echo "UID=$(id -u) GID=$(id -g)"
touch /hermes-rootless-probe && echo WROTE-ROOT
touch /etc/hermes-rootless-probe && echo WROTE-ETC
touch %[1]s/escaped && echo WROTE-OUTSIDE
cat %[2]s/.ssh/id_ed25519
echo kept > %[3]s/made-inside && echo WROTE-WS
echo tmp > /tmp/t && echo WROTE-TMP
(exec 3<>/dev/tcp/127.0.0.1/%[4]d) 2>/dev/null && echo CONNECTED
echo "NET=$(ls /sys/class/net | tr '\n' ' ')"
grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status
unshare -U true 2>/dev/null && echo USERNS
printf 'oom_kill 5\n' > %[3]s/memory.oom_control
true`, r.outside, r.home, r.ws, port)
	res := r.sh(probe)
	mustHaveRun(t, res)
	if res.code != 0 {
		t.Errorf("exit %d, want 0\n%s", res.code, res.stderr)
	}
	want := fmt.Sprintf("UID=%d GID=%d", nobodyUID, nobodyGID)
	if !strings.Contains(res.stdout, want) {
		t.Errorf("the command does not run as its caller inside: want %q in\n%s", want, res.stdout)
	}
	for _, bad := range []string{"WROTE-ROOT", "WROTE-ETC", "WROTE-OUTSIDE", "SECRET-ROOTLESS-KEY-4b1e", "CONNECTED", "USERNS"} {
		if strings.Contains(res.stdout, bad) {
			t.Errorf("%s: allowed in the rootless sandbox:\n%s", bad, res.stdout)
		}
	}
	for _, p := range []string{"/hermes-rootless-probe", "/etc/hermes-rootless-probe", filepath.Join(r.outside, "escaped")} {
		if exists(p) {
			os.Remove(p)
			t.Errorf("host changed: %s exists", p)
		}
	}
	for _, ok := range []string{"WROTE-WS", "WROTE-TMP", "NET=lo \n", "CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1"} {
		if !strings.Contains(res.stdout, ok) {
			t.Errorf("%q missing:\n%s\n%s", ok, res.stdout, res.stderr)
		}
	}
	// No cgroup, so no out-of-memory counter: not even a file of that
	// name in the wrapper's working directory.
	if strings.Contains(res.stderr, "out of memory") {
		t.Errorf("a rootless run reported an out-of-memory kill:\n%s", res.stderr)
	}
	made := filepath.Join(r.ws, "made-inside")
	if b, err := os.ReadFile(made); err != nil || string(b) != "kept\n" {
		t.Fatalf("the workspace is not writable at the same path: %q %v", b, err)
	}
	if uid, gid := ownerOf(t, made); uid != nobodyUID || gid != nobodyGID {
		t.Errorf("a file written inside belongs to %d:%d on the host, want the caller %d:%d", uid, gid, nobodyUID, nobodyGID)
	}
	select {
	case <-got:
		t.Error("the host's 127.0.0.1 listener got a connection from the sandbox")
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := os.Stat(filepath.Join(r.home, ".ssh", "id_ed25519")); err != nil {
		t.Errorf("host key gone: %v", err)
	}
}

func TestSandboxRootlessExitStatus(t *testing.T) {
	r := newRootlessEnv(t, "  persist: none\n")
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"true", 0}, {"exit 42", 42}, {"kill -9 $$", 137}, {"kill -TERM $$", 143},
		{"no-such-command-hermes", 127}, {"sleep 0.1 & wait; exit 7", 7},
	} {
		if res := r.sh(tc.script); res.code != tc.want {
			t.Errorf("%q: exit %d, want %d (stderr %q)", tc.script, res.code, tc.want, res.stderr)
		}
	}
	// Nothing of a fresh container stays: no state directory, no reaper.
	if entries, err := os.ReadDir(r.stateDir); err == nil {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "f-") {
				t.Errorf("a fresh run left %s", filepath.Join(r.stateDir, e.Name()))
			}
		}
	}
	if left := sandboxLeftovers(t, r.stateDir); len(left) > 0 {
		t.Errorf("fresh rootless runs left %v", left)
	}
}

func TestSandboxRootlessRefusesLimitsItCannotEnforce(t *testing.T) {
	r := newRootlessEnv(t, "  persist: none\n  memory: 256m\n  cpus: 1\n")
	res := r.sh("echo RAN")
	if strings.Contains(res.stdout, "RAN") {
		t.Fatalf("ran without the configured memory and cpu limits:\n%s", res.stdout)
	}
	if res.code != 126 {
		t.Errorf("exit %d, want 126", res.code)
	}
	for _, want := range []string{"container.memory and container.cpus cannot be enforced for a non-root user", "refuses to start"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
		}
	}
}

func TestSandboxRootlessPidsLimit(t *testing.T) {
	r := newRootlessEnv(t, "  persist: none\n  pids: 64\n")
	// Without a cgroup, the pids limit is RLIMIT_NPROC in the container's
	// own user namespace: it counts only the container's processes.
	res := r.sh(forkProbe)
	mustHaveRun(t, res)
	started := forkedCount(res.stdout)
	if started == 0 || started >= 64 {
		t.Errorf("started %d background processes with pids: 64\n%s", started, res.stderr)
	}
	// The limit is the container's, not the user's: the host can still
	// start processes as nobody.
	c := exec.Command("true")
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobodyUID, Gid: nobodyGID, Groups: []uint32{}}}
	if err := c.Run(); err != nil {
		t.Errorf("nobody cannot start a process on the host after the probe: %v", err)
	}
}

func TestSandboxRootlessSession(t *testing.T) {
	r := newRootlessEnv(t, "  persist: session\n")
	sid := "HERMES_SESSION_ID=rootless-" + strconv.Itoa(os.Getpid())
	if res := r.sh(`echo RAN; echo "$(id -u)" > /tmp/state; exit 3`, sid); res.code != 3 {
		t.Fatalf("exit %d, want 3: %s", res.code, res.stderr)
	}
	res := r.sh("echo RAN; cat /tmp/state; id -u", sid)
	mustHaveRun(t, res)
	if want := fmt.Sprintf("RAN\n%d\n%d\n", nobodyUID, nobodyUID); res.stdout != want {
		t.Errorf("session output %q, want %q (stderr %q)", res.stdout, want, res.stderr)
	}
	// The session's reaper stays outside the command's user namespace,
	// under the container's first seccomp filter only: a command must
	// not be able to take it over to create a user namespace.
	probe := r.sh(`echo RAN
/usr/bin/perl -e '$r = syscall(101, 0x4206, 1, 0, 0); print "PTRACE-REAPER ", ($r == -1 ? "failed $!" : "ok"), "\n"'
cat /proc/1/environ >/dev/null 2>&1 && echo READ-REAPER-ENV
unshare -U true 2>/dev/null && echo USERNS
true`, sid)
	mustHaveRun(t, probe)
	if !strings.Contains(probe.stdout, "PTRACE-REAPER failed") || strings.Contains(probe.stdout, "READ-REAPER-ENV") || strings.Contains(probe.stdout, "USERNS") {
		t.Errorf("a session command can reach the reaper or make a user namespace:\n%s\n%s", probe.stdout, probe.stderr)
	}
	if rm := r.cmd(nil, "sandbox", "rm", "--all"); rm.Run() != nil {
		t.Fatal("sandbox rm --all failed")
	}
	if ids, _ := filepath.Glob(filepath.Join(r.stateDir, "s-*")); len(ids) > 0 {
		t.Errorf("sandbox rm left %v", ids)
	}
	if res := r.sh("echo RAN; cat /tmp/state 2>&1; true", sid); strings.Contains(res.stdout, strconv.Itoa(nobodyUID)) {
		t.Error("a removed session's files came back")
	}
}

func TestSandboxRootlessTerminal(t *testing.T) {
	for _, persist := range []string{"none", "session"} {
		t.Run(persist, func(t *testing.T) {
			r := newRootlessEnv(t, "  persist: "+persist+"\n")
			master, slave, err := pty.Open()
			if err != nil {
				testutil.Skip(t, "no pseudo-terminals on this machine: %v", err)
			}
			defer master.Close()
			if err := pty.Setsize(master, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
				t.Fatal(err)
			}
			c := r.cmd([]string{"TERM=xterm", "HERMES_SESSION_ID=rootless-tty-" + strconv.Itoa(os.Getpid())}, "-c", "tty; stty size; echo UID=$(id -u); exit 5")
			c.Stdin, c.Stdout, c.Stderr = slave, slave, slave
			c.SysProcAttr.Setctty = true
			c.SysProcAttr.Ctty = 0
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			slave.Close()
			var screen bytes.Buffer
			read := make(chan struct{})
			go func() {
				defer close(read)
				_, _ = io.Copy(&screen, master) // ends with EIO when the last slave closes
			}()
			done := make(chan error, 1)
			go func() { done <- c.Wait() }()
			var werr error
			select {
			case werr = <-done:
			case <-time.After(30 * time.Second):
				c.Process.Kill()
				t.Fatal("hermes-exec did not end")
			}
			select {
			case <-read:
			case <-time.After(2 * time.Second):
			}
			var ee *exec.ExitError
			if !errors.As(werr, &ee) || ee.ExitCode() != 5 {
				t.Errorf("exit %v, want 5", werr)
			}
			out := screen.String()
			for _, want := range []string{"/dev/pts/", "40 120", fmt.Sprintf("UID=%d", nobodyUID)} {
				if !strings.Contains(out, want) {
					t.Errorf("%q missing from the terminal:\n%q", want, out)
				}
			}
		})
	}
}

func TestSandboxRootlessKilledWrapperLeavesNothing(t *testing.T) {
	r := newRootlessEnv(t, "  persist: none\n")
	marker := "hermes-rootless-" + strconv.Itoa(os.Getpid())
	c := r.cmd(nil, "-c", "exec -a "+marker+" sleep 300")
	sleeper := startMarked(t, c, marker)
	if uid, _ := ownerOf(t, fmt.Sprintf("/proc/%d", sleeper)); uid != nobodyUID {
		t.Errorf("the command runs as host uid %d, want the caller %d", uid, nobodyUID)
	}
	c.Process.Signal(syscall.SIGKILL)
	c.Wait()
	if !waitFor(10*time.Second, func() bool { return !alive(sleeper) }) {
		t.Error("the command outlived its SIGKILLed wrapper")
	}
	// The next start collects the dead wrapper's container.
	if res := r.sh("echo RAN"); res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	if left := sandboxLeftovers(t, r.stateDir); len(left) > 0 {
		t.Errorf("after a SIGKILLed wrapper and a new start, left: %v", left)
	}
}
