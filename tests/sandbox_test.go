package tests

import (
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
)

// The escape probes of issue 3: each runs inside the sandbox, must be
// blocked there, and must leave the host unchanged.

const freshConfig = "  persist: none\n  memory: 256m\n  pids: 128\n"

func TestSandboxWritesStayInWorkspace(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	probe := fmt.Sprintf(`echo RAN
touch /hermes-probe-root && echo WROTE-ROOT
echo x > /etc/hermes-probe && echo WROTE-ETC
mkdir /usr/hermes-probe && echo WROTE-USR
touch %[1]s/escaped && echo WROTE-OUTSIDE
touch "$HOME/escaped" && echo WROTE-HOME
echo kept > %[2]s/made-inside && echo WROTE-WS
echo gone > /tmp/inside-tmp && echo WROTE-TMP
true`, s.outside, s.ws)
	r := s.sh(probe)
	mustHaveRun(t, r)
	for _, bad := range []string{"WROTE-ROOT", "WROTE-ETC", "WROTE-USR", "WROTE-OUTSIDE", "WROTE-HOME"} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("%s: a write outside the workspace succeeded inside", bad)
		}
	}
	for _, p := range []string{"/hermes-probe-root", "/etc/hermes-probe", "/usr/hermes-probe", filepath.Join(s.outside, "escaped"), filepath.Join(s.userHome, "escaped")} {
		if exists(p) {
			os.RemoveAll(p)
			t.Errorf("host changed: %s exists", p)
		}
	}
	if b, err := os.ReadFile(filepath.Join(s.ws, "made-inside")); err != nil || string(b) != "kept\n" {
		t.Errorf("the workspace is not writable at the same path: %q %v", b, err)
	}
	if !strings.Contains(r.stdout, "WROTE-TMP") {
		t.Errorf("/tmp is not writable inside:\n%s", r.stderr)
	}
	if exists("/tmp/inside-tmp") {
		os.Remove("/tmp/inside-tmp")
		t.Error("the sandbox's /tmp is the host's")
	}
}

func TestSandboxHidesSecrets(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	r := s.sh(fmt.Sprintf(`echo RAN; cat %s/.ssh/id_ed25519; cat %s/.env; ls -a %s/.ssh %s; ls /home /root; true`,
		s.userHome, s.env.home, s.userHome, s.env.home))
	mustHaveRun(t, r)
	for _, secret := range []string{"SECRET-SSH-KEY-7f3a", "SECRET-DOTENV-91c2", "id_ed25519", "config.yaml"} {
		if strings.Contains(r.stdout, secret) {
			t.Errorf("%s is readable inside the sandbox:\n%s", secret, r.stdout)
		}
	}
	// The masks must not delete anything on the host.
	if _, err := os.Stat(filepath.Join(s.userHome, ".ssh", "id_ed25519")); err != nil {
		t.Errorf("host key gone: %v", err)
	}
}

func TestSandboxEnvironmentIsBaseline(t *testing.T) {
	s := newSandboxEnv(t, freshConfig+"terminal:\n  env_passthrough: [PROBE_PASSED]\n")
	// terminal: appears twice in that config; write it properly instead.
	s.writeConfig(fmt.Sprintf("approvals:\n  mode: \"off\"\nterminal:\n  backend: %s\n  env_passthrough: [PROBE_PASSED]\ncontainer:\n  workspace: %s\n%s%s", probeBackend.name, s.ws, freshConfig, probeBackend.container))
	r := s.sh(`echo RAN; env`,
		"GITHUB_TOKEN=ghp_hostsecret123", "PROBE_PLAIN=host-only-value", "PROBE_PASSED=passed-value",
		"SKILL_VAR=skill-value", "HERMES_SKILL_ENV=SKILL_VAR")
	mustHaveRun(t, r)
	for _, leak := range []string{"ghp_hostsecret123", "host-only-value", "HERMES_HOME="} {
		if strings.Contains(r.stdout, leak) {
			t.Errorf("host variable %q visible inside:\n%s", leak, r.stdout)
		}
	}
	for _, want := range []string{"PROBE_PASSED=passed-value", "SKILL_VAR=skill-value", "HOME=" + s.userHome, "LANG=C", "PATH="} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("%q missing inside:\n%s", want, r.stdout)
		}
	}
}

