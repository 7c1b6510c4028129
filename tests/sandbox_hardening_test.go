package tests

import (
	"encoding/json"
	"fmt"
	"io/fs"
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

// The breaks of issue 6, each probed from inside the sandbox on the built
// binaries, with the host checked afterwards.

// cwdSandbox is a sandbox home whose config names no workspace: the
// workspace is the working directory, as for an agent that cds around.
func cwdSandbox(t *testing.T, container string) *sandboxEnv {
	s := newSandboxEnv(t, container)
	s.writeConfig("approvals:\n  mode: \"off\"\nterminal:\n  backend: " + probeBackend.name + "\ncontainer:\n" + container + probeBackend.container)
	return s
}

func (s *sandboxEnv) shIn(dir, text string, env ...string) result {
	s.t.Helper()
	c := s.cmd(append(append([]string(nil), s.extraEnv...), env...), "-c", text)
	c.Dir = dir
	return runCmd(s.t, c)
}

// Break 1: a symlink planted in the workspace must not make a host system
// directory (or root's home) the writable workspace, in a fresh container
// or a session, and a session's workspace never widens.
func TestSandboxPlantedSymlinkCwdIsNeverWritable(t *testing.T) {
	for _, persist := range []string{"none", "session"} {
		t.Run(persist, func(t *testing.T) {
			s := cwdSandbox(t, "  persist: "+persist+"\n  memory: 256m\n")
			sid := "HERMES_SESSION_ID=symlink-" + persist + "-" + strconv.Itoa(os.Getpid())
			r := s.shIn(s.ws, "echo RAN; ln -s /etc build; ln -s /root rootlink; ln -s /var/lib varlink", sid)
			mustHaveRun(t, r)
			marker := "hermes-probe-" + strconv.Itoa(os.Getpid())
			for _, link := range []string{"build", "rootlink", "varlink"} {
				r := s.shIn(filepath.Join(s.ws, link), "touch "+marker+" && echo WROTE; touch .bashrc-"+marker+" && echo WROTE", sid)
				if strings.Contains(r.stdout, "WROTE") {
					t.Errorf("cwd %s: a write into the symlink's target succeeded:\n%s", link, r.stdout)
				}
			}
			for _, p := range []string{"/etc/" + marker, "/root/" + marker, "/root/.bashrc-" + marker, "/var/lib/" + marker} {
				if exists(p) {
					os.Remove(p)
					t.Errorf("host changed: %s exists", p)
				}
			}
			// The workspace itself still works.
			if r := s.shIn(s.ws, "echo RAN; echo ok > inside", sid); r.code != 0 || !exists(filepath.Join(s.ws, "inside")) {
				t.Errorf("the workspace is no longer writable: exit %d %s", r.code, r.stderr)
			}
		})
	}
}

func TestSandboxSessionWorkspaceIsFixedAtCreation(t *testing.T) {
	s := cwdSandbox(t, "  persist: session\n  memory: 256m\n")
	sid := "HERMES_SESSION_ID=fixed-ws-" + strconv.Itoa(os.Getpid())
	mustHaveRun(t, s.shIn(s.ws, "echo RAN", sid))
	// A later command from another directory joins the session, where
	// that directory is read-only (or is refused): it never becomes a
	// second writable workspace.
	r := s.shIn(s.outside, "echo RAN; pwd; touch widened && echo WROTE", sid)
	if strings.Contains(r.stdout, "WROTE") || exists(filepath.Join(s.outside, "widened")) {
		t.Errorf("a later cwd outside the session's workspace was writable:\n%s%s", r.stdout, r.stderr)
	}
	if r.code == 0 && !strings.Contains(r.stdout, s.outside+"\n") {
		t.Errorf("the command did not run in its own (read-only) directory:\n%s", r.stdout)
	}
	if exists(filepath.Join(s.ws, "widened")) {
		t.Error("the command ran in the session's workspace instead of its directory")
	}
}

// Break 2: what the host runs later (git hooks and config, direnv, editor
// tasks, agents' settings) is read-only inside, also when it does not
// exist yet, also against rename tricks; and nothing is left behind.
func TestSandboxProtectedPathsStayReadOnly(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	git := func(args ...string) string {
		c := exec.Command("git", append([]string{"-C", s.ws}, args...)...)
		c.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+s.userHome)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	git("init", "-q")
	// husky's way: hooks in the work tree, named by core.hooksPath; and
	// pre-commit's configuration, which its hook runs.
	git("config", "core.hooksPath", ".husky")
	// A configuration file in the work tree, included by .git/config
	// (relative to .git/), that does not exist yet.
	git("config", "include.path", "../project.gitconfig")
	write(t, filepath.Join(s.ws, ".pre-commit-config.yaml"), "repos: []\n")
	configBefore, _ := os.ReadFile(filepath.Join(s.ws, ".git", "config"))
	r := s.sh(`echo RAN
printf '#!/bin/sh\necho PWNED\n' > .git/hooks/pre-commit && echo WROTE-HOOK
git config core.fsmonitor 'echo PWNED' && echo WROTE-CONFIG
echo 'echo PWNED' > .envrc && echo WROTE-ENVRC
mkdir -p .vscode && echo '{}' > .vscode/tasks.json && echo WROTE-VSCODE
mkdir .claude && echo WROTE-CLAUDE
echo x > .git/info/attributes && echo WROTE-INFO
echo x > planted && mv -f planted .envrc && echo RENAMED-OVER
mv .git .git-moved && echo MOVED-GIT
mv .git/hooks .git/hooks-moved && echo MOVED-HOOKS
mkdir -p .husky && echo 'echo PWNED' > .husky/pre-commit && echo WROTE-HUSKY
printf '[core]\n\tfsmonitor = echo PWNED\n' > project.gitconfig && echo WROTE-INCLUDE
echo 'repos: [{repo: local, hooks: [{id: x, name: x, entry: "echo PWNED", language: system}]}]' > .pre-commit-config.yaml && echo WROTE-PRECOMMIT
echo data > ordinary && echo WROTE-ORDINARY
git -c user.name=a -c user.email=a@b add ordinary && git -c user.name=a -c user.email=a@b commit -qm x && echo COMMITTED
true`)
	mustHaveRun(t, r)
	for _, bad := range []string{"WROTE-HOOK", "WROTE-CONFIG", "WROTE-ENVRC", "WROTE-VSCODE", "WROTE-CLAUDE", "WROTE-INFO", "RENAMED-OVER", "MOVED-GIT", "MOVED-HOOKS", "WROTE-HUSKY", "WROTE-PRECOMMIT", "WROTE-INCLUDE"} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("%s: a protected path was writable inside:\n%s", bad, r.stdout)
		}
	}
	for _, good := range []string{"WROTE-ORDINARY", "COMMITTED"} {
		if !strings.Contains(r.stdout, good) {
			t.Errorf("%s missing: the workspace (and git) must still work:\n%s\n%s", good, r.stdout, r.stderr)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(s.ws, ".git", "config")); string(after) != string(configBefore) {
		t.Errorf(".git/config changed on the host:\n%s", after)
	}
	if b, _ := os.ReadFile(filepath.Join(s.ws, ".pre-commit-config.yaml")); string(b) != "repos: []\n" {
		t.Errorf(".pre-commit-config.yaml changed on the host: %q", b)
	}
	for _, p := range []string{".git/hooks/pre-commit", ".envrc", ".vscode", ".claude", ".idea", ".codex", ".gemini", ".hermes", ".git-moved", ".git/info/attributes", ".husky", "project.gitconfig"} {
		if _, err := os.Lstat(filepath.Join(s.ws, p)); err == nil {
			t.Errorf("host changed: %s exists in the workspace after the run", p)
		}
	}
	if out := git("status", "--porcelain"); strings.Contains(out, "PWNED") {
		t.Errorf("git status on the host ran planted code: %s", out)
	}
}

