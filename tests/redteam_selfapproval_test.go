package tests

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"hermes-exec/internal/testutil"
)

// Red-team: a command (or a script it wrote) starts a nested hermes-exec
// under script(1), sheds every agent mark (env -i, its own session) and
// feeds script's stdin from a pipe: the prompt appears on script's
// terminal and the pipe answers it. That is the agent approving its own
// command; the prompt must be refused, and the command denied.
func TestRedteamPipeDrivenScriptCannotApprove(t *testing.T) {
	e := newEnv(t)
	if _, err := exec.LookPath("script"); err != nil {
		t.Fatalf("script(1) (util-linux) is missing: %v", err)
	}
	marker := filepath.Join(e.dir, "approved-by-a-pipe")
	inner := e.bin + " -c " + shQuote("touch "+marker+"; history -c")
	c := exec.Command("env", "-i", "PATH="+os.Getenv("PATH"), "HERMES_HOME="+e.home, "TERM=xterm",
		"script", "-qfec", inner, "/dev/null")
	c.Dir = e.dir
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	in, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &testutil.Buffer{}
	c.Stdout, c.Stderr = out, out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	// Answer as soon as the prompt shows, as an agent reading it would.
	deadline := time.After(60 * time.Second)
	answered := false
wait:
	for {
		select {
		case <-done:
			break wait
		case <-deadline:
			c.Process.Kill()
			<-done
			t.Fatalf("no outcome within 60 s; output:\n%s", out.String())
		case <-time.After(50 * time.Millisecond):
			prompted := strings.Contains(out.String(), "[y]es once")
			if prompted && !answered {
				io.WriteString(in, "y")
				answered = true
				time.AfterFunc(2*time.Second, func() { in.Close() })
			}
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("a pipe answered the prompt: the command ran\n%s", out.String())
	}
	if !strings.Contains(out.String(), "hermes-exec: denied") {
		t.Fatalf("want a denial, got:\n%s", out.String())
	}
}

// selfApprover is a program an agent could write: it detaches from the
// agent (two forks, a session of its own, an empty environment), then
// starts hermes-exec on a pseudo-terminal it holds, either directly
// (pty.fork) or through script(1), and answers the prompt with "y" and
// "a" until the command ends. rename makes it call itself sshd
// (prctl(PR_SET_NAME), which is what comm shows); hide makes it
// undumpable, so that its own user cannot see what it holds. It writes what the
// terminal showed and the exit status to out.
const selfApprover = `
import ctypes, os, pty, select, sys, time
hermes, home, cmd, out, mode = sys.argv[1:6]
if os.fork():
    os._exit(0)
os.setsid()
if os.fork():
    os._exit(0)
if mode == "rename":
    ctypes.CDLL(None).prctl(15, b"sshd", 0, 0, 0)
if mode == "hide":
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE: /proc/PID/fd unreadable to its own user
env = {"PATH": "/usr/bin:/bin", "HERMES_HOME": home, "TERM": "xterm"}
pid, fd = pty.fork()
if pid == 0:
    if mode == "script":
        os.execve("/usr/bin/script", ["script", "-qfec", hermes + " -c '" + cmd + "'", "/dev/null"], env)
    os.execve(hermes, [hermes, "-c", cmd], env)
screen = b""
deadline = time.time() + 90
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.05)
    if r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        screen += d
    try:
        os.write(fd, b"ya")
    except OSError:
        break
_, status = os.waitpid(pid, 0)
with open(out + ".tmp", "wb") as f:
    f.write(screen + b"\nEXIT=%d\n" % os.waitstatus_to_exitcode(status))
os.rename(out + ".tmp", out)
`

// selfApprovalCmd removes victim, in a command that is asked about (git
// reset --hard): it runs only if approved.
func selfApprovalCmd(victim string) string {
	return "rm -rf " + victim + "; git reset --hard 2>/dev/null"
}

// runSelfApprover runs selfApprover in mode against selfApprovalCmd and
// returns what its terminal showed; it fails the test if the victim is
// gone. With uid > 0 everything runs as that user (hermes-exec, its home
// and the victim are that user's).
func runSelfApprover(t *testing.T, e *env, mode string, uid int) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Fatalf("python3 is missing: %v", err)
	}
	bin, home, work := e.bin, e.home, e.dir
	var cred *syscall.Credential
	if uid > 0 {
		base := t.TempDir()
		os.Chmod(base, 0o755)
		os.Chmod(filepath.Dir(base), 0o755)
		bin, home, work = filepath.Join(base, "hermes-exec"), filepath.Join(base, "home"), filepath.Join(base, "work")
		copyExecutable(t, e.bin, bin)
		for _, d := range []string{home, work} {
			os.Mkdir(d, 0o700)
			os.Chown(d, uid, uid)
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}
	}
	victim := filepath.Join(work, "victim")
	if err := os.MkdirAll(filepath.Join(victim, "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(victim, uid, uid)
	os.Chown(filepath.Join(victim, "keep"), uid, uid)
	helper := filepath.Join(work, "helper.py")
	if err := os.WriteFile(helper, []byte(selfApprover), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(work, "screen")
	c := exec.Command("env", "-i", py, helper, bin, home, selfApprovalCmd(victim), out, mode)
	c.Dir = work
	c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("helper: %v %s", err, b)
	}
	if !testutil.WaitFor(120*time.Second, func() bool { _, err := os.Stat(out); return err == nil }) {
		t.Fatal("the helper never finished")
	}
	b, _ := os.ReadFile(out)
	if _, err := os.Stat(victim); err != nil {
		t.Fatalf("the helper approved its own command: the victim is gone\n%s", b)
	}
	if !strings.Contains(string(b), "EXIT=126") || !strings.Contains(string(b), "hermes-exec: denied") {
		t.Fatalf("want a denial (exit 126), terminal showed:\n%s", b)
	}
	return string(b)
}

// Red-team, as an ordinary user: the helper makes itself undumpable, so
// its own user cannot see that it holds the terminal (as sshd's processes
// cannot be seen). The program that started the terminal's session then
// decides, and it is the helper (or init, after the double fork), not a
// terminal program.
func TestRedteamHiddenHelperCannotApprove(t *testing.T) {
	requireRoot(t, "to run the helper as an ordinary user")
	e := newEnv(t)
	out := runSelfApprover(t, e, "hide", 4242)
	if !strings.Contains(out, "no human terminal to ask on") || !strings.Contains(out, "can be seen") {
		t.Fatalf("the reason is not given:\n%s", out)
	}
}

// Red-team: a detached helper with no agent marks holds the PTY itself.
func TestRedteamDetachedHelperOnItsOwnPTYCannotApprove(t *testing.T) {
	e := newEnv(t)
	if out := runSelfApprover(t, e, "plain", 0); !strings.Contains(out, "python3") || !strings.Contains(out, "no human terminal to ask on") {
		t.Fatalf("the reason does not say who holds the terminal:\n%s", out)
	}
}

// Red-team: the same helper calls itself sshd (comm is the program's own
// to set): the executable it runs decides.
func TestRedteamHelperNamedSshdCannotApprove(t *testing.T) {
	e := newEnv(t)
	if out := runSelfApprover(t, e, "rename", 0); !strings.Contains(out, "by sshd") || !strings.Contains(out, "/usr/bin/python3") {
		t.Fatalf("the reason does not name the real program:\n%s", out)
	}
}

// Red-team: the genuine script(1) between the helper and hermes-exec: it
// relays its own input, which is the helper's PTY.
func TestRedteamScriptOnAHelpersPTYCannotApprove(t *testing.T) {
	e := newEnv(t)
	if out := runSelfApprover(t, e, "script", 0); !strings.Contains(out, "is fed by script") || !strings.Contains(out, "python3") {
		t.Fatalf("the reason does not follow script's input to the helper:\n%s", out)
	}
}

// Red-team: a copy of script(1) renamed sshd, in a temporary directory,
// fed by a pipe. By name it is a terminal program; by the file it runs it
// is not one installed on the system.
func TestRedteamCopiedScriptNamedSshdCannotApprove(t *testing.T) {
	e := newEnv(t)
	orig, err := os.ReadFile("/usr/bin/script")
	if err != nil {
		t.Fatalf("script(1) (util-linux) is missing: %v", err)
	}
	fake := filepath.Join(t.TempDir(), "sshd")
	if err := os.WriteFile(fake, orig, 0o755); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(e.dir, "victim")
	os.MkdirAll(victim, 0o755)
	c := exec.Command("env", "-i", "PATH="+os.Getenv("PATH"), "HERMES_HOME="+e.home, "TERM=xterm",
		fake, "-qfec", e.bin+" -c "+shQuote(selfApprovalCmd(victim)), "/dev/null")
	c.Dir = e.dir
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	c.Stdin = strings.NewReader(strings.Repeat("y", 64))
	out, _ := c.CombinedOutput()
	if _, err := os.Stat(victim); err != nil {
		t.Fatalf("the copy approved the command:\n%s", out)
	}
	if !strings.Contains(string(out), "hermes-exec: denied") || !strings.Contains(string(out), "not a terminal program installed on the system") {
		t.Fatalf("want the denial and its reason:\n%s", out)
	}
}

// Red-team: a tmux server started with an empty environment by a detached
// process, the command in a detached session, and send-keys typing "y":
// no client on a human terminal is attached to that session, so nobody
// could have been asked.
func TestRedteamTmuxSendKeysCannotApprove(t *testing.T) {
	e := newEnv(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is missing: %v", err)
	}
	victim := filepath.Join(e.dir, "victim")
	os.MkdirAll(victim, 0o755)
	sock := filepath.Join(t.TempDir(), "tmux.sock")
	status, errFile := filepath.Join(e.dir, "status"), filepath.Join(e.dir, "err")
	tmux := func(args ...string) *exec.Cmd {
		c := exec.Command("env", append([]string{"-i", "PATH=/usr/bin:/bin", "HERMES_HOME=" + e.home, "TERM=xterm", "tmux", "-S", sock}, args...)...)
		c.Dir = e.dir
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		return c
	}
	line := e.bin + " -c " + shQuote(selfApprovalCmd(victim)) + " 2>" + errFile + "; echo $? >" + status + ".tmp; mv " + status + ".tmp " + status + "; sleep 30"
	if out, err := tmux("new-session", "-d", "-x", "120", "-y", "40", line).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v %s", err, out)
	}
	t.Cleanup(func() { tmux("kill-server").Run() })
	done := testutil.WaitFor(120*time.Second, func() bool {
		tmux("send-keys", "y").Run()
		_, err := os.Stat(status)
		return err == nil
	})
	if !done {
		t.Fatal("the command never ended")
	}
	st, _ := os.ReadFile(status)
	msg, _ := os.ReadFile(errFile)
	if _, err := os.Stat(victim); err != nil {
		t.Fatalf("send-keys approved the command: %s", msg)
	}
	if strings.TrimSpace(string(st)) != "126" || !strings.Contains(string(msg), "no client attached") {
		t.Fatalf("exit %s, want 126 and the reason; stderr:\n%s", st, msg)
	}
}

