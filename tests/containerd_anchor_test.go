package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The anchor (isolate/containerd/anchor.go): fresh containers run in the
// shim its container keeps, `sandbox ls` lists it, `sandbox rm` removes it
// and its shim, and a dead one is replaced by the next start.

// anchorOf is the anchor `sandbox ls` lists for s, or "" when none.
func anchorOf(t *testing.T, s *sandboxEnv) (id, status string) {
	t.Helper()
	ls := s.run(s.extraEnv, "sandbox", "ls", "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(ls.stdout), &list); err != nil {
		t.Fatalf("sandbox ls --json: %v\n%s\n%s", err, ls.stdout, ls.stderr)
	}
	for _, in := range list {
		if in["kind"] == "anchor" && in["backend"] == "containerd" {
			if id != "" {
				t.Errorf("two anchors listed:\n%s", ls.stdout)
			}
			id, _ = in["id"].(string)
			status, _ = in["status"].(string)
		}
	}
	return id, status
}

// shimsOf lists the pids of the runc shims serving container id (started
// for it: a shim is named after the container that started it) in the
// tests' namespace.
func shimsOf(id string) []int {
	var pids []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		args := strings.Split(string(b), "\x00")
		if len(args) == 0 || !strings.HasSuffix(args[0], "containerd-shim-runc-v2") {
			continue
		}
		cmd := strings.Join(args, " ")
		if strings.Contains(cmd, "-namespace "+testNamespace+" ") && strings.Contains(cmd, "-id "+id+" ") {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestContainerdFreshContainersShareTheAnchorsShim(t *testing.T) {
	s := containerdEnv(t, freshConfig)
	if r := s.sh("echo RAN"); r.code != 0 || r.stdout != "RAN\n" {
		t.Fatalf("%d %q %s", r.code, r.stdout, r.stderr)
	}
	anchor, status := anchorOf(t, s)
	if anchor == "" || status != "running" {
		t.Fatalf("no running anchor after a fresh run: %q %q", anchor, status)
	}
	shims := shimsOf(anchor)
	if len(shims) != 1 {
		t.Fatalf("the anchor %s has shims %v, want one", anchor, shims)
	}
	// A fresh command runs in that shim: no shim of its own while it
	// runs, and the task is the shim's child.
	marker := "hermes-anchor-" + strconv.Itoa(os.Getpid())
	c := s.cmd(s.extraEnv, "-c", "exec -a "+marker+" sleep 3")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Process.Kill(); _ = c.Wait() }()
	var sleeper int
	if !waitFor(20*time.Second, func() bool { sleeper = findProcess(marker); return sleeper != 0 }) {
		t.Fatal("the command never started")
	}
	out, _ := ctr(t, "tasks", "ls")
	var fresh string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "f-") {
			fresh = f[0]
		}
	}
	if fresh == "" {
		t.Fatalf("no fresh task while the command runs:\n%s", out)
	}
	if own := shimsOf(fresh); len(own) != 0 {
		t.Errorf("the fresh container %s started shims %v of its own", fresh, own)
	}
	if !descendsFrom(sleeper, shims[0]) {
		t.Errorf("the command (pid %d) does not run under the anchor's shim %d", sleeper, shims[0])
	}
	if err := c.Wait(); err != nil {
		t.Errorf("the command: %v", err)
	}
	if left := containerdLeftovers(t); len(left) != 0 {
		t.Errorf("fresh runs left %v", left)
	}
	// sandbox rm takes the anchor and, with it, the shim.
	if rm := s.run(s.extraEnv, "sandbox", "rm", anchor); rm.code != 0 {
		t.Fatalf("sandbox rm %s: %d %s", anchor, rm.code, rm.stderr)
	}
	if id, _ := anchorOf(t, s); id != "" {
		t.Errorf("sandbox rm left the anchor %s", id)
	}
	if out, _ := ctr(t, "containers", "ls", "-q"); strings.Contains(out, anchor) {
		t.Errorf("containerd still holds the anchor:\n%s", out)
	}
	if !waitFor(10*time.Second, func() bool { return len(shimsOf(anchor)) == 0 }) {
		t.Errorf("the anchor's shim %v outlived it", shimsOf(anchor))
	}
	if _, err := os.Stat(filepath.Join(probeBackend.stateDir, anchor)); err == nil {
		t.Errorf("the anchor's state directory is still there")
	}
}