func TestSandboxCannotCreateAGitRepository(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	// Without a .git, all of it is protected: a command cannot make one
	// and fill it with hooks.
	r := s.sh(`echo RAN; mkdir -p .git/hooks && echo > .git/hooks/post-checkout && echo MADE; git init -q . && echo INIT; true`)
	mustHaveRun(t, r)
	if strings.Contains(r.stdout, "MADE") || strings.Contains(r.stdout, "INIT") {
		t.Errorf("a repository was made inside:\n%s", r.stdout)
	}
	if _, err := os.Lstat(filepath.Join(s.ws, ".git")); err == nil {
		t.Error("host changed: the workspace has a .git after the run")
	}
}

func TestSandboxProtectedPathsAreConfigurable(t *testing.T) {
	s := newSandboxEnv(t, freshConfig+"  protected_paths: [secret-dir, .envrc]\n")
	r := s.sh("echo RAN; mkdir secret-dir && echo MADE; mkdir .vscode && echo VSCODE; true")
	mustHaveRun(t, r)
	if strings.Contains(r.stdout, "MADE") {
		t.Errorf("a configured protected path was writable:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "VSCODE") {
		t.Errorf("the configured list must replace the default one:\n%s%s", r.stdout, r.stderr)
	}
}

// Break 3: no set-uid or set-gid file can be made anywhere the host sees.
func TestSandboxCannotCreateSetuidFiles(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	r := s.sh(`echo RAN
cp /usr/bin/id x && chmod 4755 x && echo CHMOD-SUID
cp /usr/bin/id g && chmod g+s g && echo CHMOD-SGID
install -m 4755 /usr/bin/id y && echo INSTALL
perl -e 'use Fcntl; sysopen(F, "z", O_CREAT|O_WRONLY, 06755) or exit 1; print "OPEN-SUID\n"'
perl -e 'use Fcntl; sysopen(F, "z2", O_CREAT|O_WRONLY, 0755) or exit 1; chmod(04755, "z2") and print "PERL-CHMOD\n"'
python3 -c 'import os; os.mknod("n", 0o104755); print("MKNOD")' 2>/dev/null
mkdir -m 2755 d && echo MKDIR-SGID
true`)
	mustHaveRun(t, r)
	for _, bad := range []string{"CHMOD-SUID", "CHMOD-SGID", "INSTALL", "OPEN-SUID", "PERL-CHMOD", "MKNOD", "MKDIR-SGID"} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("%s: a set-id mode was accepted inside:\n%s", bad, r.stdout)
		}
	}
	_ = filepath.WalkDir(s.ws, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
			t.Errorf("host has a set-id file: %s %v", p, fi.Mode())
		}
		return nil
	})
	if !exists(filepath.Join(s.ws, "x")) {
		t.Error("cp into the workspace failed: plain files must still be made")
	}
}

