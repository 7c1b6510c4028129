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
	"testing"
	"time"

	"hermes-exec/internal/testutil"
	"hermes-exec/isolate/conformance"
)

// sandboxEnv is a hermes-exec home whose commands run on the sandbox
// backend. Its directories live under /var/tmp, not /tmp: the sandbox has
// its own /tmp, so anything under the host's /tmp would be invisible inside
// for that reason alone and a probe for hiding would prove nothing.
type sandboxEnv struct {
	*env
	base     string // parent of everything below
	ws       string // the workspace (writable inside)
	outside  string // a host directory next to the workspace
	userHome string // HOME, with a fake ~/.ssh
	extraEnv []string
	stateDir string
}

func newSandboxEnv(t *testing.T, container string) *sandboxEnv {
	t.Helper()
	probeBackend.require(t)
	base, err := os.MkdirTemp("/var/tmp", "hermes-sbx-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	s := &sandboxEnv{env: newEnv(t), base: base}
	s.ws = mkdir(t, base, "ws")
	s.outside = mkdir(t, base, "outside")
	s.userHome = mkdir(t, base, "home")
	s.env.home = mkdir(t, base, "hermes-home")
	s.env.dir = s.ws
	s.stateDir = probeBackend.stateDir
	mkdir(t, s.userHome, ".ssh")
	write(t, filepath.Join(s.userHome, ".ssh", "id_ed25519"), "SECRET-SSH-KEY-7f3a")
	write(t, filepath.Join(s.env.home, ".env"), "OPENAI_API_KEY=SECRET-DOTENV-91c2\n")
	s.writeConfig(fmt.Sprintf("approvals:\n  mode: \"off\"\nterminal:\n  backend: %s\ncontainer:\n  workspace: %s\n%s%s", probeBackend.name, s.ws, container, probeBackend.container))
	s.extraEnv = []string{"HOME=" + s.userHome}
	t.Cleanup(func() {
		// Sessions and spares a test made must not outlive it (a spare
		// being made in the background would come after the rm).
		waitSpareMakers(t)
		c := s.cmd(s.extraEnv, "--backend", probeBackend.name, "sandbox", "rm", "--all")
		_ = c.Run()
	})
	return s
}

// sh runs TEXT in the sandbox and returns what happened.
func (s *sandboxEnv) sh(text string, env ...string) result {
	s.t.Helper()
	return s.run(append(append([]string(nil), s.extraEnv...), env...), "-c", text)
}

// requireSandbox skips with the reason when the machine cannot run the
// sandbox at all (CI runs as root on a real kernel, so it never skips).
func requireSandbox(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.Skip(t, "sandbox probes need root: cgroup limits on this cgroup v1 machine need root")
	}
	if _, err := os.Stat("/proc/self/ns/user"); err != nil {
		testutil.Skip(t, "kernel without user namespaces")
	}
}

func mkdir(t *testing.T, parent, name string) string {
	t.Helper()
	p := filepath.Join(parent, name)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// mustHaveRun fails unless the command really ran inside (it prints RAN
// first), so that a probe refused by policy is not mistaken for one the
// sandbox blocked.
func mustHaveRun(t *testing.T, r result) {
	t.Helper()
	if !strings.Contains(r.stdout, "RAN") {
		t.Fatalf("the probe did not run in the sandbox: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

// hostSleeper starts a host process the sandbox must neither see nor touch.
func hostSleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	c := exec.Command("sleep", "300")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	return c
}

// alive is testutil.Alive, the one definition of a running process.
func alive(pid int) bool { return testutil.Alive(pid) }

// listen accepts on addr and counts connections.
func listen(t *testing.T, network, addr string) (net.Listener, <-chan struct{}) {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{}, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			got <- struct{}{}
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return l, got
}

// sandboxLeftovers lists what fresh containers left: state dirs and cgroups
// named f-*, those of spares (p-*) that commands used (a spare still ready
// for the next command is no leftover), and reaper processes. The spares'
// makers, which remove the used ones, are waited for first.
func sandboxLeftovers(t *testing.T, stateDir string) []string {
	t.Helper()
	if probeBackend.name != "sandbox" {
		return probeBackend.leftovers(t)
	}
	waitSpareMakers(t)
	// Spares are made by root only, in root's state directory.
	ready := readySpares(stateDir)
	for id := range readySpares(probeBackend.stateDir) {
		ready[id] = true
	}
	used := func(p string) bool {
		name := filepath.Base(p)
		return strings.HasPrefix(name, "f-") || (strings.HasPrefix(name, "p-") && !strings.HasSuffix(name, ".lock") && !ready[name])
	}
	var left []string
	if entries, err := os.ReadDir(stateDir); err == nil {
		for _, e := range entries {
			if used(e.Name()) {
				left = append(left, filepath.Join(stateDir, e.Name()))
			}
		}
	}
	for _, pat := range []string{"/sys/fs/cgroup/*/hermes-exec/*", "/sys/fs/cgroup/hermes-exec/*"} {
		cg, _ := filepath.Glob(pat)
		for _, p := range cg {
			if fi, err := os.Stat(p); err == nil && fi.IsDir() && used(p) {
				left = append(left, p)
			}
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), "sandbox-reaper\x00run") {
			left = append(left, p+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return left
}

// waitSpareMakers waits for the background `hermes-exec-sandbox spare`
// runs (started after fresh commands) to finish.
func waitSpareMakers(t *testing.T) {
	t.Helper()
	making := func() bool {
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			b, _ := os.ReadFile(p)
			if strings.HasSuffix(string(b), "hermes-exec-sandbox\x00spare\x00") {
				return true
			}
		}
		return false
	}
	if !waitFor(30*time.Second, func() bool { return !making() }) {
		t.Log("a spare is still being made after 30s")
	}
}

// readySpares are the ids of the spares marked ready in stateDir (any
// HERMES_HOME's).
func readySpares(stateDir string) map[string]bool {
	ready := map[string]bool{}
	markers, _ := filepath.Glob(filepath.Join(stateDir, "spare-*"))
	for _, m := range markers {
		var v struct{ ID string }
		if b, err := os.ReadFile(m); err == nil && json.Unmarshal(b, &v) == nil && v.ID != "" {
			ready[v.ID] = true
		}
	}
	return ready
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool { return testutil.WaitFor(timeout, cond) }

// findProcess is the pid of the live process whose argv[0] is name, or 0.
func findProcess(name string) int { return conformance.FindProcess(name) }

// startMarked starts c, whose command runs as a process named marker
// (`exec -a marker ...`), and returns that process's pid once it runs.
// When it never does, c is killed and reaped and the test fails.
func startMarked(t *testing.T, c *exec.Cmd, marker string) int {
	t.Helper()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	if !waitFor(20*time.Second, func() bool { pid = findProcess(marker); return pid != 0 }) {
		c.Process.Kill()
		c.Wait()
		t.Fatal("the command never started")
	}
	return pid
}

// forkProbe forks up to 200 sleepers and prints how many it started. It is
// deterministic: perl's fork fails at once (bash's retries for seconds), so
// the count is exactly what the process limit allowed.
const forkProbe = `echo RAN; exec /usr/bin/perl -e 'my @k; for (1..200) { my $p = fork; last unless defined $p; if (!$p) { sleep 30; exit 0 } push @k, $p } print "STARTED=", scalar(@k), "\n"; kill "KILL", @k'`

// forkedCount reads forkProbe's STARTED= line (0 when it is missing).
func forkedCount(stdout string) int {
	for _, line := range strings.Split(stdout, "\n") {
		if v, ok := strings.CutPrefix(line, "STARTED="); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
