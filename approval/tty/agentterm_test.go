package tty

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeProc builds a /proc with the given processes.
type fakeProcess struct {
	pid, ppid int
	comm      string
	tty       uint64
	cmdline   []string
	environ   []string
	master    int // pts index whose master it holds, -1 for none
}

func fakeProc(t *testing.T, ps ...fakeProcess) procFS {
	root := t.TempDir()
	for _, p := range ps {
		d := filepath.Join(root, fmt.Sprint(p.pid))
		os.MkdirAll(filepath.Join(d, "fd"), 0o755)
		os.MkdirAll(filepath.Join(d, "fdinfo"), 0o755)
		stat := fmt.Sprintf("%d (%s) S %d %d %d %d -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n", p.pid, p.comm, p.ppid, p.pid, p.pid, p.tty)
		os.WriteFile(filepath.Join(d, "stat"), []byte(stat), 0o644)
		os.WriteFile(filepath.Join(d, "cmdline"), []byte(strings.Join(p.cmdline, "\x00")+"\x00"), 0o644)
		os.WriteFile(filepath.Join(d, "environ"), []byte(strings.Join(p.environ, "\x00")+"\x00"), 0o644)
		if p.master >= 0 {
			os.Symlink("/dev/ptmx", filepath.Join(d, "fd", "5"))
			os.WriteFile(filepath.Join(d, "fdinfo", "5"), []byte(fmt.Sprintf("pos:\t0\nflags:\t02\nmnt_id:\t1\nino:\t1\ntty-index:\t%d\n", p.master)), 0o644)
		}
	}
	return procFS{root: root}
}

func pts(n int) uint64 { return unix.Mkdev(136, uint32(n)) }

func TestAgentTerminalHeuristics(t *testing.T) {
	human := pts(0) // the terminal sshd made for the human
	const self = 100
	cases := []struct {
		name  string
		procs []fakeProcess
		tty   uint64
		env   bool
		want  string // a substring of the reason; "" for a human terminal
	}{
		{"human over ssh, agent on the same terminal", []fakeProcess{
			{pid: 1, comm: "systemd", master: -1},
			{pid: 10, ppid: 1, comm: "sshd", master: 0},
			{pid: 20, ppid: 10, comm: "bash", tty: human, master: -1},
			{pid: 30, ppid: 20, comm: "claude", tty: human, cmdline: []string{"claude"}, master: -1},
			{pid: self, ppid: 30, comm: "hermes-exec", tty: human, master: -1},
		}, human, true, ""},
		{"a human in tmux", []fakeProcess{
			{pid: 1, comm: "systemd", master: -1},
			{pid: 10, ppid: 1, comm: "tmux: server", master: 3},
			{pid: 20, ppid: 10, comm: "bash", tty: pts(3), master: -1},
			{pid: self, ppid: 20, comm: "hermes-exec", tty: pts(3), master: -1},
		}, pts(3), false, ""},
		{"Codex tty: true", []fakeProcess{
			{pid: 1, comm: "systemd", master: -1},
			{pid: 30, ppid: 1, comm: "codex", tty: human, cmdline: []string{"/usr/lib/node_modules/@openai/codex/bin/codex"}, master: 7},
			{pid: self, ppid: 30, comm: "hermes-exec", tty: pts(7), master: -1},
		}, pts(7), false, "made for this command by codex"},
		{"any program on a PTY it owns", []fakeProcess{
			{pid: 1, comm: "systemd", master: -1},
			{pid: 40, ppid: 1, comm: "python3", cmdline: []string{"python3", "answer.py"}, master: 4},
			{pid: self, ppid: 40, comm: "hermes-exec", tty: pts(4), master: -1},
		}, pts(4), false, "made for this command by python3"},
		{"tmux server started by an agent (send-keys)", []fakeProcess{
			{pid: 1, comm: "systemd", master: -1},
			{pid: 50, ppid: 1, comm: "tmux: server", environ: []string{"CLAUDECODE=1"}, master: 5},
			{pid: 60, ppid: 50, comm: "bash", tty: pts(5), master: -1},
			{pid: self, ppid: 60, comm: "hermes-exec", tty: pts(5), master: -1},
		}, pts(5), true, "driven by tmux: server"},
		{"script(1) run by an agent on a new terminal", []fakeProcess{
			{pid: 1, comm: "systemd", master: -1},
			{pid: 30, ppid: 1, comm: "gemini", tty: 0, cmdline: []string{"node", "/usr/lib/node_modules/@google/gemini-cli/dist/index.js"}, master: -1},
			{pid: 35, ppid: 30, comm: "script", tty: 0, master: 6},
			{pid: self, ppid: 35, comm: "hermes-exec", tty: pts(6), master: -1},
		}, pts(6), false, "not the terminal the agent gemini"},
		{"agent environment, no agent on this terminal", []fakeProcess{
			{pid: 1, comm: "systemd", master: -1},
			{pid: 10, ppid: 1, comm: "sshd", master: 0},
			{pid: self, ppid: 10, comm: "hermes-exec", tty: human, master: -1},
		}, human, true, "agent's environment"},
	}
	for _, tc := range cases {
		p := fakeProc(t, tc.procs...)
		got := p.agentTerminal(tc.tty, self, tc.env)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestPtsIndex(t *testing.T) {
	if ptsIndex(unix.Mkdev(136, 5)) != 5 || ptsIndex(unix.Mkdev(137, 2)) != 258 || ptsIndex(unix.Mkdev(4, 1)) != -1 {
		t.Fatal("wrong pts numbers")
	}
}