// Break 4: a HERMES_HOME inside the workspace could be replaced by renaming
// a parent: the sandbox refuses to start, saying why.
func TestSandboxRefusesHermesHomeInsideTheWorkspace(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	nested := mkdir(t, s.ws, "agent/hermes")
	cfg, _ := os.ReadFile(filepath.Join(s.env.home, "config.yaml"))
	write(t, filepath.Join(nested, "config.yaml"), string(cfg))
	c := s.cmd(s.extraEnv, "-c", "mv agent x; mkdir -p agent/hermes; printf 'approvals:\\n  mode: off\\n' > agent/hermes/config.yaml; echo RAN")
	c.Env = append(c.Env, "HERMES_HOME="+nested)
	r := runCmd(t, c)
	if r.code != 126 || !strings.Contains(r.stderr, nested) {
		t.Errorf("exit %d, want 126 with the reason naming %s\nstdout %s\nstderr %s", r.code, nested, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, "RAN") || exists(filepath.Join(s.ws, "x")) {
		t.Error("the command ran with HERMES_HOME inside its writable workspace")
	}
}

// Break 5: the host's unix sockets under /run are out of reach.
func TestSandboxRunIsPrivate(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	dir, err := os.MkdirTemp("/run", "hermes-test-sock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "tmux.sock")
	_, got := listen(t, "unix", sock)
	// An abstract socket lives in the network namespace: with network
	// none the sandbox has its own.
	abstract := "@hermes-test-abstract-" + strconv.Itoa(os.Getpid())
	_, gotAbstract := listen(t, "unix", abstract)
	r := s.sh(fmt.Sprintf(`echo RAN; ls /run /var/run; test -e %[1]s && echo SEES-SOCKET
perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Peer => "%[1]s") and print "CONNECTED\n"'
perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Peer => "/var%[1]s") and print "CONNECTED\n"'
perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Peer => "\0%[2]s") and print "CONNECTED\n"'
true`, sock, abstract[1:]))
	mustHaveRun(t, r)
	if strings.Contains(r.stdout, "SEES-SOCKET") || strings.Contains(r.stdout, "CONNECTED") || strings.Contains(r.stdout, filepath.Base(dir)) {
		t.Errorf("a host socket under /run is reachable inside:\n%s", r.stdout)
	}
	select {
	case <-got:
		t.Error("the host socket accepted a connection from the sandbox")
	case <-gotAbstract:
		t.Error("the host's abstract socket accepted a connection from the sandbox")
	default:
	}
}

// Break 6: the home is hidden but for a short read-only list, also for
// files made after the session started, also with HOME=/; ~/.hermes and
// the system's secret files are hidden.
func TestSandboxHidesTheHome(t *testing.T) {
	s := newSandboxEnv(t, "  persist: session\n  memory: 256m\n")
	home, err := userHome()
	if err != nil {
		testutil.Skip(t, "%v", err)
	}
	tag := strconv.Itoa(os.Getpid())
	early := filepath.Join(home, "hermes-test-early-"+tag)
	write(t, early, "SECRET-EARLY-"+tag)
	t.Cleanup(func() { os.Remove(early) })
	hermesDefault := filepath.Join(home, ".hermes")
	madeHermes := !exists(hermesDefault)
	mkdir(t, home, ".hermes")
	hprobe := filepath.Join(hermesDefault, "probe-"+tag)
	write(t, hprobe, "SECRET-HERMES-"+tag)
	t.Cleanup(func() {
		os.Remove(hprobe)
		if madeHermes {
			os.Remove(hermesDefault)
		}
	})
	if err := os.Symlink(early, filepath.Join(s.ws, "link")); err != nil {
		t.Fatal(err)
	}
	sid := "HERMES_SESSION_ID=home-" + tag
	probe := fmt.Sprintf(`echo RAN; cat %[1]s/hermes-test-*-%[2]s link %[1]s/.hermes/probe-%[2]s /etc/shadow /etc/gshadow 2>/dev/null; ls %[1]s; true`, home, tag)
	r := s.sh(probe, sid)
	mustHaveRun(t, r)
	late := filepath.Join(home, "hermes-test-late-"+tag)
	write(t, late, "SECRET-LATE-"+tag)
	t.Cleanup(func() { os.Remove(late) })
	r2 := s.sh(probe, sid, "HOME=/")
	mustHaveRun(t, r2)
	for _, out := range []string{r.stdout, r2.stdout} {
		for _, secret := range []string{"SECRET-EARLY-", "SECRET-LATE-", "SECRET-HERMES-", "root:", "hermes-test-early"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s is readable inside the sandbox:\n%s", secret, out)
			}
		}
	}
}

func userHome() (string, error) {
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return "", err
	}
	uid := strconv.Itoa(os.Getuid())
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 6 && f[2] == uid {
			return filepath.EvalSymlinks(f[5])
		}
	}
	return "", fmt.Errorf("uid %s has no entry in /etc/passwd", uid)
}