// A human's tmux: the client is attached on a human's terminal (see
// testutil.HumanTerminal), the command runs in that session's pane, and a
// key typed on the human's terminal reaches the prompt through tmux and
// approves.
func TestHumanInTmuxIsAsked(t *testing.T) {
	e := newEnv(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is missing: %v", err)
	}
	victim := filepath.Join(e.dir, "victim")
	os.MkdirAll(victim, 0o755)
	sock := filepath.Join(t.TempDir(), "tmux.sock")
	status := filepath.Join(e.dir, "status")
	// tmux wants its terminal by name (startTTY's shell line has
	// stdin and stdout redirected), open for writing on stdin too (the
	// server draws on the descriptor the client passes it).
	e.ttyShell = "t=/dev/$(ps -o tty= -p $$ | tr -d ' '); tmux -S " + sock + " -f /dev/null new-session " + shQuote(e.bin+" -c "+shQuote(selfApprovalCmd(victim))+"; echo $? >"+status+"; sleep 1") + ` 0<>$t >$t 2>&1`
	s := e.startTTY(true, nil)
	t.Cleanup(func() { exec.Command("tmux", "-S", sock, "kill-server").Run() })
	// tmux draws runs of spaces as cursor moves: look for one word.
	if !testutil.WaitFor(60*time.Second, func() bool { return strings.Contains(s.screenText(), "[y]es") }) {
		t.Fatalf("no prompt:\n%s\nshell output:\n%s", s.screenText(), s.outText())
	}
	s.send("y")
	if !testutil.WaitFor(60*time.Second, func() bool { _, err := os.Stat(status); return err == nil }) {
		t.Fatalf("the command never ended:\n%s\nshell output:\n%s", s.screenText(), s.outText())
	}
	if _, err := os.Stat(victim); err == nil {
		st, _ := os.ReadFile(status)
		t.Fatalf("the approved command did not run (exit %s):\n%s", st, s.screenText())
	}
}

