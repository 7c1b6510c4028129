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
// prompt is refused (the caller denies, saying why) unless the keys can
// only come from a human's device.
//
// The rule is about who holds the terminal's master side, the end keys are
// written into. Every holder hermes-exec can see must be a terminal program
// installed on the system, judged by the executable it runs
// (/proc/PID/exe: a name in comm or argv is the program's own to choose),
// which must be a root-owned file not writable by others in a system
// directory, and that program's own input must be a human's:
//
//   - an SSH server, a terminal emulator, a container runtime: input from
//     the network or the display, taken as a human's;
//   - script(1), su, sudo, login: they copy their own standard input to the
//     terminal, so that input must be a terminal that passes the same test
//     (a pipe, or a PTY a helper holds, is a program typing);
//   - a tmux server: any program of the user can send-keys into any pane,
//     so a pane is asked on only while a client on a human terminal is
//     attached to the pane's session (a server an agent started with
//     `new-session -d` has none);
//   - screen: its windows take `screen -X stuff` from any program and the
//     attached terminal cannot be read from outside: never asked on.
//
// When no holder can be seen (another user's process, such as the sshd
// that holds an ordinary user's terminal, or a process outside this PID
// namespace, as for `docker run -it`), the program that started the
// terminal's session must be one of those, or live outside this PID
// namespace, and hermes-exec must not run in a user namespace (where an
// unprivileged program can hide itself the same way).
//
// On top of that, agent marks deny: a holder that is an agent or carries
// an agent's environment; an agent among hermes-exec's ancestors that was
// started on another terminal; hermes-exec's own environment an agent's
// while no agent of its ancestors shares this terminal.
//
// What it cannot see: an agent typing into a terminal a human opened for it
// (tmux send-keys into the human's own attached session), SSH to this
// machine with the user's own keys, and a program running as root.
// Those cases are the reason the hook and the gateway channels exist.

// hostKind is how a terminal program gets the keys it writes.
type hostKind int

const (
	notHost    hostKind = iota
	hostDevice          // network, display or container runtime
	hostRelay           // its own standard input
	hostTmux            // its clients, and send-keys from any program
	hostScreen          // its clients, and `screen -X stuff` from any program
)

// terminalHosts are the programs, by executable name, whose job is to hold
// the master side of a terminal for a human. Not here: editors whose
// terminals their extensions can type into (VS Code's terminal.sendText,
// which AI extensions use), and emulators written in Python (Terminator,
// Guake), whose executable is python3, as any helper's is.
var terminalHosts = map[string]hostKind{
	"sshd": hostDevice, "sshd-session": hostDevice, "dropbear": hostDevice, "mosh-server": hostDevice,
	"xterm": hostDevice, "uxterm": hostDevice, "gnome-terminal-server": hostDevice,
	"konsole": hostDevice, "kitty": hostDevice, "alacritty": hostDevice, "wezterm-gui": hostDevice,
	"wezterm-mux-server": hostDevice, "foot": hostDevice, "urxvt": hostDevice, "rxvt": hostDevice,
	"st": hostDevice, "tilix": hostDevice, "xfce4-terminal": hostDevice,
	"lxterminal": hostDevice, "mate-terminal": hostDevice, "qterminal": hostDevice,
	"terminology": hostDevice, "ghostty": hostDevice, "ptyxis-agent": hostDevice,
	"ttyd": hostDevice, "conmon": hostDevice, "containerd-shim": hostDevice,
	"containerd-shim-runc-v2": hostDevice, "runc": hostDevice, "crun": hostDevice,
	"script": hostRelay, "su": hostRelay, "sudo": hostRelay, "runuser": hostRelay, "login": hostRelay,
	"tmux": hostTmux, "screen": hostScreen,
}