// Break 12: the smaller ones.
func TestSandboxIdleIsPerHermesHome(t *testing.T) {
	long := newSandboxEnv(t, "  persist: session\n  memory: 256m\n  idle: 30m\n")
	short := newSandboxEnv(t, "  persist: session\n  memory: 256m\n  idle: 1s\n")
	sid := "HERMES_SESSION_ID=idle-" + strconv.Itoa(os.Getpid())
	mustHaveRun(t, long.sh("echo RAN; echo kept > /tmp/k", sid))
	time.Sleep(2500 * time.Millisecond)
	// The short home's start collects what is idle by its own measure.
	mustHaveRun(t, short.sh("echo RAN", "HERMES_SESSION_ID=other-"+strconv.Itoa(os.Getpid())))
	if r := long.sh("echo RAN; cat /tmp/k", sid); !strings.Contains(r.stdout, "kept") {
		t.Errorf("another HERMES_HOME's idle time collected a live session:\n%s%s", r.stdout, r.stderr)
	}
	// Nor does its `sandbox rm --all`, nor does its `sandbox ls` show it.
	if r := short.run(short.extraEnv, "sandbox", "rm", "--all"); r.code != 0 {
		t.Fatalf("sandbox rm --all: exit %d %s", r.code, r.stderr)
	}
	for _, in := range sessionInfo(t, short) {
		if in["session"] == strings.TrimPrefix(sid, "HERMES_SESSION_ID=") {
			t.Errorf("sandbox ls of one HERMES_HOME lists another's session: %v", in)
		}
	}
	if r := long.sh("echo RAN; cat /tmp/k", sid); !strings.Contains(r.stdout, "kept") {
		t.Errorf("another HERMES_HOME's sandbox rm --all removed a live session:\n%s%s", r.stdout, r.stderr)
	}
}

func sessionInfo(t *testing.T, s *sandboxEnv) []map[string]any {
	t.Helper()
	r := s.run(s.extraEnv, "sandbox", "ls", "--json")
	var out []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("sandbox ls --json: %v\n%s%s", err, r.stdout, r.stderr)
	}
	return out
}

