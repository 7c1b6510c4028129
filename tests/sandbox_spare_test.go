package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hermes-exec/isolate/sandbox/execproto"
)

// Spare containers (container.persist: none, container.spare: on): the
// next fresh command's container is made in the background after a
// command, and the next command takes it. These check that a spare keeps
// every promise of a fresh container.

// spareEnv is a sandbox home with persist: none; its config can be
// rewritten with other container settings.
func spareEnv(t *testing.T, container string) *sandboxEnv {
	t.Helper()
	if probeBackend.name != "sandbox" {
		t.Skip("spares are the embedded sandbox's") // the containerd probe runs these files too
	}
	s := newSandboxEnv(t, container)
	return s
}

// setContainer rewrites the container section (after workspace:).
func (s *sandboxEnv) setContainer(container string) {
	s.writeConfig(fmt.Sprintf("approvals:\n  mode: \"off\"\nterminal:\n  backend: %s\ncontainer:\n  workspace: %s\n%s%s", probeBackend.name, s.ws, container, probeBackend.container))
}

// spareReady waits for the background making to end and reports whether a
// spare of s's home is ready, with its id.
func (s *sandboxEnv) spareReady() (string, bool) {
	s.t.Helper()
	waitSpareMakers(s.t)
	r := s.run(s.extraEnv, "--backend", "sandbox", "sandbox", "ls", "--json")
	re := regexp.MustCompile(`"id": "(p-[0-9a-f]+)",\s*"kind": "spare"`)
	for _, m := range re.FindAllStringSubmatch(r.stdout, -1) {
		if readySpares(s.stateDir)[m[1]] {
			return m[1], true
		}
	}
	return "", false
}

// inSpare reports whether the command whose output is out printed pid 1's
// command line (a `pid1` line) of a spare's reaper.
func inSpare(out string) bool { return strings.Contains(out, "pid1 sandbox-reaper spare") }

const pid1Line = `echo "pid1 $(tr '\0\n' '  ' </proc/1/cmdline | cut -d' ' -f2-3)"`

// viewProbe prints what a command can tell about its container, minus what
// differs between any two containers (pids, namespace and mount ids).
const viewProbe = `echo "ids $(id -u) $(id -g) $(id -G)"; echo "umask $(umask)"; echo "cwd $PWD"; hostname
grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status
ulimit -a
awk '{ sep=0; for (i=1;i<=NF;i++) if ($i=="-") { sep=i; break }; line=$4" "$5" "$6; for (i=sep;i<=NF;i++) line=line" "$i; print line }' /proc/self/mountinfo
env | grep -v '^_=' | sort
ls -la / | awk '{print $1, $NF}'
df -k /tmp /dev/shm | awk '{print $2, $6}'
cat /proc/self/cgroup | cut -d: -f2-
awk -F: 'NR>2 {print $1}' /proc/net/dev
ls -la . | awk '{print $1, $NF}'
`

