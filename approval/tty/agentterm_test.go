package tty

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// fakeProc builds a /proc with the given processes.
type fakeProcess struct {
	pid, ppid int
	comm      string
	tty       uint64
	cmdline   []string
	environ   []string
	master    int    // pts index whose master it holds, -1 for none
	exe       string // "" for a program that cannot be inspected
	foreign   bool   // exe is not a system program (a copy in /tmp, say)
	uid       int
	sid       int      // session id; pid when 0 and -1 for "outside this PID namespace"
	clients   []uint64 // tmux: terminals of the clients attached to the pane's session
}

func fakeProc(t *testing.T, ps ...fakeProcess) procFS {
	root := t.TempDir()
	byPid := map[int]fakeProcess{}
	for _, p := range ps {
		byPid[p.pid] = p
		d := filepath.Join(root, fmt.Sprint(p.pid))
		os.MkdirAll(filepath.Join(d, "fd"), 0o755)
		os.MkdirAll(filepath.Join(d, "fdinfo"), 0o755)
		sid := p.sid
		switch sid {
		case 0:
			sid = p.pid
		case -1:
			sid = 0
		}
		stat := fmt.Sprintf("%d (%s) S %d %d %d %d -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n", p.pid, p.comm, p.ppid, p.pid, sid, p.tty)
		os.WriteFile(filepath.Join(d, "status"), []byte(fmt.Sprintf("Name:\t%s\nUid:\t%d\t%d\t%d\t%d\n", p.comm, p.uid, p.uid, p.uid, p.uid)), 0o644)
		os.WriteFile(filepath.Join(d, "stat"), []byte(stat), 0o644)
		os.WriteFile(filepath.Join(d, "cmdline"), []byte(strings.Join(p.cmdline, "\x00")+"\x00"), 0o644)
		os.WriteFile(filepath.Join(d, "environ"), []byte(strings.Join(p.environ, "\x00")+"\x00"), 0o644)
		if p.master >= 0 {
			os.Symlink("/dev/ptmx", filepath.Join(d, "fd", "5"))
			os.WriteFile(filepath.Join(d, "fdinfo", "5"), []byte(fmt.Sprintf("pos:\t0\nflags:\t02\nmnt_id:\t1\nino:\t1\ntty-index:\t%d\n", p.master)), 0o644)
		}
	}
	return procFS{
		root: root,
		exe: func(pid int) (string, bool, error) {
			p := byPid[pid]
			if p.exe == "" {
				return "", false, os.ErrPermission
			}
			return p.exe, !p.foreign, nil
		},
		tmux: func(pid int, exe string, pane int) ([]uint64, error) { return byPid[pid].clients, nil },
	}
}

func pts(n int) uint64 { return unix.Mkdev(136, uint32(n)) }