// descendsFrom reports whether pid is a descendant of ancestor.
func descendsFrom(pid, ancestor int) bool {
	for i := 0; i < 64 && pid > 1; i++ {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return false
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 2 {
			return false
		}
		pid, _ = strconv.Atoi(f[1])
		if pid == ancestor {
			return true
		}
	}
	return false
}

// An anchor whose init is gone is replaced by the next fresh start, whose
// command runs as ever; one idle for longer than container.idle goes by
// its own init and `sandbox gc` collects it.
func TestContainerdAnchorIsReplacedAndCollected(t *testing.T) {
	s := containerdEnv(t, freshConfig+"  idle: 3s\n")
	if r := s.sh("true"); r.code != 0 {
		t.Fatalf("%d %s", r.code, r.stderr)
	}
	anchor, _ := anchorOf(t, s)
	if anchor == "" {
		t.Fatal("no anchor after a fresh run")
	}
	if out, err := ctr(t, "tasks", "kill", "-s", "KILL", anchor); err != nil {
		t.Fatalf("ctr tasks kill: %v %s", err, out)
	}
	if !waitFor(10*time.Second, func() bool { _, st := anchorOf(t, s); return st == "stopped" }) {
		t.Fatal("the killed anchor never stopped")
	}
	if r := s.sh("echo RAN"); r.code != 0 || r.stdout != "RAN\n" {
		t.Fatalf("with a dead anchor: %d %q %s", r.code, r.stdout, r.stderr)
	}
	if id, st := anchorOf(t, s); id != anchor || st != "running" {
		t.Errorf("the anchor was not replaced: %q %q", id, st)
	}
	// Idle: its init exits within a second or two of container.idle.
	if !waitFor(15*time.Second, func() bool { _, st := anchorOf(t, s); return st == "stopped" }) {
		t.Error("an idle anchor kept running")
	}
	if gc := s.run(s.extraEnv, "sandbox", "gc"); gc.code != 0 || !strings.Contains(gc.stdout, anchor) {
		t.Errorf("sandbox gc: %d %q %s", gc.code, gc.stdout, gc.stderr)
	}
	if id, _ := anchorOf(t, s); id != "" {
		t.Errorf("sandbox gc left the anchor %s", id)
	}
	if !waitFor(10*time.Second, func() bool { return len(shimsOf(anchor)) == 0 }) {
		t.Errorf("the anchor's shim %v outlived it", shimsOf(anchor))
	}
}

// One HERMES_HOME's collection leaves another's state alone: the state
// directory is shared (root's), and what a start collects is its own.
func TestContainerdCollectLeavesOtherHomesAlone(t *testing.T) {
	a := containerdEnv(t, freshConfig)
	b := containerdEnv(t, freshConfig)
	if r := a.sh("true"); r.code != 0 {
		t.Fatalf("%d %s", r.code, r.stderr)
	}
	anchor, _ := anchorOf(t, a)
	if anchor == "" {
		t.Fatal("no anchor after a fresh run")
	}
	// Older than what collection takes for a container being made.
	time.Sleep(11 * time.Second)
	// Something for b's next start to collect: a fresh container's state
	// whose helper is gone.
	stale := filepath.Join(probeBackend.stateDir, "f-stale"+strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(stale) })
	if r := b.sh("true"); r.code != 0 {
		t.Fatalf("%d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(probeBackend.stateDir, anchor, "life", "last-used")); err != nil {
		t.Errorf("another HERMES_HOME's start removed the anchor's state: %v", err)
	}
	if id, st := anchorOf(t, a); id != anchor || st != "running" {
		t.Errorf("the anchor after another HERMES_HOME's start: %q %q", id, st)
	}
	// But an anchor whose HERMES_HOME is gone serves nobody: anyone's gc
	// collects it.
	if err := os.RemoveAll(a.env.home); err != nil {
		t.Fatal(err)
	}
	if gc := b.run(b.extraEnv, "sandbox", "gc"); gc.code != 0 || !strings.Contains(gc.stdout, anchor) {
		t.Errorf("sandbox gc of another HERMES_HOME: %d %q %s", gc.code, gc.stdout, gc.stderr)
	}
	if out, _ := ctr(t, "containers", "ls", "-q"); strings.Contains(out, anchor) {
		t.Errorf("the anchor of a removed HERMES_HOME is still there:\n%s", out)
	}
}