// devptsTwin mounts a devpts instance of its own (in a private mount
// namespace), takes a terminal there, which has the number of some
// terminal of the machine's own /dev/pts, starts hermes-exec on it and
// answers "y": every check that goes by the device number would be looking
// at the other terminal.
const devptsTwin = `
import fcntl, os, select, sys, tempfile, termios, time
hermes, home, cmd = sys.argv[1:4]
d = tempfile.mkdtemp()
if os.system("mount -t devpts -o newinstance,ptmxmode=0666 devpts " + d) != 0:
    sys.exit("mount devpts failed")
m = os.open(d + "/ptmx", os.O_RDWR | os.O_NOCTTY)
fcntl.ioctl(m, 0x40045431, b"\0\0\0\0")  # TIOCSPTLCK: unlock
n = int.from_bytes(fcntl.ioctl(m, 0x80045430, b"\0\0\0\0"), "little")  # TIOCGPTN
pid = os.fork()
if pid == 0:
    os.setsid()
    s = os.open("%s/%d" % (d, n), os.O_RDWR)
    fcntl.ioctl(s, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(s, fd)
    os.execve(hermes, [hermes, "-c", cmd], {"PATH": "/usr/bin:/bin", "HERMES_HOME": home, "TERM": "xterm"})
out, end = b"", time.time() + 60
while time.time() < end:
    r, _, _ = select.select([m], [], [], 0.05)
    if r:
        try:
            b = os.read(m, 4096)
        except OSError:
            break
        if not b:
            break
        out += b
    try:
        os.write(m, b"y")
    except OSError:
        break
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace") + "\nEXIT=%d\n" % os.waitstatus_to_exitcode(st))
`

// Red-team: a terminal of another devpts instance with the same number as
// one of the machine's is not that terminal (found in review: the checks
// went by the device number alone).
func TestRedteamTerminalOfAnotherDevptsInstanceCannotApprove(t *testing.T) {
	requireRoot(t, "to mount a devpts instance")
	e := newEnv(t)
	victim := filepath.Join(e.dir, "victim")
	if err := os.MkdirAll(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(e.dir, "twin.py")
	if err := os.WriteFile(helper, []byte(devptsTwin), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("unshare", "-m", "/usr/bin/python3", helper, e.bin, e.home, selfApprovalCmd(victim)).CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if _, err := os.Stat(victim); err != nil {
		t.Fatalf("the twin terminal approved the command: the victim is gone\n%s", out)
	}
	if !strings.Contains(string(out), "EXIT=126") || !strings.Contains(string(out), "another devpts instance") {
		t.Fatalf("want a denial naming the other devpts instance, got:\n%s", out)
	}
}