func TestSandboxSignalLoopDoesNotKeepASessionAlive(t *testing.T) {
	s := newSandboxEnv(t, "  persist: session\n  memory: 256m\n  idle: 2s\n")
	sid := "HERMES_SESSION_ID=usr1-" + strconv.Itoa(os.Getpid())
	mustHaveRun(t, s.sh(`echo RAN; setsid sh -c 'while :; do kill -USR1 1; sleep 0.2; done' </dev/null >/dev/null 2>&1 &`, sid))
	var pid int
	for _, in := range sessionInfo(t, s) {
		if p, ok := in["pid"].(float64); ok && in["kind"] == "session" {
			pid = int(p)
		}
	}
	if pid == 0 {
		t.Fatal("no session container running")
	}
	if !waitFor(20*time.Second, func() bool { return !alive(pid) }) {
		t.Error("a kill -USR1 1 loop kept the session alive past its idle time")
	}
}

func TestSandboxSessionWithDeletedStateRecovers(t *testing.T) {
	s := newSandboxEnv(t, "  persist: session\n  memory: 256m\n")
	sid := "HERMES_SESSION_ID=deleted-" + strconv.Itoa(os.Getpid())
	mustHaveRun(t, s.sh("echo RAN", sid))
	var id string
	var pid int
	for _, in := range sessionInfo(t, s) {
		if in["kind"] == "session" {
			id, _ = in["id"].(string)
			p, _ := in["pid"].(float64)
			pid = int(p)
		}
	}
	if id == "" || pid == 0 {
		t.Fatal("no session container")
	}
	if err := os.RemoveAll(filepath.Join(s.stateDir, id)); err != nil {
		t.Fatal(err)
	}
	if r := s.sh("echo RAN", sid); r.code != 0 {
		t.Errorf("a session whose state was deleted fails: exit %d %s", r.code, r.stderr)
	}
	if !waitFor(10*time.Second, func() bool { return !alive(pid) }) {
		t.Error("the orphaned reaper still runs")
	}
	// And gc sees and collects one too.
	mustHaveRun(t, s.sh("echo RAN", sid))
	for _, in := range sessionInfo(t, s) {
		if in["kind"] == "session" {
			id, _ = in["id"].(string)
			p, _ := in["pid"].(float64)
			pid = int(p)
		}
	}
	os.RemoveAll(filepath.Join(s.stateDir, id))
	if r := s.run(s.extraEnv, "sandbox", "gc"); !strings.Contains(r.stdout+r.stderr, id) {
		t.Errorf("sandbox gc does not report the orphaned session %s:\n%s%s", id, r.stdout, r.stderr)
	}
	if !waitFor(10*time.Second, func() bool { return !alive(pid) }) {
		t.Error("sandbox gc left the orphaned reaper running")
	}
}

func TestSandboxLargeCallerEnvironment(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	big := strings.Repeat("x", 100<<10)
	r := s.sh("echo RAN", "BIG_ONE="+big, "BIG_TWO="+big, "BIG_THREE="+big)
	if r.code != 0 || !strings.Contains(r.stdout, "RAN") {
		t.Errorf("a 300 KiB caller environment broke the sandbox: exit %d %s", r.code, r.stderr)
	}
}

func TestSandboxMemoryFilesystemsStayWithinTmpfsSize(t *testing.T) {
	s := newSandboxEnv(t, freshConfig+"  tmpfs_size: 64m\n")
	r := s.sh("echo RAN; df -B1 --output=target,size /dev /dev/shm /tmp /run \"$(getent passwd $(id -u) | cut -d: -f6)\"")
	mustHaveRun(t, r)
	var total int64
	for _, line := range strings.Split(r.stdout, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 {
			if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				total += n
			}
		}
	}
	if total == 0 || total > 64<<20 {
		t.Errorf("memory-backed filesystems hold %d bytes, want at most tmpfs_size (64 MiB):\n%s", total, r.stdout)
	}
}

func TestSandboxFreshReaperIsOutOfReach(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	r := s.sh(`echo RAN; printf 'exit 0' > /proc/1/fd/4 && echo FORGED; readlink /proc/1/fd/4 && echo SEES-FDS; exit 3`)
	mustHaveRun(t, r)
	if strings.Contains(r.stdout, "FORGED") || strings.Contains(r.stdout, "SEES-FDS") {
		t.Errorf("the command reached the reaper's descriptors:\n%s", r.stdout)
	}
	if r.code != 3 {
		t.Errorf("exit %d, want the command's 3", r.code)
	}
}