// hostKindOf names the kind of terminal program an executable is
// ("screen-4.9.0" is screen).
func hostKindOf(exe string) hostKind {
	base := filepath.Base(exe)
	if k, ok := terminalHosts[base]; ok {
		return k
	}
	if i := strings.IndexByte(base, '-'); i > 0 && terminalHosts[base[:i]] == hostScreen {
		return hostScreen
	}
	return notHost
}

// agentEnvMarks are variables agents set for the commands they run.
var agentEnvMarks = []string{"CLAUDECODE=", "CLAUDE_CODE_ENTRYPOINT=", "GEMINI_CLI=", "CODEX_SANDBOX", "CODEX_THREAD_ID=", "CODEX_CI=", "CODEX_MANAGED_BY_NPM="}

// agentNames are words in an agent's command line.
var agentNames = []string{"claude", "codex", "gemini", "hermes-agent", "@anthropic-ai/claude-code", "@openai/codex", "@google/gemini-cli"}

// proc is what is known of one process.
type proc struct {
	pid   int
	ppid  int
	sid   int // 0 when the session leader is outside this PID namespace
	comm  string
	ttyNr uint64 // controlling terminal (st_rdev), 0 for none
}

// procFS reads /proc; tests point it elsewhere and replace exe and tmux.
type procFS struct {
	root string
	// exe is the executable pid runs and whether it is a system program
	// (see systemExe); err when it cannot be read (another user's
	// process, or one that made itself undumpable).
	exe func(pid int) (path string, system bool, err error)
	// tmux lists, for the tmux server pid running exe, the session of the
	// pane on pseudo-terminal index pane and the terminals of the clients
	// attached to that session.
	tmux func(pid int, exe string, pane int) (clients []uint64, err error)
	// userNS is whether hermes-exec runs in a user namespace other than
	// the initial one.
	userNS bool
}

// realProc is the system's /proc.
func realProc() procFS {
	p := procFS{root: "/proc", userNS: inUserNamespace()}
	p.exe = p.systemExe
	p.tmux = p.tmuxClients
	return p
}

// inUserNamespace reports whether this process's user namespace is not the
// initial one: only there is every user id mapped to itself.
func inUserNamespace() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return true
	}
	f := strings.Fields(string(b))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
}

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
	sid, _ := strconv.Atoi(f[3])
	tty, _ := strconv.ParseUint(f[4], 10, 64)
	return proc{pid: pid, ppid: ppid, sid: sid, comm: string(b[open+1 : close]), ttyNr: tty}, true
}

// uid is pid's real user id, -1 when unknown.
func (p procFS) uid(pid int) int {
	b, err := p.read(pid, "status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" {
			if u, err := strconv.Atoi(f[1]); err == nil {
				return u
			}
		}
	}
	return -1
}

