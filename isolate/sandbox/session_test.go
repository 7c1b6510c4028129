package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hermes-exec/isolate"
)

func testOptions(t *testing.T, persist string) Options {
	t.Helper()
	base, err := os.MkdirTemp("/var/tmp", "hermes-sbx-unit-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	for _, d := range []string{"ws", "state", "hermes"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	o := Options{StateDir: filepath.Join(base, "state"), Workspace: filepath.Join(base, "ws"), HermesHome: filepath.Join(base, "hermes"), Persist: persist, Memory: 256 << 20}
	t.Cleanup(func() {
		if ids, _ := containerIDs(o.StateDir); len(ids) > 0 {
			_ = Remove(o, ids...)
		}
	})
	return o
}

// run runs text in b and returns its status and output.
func run(t *testing.T, b isolate.Backend, session, text string) (isolate.Status, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string)
	go func() {
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r)
		done <- buf.String()
	}()
	st, err := b.Run(context.Background(), isolate.Spec{Args: []string{"bash", "-c", text}, Env: []string{"PATH=/usr/bin:/bin"}, Stdout: w, Stderr: w, Session: session})
	w.Close()
	out := <-done
	if err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	return st, out
}

func cgroupsOf(id string) []string {
	a, _ := filepath.Glob("/sys/fs/cgroup/*/hermes-exec/" + id)
	b, _ := filepath.Glob("/sys/fs/cgroup/hermes-exec/" + id)
	return append(a, b...)
}

func TestSessionKeepsStateAndIdleGCRemovesIt(t *testing.T) {
	requireRoot(t)
	o := testOptions(t, "session")
	o.Idle = time.Second
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := run(t, b, "one", "echo kept > /tmp/f"); st.Code != 0 {
		t.Fatalf("%+v", st)
	}
	if _, out := run(t, b, "one", "cat /tmp/f"); out != "kept\n" {
		t.Fatalf("session lost /tmp: %q", out)
	}
	list, err := List(o)
	if err != nil || len(list) != 1 || list[0].Session != "one" || list[0].Status != "running" || list[0].Pid == 0 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	id, pid := list[0].ID, list[0].Pid
	// A running command keeps the session from being collected, however
	// old its last start is.
	started := make(chan struct{})
	go func() {
		close(started)
		run(t, b, "one", "sleep 2.5")
	}()
	<-started
	time.Sleep(1500 * time.Millisecond)
	// (Only this session's fate is this test's: GC may also sweep this
	// state directory's own stray cgroups.)
	if removed, err := GC(o); err != nil || slices.Contains(removed, id) {
		t.Fatalf("GC removed %v (%v) while a command ran", removed, err)
	}
	time.Sleep(2500 * time.Millisecond)
	removed, err := GC(o)
	if err != nil || !slices.Contains(removed, id) {
		t.Fatalf("GC after idle removed %v, %v", removed, err)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Error("the session's init survived gc")
	}
	if cg := cgroupsOf(id); len(cg) > 0 {
		t.Errorf("cgroups left: %v", cg)
	}
	if _, err := os.Stat(filepath.Join(o.StateDir, id)); !os.IsNotExist(err) {
		t.Errorf("state left: %v", err)
	}
}