func TestSandboxCannotSeeOrSignalHostProcesses(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	host := hostSleeper(t)
	pid := host.Process.Pid
	// The probe's own text is in its command line (and pid 1's), so the
	// pid is assembled at run time: a literal would find itself.
	r := s.sh(fmt.Sprintf(`echo RAN
p=$((%[1]d + %[2]d))
[ -e /proc/$p ] && echo SEES-PID
for f in /proc/[0-9]*/stat; do grep -q "^$p " "$f" 2>/dev/null && echo SEES-STAT; done
kill -9 $p 2>/dev/null && echo KILLED
/usr/bin/perl -e '$r = syscall(101, 16, $ARGV[0], 0, 0); print "PTRACE-ATTACH ", ($r == -1 ? "failed $!" : "ok"), "\n"' $p
grep -q sandbox-reaper /proc/1/cmdline && echo PID1-IS-REAPER
true`, pid-1000, 1000))
	mustHaveRun(t, r)
	for _, bad := range []string{"SEES-PID", "SEES-STAT", "KILLED", "PTRACE-ATTACH ok"} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("%s: host process reachable from the sandbox:\n%s", bad, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "PTRACE-ATTACH failed") {
		t.Errorf("ptrace probe did not run:\n%s\n%s", r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "PID1-IS-REAPER") {
		t.Errorf("pid 1 inside is not the sandbox's own reaper (is this the host's pid namespace?):\n%s", r.stdout)
	}
	if !alive(pid) {
		t.Error("the host process was killed")
	}
}

func TestSandboxHasNoNetwork(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	l, got := listen(t, "tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	r := s.sh(fmt.Sprintf(`echo RAN; (exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null && echo CONNECTED; ls /sys/class/net; true`, port))
	mustHaveRun(t, r)
	if strings.Contains(r.stdout, "CONNECTED") {
		t.Error("reached a service on the host's 127.0.0.1")
	}
	select {
	case <-got:
		t.Error("the host listener got a connection from the sandbox")
	case <-time.After(100 * time.Millisecond):
	}
	if fields := strings.Fields(strings.TrimPrefix(r.stdout, "RAN\n")); len(fields) != 1 || fields[0] != "lo" {
		t.Errorf("network devices inside = %q, want only lo", fields)
	}
}

func TestSandboxBlocksPrivilegedOperations(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	hostname, _ := os.Hostname()
	modules, _ := os.ReadFile("/proc/modules")
	mountsBefore, _ := os.ReadFile("/proc/self/mountinfo")
	probe := fmt.Sprintf(`echo RAN
mount -t tmpfs none /mnt 2>/dev/null && echo MOUNTED
unshare -U true 2>/dev/null && echo USERNS
unshare -r true 2>/dev/null && echo USERNS-ROOT
mknod %[1]s/dev-null c 1 3 2>/dev/null && echo MKNOD
mknod /tmp/sda b 8 0 2>/dev/null && echo MKNOD-TMP
hostname hacked-by-sandbox 2>/dev/null && echo HOSTNAME
echo h > /proc/sysrq-trigger 2>/dev/null && echo SYSRQ
/usr/bin/perl -e 'my $s = ""; $r = syscall(313, 0, $s, 0); print "FINIT_MODULE ", ($r == -1 ? "failed $!" : "ok"), "\n"'
/usr/bin/perl -e 'my $s = ""; $r = syscall(175, 0, 0, $s); print "INIT_MODULE ", ($r == -1 ? "failed $!" : "ok"), "\n"'
/usr/bin/perl -e '$r = syscall(246, 0, 0, 0, 0); print "KEXEC ", ($r == -1 ? "failed $!" : "ok"), "\n"'
/usr/bin/perl -e '$r = syscall(321, 0, 0, 0); print "BPF ", ($r == -1 ? "failed $!" : "ok"), "\n"'
/usr/bin/perl -e '$< = 4242; $> = 4242; print "SETUID ", ($> == 4242 ? "ok" : "failed"), "\n"'
grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs)' /proc/self/status
echo "HOSTNAME-INSIDE=$(hostname)"
true`, s.ws)
	r := s.sh(probe)
	mustHaveRun(t, r)
	for _, bad := range []string{"MOUNTED", "USERNS", "MKNOD", "HOSTNAME\n", "SYSRQ", "FINIT_MODULE ok", "INIT_MODULE ok", "KEXEC ok", "BPF ok", "SETUID ok"} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("%q: allowed inside the sandbox:\n%s", bad, r.stdout)
		}
	}
	for _, want := range []string{"FINIT_MODULE failed", "KEXEC failed", "SETUID failed", "CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1", "HOSTNAME-INSIDE=sandbox"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("%q missing:\n%s\n%s", want, r.stdout, r.stderr)
		}
	}
	if h, _ := os.Hostname(); h != hostname {
		t.Errorf("host hostname changed to %q", h)
	}
	if m, _ := os.ReadFile("/proc/modules"); string(m) != string(modules) {
		t.Error("host modules changed")
	}
	if exists(filepath.Join(s.ws, "dev-null")) {
		t.Error("a device node was created in the workspace")
	}
	if m, _ := os.ReadFile("/proc/self/mountinfo"); !strings.Contains(string(mountsBefore), "/mnt ") && strings.Contains(string(m), " /mnt ") {
		t.Error("a mount appeared on the host")
	}
}

