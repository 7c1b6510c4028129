package tty

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// A prompt on a terminal that an agent can type into is no approval: the
// model reads the question and answers it. Codex runs a command with
// `tty: true` on a pseudo-terminal it made and whose master it reads and
// writes for the model; an agent driving tmux with send-keys does the same
// through the tmux server; any program can open a PTY, start hermes-exec on
// it and write "y". So before asking, the terminal is examined, and the
// prompt is refused (the caller denies, saying why) when any of these
// holds:
//
//  1. the master side of the terminal is held by one of hermes-exec's own
//     ancestors that is not a terminal program (sshd, tmux, screen, a
//     terminal emulator, script, login...): the terminal was made for the
//     command by the program that started it, and that program reads and
//     writes it. This is Codex's tty: true and the generic "program on a
//     PTY it owns";
//  2. a process holding the master side is an agent (its command line
//     names Claude Code, Codex, Gemini CLI or Hermes Agent) or carries an
//     agent's environment (CLAUDECODE, GEMINI_CLI, CODEX_*): a tmux server
//     started by an agent, for one;
//  3. hermes-exec runs under an agent whose own controlling terminal is
//     another one: the agent was started on the human's terminal, and this
//     one is not it;
//  4. hermes-exec's own environment is an agent's, and no agent among its
//     ancestors shares this terminal (send-keys into a tmux pane that an
//     agent set up).
//
// What it cannot see: a process of another user holding the master (it
// cannot be inspected, so it is not counted against the terminal), and an
// agent without any of these marks that types into a terminal a human
// opened for it (tmux send-keys into the human's own attached session).
// Those cases are the reason the gateway channel exists.

// terminalHosts are the programs whose job is to hold the master side of
// a terminal for a human: SSH servers, multiplexers, emulators, login.
var terminalHosts = map[string]bool{
	"sshd": true, "sshd-session": true, "dropbear": true, "mosh-server": true,
	"tmux": true, "tmux: server": true, "screen": true, "SCREEN": true,
	"script": true, "login": true, "agetty": true, "getty": true, "su": true, "sudo": true,
	"xterm": true, "uxterm": true, "gnome-terminal-": true, "gnome-terminal-server": true,
	"konsole": true, "kitty": true, "alacritty": true, "wezterm-gui": true, "wezterm-mux-ser": true,
	"foot": true, "urxvt": true, "rxvt": true, "st": true, "terminator": true, "tilix": true,
	"xfce4-terminal": true, "lxterminal": true, "mate-terminal": true, "qterminal": true,
	"terminology": true, "ghostty": true, "ttyd": true, "conmon": true, "containerd-shim": true,
	"docker": true, "kubectl": true,
}

// agentEnvMarks are variables agents set for the commands they run.
var agentEnvMarks = []string{"CLAUDECODE=", "CLAUDE_CODE_ENTRYPOINT=", "GEMINI_CLI=", "CODEX_SANDBOX", "CODEX_THREAD_ID=", "CODEX_CI=", "CODEX_MANAGED_BY_NPM="}

// agentNames are words in an agent's command line.
var agentNames = []string{"claude", "codex", "gemini", "hermes-agent", "@anthropic-ai/claude-code", "@openai/codex", "@google/gemini-cli"}

// proc is what is known of one process.
type proc struct {
	pid   int
	ppid  int
	comm  string
	ttyNr uint64 // controlling terminal (st_rdev), 0 for none
}

// procFS reads /proc; tests point it elsewhere.
type procFS struct{ root string }

func (p procFS) read(pid int, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(p.root, strconv.Itoa(pid), name))
}