// pids lists the processes in /proc.
func (p procFS) pids() []int {
	ents, err := os.ReadDir(p.root)
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
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
	want := "tty-index:\t" + strconv.Itoa(index) + "\n"
	var out []int
	for _, pid := range p.pids() {
		fdDir := filepath.Join(p.root, strconv.Itoa(pid), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			l, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil || (l != "/dev/ptmx" && l != "/dev/pts/ptmx") {
				continue
			}
			info, err := p.read(pid, filepath.Join("fdinfo", fd.Name()))
			if err == nil && bytes.Contains(info, []byte(want)) {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// systemExe is the executable pid runs, and whether it is a program
// installed on the system: the file the process runs (not a name: comm and
// argv are the program's own to set) is still the file its path names,
// owned by root, writable by nobody else, in a system directory. A copy of
// script(1) renamed to sshd in a temporary directory is none of that.
func (p procFS) systemExe(pid int) (string, bool, error) {
	link := filepath.Join(p.root, strconv.Itoa(pid), "exe")
	path, err := os.Readlink(link)
	if err != nil {
		return "", false, err
	}
	var running, named unix.Stat_t
	if strings.HasSuffix(path, " (deleted)") || unix.Stat(link, &running) != nil || unix.Stat(path, &named) != nil {
		return path, false, nil
	}
	system := false
	for _, dir := range []string{"/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/nix/store/"} {
		system = system || strings.HasPrefix(path, dir)
	}
	ok := system && running.Dev == named.Dev && running.Ino == named.Ino &&
		running.Mode&unix.S_IFMT == unix.S_IFREG && running.Uid == 0 && running.Mode&0o022 == 0
	return path, ok, nil
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

func ptsName(rdev uint64) string {
	if idx := ptsIndex(rdev); idx >= 0 {
		return "/dev/pts/" + strconv.Itoa(idx)
	}
	return "this terminal"
}

// agentTerminal returns why the terminal (whose device number is rdev)
// could be answered by an agent, or "" when nothing says so. self is
// hermes-exec's pid and ownAgentEnv whether its environment is an agent's.
func (p procFS) agentTerminal(rdev uint64, self int, ownAgentEnv bool) string {
	anc := p.ancestors(self)
	if len(anc) > 0 {
		anc = anc[1:] // not hermes-exec itself
	}
	isAncestor := map[int]bool{}
	for _, a := range anc {
		isAncestor[a.pid] = true
	}
	if why := p.humanInput(rdev, isAncestor, 0); why != "" {
		return why
	}
	name := ptsName(rdev)
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

// maxTerminalChain bounds how many terminals deep input is followed
// (script in tmux in ssh is three).
const maxTerminalChain = 6

// humanInput returns why the keys on the terminal rdev may come from a
// program rather than a human, or "" when only a human's device can be
// their source.
func (p procFS) humanInput(rdev uint64, isAncestor map[int]bool, depth int) string {
	idx := ptsIndex(rdev)
	if idx < 0 {
		return "" // a virtual console or a serial line
	}
	name := ptsName(rdev)
	if depth >= maxTerminalChain {
		return fmt.Sprintf("%s is fed through more than %d terminals", name, maxTerminalChain)
	}
	holders := p.masterHolders(idx)
	if len(holders) == 0 {
		return p.unseenHolder(rdev, isAncestor, depth)
	}
	for _, h := range holders {
		if why := p.judgeHolder(h, rdev, isAncestor, depth); why != "" {
			return why
		}
	}
	return ""
}

// judgeHolder returns why process h, which holds the master of terminal
// rdev, may type into it, or "".
func (p procFS) judgeHolder(h int, rdev uint64, isAncestor map[int]bool, depth int) string {
	name := ptsName(rdev)
	st, _ := p.stat(h)
	if p.isAgent(h) || p.hasAgentEnv(h) {
		return fmt.Sprintf("%s is driven by %s (pid %d), an agent or a program an agent started", name, st.comm, h)
	}
	exe, system, err := p.exe(h)
	if err != nil {
		return fmt.Sprintf("%s is held by %s (pid %d), whose program cannot be checked: %v", name, st.comm, h, err)
	}
	kind := hostKindOf(exe)
	if kind == notHost {
		if isAncestor[h] {
			return fmt.Sprintf("%s was made for this command by %s (pid %d, %s), which started it and reads and writes the terminal", name, st.comm, h, exe)
		}
		return fmt.Sprintf("%s is held by %s (pid %d, %s), which is not a terminal program and can type into it", name, st.comm, h, exe)
	}
	if !system {
		return fmt.Sprintf("%s is held by %s (pid %d), which runs %s: not a terminal program installed on the system (root-owned, in a system directory)", name, st.comm, h, exe)
	}
	switch kind {
	case hostRelay:
		in, ok := p.stdinTerminal(h)
		if !ok {
			return fmt.Sprintf("%s is fed by %s (pid %d), whose own input is not a terminal but a pipe or file that a program writes", name, filepath.Base(exe), h)
		}
		if why := p.humanInput(in, isAncestor, depth+1); why != "" {
			return fmt.Sprintf("%s is fed by %s (pid %d) from %s: %s", name, filepath.Base(exe), h, ptsName(in), why)
		}
	case hostTmux:
		clients, err := p.tmux(h, exe, ptsIndex(rdev))
		if err != nil {
			return fmt.Sprintf("%s is a pane of the tmux server pid %d, which cannot be asked who is attached: %v", name, h, err)
		}
		var last string
		for _, c := range clients {
			if last = p.humanInput(c, isAncestor, depth+1); last == "" {
				return ""
			}
		}
		if last != "" {
			return fmt.Sprintf("%s is a pane of the tmux server pid %d whose attached clients are not a human's (%s)", name, h, last)
		}
		return fmt.Sprintf("%s is a pane of the tmux server pid %d with no client attached to its session: keys can only come from send-keys, that is, from a program", name, h)
	case hostScreen:
		return fmt.Sprintf("%s is a window of screen (pid %d): any program can type into it (screen -X stuff) and who is attached cannot be checked", name, h)
	}
	return ""
}

// unseenHolder judges a terminal whose master no visible process holds:
// then the program that started the terminal's session must be a
// terminal program (or another user's, walking up to the first root
// process, which must name one: sshd's privilege-separated child is the
// user's own but cannot be inspected), or live outside this PID
// namespace.
func (p procFS) unseenHolder(rdev uint64, isAncestor map[int]bool, depth int) string {
	name := ptsName(rdev)
	if p.userNS {
		return fmt.Sprintf("no process holding %s can be seen, and hermes-exec runs in a user namespace, where any program can hide itself that way", name)
	}
	leader := -1
	for _, pid := range p.pids() {
		st, ok := p.stat(pid)
		if !ok || st.ttyNr != rdev {
			continue
		}
		if st.sid == 0 {
			return "" // the session was started outside this PID namespace
		}
		if st.pid == st.sid {
			leader = st.pid
		}
	}
	if leader < 0 {
		return fmt.Sprintf("no process holding %s can be seen, nor the session on it", name)
	}
	st, _ := p.stat(leader)
	for pid, hops := st.ppid, 0; hops < 64; hops++ {
		if pid == 0 {
			return "" // the session's leader was started from outside this PID namespace
		}
		if _, _, err := p.exe(pid); err == nil {
			// A program that can be inspected started the session and
			// does not hold the terminal (it was passed on, or it is in
			// flight in a socket): it must be a terminal program all the
			// same.
			return p.judgeHolder(pid, rdev, isAncestor, depth)
		}
		if p.uid(pid) == 0 {
			b, _ := p.read(pid, "cmdline")
			arg0, _, _ := strings.Cut(string(b), "\x00")
			arg0, _, _ = strings.Cut(arg0, ":") // "sshd: alice [priv]"
			arg0, _, _ = strings.Cut(arg0, " ")
			if k := hostKindOf(arg0); k == hostDevice || k == hostRelay {
				return ""
			}
			pst, _ := p.stat(pid)
			return fmt.Sprintf("no process holding %s can be seen, and the session on it was started under %s (pid %d), which is not a terminal program", name, pst.comm, pid)
		}
		pst, ok := p.stat(pid)
		if !ok {
			break
		}
		pid = pst.ppid
	}
	return fmt.Sprintf("no process holding %s can be seen, and the program that started the session on it cannot be checked", name)
}

// stdinTerminal is the terminal device pid's standard input is, if it is
// one (a pseudo-terminal, a virtual console or a serial line).
func (p procFS) stdinTerminal(pid int) (uint64, bool) {
	var st unix.Stat_t
	if unix.Stat(filepath.Join(p.root, strconv.Itoa(pid), "fd", "0"), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return 0, false
	}
	maj := unix.Major(uint64(st.Rdev))
	if ptsIndex(uint64(st.Rdev)) >= 0 || maj == 4 || maj == 5 && unix.Minor(uint64(st.Rdev)) == 1 {
		return uint64(st.Rdev), true
	}
	return 0, false
}