func TestRemoveKillsARunningSessionCommand(t *testing.T) {
	requireRoot(t)
	o := testOptions(t, "session")
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	run(t, b, "rm-me", "true")
	res := make(chan isolate.Status, 1)
	go func() {
		st, _ := run(t, b, "rm-me", "sleep 60")
		res <- st
	}()
	time.Sleep(500 * time.Millisecond)
	if err := Remove(o, "rm-me"); err != nil {
		t.Fatal(err)
	}
	select {
	case st := <-res:
		if st.Code != 137 {
			t.Errorf("killed command: %+v, want 137", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox rm did not end the running command")
	}
	if list, _ := List(o); len(list) != 0 {
		t.Errorf("still listed: %+v", list)
	}
	if err := Remove(o, "rm-me"); err == nil {
		t.Error("removing a missing session is not an error")
	}
}

// A session command whose wrapper is SIGKILLed must not keep running: the
// next start collects it, while the session itself stays for the next
// command.
func TestSessionCommandDiesWithItsWrapper(t *testing.T) {
	requireRoot(t)
	o := testOptions(t, "session")
	marker := "sbx-orphan-" + strconv.Itoa(os.Getpid())
	job, _ := json.Marshal(helperJob{O: o, Args: []string{"bash", "-c", "exec -a " + marker + " sleep 300"}, Session: "orphans"})
	helper := exec.Command("/proc/self/exe")
	helper.Env = append(os.Environ(), "SANDBOX_TEST_HELPER="+string(job))
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	deadline := time.Now().Add(20 * time.Second)
	for pid == 0 && time.Now().Before(deadline) {
		pid = findProc(marker)
		time.Sleep(20 * time.Millisecond)
	}
	if pid == 0 {
		helper.Process.Kill()
		t.Fatal("the command never started")
	}
	helper.Process.Kill()
	helper.Wait()
	b, err := New(o) // the next start
	if err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for findProc(marker) != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if findProc(marker) != 0 {
		t.Fatal("the command outlived its SIGKILLed wrapper and the next start")
	}
	if st, _ := run(t, b, "orphans", "true"); st.Code != 0 {
		t.Errorf("the session is unusable after: %+v", st)
	}
}

func findProc(marker string) int {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, _ := os.ReadFile(p); strings.HasPrefix(string(b), marker+"\x00") {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			return pid
		}
	}
	return 0
}

func TestFreshContainerLeavesNothing(t *testing.T) {
	requireRoot(t)
	o := testOptions(t, "none")
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	st, out := run(t, b, "ignored", "echo $$; sleep 30 & exit 5")
	if st.Code != 5 || strings.TrimSpace(out) == "" {
		t.Fatalf("%+v %q", st, out)
	}
	entries, _ := os.ReadDir(o.StateDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), freshPrefix) {
			t.Errorf("left in the state dir: %s", e.Name())
		}
	}
	if cg, _ := filepath.Glob("/sys/fs/cgroup/*/hermes-exec/" + freshPrefix + "*"); len(cg) > 0 {
		t.Errorf("cgroups left: %v", cg)
	}
	if recs, _ := os.ReadDir(filepath.Join(o.StateDir, cgroupLedgerDir)); len(recs) > 0 {
		t.Errorf("cgroup records left: %v", recs)
	}
}

func TestConcurrentCommandsShareASession(t *testing.T) {
	requireRoot(t)
	o := testOptions(t, "session")
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			st, out := run(t, b, "shared", "echo "+strconv.Itoa(i)+" > /tmp/c"+strconv.Itoa(i)+"; cat /proc/1/cmdline | tr '\\0' ' '")
			if st.Code != 0 || !strings.Contains(out, "sandbox-reaper session") {
				errs <- out
				return
			}
			errs <- ""
		}(i)
	}
	for i := 0; i < n; i++ {
		if e := <-errs; e != "" {
			t.Errorf("concurrent command: %q", e)
		}
	}
	if list, _ := List(o); len(list) != 1 {
		t.Errorf("concurrent first commands made %d containers: %+v", len(list), list)
	}
	if _, out := run(t, b, "shared", "cat /tmp/c0 /tmp/c1 /tmp/c2 /tmp/c3 | sort | tr -d '\\n'"); out != "0123" {
		t.Errorf("files from concurrent commands: %q", out)
	}
}

// Placeholders go with the workspace's last container, whichever made
// them: a fresh container that found a session's placeholders there must
// not leave them behind, nor remove them under the session.
func TestPlaceholdersGoWithTheLastContainer(t *testing.T) {
	requireRoot(t)
	o := testOptions(t, "session")
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := run(t, b, "holders", "true"); st.Code != 0 {
		t.Fatalf("%+v", st)
	}
	vscode := filepath.Join(o.Workspace, ".vscode")
	if _, err := os.Stat(vscode); err != nil {
		t.Fatalf("no placeholder while the session runs: %v", err)
	}
	fo := o
	fo.Persist = "none"
	fb, err := New(fo)
	if err != nil {
		t.Fatal(err)
	}
	if st, out := run(t, fb, "", "mkdir .vscode/x 2>&1 || echo REFUSED"); st.Code != 0 || !strings.Contains(out, "REFUSED") {
		t.Fatalf("fresh run: %+v %q", st, out)
	}
	if _, err := os.Stat(vscode); err != nil {
		t.Fatalf("a fresh run removed the session's placeholder: %v", err)
	}
	// A second session finds them there; the one that made them goes
	// first, the other last.
	if st, _ := run(t, b, "holders-2", "true"); st.Code != 0 {
		t.Fatalf("%+v", st)
	}
	if err := Remove(o, "holders"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(vscode); err != nil {
		t.Fatalf("the placeholder went while another session still runs: %v", err)
	}
	if err := Remove(o, "holders-2"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".vscode", ".git", ".envrc", ".claude"} {
		if _, err := os.Lstat(filepath.Join(o.Workspace, name)); err == nil {
			t.Errorf("%s left in the workspace after its last container", name)
		}
	}
}