func TestSandboxSetuidBinaryGainsNothing(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	// A setuid-root copy of a program that reports its credentials: with
	// no_new_privs the bit is ignored (and a user namespace maps no other
	// uid to gain).
	probe := fmt.Sprintf(`echo RAN
cp /usr/bin/perl %[1]s/suid-perl 2>/dev/null; chmod 4755 %[1]s/suid-perl 2>/dev/null
%[1]s/suid-perl -e 'print "EUID=$> UID=$<\n"; open(F, "/proc/self/status"); while (<F>) { print if /^Cap(Eff|Prm)/ }'
true`, s.ws)
	r := s.sh(probe)
	mustHaveRun(t, r)
	uid := strconv.Itoa(os.Getuid())
	if !strings.Contains(r.stdout, "EUID="+uid+" UID="+uid) {
		t.Errorf("setuid changed the effective uid:\n%s\n%s", r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "CapEff:\t0000000000000000") || !strings.Contains(r.stdout, "CapPrm:\t0000000000000000") {
		t.Errorf("a setuid binary gained capabilities:\n%s", r.stdout)
	}
}

func TestSandboxRuntimeSocketIsHidden(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	sock := "/run/docker.sock"
	var got <-chan struct{}
	if _, err := os.Stat(sock); os.IsNotExist(err) {
		_, got = listen(t, "unix", sock)
		t.Cleanup(func() { os.Remove(sock) })
	} else {
		t.Logf("%s exists on this host; probing the real one", sock)
	}
	r := s.sh(`echo RAN; /usr/bin/perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Peer => "/run/docker.sock") or die "no: $!\n"; print "CONNECTED\n"'; /usr/bin/perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Peer => "/var/run/docker.sock") or die "no: $!\n"; print "CONNECTED\n"'; true`)
	mustHaveRun(t, r)
	if strings.Contains(r.stdout, "CONNECTED") {
		t.Errorf("a container runtime socket is reachable inside:\n%s", r.stdout)
	}
	if got != nil {
		select {
		case <-got:
			t.Error("the runtime socket got a connection from the sandbox")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestSandboxForkBombIsContained(t *testing.T) {
	s := newSandboxEnv(t, "  persist: none\n  memory: 512m\n  pids: 64\n")
	r := s.sh(forkProbe)
	mustHaveRun(t, r)
	started := forkedCount(r.stdout)
	if started == 0 || started >= 64 {
		t.Errorf("started %d background processes with pids: 64\n%s", started, r.stderr)
	}
	// The classic bomb: it must end (the container and every bomb process
	// die with the command) and leave the host able to fork.
	start := time.Now()
	r = s.sh(`echo RAN; bomb() { bomb | bomb & }; bomb; sleep 3; echo SURVIVED`)
	mustHaveRun(t, r)
	if time.Since(start) > 60*time.Second {
		t.Errorf("the fork bomb ran for %v", time.Since(start))
	}
	if out, err := exec.Command("true").CombinedOutput(); err != nil {
		t.Errorf("the host cannot fork after the bomb: %v %s", err, out)
	}
	if left := sandboxLeftovers(t, s.stateDir); len(left) > 0 {
		t.Errorf("the bomb left %v", left)
	}
}

func TestSandboxMemoryBombIsKilled(t *testing.T) {
	s := newSandboxEnv(t, "  persist: none\n  memory: 64m\n")
	r := s.sh(`echo RAN; exec /usr/bin/perl -e '$x = "a" x (1<<20); @a = (); push @a, $x . $_ for 1..100000; print "ALLOCATED\n"'`)
	mustHaveRun(t, r)
	if strings.Contains(r.stdout, "ALLOCATED") {
		t.Fatal("allocated 100 GB-worth of strings under a 64m limit")
	}
	if r.code != 137 {
		t.Errorf("memory bomb exit = %d, want 137\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "out of memory") {
		t.Errorf("no one-line out-of-memory reason on stderr:\n%s", r.stderr)
	}
	if out, err := exec.Command("true").CombinedOutput(); err != nil {
		t.Errorf("the host is unwell after the memory bomb: %v %s", err, out)
	}
}

func TestSandboxExitStatus(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"true", 0}, {"exit 42", 42}, {"kill -9 $$", 137}, {"kill -TERM $$", 143},
		{"no-such-command-hermes", 127}, {"sleep 0.1 & wait; exit 7", 7},
	} {
		if r := s.sh(tc.script); r.code != tc.want {
			t.Errorf("%q: exit %d, want %d (stderr %q)", tc.script, r.code, tc.want, r.stderr)
		}
	}
}

func TestSandboxFreshRunLeavesNothing(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	for i := 0; i < 3; i++ {
		if r := s.sh("echo RAN; sleep 0.2 & true"); r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
	}
	if left := sandboxLeftovers(t, s.stateDir); len(left) > 0 {
		t.Errorf("fresh runs left %v", left)
	}
	if m, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(m), "hermes-exec") {
		t.Errorf("a sandbox mount is visible on the host:\n%s", m)
	}
}

func TestSandboxKilledWrapperLeavesNothing(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	marker := "hermes-sbx-" + strconv.Itoa(os.Getpid())
	c := s.cmd(s.extraEnv, "-c", "exec -a "+marker+" sleep 300")
	sleeper := startMarked(t, c, marker)
	c.Process.Signal(syscall.SIGKILL)
	c.Wait()
	if !waitFor(10*time.Second, func() bool { return !alive(sleeper) }) {
		t.Error("the command outlived its SIGKILLed wrapper")
	}
	// The next start collects the dead wrapper's container, unless the
	// backend's own helper, which outlives the wrapper by the moment it
	// takes to see the wrapper gone, is still removing it (the next start
	// leaves a container whose owner is alive and holds its lock): either
	// way nothing is left once that moment has passed.
	if r := s.sh("echo RAN"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var left []string
	if !waitFor(10*time.Second, func() bool { left = sandboxLeftovers(t, s.stateDir); return len(left) == 0 }) {
		t.Errorf("after a SIGKILLed wrapper and a new start, left: %v", left)
	}
}

func TestSandboxSessionKeepsFilesAndRmCleans(t *testing.T) {
	s := newSandboxEnv(t, "  persist: session\n  memory: 256m\n")
	sid := "HERMES_SESSION_ID=probe-session-" + strconv.Itoa(os.Getpid())
	if r := s.sh("echo RAN; echo persisted > /tmp/state; echo $$ > /tmp/pid", sid); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	r := s.sh("echo RAN; cat /tmp/state", sid)
	if !strings.Contains(r.stdout, "persisted") {
		t.Errorf("/tmp did not persist in the session: %q %q", r.stdout, r.stderr)
	}
	other := s.sh("echo RAN; cat /tmp/state 2>&1; true", "HERMES_SESSION_ID=another-"+strconv.Itoa(os.Getpid()))
	if strings.Contains(other.stdout, "persisted") {
		t.Error("another session sees this session's /tmp")
	}
	ls := s.run(s.extraEnv, "sandbox", "ls", "--json")
	if !strings.Contains(ls.stdout, "probe-session-") {
		t.Fatalf("sandbox ls does not show the session:\n%s\n%s", ls.stdout, ls.stderr)
	}
	cgBefore, _ := filepath.Glob(probeBackend.sessionCgroups)
	if rm := s.run(s.extraEnv, "sandbox", "rm", strings.TrimPrefix(sid, "HERMES_SESSION_ID=")); rm.code != 0 {
		t.Fatalf("sandbox rm: %d %s", rm.code, rm.stderr)
	}
	ls = s.run(s.extraEnv, "sandbox", "ls", "--json")
	if strings.Contains(ls.stdout, "probe-session-") {
		t.Errorf("sandbox rm left the session listed:\n%s", ls.stdout)
	}
	cgAfter, _ := filepath.Glob(probeBackend.sessionCgroups)
	if len(cgBefore) == 0 || len(cgAfter) >= len(cgBefore) {
		t.Errorf("sandbox rm left cgroups: before %d, after %d", len(cgBefore), len(cgAfter))
	}
	r = s.sh("echo RAN; cat /tmp/state 2>&1; true", sid)
	if strings.Contains(r.stdout, "persisted") {
		t.Error("a removed session's files came back")
	}
}

func TestSandboxTerminal(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	ts := s.startTTY(false, s.extraEnv, "-c", "tty; stty size; echo DONE")
	ts.waitScreen("DONE", 20*time.Second)
	ts.mu.Lock()
	screen := ts.screen.String()
	ts.mu.Unlock()
	if !strings.Contains(screen, "/dev/pts/") || !strings.Contains(screen, "40 120") {
		t.Errorf("no terminal of the caller's size inside:\n%q", screen)
	}
}

// A session command with a terminal gets one made inside the container
// (commands without one are started by the session's reaper instead).
func TestSandboxSessionTerminal(t *testing.T) {
	s := newSandboxEnv(t, "  persist: session\n  memory: 256m\n")
	sid := "HERMES_SESSION_ID=tty-session-" + strconv.Itoa(os.Getpid())
	if r := s.sh("echo RAN; echo PPID=$PPID", sid); !strings.Contains(r.stdout, "PPID=1\n") {
		t.Fatalf("a command without a terminal was not started by the session's reaper: %d %q %q", r.code, r.stdout, r.stderr)
	}
	ts := s.startTTY(false, append(append([]string(nil), s.extraEnv...), sid), "-c", "tty; stty size; echo DONE; exit 4")
	ts.waitScreen("DONE", 20*time.Second)
	if code := ts.wait(20 * time.Second); code != 4 {
		t.Errorf("exit %d, want 4", code)
	}
	screen := ts.screenText()
	if !strings.Contains(screen, "/dev/pts/") || !strings.Contains(screen, "40 120") {
		t.Errorf("no terminal of the caller's size inside the session:\n%q", screen)
	}
}