func TestSandboxSpareIsFreshAndSeesWhatColdSees(t *testing.T) {
	s := spareEnv(t, freshConfig+"  spare: off\n")
	cold := s.sh(pid1Line + "\n" + viewProbe)
	if cold.code != 0 || inSpare(cold.stdout) {
		t.Fatalf("cold probe: exit %d, in a spare %v: %s", cold.code, inSpare(cold.stdout), cold.stderr)
	}
	if _, ok := s.spareReady(); ok {
		t.Fatal("with container.spare: off a spare was made")
	}

	s.setContainer(freshConfig)
	marker := "hermes-spare-bg-" + strconv.Itoa(os.Getpid())
	leave := fmt.Sprintf(`echo left > /tmp/left-behind; echo ipc > /dev/shm/left-ipc; setsid bash -c 'exec -a %s sleep 300' </dev/null >/dev/null 2>&1 & echo RAN`, marker)
	if r := s.sh(leave); r.code != 0 || !strings.Contains(r.stdout, "RAN") {
		t.Fatalf("first command: exit %d: %s", r.code, r.stderr)
	}
	for round := 0; round < 2; round++ {
		id, ok := s.spareReady()
		if !ok {
			t.Fatalf("round %d: no spare ready after a fresh command", round)
		}
		look := fmt.Sprintf(`%s
cat /tmp/left-behind /dev/shm/left-ipc 2>/dev/null && echo SAW-FILES
for p in /proc/[0-9]*/cmdline; do tr '\0' ' ' <$p; echo; done | grep -q '^%s' && echo SAW-PROCESS
%s`, pid1Line, marker, viewProbe)
		r := s.sh(look + "\n" + leave)
		if r.code != 0 {
			t.Fatalf("round %d: exit %d: %s", round, r.code, r.stderr)
		}
		if !inSpare(r.stdout) {
			t.Fatalf("round %d: the command did not run in the ready spare %s:\n%s", round, id, r.stdout)
		}
		if strings.Contains(r.stdout, "SAW-FILES") || strings.Contains(r.stdout, "SAW-PROCESS") {
			t.Errorf("round %d: the command saw what an earlier one left:\n%s", round, r.stdout)
		}
		if _, ready := readySpares(s.stateDir)[id]; ready {
			t.Errorf("round %d: spare %s is still offered after a command took it", round, id)
		}
		// The view is the cold container's, line for line.
		want := strings.SplitN(cold.stdout, "\n", 2)[1]
		got := strings.SplitN(r.stdout, "\n", 2)[1]
		got = strings.TrimSuffix(got, "RAN\n")
		if got != want {
			t.Errorf("round %d: a spare's view differs from a cold container's:\n%s", round, lineDiff(want, got))
		}
		// What the command left running ended with its container.
		if !waitFor(10*time.Second, func() bool { return findProcess(marker) == 0 }) {
			t.Errorf("round %d: a background process outlived its fresh container", round)
		}
	}
	if left := sandboxLeftovers(t, s.stateDir); len(left) > 0 {
		t.Errorf("used spares left %v", left)
	}
}

