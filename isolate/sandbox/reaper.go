package sandbox

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"hermes-exec/internal/exitcode"
	"hermes-exec/isolate/execwire"
)

// The reaper is pid 1 of every sandbox container. It is this same binary,
// passed in as an open file (fd 3) so it works whatever the container can
// see of the host's filesystem. The kernel gives pid 1 special treatment that
// a command must not get: signals without a handler are ignored (so "kill
// $$" or a forwarded Ctrl-C would do nothing) and orphans are reparented to
// it and must be reaped. The reaper takes that role so that the command runs
// as an ordinary process.
//
//	sandbox-reaper run [tty] -- ARGV...   fresh container: run ARGV, exit with its status
//	sandbox-reaper session IDLE_SECONDS [exec-socket]
//	                                      session container: reap, expire when
//	                                      idle, start commands (execserver.go)
//	sandbox-reaper spare IDLE_SECONDS     spare (spare.go): start the one
//	                                      command of the first connection on
//	                                      the exec socket, end with it
const (
	reaperExeFd      = 3 // the reaper's own binary, closed at once
	reaperStatusFd   = 4 // fresh mode: where the exact end of the command is written
	reaperLifelineFd = 5 // fresh mode: reads EOF when the wrapper is gone
	reaperSetupFd    = 6 // fresh mode with "seccomp": reaperSetup's file
)

// seccompArg, after "run" [tty], says the reaper installs the container's
// seccomp filter itself, from reaperSetupFd, before anything else it does.
const seccompArg = "seccomp"

func reaperMain(args []string) int {
	_ = unix.Close(reaperExeFd)
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "hermes-exec: sandbox-reaper: missing mode")
		return exitcode.CannotExec
	}
	switch args[0] {
	case "run":
		return reapRun(args[1:])
	case "session", "spare":
		idle := time.Duration(0)
		if len(args) > 1 {
			if s, err := strconv.ParseInt(args[1], 10, 64); err == nil {
				idle = time.Duration(s) * time.Second
			}
		}
		if args[0] == "spare" {
			return reapSpare(idle)
		}
		return reapSession(idle, len(args) > 2 && args[2] == execSocketArg)
	}
	fmt.Fprintf(os.Stderr, "hermes-exec: sandbox-reaper: unknown mode %q\n", args[0])
	return exitcode.CannotExec
}

// reapRun starts the command in its own process group (the terminal's
// foreground group when there is a terminal, so Ctrl-C reaches the command
// and not the reaper), relays signals to that group, reaps every child and
// exits with the command's status once the command ends. Anything the
// command left running dies with the pid namespace when the reaper exits.
func reapRun(args []string) int {
	// It holds the status pipe and the lifeline: the command, which runs
	// as the same user, must not ptrace it or open them through
	// /proc/1/fd (a forged "exit 0").
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	status := os.NewFile(reaperStatusFd, "status")
	unix.CloseOnExec(reaperStatusFd)
	unix.CloseOnExec(reaperLifelineFd)
	report := func(code int, msg string) int {
		fmt.Fprint(status, msg)
		status.Close()
		return code
	}
	tty := false
	if len(args) > 0 && args[0] == "tty" {
		tty, args = true, args[1:]
	}
	if len(args) > 0 && args[0] == seccompArg {
		args = args[1:]
		// Fails closed: without its filter no command runs.
		if err := applyReaperSetup(); err != nil {
			fmt.Fprintf(os.Stderr, "hermes-exec: sandbox: %v\n", err)
			return report(exitcode.CannotExec, fmt.Sprintf("exit %d", exitcode.CannotExec))
		}
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return report(exitcode.CannotExec, "error missing command")
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		code := exitcode.StartFailure(err)
		fmt.Fprintf(os.Stderr, "hermes-exec: %s: %v\n", args[0], unwrapExecErr(err))
		return report(code, fmt.Sprintf("exit %d", code))
	}
	ws, err := execwire.RunChild(path, args, tty, func(pid int) { go watchLifeline(pid) })
	if err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: %s: %v\n", args[0], err)
		code := exitcode.StartFailure(err)
		return report(code, fmt.Sprintf("exit %d", code))
	}
	if ws.Signaled() {
		n := int(ws.Signal())
		return report(exitcode.Signaled(ws.Signal()), fmt.Sprintf("signal %d", n))
	}
	return report(ws.ExitStatus(), fmt.Sprintf("exit %d", ws.ExitStatus()))
}

