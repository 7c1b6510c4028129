package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"hermes-exec/isolate/seccompbpf"
)

// runningFilter starts text in s (env added), waits for the process named
// marker, and returns the seccomp filter it runs under, its status lines
// and the id of the container it runs in; the command is ended after.
func runningFilter(t *testing.T, s *sandboxEnv, marker string, env ...string) ([]unix.SockFilter, string, string) {
	t.Helper()
	c := s.cmd(append(append([]string(nil), s.extraEnv...), env...), "-c", "exec -a "+marker+" sleep 30")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Process.Signal(unix.SIGTERM); _ = c.Wait() }()
	var pid int
	if !waitFor(20*time.Second, func() bool { pid = findProcess(marker); return pid != 0 }) {
		t.Fatal("the command never started")
	}
	insns, err := seccompbpf.FilterOf(pid)
	if err != nil {
		t.Fatalf("reading the command's filter: %v", err)
	}
	status, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	var lines []string
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "Seccomp") || strings.HasPrefix(l, "NoNewPrivs") {
			lines = append(lines, l)
		}
	}
	cg, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	id := ""
	if i := strings.LastIndex(string(cg), "hermes-exec-containerd/"); i >= 0 {
		id = strings.Fields(string(cg)[i+len("hermes-exec-containerd/"):])[0]
	}
	return insns, strings.Join(lines, "\n"), id
}

// A fresh container's init installs the seccomp filter itself (runc does
// not compile it each time): the filter it installs is the one runc loads
// for the same profile, instruction for instruction, as the only one; the
// spec then has no linux.seccomp; and what the filter refuses stays
// refused, with the same error.
func TestContainerdFreshInitInstallsRuncsFilter(t *testing.T) {
	fresh := containerdEnv(t, freshConfig)
	session := containerdEnv(t, "  persist: session\n  memory: 256m\n  pids: 128\n")
	sid := "HERMES_SESSION_ID=seccomp-" + strconv.Itoa(os.Getpid())
	probe := "unshare -U true; echo unshare=$?; unshare -n true; echo netns=$?"
	ref := session.sh(probe, sid)
	if ref.code != 0 {
		t.Fatalf("session: %d %s", ref.code, ref.stderr)
	}
	// The first fresh container of a profile runs under runc's filter,
	// which is kept; the next ones' inits install it.
	for i := 0; i < 2; i++ {
		if r := fresh.sh(probe); r.code != 0 || r.stdout != ref.stdout || r.stderr != ref.stderr {
			t.Errorf("fresh run %d: %d %q %q, the session gave %q %q", i, r.code, r.stdout, r.stderr, ref.stdout, ref.stderr)
		}
	}
	stored, _ := filepath.Glob(filepath.Join(probeBackend.stateDir, "seccomp-*.bpf"))
	if len(stored) == 0 {
		t.Fatal("no stored seccomp program after a fresh run")
	}
	want, wantStatus, _ := runningFilter(t, session, "hermes-scmp-s-"+strconv.Itoa(os.Getpid()), sid)
	got, gotStatus, id := runningFilter(t, fresh, "hermes-scmp-f-"+strconv.Itoa(os.Getpid()))
	if !strings.HasPrefix(id, "f-") {
		t.Fatalf("the fresh command runs in %q", id)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the fresh init's filter (%d instructions) is not runc's (%d)", len(got), len(want))
	}
	if gotStatus != wantStatus || !strings.Contains(gotStatus, "Seccomp:\t2") || !strings.Contains(gotStatus, "Seccomp_filters:\t1") || !strings.Contains(gotStatus, "NoNewPrivs:\t1") {
		t.Errorf("fresh command's status:\n%s\nsession command's:\n%s", gotStatus, wantStatus)
	}
	// Its spec: no filter for runc, the init told to install it.
	c := fresh.cmd(fresh.extraEnv, "-c", "exec -a hermes-scmp-spec-"+strconv.Itoa(os.Getpid())+" sleep 30")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Process.Signal(unix.SIGTERM); _ = c.Wait() }()
	if !waitFor(20*time.Second, func() bool { return findProcess("hermes-scmp-spec-"+strconv.Itoa(os.Getpid())) != 0 }) {
		t.Fatal("the command never started")
	}
	out, _ := ctr(t, "tasks", "ls")
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || !strings.HasPrefix(f[0], "f-") || f[2] != "RUNNING" {
			continue
		}
		info, err := ctr(t, "containers", "info", f[0])
		if err != nil {
			t.Fatalf("ctr containers info: %v %s", err, info)
		}
		var rec struct {
			Spec struct {
				Process struct{ Args []string }
				Linux   struct{ Seccomp *json.RawMessage }
			}
		}
		if err := json.Unmarshal([]byte(info), &rec); err != nil {
			t.Fatalf("ctr containers info: %v", err)
		}
		if rec.Spec.Linux.Seccomp != nil || !strings.Contains(strings.Join(rec.Spec.Process.Args, " "), " run seccomp /run/.hermes-exec/life/setup ") {
			t.Errorf("fresh spec: seccomp present %v, init %q", rec.Spec.Linux.Seccomp != nil, rec.Spec.Process.Args)
		}
		return
	}
	t.Errorf("no running fresh task:\n%s", out)
}