// lineDiff lists the lines only one side has.
func lineDiff(want, got string) string {
	count := map[string]int{}
	for _, l := range strings.Split(want, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(got, "\n") {
		count[l]--
	}
	var b strings.Builder
	for l, n := range count {
		switch {
		case n > 0:
			fmt.Fprintf(&b, "- cold only: %s\n", l)
		case n < 0:
			fmt.Fprintf(&b, "+ spare only: %s\n", l)
		}
	}
	if b.Len() == 0 {
		return "(same lines, another order)"
	}
	return b.String()
}

func TestSandboxSpareOfAnOldConfigIsNotUsed(t *testing.T) {
	s := spareEnv(t, freshConfig)
	if r := s.sh("true"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	old, ok := s.spareReady()
	if !ok {
		t.Fatal("no spare after a fresh command")
	}
	s.setContainer(freshConfig + "  tmpfs_size: 96m\n")
	r := s.sh(pid1Line + "; df -k /tmp | awk 'NR==2 {print \"tmp\", $2}'")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if inSpare(r.stdout) {
		t.Errorf("a command after the config changed ran in the spare made before:\n%s", r.stdout)
	}
	tmpKiB := func(out string) int {
		m := regexp.MustCompile(`tmp (\d+)`).FindStringSubmatch(out)
		if m == nil {
			return 0
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if n := tmpKiB(r.stdout); n == 0 || n > 96<<10 {
		t.Errorf("/tmp is %d KiB, not the new container.tmpfs_size 96m", n)
	}
	now, ok := s.spareReady()
	if !ok || now == old {
		t.Fatalf("the old spare %s was not replaced (now %q)", old, now)
	}
	if _, err := os.Stat(filepath.Join(s.stateDir, old)); err == nil {
		t.Errorf("the old spare %s is still there", old)
	}
	if r := s.sh(pid1Line + "; df -k /tmp | awk 'NR==2 {print \"tmp\", $2}'"); !inSpare(r.stdout) || tmpKiB(r.stdout) > 96<<10 {
		t.Errorf("the spare of the new config was not used or has the old /tmp:\n%s", r.stdout)
	}

	// The workspace changes on the host under a ready spare: git init
	// fills the .git placeholder it made, which a cold start now binds
	// read-write but for hooks and config. The spare would keep all of
	// .git read-only: it must not be used.
	if _, ok := s.spareReady(); !ok {
		t.Fatal("no spare after a fresh command")
	}
	if out, err := exec.Command("git", "init", "-q", s.ws).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	r = s.sh(pid1Line + "; touch .git/objects/probe && echo OBJECTS-WRITABLE; touch .git/hooks/x 2>/dev/null && echo HOOKS-WRITABLE; true")
	if inSpare(r.stdout) || !strings.Contains(r.stdout, "OBJECTS-WRITABLE") || strings.Contains(r.stdout, "HOOKS-WRITABLE") {
		t.Errorf("after git init on the host, the command ran in the old spare or saw another view:\n%s%s", r.stdout, r.stderr)
	}
}

func TestSandboxSpareConcurrentCommandsGetTheirOwnContainers(t *testing.T) {
	s := spareEnv(t, freshConfig)
	if r := s.sh("true"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if _, ok := s.spareReady(); !ok {
		t.Fatal("no spare after a fresh command")
	}
	const n = 3
	var wg sync.WaitGroup
	res := make([]result, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res[i] = s.sh(fmt.Sprintf("%s; echo %d > /tmp/token-%d; sleep 1; ls /tmp", pid1Line, i, i))
		}(i)
	}
	wg.Wait()
	spares := 0
	for i, r := range res {
		if r.code != 0 {
			t.Errorf("command %d: exit %d: %s", i, r.code, r.stderr)
			continue
		}
		if inSpare(r.stdout) {
			spares++
		}
		for j := 0; j < n; j++ {
			if has := strings.Contains(r.stdout, fmt.Sprintf("token-%d", j)); has != (i == j) {
				t.Errorf("command %d sees token-%d: %v (shared a container?):\n%s", i, j, has, r.stdout)
			}
		}
	}
	if spares != 1 {
		t.Errorf("%d of %d concurrent commands ran in the one ready spare, want exactly 1", spares, n)
	}
}

func TestSandboxSpareReaperServesOneCommandOnly(t *testing.T) {
	s := spareEnv(t, freshConfig)
	if r := s.sh("true"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	id, ok := s.spareReady()
	if !ok {
		t.Fatal("no spare after a fresh command")
	}
	// Straight to its socket, as a command that somehow found the
	// spare after another took it (past the marker's rename) would.
	sock := filepath.Join(s.stateDir, id, execproto.SocketName)
	req := execproto.Request{Args: []string{"/bin/sh", "-c", "sleep 0.5"}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/"}
	first := make(chan error, 1)
	go func() {
		st, started, err := execproto.Exec(context.Background(), sock, req, nil, nil, nil)
		if err == nil && (!started || st.Code != 0) {
			err = fmt.Errorf("started %v, status %+v", started, st)
		}
		first <- err
	}()
	time.Sleep(200 * time.Millisecond) // the first is running
	_, started, err := execproto.Exec(context.Background(), sock, req, nil, nil, nil)
	if started {
		t.Errorf("a second command ran in the same spare (err %v)", err)
	}
	if err := <-first; err != nil {
		t.Errorf("the first command: %v", err)
	}
	if _, started, _ := execproto.Exec(context.Background(), sock, req, nil, nil, nil); started {
		t.Error("a command ran in a spare whose command had ended")
	}
}

// Someone removes the empty placeholder directories a ready spare made in
// the workspace (they show on the host between commands). The kernel then
// detaches their mounts in the spare, protection and all: the spare must
// not be used, and the command's cold container protects the path again.
func TestSandboxSpareWithARemovedPlaceholderIsNotUsed(t *testing.T) {
	s := spareEnv(t, freshConfig)
	if r := s.sh("true"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if _, ok := s.spareReady(); !ok {
		t.Fatal("no spare after a fresh command")
	}
	ph := filepath.Join(s.ws, ".vscode")
	if fi, err := os.Stat(ph); err != nil || !fi.IsDir() {
		t.Fatalf("the spare made no .vscode placeholder: %v", err)
	}
	if err := os.Remove(ph); err != nil {
		t.Fatal(err)
	}
	for _, reuse := range []bool{false, true} {
		if reuse {
			// Made again at the same path: another directory, the
			// mount is still gone.
			if _, ok := s.spareReady(); !ok {
				t.Fatal("no spare after a fresh command")
			}
			if err := os.Remove(ph); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(ph, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		r := s.sh(pid1Line + "; mkdir -p .vscode/tasks && echo PLANTED; true")
		if inSpare(r.stdout) || strings.Contains(r.stdout, "PLANTED") {
			t.Errorf("made again %v: the spare that lost its .vscode mount was used, or .vscode was writable:\n%s", reuse, r.stdout)
		}
	}
}