// watchLifeline ends the container when its wrapper dies. The wrapper holds
// the only write end of the lifeline pipe, so a read returns (EOF) exactly
// when the wrapper is gone, however it died and even if it died before this
// started watching; a parent-death signal could not promise that (it
// follows the forking thread, and libcontainer's init is a grandchild).
// Exiting pid 1 kills everything else in the pid namespace.
func watchLifeline(child int) {
	lifeline := os.NewFile(reaperLifelineFd, "lifeline")
	buf := make([]byte, 1)
	for {
		_, err := lifeline.Read(buf)
		if err != nil {
			break
		}
	}
	_ = unix.Kill(-child, unix.SIGKILL)
	os.Exit(128 + int(unix.SIGKILL))
}

func unwrapExecErr(err error) error {
	if e, ok := err.(*exec.Error); ok {
		return e.Err
	}
	return err
}

// reapSession keeps a session container alive: it starts the commands
// wrappers send over the exec socket (withSocket: fd reaperSocketFd, see
// execserver.go), reaps them and orphans, and exits, ending the container,
// after idle without any command. A command counts while it runs: one it
// started, or one libcontainer started (its parent is a wrapper, outside
// the pid namespace, so its ppid reads 0); SIGUSR1 from a wrapper marks a
// start at once. SIGTERM, SIGINT or SIGHUP end it at once.
func reapSession(idle time.Duration, withSocket bool) int {
	var l *net.UnixListener
	if withSocket {
		l = execListener()
	}
	// It holds the exec socket: commands, which run as the same user,
	// must not be able to ptrace it to take the socket over.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGUSR1, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	srv := newExecServer()
	if l != nil {
		go srv.Serve(l)
	}
	tick := time.NewTicker(sessionPoll)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case sig := <-sigs:
			switch sig {
			case unix.SIGCHLD:
				srv.ReapAll()
			case unix.SIGUSR1:
				// A wrapper marks a start it made through
				// libcontainer. Anything in the container can send
				// SIGUSR1 too (a `kill -USR1 1` loop left behind),
				// so it counts only while a wrapper's command runs.
				if commandRunning() {
					last = time.Now()
				}
			default:
				return 0
			}
		case <-tick.C:
			if commandRunning() || srv.Busy(last) {
				last = time.Now()
			}
			if idle > 0 && time.Since(last) > idle {
				return 0
			}
		}
	}
}

// reapSpare is a spare container's reaper: it takes the first connection
// on the exec socket (and closes the socket: nobody connects after it),
// starts that one command, reaps, and exits once the command ended, which
// ends the container and everything the command left running in it, as
// reapRun does. Unused for idle, or on SIGTERM, SIGINT or SIGHUP, it exits
// too (gc then removes the container).
func reapSpare(idle time.Duration) int {
	l := execListener()
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	if l == nil {
		return exitcode.CannotExec
	}
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	srv := newExecServer()
	ended := srv.ServeOne(l)
	tick := time.NewTicker(sessionPoll)
	defer tick.Stop()
	start := time.Now()
	for {
		select {
		case sig := <-sigs:
			if sig != unix.SIGCHLD {
				return 0
			}
			srv.ReapAll()
		case <-ended:
			return 0
		case <-tick.C:
			if idle > 0 && !srv.Busy(start) && time.Since(start) > idle {
				return 0
			}
		}
	}
}

// sessionPoll is how often a session reaper checks for idleness.
const sessionPoll = 2 * time.Second

// execListener is the exec socket a session's wrapper passed in, or nil.
func execListener() *net.UnixListener {
	f := os.NewFile(reaperSocketFd, "exec.sock")
	unix.CloseOnExec(reaperSocketFd)
	l, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return nil
	}
	ul, _ := l.(*net.UnixListener)
	return ul
}

// commandRunning reports whether a wrapper's command runs in the container:
// a process whose parent is outside the pid namespace (ppid 0) other than
// the reaper. Background jobs a command left are reparented to the reaper
// (ppid 1) and do not keep a session from expiring.
func commandRunning() bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == 1 {
			continue
		}
		if ppid, ok := parentOf(pid); ok && ppid == 0 {
			return true
		}
	}
	return false
}

// parentOf reads the ppid from /proc/PID/stat (the field after the
// parenthesised command name, which may itself contain spaces).
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0, false
	}
	var state string
	var ppid int
	if _, err := fmt.Sscan(s[i+2:], &state, &ppid); err != nil {
		return 0, false
	}
	return ppid, true
}