func (p procFS) stat(pid int) (proc, bool) {
	b, err := p.read(pid, "stat")
	if err != nil {
		return proc{}, false
	}
	open, close := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || close < open {
		return proc{}, false
	}
	f := strings.Fields(string(b[close+1:]))
	if len(f) < 5 {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	tty, _ := strconv.ParseUint(f[4], 10, 64)
	return proc{pid: pid, ppid: ppid, comm: string(b[open+1 : close]), ttyNr: tty}, true
}

// ancestors of pid, nearest first, up to (not including) pid 0.
func (p procFS) ancestors(pid int) []proc {
	var out []proc
	seen := map[int]bool{}
	for pid > 0 && !seen[pid] && len(out) < 256 {
		seen[pid] = true
		st, ok := p.stat(pid)
		if !ok {
			break
		}
		out = append(out, st)
		pid = st.ppid
	}
	return out
}

// masterHolders are the processes (of those this user can inspect) that
// hold the master side of pseudo-terminal number index open.
func (p procFS) masterHolders(index int) []int {
	ents, err := os.ReadDir(p.root)
	if err != nil {
		return nil
	}
	want := "tty-index:\t" + strconv.Itoa(index) + "\n"
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fdDir := filepath.Join(p.root, e.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			l, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil || (l != "/dev/ptmx" && l != "/dev/pts/ptmx") {
				continue
			}
			info, err := os.ReadFile(filepath.Join(p.root, e.Name(), "fdinfo", fd.Name()))
			if err == nil && bytes.Contains(info, []byte(want)) {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

func (p procFS) isAgent(pid int) bool {
	b, err := p.read(pid, "cmdline")
	if err != nil {
		return false
	}
	for _, arg := range bytes.Split(b, []byte{0}) {
		base := filepath.Base(string(arg))
		for _, n := range agentNames {
			if base == n || strings.Contains(string(arg), "/"+n+"/") || strings.HasPrefix(base, n+"-") && n != "hermes-agent" {
				return true
			}
		}
	}
	return false
}

func (p procFS) hasAgentEnv(pid int) bool {
	b, err := p.read(pid, "environ")
	if err != nil {
		return false
	}
	return environHasAgent(bytes.Split(b, []byte{0}))
}

func environHasAgent(env [][]byte) bool {
	for _, kv := range env {
		for _, m := range agentEnvMarks {
			if bytes.HasPrefix(kv, []byte(m)) {
				return true
			}
		}
	}
	return false
}

func ownEnvHasAgent() bool {
	var env [][]byte
	for _, kv := range os.Environ() {
		env = append(env, []byte(kv))
	}
	return environHasAgent(env)
}

// ptsIndex is the pseudo-terminal number of a terminal device, or -1 when
// it is not a pseudo-terminal slave (a virtual console or a serial line:
// those are a human's).
func ptsIndex(rdev uint64) int {
	maj, min := unix.Major(rdev), unix.Minor(rdev)
	if maj < 136 || maj > 143 {
		return -1
	}
	return int((maj-136)<<8 | min)
}

// agentTerminal returns why the terminal (whose device number is rdev)
// could be answered by an agent, or "" when nothing says so. self is
// hermes-exec's pid and ownAgentEnv whether its environment is an agent's.
func (p procFS) agentTerminal(rdev uint64, self int, ownAgentEnv bool) string {
	anc := p.ancestors(self)
	if len(anc) > 0 {
		anc = anc[1:] // not hermes-exec itself
	}
	isAncestor := map[int]proc{}
	for _, a := range anc {
		isAncestor[a.pid] = a
	}
	name := "this terminal"
	if idx := ptsIndex(rdev); idx >= 0 {
		name = "/dev/pts/" + strconv.Itoa(idx)
		for _, h := range p.masterHolders(idx) {
			st, _ := p.stat(h)
			if a, ok := isAncestor[h]; ok && !terminalHosts[a.comm] {
				return fmt.Sprintf("%s was made for this command by %s (pid %d), which started it and reads and writes the terminal", name, a.comm, h)
			}
			if p.isAgent(h) || p.hasAgentEnv(h) {
				return fmt.Sprintf("%s is driven by %s (pid %d), an agent or a program an agent started", name, st.comm, h)
			}
		}
	}
	sharedWithAgent := false
	for _, a := range anc {
		if !p.isAgent(a.pid) {
			continue
		}
		if a.ttyNr != rdev {
			return fmt.Sprintf("%s is not the terminal the agent %s (pid %d) was started on", name, a.comm, a.pid)
		}
		sharedWithAgent = true
		break
	}
	if ownAgentEnv && !sharedWithAgent {
		return fmt.Sprintf("the command carries an agent's environment but %s is not the terminal that agent was started on", name)
	}
	return ""
}