func TestAgentTerminalHeuristics(t *testing.T) {
	human := pts(0) // the terminal sshd made for the human
	const self = 100
	cases := []struct {
		name   string
		procs  []fakeProcess
		tty    uint64
		env    bool
		userNS bool
		want   string // a substring of the reason; "" for a human terminal
	}{
		{"human over ssh, agent on the same terminal", []fakeProcess{
			{pid: 1, comm: "systemd", exe: "/usr/lib/systemd/systemd", master: -1},
			{pid: 10, ppid: 1, comm: "sshd", exe: "/usr/sbin/sshd", master: 0},
			{pid: 20, ppid: 10, comm: "bash", exe: "/usr/bin/bash", tty: human, master: -1},
			{pid: 30, ppid: 20, comm: "claude", tty: human, cmdline: []string{"claude"}, master: -1},
			{pid: self, ppid: 30, comm: "hermes-exec", tty: human, master: -1},
		}, human, true, false, ""},
		{"a human in tmux, attached over ssh", []fakeProcess{
			{pid: 1, comm: "systemd", exe: "/usr/lib/systemd/systemd", master: -1},
			{pid: 9, ppid: 1, comm: "sshd", exe: "/usr/sbin/sshd", master: 0},
			{pid: 10, ppid: 1, comm: "tmux: server", exe: "/usr/bin/tmux", master: 3, clients: []uint64{human}},
			{pid: 20, ppid: 10, comm: "bash", tty: pts(3), master: -1},
			{pid: self, ppid: 20, comm: "hermes-exec", tty: pts(3), master: -1},
		}, pts(3), false, false, ""},
		{"a tmux server nobody is attached to (new-session -d, send-keys)", []fakeProcess{
			{pid: 1, comm: "systemd", exe: "/usr/lib/systemd/systemd", master: -1},
			{pid: 10, ppid: 1, comm: "tmux: server", exe: "/usr/bin/tmux", master: 3},
			{pid: 20, ppid: 10, comm: "bash", tty: pts(3), master: -1},
			{pid: self, ppid: 20, comm: "hermes-exec", tty: pts(3), master: -1},
		}, pts(3), false, false, "no client attached"},
		{"a tmux client on a PTY a program holds", []fakeProcess{
			{pid: 1, comm: "systemd", exe: "/usr/lib/systemd/systemd", master: -1},
			{pid: 8, ppid: 1, comm: "python3", exe: "/usr/bin/python3.11", master: 2},
			{pid: 10, ppid: 1, comm: "tmux: server", exe: "/usr/bin/tmux", master: 3, clients: []uint64{pts(2)}},
			{pid: 20, ppid: 10, comm: "bash", tty: pts(3), master: -1},
			{pid: self, ppid: 20, comm: "hermes-exec", tty: pts(3), master: -1},
		}, pts(3), false, false, "attached clients are not a human's"},
		{"screen", []fakeProcess{
			{pid: 1, comm: "systemd", exe: "/usr/lib/systemd/systemd", master: -1},
			{pid: 10, ppid: 1, comm: "SCREEN", exe: "/usr/bin/screen-4.9.0", master: 3},
			{pid: self, ppid: 10, comm: "hermes-exec", tty: pts(3), master: -1},
		}, pts(3), false, false, "screen -X stuff"},
		{"Codex tty: true", []fakeProcess{
			{pid: 1, comm: "systemd", exe: "/usr/lib/systemd/systemd", master: -1},
			{pid: 30, ppid: 1, comm: "codex", exe: "/usr/lib/node_modules/@openai/codex/vendor/codex", tty: human, cmdline: []string{"/usr/lib/node_modules/@openai/codex/bin/codex"}, master: 7},
			{pid: self, ppid: 30, comm: "hermes-exec", tty: pts(7), master: -1},
		}, pts(7), false, false, "driven by codex"},
		{"any program on a PTY it owns", []fakeProcess{
			{pid: 1, comm: "systemd", exe: "/usr/lib/systemd/systemd", master: -1},
			{pid: 40, ppid: 1, comm: "python3", exe: "/usr/bin/python3.11", cmdline: []string{"python3", "answer.py"}, master: 4},
			{pid: self, ppid: 40, comm: "hermes-exec", tty: pts(4), master: -1},
		}, pts(4), false, false, "made for this command by python3"},
		{"a program that calls itself sshd", []fakeProcess{
			{pid: 1, comm: "systemd", exe: "/usr/lib/systemd/systemd", master: -1},
			{pid: 40, ppid: 1, comm: "sshd", exe: "/usr/bin/python3.11", cmdline: []string{"sshd"}, master: 4},
			{pid: 41, ppid: 1, comm: "bash", tty: pts(4), master: -1},
			{pid: self, ppid: 41, comm: "hermes-exec", tty: pts(4), master: -1},
		}, pts(4), false, false, "not a terminal program and can type"},
		{"a copy of script(1) named sshd", []fakeProcess{
			{pid: 1, comm: "systemd", exe: "/usr/lib/systemd/systemd", master: -1},
			{pid: 40, ppid: 1, comm: "sshd", exe: "/tmp/x/sshd", foreign: true, master: 4},
			{pid: self, ppid: 40, comm: "hermes-exec", tty: pts(4), master: -1},
		}, pts(4), false, false, "not a terminal program installed on the system"},
		{"tmux server started by an agent (send-keys)", []fakeProcess{
			{pid: 1, comm: "systemd", exe: "/usr/lib/systemd/systemd", master: -1},
			{pid: 50, ppid: 1, comm: "tmux: server", exe: "/usr/bin/tmux", environ: []string{"CLAUDECODE=1"}, master: 5},
			{pid: 60, ppid: 50, comm: "bash", tty: pts(5), master: -1},
			{pid: self, ppid: 60, comm: "hermes-exec", tty: pts(5), master: -1},
		}, pts(5), true, false, "driven by tmux: server"},
		{"script(1) run by an agent on a new terminal", []fakeProcess{
			{pid: 1, comm: "systemd", exe: "/usr/lib/systemd/systemd", master: -1},
			{pid: 30, ppid: 1, comm: "gemini", tty: 0, cmdline: []string{"node", "/usr/lib/node_modules/@google/gemini-cli/dist/index.js"}, master: -1},
			{pid: 35, ppid: 30, comm: "script", exe: "/usr/bin/script", tty: 0, master: 6},
			{pid: self, ppid: 35, comm: "hermes-exec", tty: pts(6), master: -1},
		}, pts(6), false, false, "fed by script (pid 35)"},
		{"script(1) fed by a pipe, no agent marks left", []fakeProcess{
			{pid: 1, comm: "systemd", exe: "/usr/lib/systemd/systemd", master: -1},
			{pid: 35, ppid: 1, comm: "script", exe: "/usr/bin/script", tty: 0, master: 6}, // its fd 0 is not a terminal
			{pid: self, ppid: 35, comm: "hermes-exec", tty: pts(6), master: -1},
		}, pts(6), false, false, "fed by script (pid 35)"},
		{"agent environment, no agent on this terminal", []fakeProcess{
			{pid: 1, comm: "systemd", exe: "/usr/lib/systemd/systemd", master: -1},
			{pid: 10, ppid: 1, comm: "sshd", exe: "/usr/sbin/sshd", master: 0},
			{pid: self, ppid: 10, comm: "hermes-exec", tty: human, master: -1},
		}, human, true, false, "agent's environment"},
		// As an ordinary user, sshd's processes cannot be inspected: the
		// session's leader was started by sshd's unprivileged child, whose
		// parent, running as root, names sshd.
		{"ordinary user over ssh", []fakeProcess{
			{pid: 1, comm: "systemd", uid: 0, master: -1},
			{pid: 9, ppid: 1, comm: "sshd", uid: 0, cmdline: []string{"sshd: alice [priv]"}, master: -1},
			{pid: 10, ppid: 9, comm: "sshd", uid: 1000, cmdline: []string{"sshd: alice@pts/0"}, master: -1},
			{pid: 20, ppid: 10, comm: "bash", exe: "/usr/bin/bash", uid: 1000, tty: human, master: -1},
			{pid: self, ppid: 20, comm: "hermes-exec", exe: "/usr/bin/hermes-exec", uid: 1000, tty: human, master: -1},
		}, human, false, false, ""},
		{"a program that hides itself (undumpable), started by the user", []fakeProcess{
			{pid: 1, comm: "systemd", uid: 0, master: -1},
			{pid: 9, ppid: 1, comm: "bash", exe: "/usr/bin/bash", uid: 1000, master: -1},
			{pid: 10, ppid: 9, comm: "sshd", uid: 1000, cmdline: []string{"sshd: alice@pts/0"}, master: -1},
			{pid: 20, ppid: 10, comm: "bash", exe: "/usr/bin/bash", uid: 1000, tty: pts(4), master: -1},
			{pid: self, ppid: 20, comm: "hermes-exec", exe: "/usr/bin/hermes-exec", uid: 1000, tty: pts(4), master: -1},
		}, pts(4), false, false, "made for this command by bash"},
		{"a hidden program whose session leader went to init", []fakeProcess{
			{pid: 1, comm: "systemd", uid: 0, cmdline: []string{"/sbin/init"}, master: -1},
			{pid: 20, ppid: 1, comm: "bash", exe: "/usr/bin/bash", uid: 1000, tty: pts(4), master: -1},
			{pid: self, ppid: 20, comm: "hermes-exec", exe: "/usr/bin/hermes-exec", uid: 1000, tty: pts(4), master: -1},
		}, pts(4), false, false, "under systemd (pid 1), which is not a terminal program"},
		{"a container's terminal (docker run -it)", []fakeProcess{
			{pid: 1, comm: "bash", exe: "/usr/bin/bash", tty: pts(0), sid: -1, master: -1},
			{pid: self, ppid: 1, comm: "hermes-exec", tty: pts(0), sid: -1, master: -1},
		}, pts(0), false, false, ""},
		{"hidden holder in a user namespace", []fakeProcess{
			{pid: 1, comm: "bash", exe: "/usr/bin/bash", tty: pts(0), sid: -1, master: -1},
			{pid: self, ppid: 1, comm: "hermes-exec", tty: pts(0), sid: -1, master: -1},
		}, pts(0), false, true, "user namespace"},
	}
	for _, tc := range cases {
		p := fakeProc(t, tc.procs...)
		p.userNS = tc.userNS
		got := p.agentTerminal(tc.tty, self, tc.env)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestHostKindIsByExecutable(t *testing.T) {
	for exe, want := range map[string]hostKind{"/usr/sbin/sshd": hostDevice, "/usr/bin/script": hostRelay,
		"/usr/bin/tmux": hostTmux, "/usr/bin/screen-4.9.0": hostScreen, "/usr/bin/python3": notHost, "/tmp/sshd-x": notHost} {
		if got := hostKindOf(exe); got != want {
			t.Errorf("%s: %v, want %v", exe, got, want)
		}
	}
}

// The system's own programs are system programs; a copy of one in a
// temporary directory is not, whatever its name.
func TestSystemExe(t *testing.T) {
	p := realProc()
	if exe, ok, err := p.systemExe(1); err == nil && strings.HasPrefix(exe, "/usr/") && !ok {
		t.Errorf("pid 1 runs %s, not counted as a system program", exe)
	}
	script, err := os.ReadFile("/usr/bin/script")
	if err != nil {
		t.Skipf("no script(1): %v", err)
	}
	dir := t.TempDir()
	copyPath := filepath.Join(dir, "sshd")
	if err := os.WriteFile(copyPath, script, 0o755); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(copyPath, "-qc", "sleep 5", "/dev/null")
	c.Stdin = nil
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Kill(); c.Wait() }()
	exe, ok, err := p.systemExe(c.Process.Pid)
	if err != nil || ok || exe != copyPath {
		t.Fatalf("copy of script at %s: exe %q system %v err %v", copyPath, exe, ok, err)
	}
}

func TestPtsIndex(t *testing.T) {
	if ptsIndex(unix.Mkdev(136, 5)) != 5 || ptsIndex(unix.Mkdev(137, 2)) != 258 || ptsIndex(unix.Mkdev(4, 1)) != -1 {
		t.Fatal("wrong pts numbers")
	}
}

// BenchmarkAgentTerminal is the check made before each prompt, on the
// real /proc, for a PTY this process holds (so the holder is judged).
func BenchmarkAgentTerminal(b *testing.B) {
	m, s, err := pty.Open()
	if err != nil {
		b.Skipf("no pseudo-terminals: %v", err)
	}
	defer m.Close()
	defer s.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(s.Fd()), &st); err != nil {
		b.Fatal(err)
	}
	p := realProc()
	for i := 0; i < b.N; i++ {
		if p.agentTerminal(uint64(st.Rdev), os.Getpid(), false) == "" {
			b.Fatal("a PTY this benchmark holds passed as a human's")
		}
	}
}