// Defaults that protect: with no config.yaml at all, a sandbox still has a
// memory limit (root can enforce one) and the pids limit.
func TestSandboxDefaultsWithoutConfig(t *testing.T) {
	s := newSandboxEnv(t, "")
	os.Remove(filepath.Join(s.env.home, "config.yaml"))
	sid := "HERMES_SESSION_ID=defaults-" + strconv.Itoa(os.Getpid())
	c := s.cmd(append(s.extraEnv, sid), "--backend", "sandbox", "-c", "echo RAN")
	c.Dir = s.ws
	mustHaveRun(t, runCmd(t, c))
	var id string
	for _, in := range sessionInfo(t, s) {
		if in["kind"] == "session" {
			id, _ = in["id"].(string)
		}
	}
	if id == "" {
		t.Fatal("no session container")
	}
	read := func(glob string) int64 {
		ms, _ := filepath.Glob(glob)
		for _, m := range ms {
			b, err := os.ReadFile(m)
			if err == nil {
				v := strings.TrimSpace(string(b))
				if v == "max" {
					return -1
				}
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		return 0
	}
	mem := read("/sys/fs/cgroup/memory/hermes-exec/" + id + "/memory.limit_in_bytes")
	if mem == 0 {
		mem = read("/sys/fs/cgroup/hermes-exec/" + id + "/memory.max")
	}
	if mem <= 0 || mem > 4<<30 {
		t.Errorf("memory limit without config: %d, want at most 4 GiB", mem)
	}
	pids := read("/sys/fs/cgroup/pids/hermes-exec/" + id + "/pids.max")
	if pids == 0 {
		pids = read("/sys/fs/cgroup/hermes-exec/" + id + "/pids.max")
	}
	if pids != 1024 {
		t.Errorf("pids limit without config: %d, want 1024", pids)
	}
}

// Break 8: a rootless session command dies with its SIGKILLed wrapper.
func TestSandboxRootlessSessionCommandDiesWithWrapper(t *testing.T) {
	r := newRootlessEnv(t, "  persist: session\n")
	sid := "HERMES_SESSION_ID=rootless-kill-" + strconv.Itoa(os.Getpid())
	if res := r.sh("echo RAN", sid); res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	marker := "hermes-rootless-sess-" + strconv.Itoa(os.Getpid())
	c := r.cmd([]string{sid}, "-c", "exec -a "+marker+" sleep 300")
	sleeper := startMarked(t, c, marker)
	c.Process.Signal(syscall.SIGKILL)
	c.Wait()
	if !waitFor(10*time.Second, func() bool { return !alive(sleeper) }) {
		syscall.Kill(sleeper, syscall.SIGKILL)
		t.Error("the rootless session command outlived its SIGKILLed wrapper")
	}
	if res := r.sh("echo RAN", sid); res.code != 0 {
		t.Errorf("the session is unusable afterwards: exit %d: %s", res.code, res.stderr)
	}
}

// Sibling of the host backend's TIOCSTI break: a sandboxed command whose
// stdin is the caller's terminal (pipe mode: stdout is not one) cannot push
// input into it.
func TestSandboxCannotInjectIntoTheCallersTerminal(t *testing.T) {
	s := newSandboxEnv(t, freshConfig)
	master, slave, err := pty.Open()
	if err != nil {
		testutil.Skip(t, "no pseudo-terminals: %v", err)
	}
	defer master.Close()
	c := s.cmd(s.extraEnv, "-c", `echo RAN; perl -e 'for my $ch (split //, "echo INJECTED\n") { ioctl(STDIN, 0x5412, $ch) or exit 9 } print "TIOCSTI-OK\n"'; echo status=$?`)
	c.Stdin = slave
	var out strings.Builder
	c.Stdout = &out
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := c.Run(); err != nil {
		t.Logf("run: %v", err)
	}
	slave.Close()
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 4096)
		n, _ := master.Read(buf)
		got <- string(buf[:n])
	}()
	var injected string
	select {
	case injected = <-got:
	case <-time.After(500 * time.Millisecond):
	}
	if !strings.Contains(out.String(), "RAN") {
		t.Fatalf("the probe did not run: %q", out.String())
	}
	if strings.Contains(out.String(), "TIOCSTI-OK") || strings.Contains(injected, "INJECTED") {
		t.Errorf("the sandboxed command pushed input into the caller's terminal: out %q, terminal %q", out.String(), injected)
	}
}
