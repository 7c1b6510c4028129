package tests

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// containerdEnv is a sandboxEnv on the containerd backend.
func containerdEnv(t *testing.T, container string) *sandboxEnv {
	t.Helper()
	useContainerd(t)
	return newSandboxEnv(t, container)
}

func TestContainerdImageBuildImportAndRun(t *testing.T) {
	s := containerdEnv(t, freshConfig)
	root := makeRootDir(t)
	tag := "local/built-" + strconv.Itoa(os.Getpid()) + ":1"
	t.Cleanup(func() { s.run(s.extraEnv, "image", "rm", tag) })

	b := s.run(s.extraEnv, "image", "build", "--from", root, "--name", tag)
	if b.code != 0 {
		t.Fatalf("image build: %d\n%s", b.code, b.stderr)
	}
	// Not on a terminal: one plain line per step.
	for _, want := range []string{"packing " + root, "reading layer", "unpacking " + tag + ": layer 1/1"} {
		if !strings.Contains(b.stderr, want) {
			t.Errorf("image build did not show %q:\n%s", want, b.stderr)
		}
	}
	ls := s.run(s.extraEnv, "image", "ls", "--json")
	var imgs []struct {
		Name     string
		Unpacked bool
	}
	if err := json.Unmarshal([]byte(ls.stdout), &imgs); err != nil {
		t.Fatalf("image ls --json: %v\n%s", err, ls.stdout)
	}
	found := false
	for _, in := range imgs {
		found = found || (in.Name == tag && in.Unpacked)
	}
	if !found {
		t.Fatalf("image ls does not show %s unpacked:\n%s", tag, ls.stdout)
	}

	// A command in the image: its files, not the host's; the workspace
	// still at its path; the root still read-only.
	s.writeConfig(fmt.Sprintf("approvals:\n  mode: \"off\"\nterminal:\n  backend: containerd\ncontainer:\n  workspace: %s\n  image: %s\n%s%s", s.ws, tag, freshConfig, probeBackend.container))
	r := s.sh(`echo RAN; cat /etc/image-marker; [ -e /usr/bin/perl ] && echo HOST-ROOT; echo hi > ` + s.ws + `/from-image; touch /etc/x 2>/dev/null && echo ROOT-WRITABLE; id -u; exit 5`)
	mustHaveRun(t, r)
	if r.code != 5 || !strings.Contains(r.stdout, "made-by-the-tests") {
		t.Errorf("in the image: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, bad := range []string{"HOST-ROOT", "ROOT-WRITABLE"} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("%s inside the image:\n%s", bad, r.stdout)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(s.ws, "from-image")); string(b) != "hi\n" {
		t.Errorf("the workspace is not writable at its path in the image: %q", b)
	}
	if left := sandboxLeftovers(t, s.stateDir); len(left) > 0 {
		t.Errorf("a fresh run in the image left %v", left)
	}
	// A SIGKILLed wrapper's container in the image: its task, snapshot
	// and rootfs mount go too, by the next start at the latest.
	marker := "hermes-cd-img-" + strconv.Itoa(os.Getpid())
	c := s.cmd(s.extraEnv, "-c", "exec -a "+marker+" sleep 300")
	sleeper := startMarked(t, c, marker)
	c.Process.Signal(syscall.SIGKILL)
	c.Wait()
	if !waitFor(10*time.Second, func() bool { return !alive(sleeper) }) {
		t.Error("the command in the image outlived its SIGKILLed wrapper")
	}
	mustHaveRun(t, s.sh("echo RAN"))
	var left []string
	if !waitFor(10*time.Second, func() bool { left = sandboxLeftovers(t, s.stateDir); return len(left) == 0 }) {
		t.Errorf("after a SIGKILLed wrapper in the image and a new start, left: %v", left)
	}

	if rm := s.run(s.extraEnv, "image", "rm", tag); rm.code != 0 {
		t.Fatalf("image rm: %d %s", rm.code, rm.stderr)
	}
	if ls := s.run(s.extraEnv, "image", "ls"); strings.Contains(ls.stdout, tag) {
		t.Errorf("image rm left it listed:\n%s", ls.stdout)
	}
	// A missing image is a denial that says what to do.
	r = s.sh("echo RAN")
	if r.code != 126 || strings.Contains(r.stdout, "RAN") || !strings.Contains(r.stderr, "hermes-exec image import") {
		t.Errorf("missing image: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestContainerdImportArchives(t *testing.T) {
	s := containerdEnv(t, freshConfig)
	root := makeRootDir(t)
	dir := t.TempDir()
	id := strconv.Itoa(os.Getpid())

	docker := filepath.Join(dir, "docker-save.tar")
	dockerSaveArchive(t, root, "test/docker-"+id+":1", docker)
	oci := filepath.Join(dir, "oci.tar")
	ociArchive(t, root, oci)
	ociName := "local/oci-" + id + ":1"
	t.Cleanup(func() { s.run(s.extraEnv, "image", "rm", "docker.io/test/docker-"+id+":1", ociName) })

	r := s.run(s.extraEnv, "image", "import", docker)
	if r.code != 0 || !strings.Contains(r.stdout, "test/docker-"+id+":1") {
		t.Fatalf("import of a docker save archive: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"reading docker-save.tar", "read ", "layer 1/1"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("import did not show %q:\n%s", want, r.stderr)
		}
	}
	r = s.run(s.extraEnv, "image", "import", "--name", ociName, oci)
	if r.code != 0 || !strings.Contains(r.stdout, ociName) {
		t.Fatalf("import of an OCI archive: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, img := range []string{"docker.io/test/docker-" + id + ":1", ociName} {
		s.writeConfig(fmt.Sprintf("approvals:\n  mode: \"off\"\nterminal:\n  backend: containerd\ncontainer:\n  workspace: %s\n  image: %s\n%s%s", s.ws, img, freshConfig, probeBackend.container))
		r := s.sh(`echo RAN; cat /etc/image-marker`)
		if r.code != 0 || !strings.Contains(r.stdout, "made-by-the-tests") {
			t.Errorf("%s: exit %d\n%s\n%s", img, r.code, r.stdout, r.stderr)
		}
	}
	// Not an archive: a clear error, nothing imported.
	bad := filepath.Join(dir, "bad.tar")
	write(t, bad, "not a tar at all")
	if r := s.run(s.extraEnv, "image", "import", bad); r.code == 0 || !strings.Contains(r.stderr, "bad.tar") {
		t.Errorf("importing garbage: exit %d %q", r.code, r.stderr)
	}
}

func TestContainerdStdioIsBinarySafe(t *testing.T) {
	s := containerdEnv(t, freshConfig)
	data := make([]byte, 3<<20)
	rand.Read(data)
	data = append(data, 0, '\r', '\n', 0xff, 0)
	for _, sid := range []string{"", "HERMES_SESSION_ID=bin-" + strconv.Itoa(os.Getpid())} {
		if sid != "" {
			s.writeConfig(fmt.Sprintf("approvals:\n  mode: \"off\"\nterminal:\n  backend: containerd\ncontainer:\n  workspace: %s\n  persist: session\n%s", s.ws, probeBackend.container))
		}
		c := s.cmd(append(append([]string(nil), s.extraEnv...), sid), "-c", "cat")
		c.Stdin = bytes.NewReader(data)
		var out, errb bytes.Buffer
		c.Stdout, c.Stderr = &out, &errb
		if err := c.Run(); err != nil {
			t.Fatalf("%q: %v %s", sid, err, errb.String())
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Errorf("%q: %d bytes out for %d in, not the same bytes", sid, out.Len(), len(data))
		}
	}
}

// A caller whose stdin is /dev/null (as agents run commands) gives a
// fresh container's command /dev/null itself, as on the host, not a pipe
// that ends at once: nothing is copied for it.
func TestContainerdNullStdinIsTheCommandsOwn(t *testing.T) {
	s := containerdEnv(t, freshConfig)
	c := s.cmd(s.extraEnv, "-c", "readlink /proc/self/fd/0; cat; echo rc=$?")
	c.Stdin = nil // the null device
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		t.Fatalf("%v %s", err, errb.String())
	}
	if got := out.String(); got != "/dev/null\nrc=0\n" {
		t.Errorf("stdout %q, want the null device and cat at its end at once", got)
	}
}

func TestContainerdSessionExecStatusesAndSignals(t *testing.T) {
	s := containerdEnv(t, "  persist: session\n  memory: 128m\n")
	sid := "HERMES_SESSION_ID=st-" + strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"true", 0}, {"exit 42", 42}, {"kill -9 $$", 137}, {"kill -TERM $$", 143},
		{"no-such-command-hermes", 127}, {"sleep 0.1 & wait; exit 7", 7},
	} {
		if r := s.sh(tc.script, sid); r.code != tc.want {
			t.Errorf("%q: exit %d, want %d (stderr %q)", tc.script, r.code, tc.want, r.stderr)
		}
	}
	// A signal to the wrapper reaches the command, which ends by it.
	c := s.cmd(append(append([]string(nil), s.extraEnv...), sid), "-c", "trap 'echo GOT-TERM; exit 9' TERM; echo READY; sleep 30 & wait")
	var out bytes.Buffer
	c.Stdout = &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(20*time.Second, func() bool { return strings.Contains(out.String(), "READY") }) {
		c.Process.Kill()
		t.Fatal("the command never started")
	}
	c.Process.Signal(syscall.SIGTERM)
	c.Wait()
	if code := c.ProcessState.ExitCode(); code != 9 || !strings.Contains(out.String(), "GOT-TERM") {
		t.Errorf("SIGTERM to the wrapper: exit %d, output %q", code, out.String())
	}
	// Out of memory in a session: 137 and the reason; the session lives on.
	r := s.sh(`exec /usr/bin/perl -e '$x = "a" x (1<<20); @a = (); push @a, $x . $_ for 1..100000'`, sid)
	if r.code != 137 || !strings.Contains(r.stderr, "out of memory") {
		t.Errorf("memory bomb in a session: exit %d %q", r.code, r.stderr)
	}
	if r := s.sh("echo still", sid); r.code != 0 || r.stdout != "still\n" {
		t.Errorf("after the bomb: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestContainerdSessionKilledWrapperAndIdle(t *testing.T) {
	s := containerdEnv(t, "  persist: session\n  idle: 3s\n")
	session := "idle-" + strconv.Itoa(os.Getpid())
	sid := "HERMES_SESSION_ID=" + session
	marker := "hermes-cd-" + strconv.Itoa(os.Getpid())
	c := s.cmd(append(append([]string(nil), s.extraEnv...), sid), "-c", "exec -a "+marker+" sleep 300")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var sleeper int
	if !waitFor(20*time.Second, func() bool { sleeper = findProcess(marker); return sleeper != 0 }) {
		c.Process.Kill()
		t.Fatal("the command never started")
	}
	c.Process.Signal(syscall.SIGKILL)
	c.Wait()
	if !waitFor(10*time.Second, func() bool { return !alive(sleeper) }) {
		t.Error("a session command outlived its SIGKILLed wrapper")
	}
	// Idle for longer than container.idle: the reaper ends the session,
	// and the next command (here: gc) collects it.
	ls := s.run(s.extraEnv, "sandbox", "ls", "--json")
	if !strings.Contains(ls.stdout, session) {
		t.Fatalf("the session is not listed:\n%s\n%s", ls.stdout, ls.stderr)
	}
	time.Sleep(8 * time.Second)
	if gc := s.run(s.extraEnv, "sandbox", "gc"); gc.code != 0 {
		t.Fatalf("sandbox gc: %d %s", gc.code, gc.stderr)
	}
	ls = s.run(s.extraEnv, "sandbox", "ls", "--json")
	if strings.Contains(ls.stdout, session) {
		t.Errorf("an idle session is still there:\n%s", ls.stdout)
	}
	if out, _ := ctr(t, "containers", "ls", "-q"); strings.Contains(out, "s-") {
		t.Errorf("containerd still holds session containers:\n%s", out)
	}
}

func TestContainerdSessionTerminal(t *testing.T) {
	s := containerdEnv(t, "  persist: session\n")
	sid := "HERMES_SESSION_ID=tty-" + strconv.Itoa(os.Getpid())
	if r := s.sh("echo RAN", sid); r.code != 0 {
		t.Fatalf("%d %s", r.code, r.stderr)
	}
	ts := s.startTTY(false, append(append([]string(nil), s.extraEnv...), sid), "-c", "tty; stty size; read -r line; echo \"GOT=$line\"; stty size | sed 's/^/NOW=/'; exit 4")
	ts.waitScreen("40 120", 20*time.Second)
	// A resize of the caller's terminal reaches the command's.
	if err := pty.Setsize(ts.master, &pty.Winsize{Rows: 33, Cols: 91}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	ts.send("typed\r")
	ts.waitScreen("GOT=typed", 20*time.Second)
	ts.waitScreen("NOW=33 91", 20*time.Second)
	if code := ts.wait(20 * time.Second); code != 4 {
		t.Errorf("exit %d, want 4", code)
	}
	if screen := ts.screenText(); !strings.Contains(screen, "/dev/pts/") {
		t.Errorf("no terminal inside the session:\n%q", screen)
	}
}

func TestContainerdUnreachableIsDenied(t *testing.T) {
	useContainerd(t)
	s := newSandboxEnv(t, freshConfig)
	s.writeConfig(fmt.Sprintf("approvals:\n  mode: \"off\"\nterminal:\n  backend: containerd\ncontainer:\n  workspace: %s\n  containerd:\n    address: /nonexistent/containerd.sock\n", s.ws))
	r := s.sh("echo RAN")
	if r.code != 126 || strings.Contains(r.stdout, "RAN") {
		t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, "hermes-exec: denied: ") || !strings.Contains(r.stderr, "container.containerd.address") {
		t.Errorf("the reason does not say what to do: %q", r.stderr)
	}
	if a := s.lastAudit(); a["backend"] != "containerd" {
		t.Errorf("audit record: %v", a)
	}
}

// The shared listing: `sandbox ls` shows both backends' containers, and
// `sandbox rm` finds a containerd session by its session id.
func TestContainerdSandboxLsRm(t *testing.T) {
	s := containerdEnv(t, "  persist: session\n")
	session := "lsrm-" + strconv.Itoa(os.Getpid())
	if r := s.sh("echo RAN", "HERMES_SESSION_ID="+session); r.code != 0 {
		t.Fatalf("%d %s", r.code, r.stderr)
	}
	ls := s.run(s.extraEnv, "sandbox", "ls", "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(ls.stdout), &list); err != nil {
		t.Fatalf("sandbox ls --json is not one JSON array: %v\n%s", err, ls.stdout)
	}
	var id string
	for _, in := range list {
		if in["session"] == session && in["backend"] == "containerd" {
			id, _ = in["id"].(string)
		}
	}
	if id == "" {
		t.Fatalf("the containerd session is not listed:\n%s", ls.stdout)
	}
	if table := s.run(s.extraEnv, "sandbox", "ls"); !strings.Contains(table.stdout, id) || !strings.Contains(table.stdout, "ID ") {
		t.Errorf("sandbox ls table:\n%s", table.stdout)
	}
	if rm := s.run(s.extraEnv, "sandbox", "rm", session); rm.code != 0 {
		t.Fatalf("sandbox rm: %d %s", rm.code, rm.stderr)
	}
	if out, _ := ctr(t, "containers", "ls", "-q"); strings.Contains(out, id) {
		t.Errorf("sandbox rm left container %s in containerd", id)
	}
	if rm := s.run(s.extraEnv, "sandbox", "rm", "no-such-session-at-all"); rm.code == 0 || !strings.Contains(rm.stderr, "no-such-session-at-all") {
		t.Errorf("rm of an unknown name: %d %q", rm.code, rm.stderr)
	}
}

// A session whose reaper takes no commands (here: its exec socket is gone)
// still runs them, by task.Exec: statuses, stdin and the session's files
// are the same.
func TestContainerdSessionTaskExecFallback(t *testing.T) {
	s := containerdEnv(t, "  persist: session\n")
	session := "fallback-" + strconv.Itoa(os.Getpid())
	sid := "HERMES_SESSION_ID=" + session
	if r := s.sh("echo kept > /tmp/f; echo PPID=$PPID", sid); r.code != 0 || r.stdout != "PPID=1\n" {
		t.Fatalf("first command: %d %q %q", r.code, r.stdout, r.stderr)
	}
	ls := s.run(s.extraEnv, "sandbox", "ls", "--json")
	var list []map[string]any
	json.Unmarshal([]byte(ls.stdout), &list)
	id := ""
	for _, in := range list {
		if in["session"] == session {
			id, _ = in["id"].(string)
		}
	}
	if id == "" {
		t.Fatalf("session not listed:\n%s", ls.stdout)
	}
	if err := os.Remove(filepath.Join(s.stateDir, id, "exec.sock")); err != nil {
		t.Fatal(err)
	}
	r := s.sh("cat /tmp/f; echo PPID=$PPID", sid)
	if r.code != 0 || !strings.Contains(r.stdout, "kept") || strings.Contains(r.stdout, "PPID=1\n") {
		t.Errorf("by task.Exec: %d %q %q", r.code, r.stdout, r.stderr)
	}
	for script, want := range map[string]int{"exit 42": 42, "kill -9 $$": 137, "kill -TERM $$": 143, "no-such-command-hermes": 127} {
		if r := s.sh(script, sid); r.code != want {
			t.Errorf("%q by task.Exec: exit %d, want %d (%q)", script, r.code, want, r.stderr)
		}
	}
	data := make([]byte, 1<<20)
	rand.Read(data)
	c := s.cmd(append(append([]string(nil), s.extraEnv...), sid), "-c", "cat")
	c.Stdin = bytes.NewReader(data)
	out, err := c.Output()
	if err != nil || !bytes.Equal(out, data) {
		t.Errorf("stdin by task.Exec: %d bytes back of %d (%v)", len(out), len(data), err)
	}
}

// A set-uid root file left in the workspace would give any host user root:
// no way of making one works inside (issue 6's probe).
func TestContainerdNoSetIDFiles(t *testing.T) {
	s := containerdEnv(t, freshConfig)
	r := s.sh(fmt.Sprintf(`echo RAN; cd %s
cp /usr/bin/id a; chmod 4755 a; chmod u+s a; chmod g+s a
/usr/bin/perl -e 'use Fcntl; sysopen(F, "b", O_CREAT|O_WRONLY, 06755)'
install -m 4755 /usr/bin/id c
mkdir -m 2755 d
cp /usr/bin/id e && chmod 755 e && echo PLAIN-OK
true`, s.ws))
	mustHaveRun(t, r)
	if !strings.Contains(r.stdout, "PLAIN-OK") {
		t.Errorf("an ordinary chmod failed:\n%s\n%s", r.stdout, r.stderr)
	}
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		if fi, err := os.Stat(filepath.Join(s.ws, n)); err == nil && fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
			t.Errorf("%s is set-id on the host: %v", n, fi.Mode())
		}
	}
}

// approvals.in_container decides whether a command that needs approval is
// asked about when it runs in a containerd container (skip: the container
// is the boundary; ask: with nobody to ask, denied); deny rules hold either
// way, and with approvals off too.
func TestContainerdApprovalsInContainerAndDenyRules(t *testing.T) {
	s := containerdEnv(t, freshConfig)
	cfg := func(approvals string) {
		s.writeConfig(fmt.Sprintf("approvals:\n%s  deny: [\"touch denied-marker\"]\nterminal:\n  backend: containerd\ncontainer:\n  workspace: %s\n%s%s", approvals, s.ws, freshConfig, containerdBackend().container))
	}
	// Needs approval (a forced push), harmless here: no remote.
	const needsAsking = "echo RAN; git push --force 2>/dev/null; true"
	cfg("  in_container: skip\n")
	if r := s.sh(needsAsking); r.code != 0 || !strings.Contains(r.stdout, "RAN") {
		t.Errorf("in_container: skip: exit %d %q %q, want it run without asking", r.code, r.stdout, r.stderr)
	}
	cfg("  in_container: ask\n")
	if r := s.sh(needsAsking); r.code != 126 || strings.Contains(r.stdout, "RAN") || !strings.Contains(r.stderr, "hermes-exec: denied: ") {
		t.Errorf("in_container: ask with nobody to ask: exit %d %q %q, want 126", r.code, r.stdout, r.stderr)
	}
	for _, approvals := range []string{"  in_container: skip\n", "  mode: \"off\"\n"} {
		cfg(approvals)
		r := s.sh("touch denied-marker")
		if r.code != 126 || !strings.Contains(r.stderr, "hermes-exec: denied: ") {
			t.Errorf("%q: a deny rule let the command through: exit %d %q", approvals, r.code, r.stderr)
		}
		if exists(filepath.Join(s.ws, "denied-marker")) {
			t.Fatalf("%q: the denied command ran", approvals)
		}
	}
}
