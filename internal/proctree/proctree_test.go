package proctree

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hermes-exec/internal/procstat"
	"hermes-exec/internal/testutil"
)

// startTree starts script with bash in a session of its own (when
// session) and returns the command and the pids script wrote, one a line,
// to $PIDS, once it has written want of them.
func startTree(t *testing.T, session bool, script string, want int) (*exec.Cmd, []int) {
	t.Helper()
	pidfile := filepath.Join(t.TempDir(), "pids")
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "PIDS="+pidfile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: session}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pids []int
	t.Cleanup(func() {
		// Whatever a broken Kill left: the test's own processes only.
		for _, p := range pids {
			if testutil.Alive(p) {
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
	})
	if !testutil.WaitFor(10*time.Second, func() bool {
		b, _ := os.ReadFile(pidfile)
		pids = pids[:0]
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
		return len(pids) >= want
	}) {
		t.Fatalf("script wrote pids %v, want %d", pids, want)
	}
	return cmd, pids
}

func waitDead(t *testing.T, what string, pid int) {
	t.Helper()
	if !testutil.WaitFor(10*time.Second, func() bool { return !testutil.Alive(pid) }) {
		t.Errorf("%s (pid %d) outlived the kill", what, pid)
	}
}

// A background child, a child that moved to a session of its own and a
// grandchild all go with the command; a process outside its tree stays.
func TestKillTakesDescendants(t *testing.T) {
	other := exec.Command("sleep", "1000")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	cmd, pids := startTree(t, false, `
		sleep 1000 & echo $! >> "$PIDS"
		( exec setsid sleep 1000 ) & echo $! >> "$PIDS"
		( sleep 1000 & echo $! >> "$PIDS"; wait ) &
		sleep 1000`, 3)
	Kill(cmd.Process.Pid, false)
	cmd.Wait()
	for i, what := range []string{"background child", "child in a session of its own", "grandchild"} {
		waitDead(t, what, pids[i])
	}
	if !testutil.Alive(other.Process.Pid) {
		t.Error("a process outside the tree was killed")
	}
}

// With session, a background job whose parent already exited (so it is
// no one's descendant now) goes too: it is still in the command's
// session.
func TestKillTakesTheSession(t *testing.T) {
	cmd, pids := startTree(t, true, `
		( sleep 1000 & echo $! >> "$PIDS" )
		sleep 1000`, 1)
	if ppid, _, sid, _ := procIDs(pids[0]); ppid == cmd.Process.Pid || sid != cmd.Process.Pid {
		t.Fatalf("setup: the orphan's parent %d, session %d", ppid, sid)
	}
	Kill(cmd.Process.Pid, true)
	cmd.Wait()
	waitDead(t, "orphaned background job in the session", pids[0])
}

var procIDs = procstat.IDs
