// Package reaper is the init of every container the containerd backend
// makes, and the starter of every command in a session container. It is a
// program of its own (hermes-exec-containerd-init), small and static, so it
// runs in any image (an image has no libc to offer a dynamically linked
// binary, which rules out hermes-exec-sandbox's reaper) and starts in a
// millisecond (hermes-exec-containerd links the whole containerd client).
// The helper bind-mounts it read-only into each container at Path.
//
//	init sandbox-reaper run [tty] [seccomp SETUP] LIFELINE -- ARGV...
//	                                                    pid 1 of a fresh container
//	init sandbox-reaper session IDLE_SECONDS [HAND]     pid 1 of a session container
//	init sandbox-exec [tty] LIFELINE -- ARGV...         a session command (task.Exec)
//	init sandbox-reaper anchor IDLE_SECONDS LAST_USED   pid 1 of the anchor (containerd/anchor.go)
//
// pid 1 gets treatment from the kernel that a command must not get: signals
// without a handler are ignored, orphans are reparented to it. So the
// command never is pid 1: it runs as a child, in its own process group,
// with signals relayed to that group.
//
// LIFELINE is a file the helper holds an exclusive flock on while it waits
// for the command. A shared lock is granted exactly when the helper is gone,
// however it died (a SIGKILLed wrapper takes its helper with it), so the
// command then dies too instead of running on unwatched. The helper cannot
// hand the container an open pipe, as the embedded sandbox does: containerd
// passes no file descriptors to a task.
package reaper

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"hermes-exec/isolate/execwire"
	"hermes-exec/isolate/seccompbpf"
)

// Path is where the helper mounts this program inside every container
// (inside the container's private /run, so nothing of the image or of the
// host's root is shadowed).
const Path = "/run/.hermes-exec/init"

// Modes, as argv[1] (argv[0] is Path).
const (
	ReaperArg = "sandbox-reaper"
	ExecArg   = "sandbox-exec"
	// AnchorArg, after ReaperArg, is the anchor's mode.
	AnchorArg = "anchor"
	// SeccompArg SETUP, in run mode, has the init install the container's
	// seccomp filter itself, from the file SETUP (seccompbpf.Setup: the
	// program, then the command's environment), before it does anything
	// else. The runtime then has no filter to compile and load; the init
	// runs with no_new_privs, no capabilities, and the command's
	// environment only once the filter is in place.
	SeccompArg = "seccomp"
)

// applySetup installs the filter of setup on every thread of this process
// and takes the command's environment from it.
func applySetup(setup string) error {
	b, err := os.ReadFile(setup)
	if err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	if err := seccompbpf.Apply(b); err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	return nil
}

// Main runs the mode in args (os.Args[1:]) and returns the exit status.
func Main(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "hermes-exec: containerd init: missing mode (this program runs inside containers made by hermes-exec)")
		return 126
	}
	switch {
	case args[0] == ReaperArg && args[1] == "run":
		return run(args[2:])
	case args[0] == ReaperArg && args[1] == "session":
		idle := time.Duration(0)
		if len(args) > 2 {
			if s, err := strconv.ParseInt(args[2], 10, 64); err == nil {
				idle = time.Duration(s) * time.Second
			}
		}
		hand := ""
		if len(args) > 3 {
			hand = args[3]
		}
		return session(idle, hand)
	case args[0] == ExecArg:
		return run(args[1:])
	case args[0] == ReaperArg && args[1] == AnchorArg && len(args) == 4:
		idle, err := strconv.ParseInt(args[2], 10, 64)
		if err != nil {
			break
		}
		return anchor(time.Duration(idle)*time.Second, args[3])
	}
	fmt.Fprintf(os.Stderr, "hermes-exec: containerd init: unknown mode %q\n", strings.Join(args[:2], " "))
	return 126
}

// run starts ARGV in its own process group (the terminal's foreground
// group when there is one, so Ctrl-C reaches the command and not this
// process), relays signals to that group, reaps every child, and exits with
// the command's status as bash reports it: its exit code, or 128+N.
func run(args []string) int {
	tty := false
	if len(args) > 0 && args[0] == "tty" {
		tty, args = true, args[1:]
	}
	if len(args) > 1 && args[0] == SeccompArg {
		// Before anything else, and fails closed: without its filter no
		// command runs.
		if err := applySetup(args[1]); err != nil {
			fmt.Fprintf(os.Stderr, "hermes-exec: denied: containerd init: %v\n", err)
			return 126
		}
		args = args[2:]
	}
	// Out of the command's reach: a process running as the same uid
	// could otherwise read this one's memory and descriptors through
	// /proc/1 (the dumpable flag is reset for the command by its execve).
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	if len(args) < 2 || args[1] != "--" {
		fmt.Fprintln(os.Stderr, "hermes-exec: containerd init: usage: run [tty] LIFELINE -- ARGV")
		return 126
	}
	lifeline, argv := args[0], args[2:]
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "hermes-exec: containerd init: missing command")
		return 126
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		code := 127
		if !os.IsNotExist(err) && !strings.Contains(err.Error(), "not found") {
			code = 126
		}
		if e, ok := err.(*exec.Error); ok {
			err = e.Err
		}
		fmt.Fprintf(os.Stderr, "hermes-exec: %s: %v\n", argv[0], err)
		return code
	}
	ws, err := execwire.RunChild(path, argv, tty, func(pid int) { go watch(lifeline, pid) })
	if err != nil {
		fmt.Fprintf(os.Stderr, "hermes-exec: %s: %v\n", argv[0], err)
		return 126
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// watch kills the command's process group and exits 137 once the lifeline
// lock is free: the helper that waited for this command is gone.
func watch(lifeline string, pid int) {
	f, err := os.Open(lifeline)
	if err == nil {
		for {
			err = unix.Flock(int(f.Fd()), unix.LOCK_SH)
			if err != unix.EINTR {
				break
			}
		}
	}
	// No lifeline (a helper that could not make one does not start a
	// command) or a free one: nobody waits for this command any more.
	_ = unix.Kill(-pid, unix.SIGKILL)
	os.Exit(128 + int(unix.SIGKILL))
}

// session keeps a session container alive: it reaps the orphans commands
// leave, serves the exec socket when the helper hands one over (hand is
// its rendezvous, server.go), exits on SIGTERM, SIGINT or SIGHUP, and exits
// after idle without a command. A command counts while it runs: one it
// started, or a task.Exec one (started from outside the pid namespace, so
// its parent reads as pid 0).
func session(idle time.Duration, hand string) int {
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	var srv *execwire.Server
	if hand != "" {
		if l, err := takeListener(hand); err == nil {
			srv = execwire.NewServer()
			go srv.Serve(l)
		}
		// Without it, commands come by task.Exec only.
	}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case sig := <-sigs:
			if sig != unix.SIGCHLD {
				return 0
			}
			srv.ReapAll()
		case <-tick.C:
			if CommandRunning() || (srv != nil && srv.Busy(last)) {
				last = time.Now()
			}
			if idle > 0 && time.Since(last) > idle {
				return 0
			}
		}
	}
}

// CommandRunning reports whether a command started from outside runs in
// this pid namespace: a process other than pid 1 whose parent is outside
// (ppid 0). Background jobs left behind are reparented to pid 1 and do not
// keep a session alive.
func CommandRunning() bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == 1 {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 >= len(s) {
			continue
		}
		var state string
		var ppid int
		if _, err := fmt.Sscan(s[i+2:], &state, &ppid); err == nil && ppid == 0 {
			return true
		}
	}
	return false
}

// anchor is pid 1 of the container that keeps the shim of a state
// directory's fresh containers (isolate/containerd/anchor.go): it runs
// nothing, and exits on SIGTERM, SIGINT or SIGHUP, when lastUsed (which
// each fresh container touches) is older than idle (0: never), or when
// lastUsed is gone (its state directory was removed).
func anchor(idle time.Duration, lastUsed string) int {
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	every := 5 * time.Second
	if idle > 0 && idle < every {
		every = max(idle, time.Second)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case sig := <-sigs:
			if sig != unix.SIGCHLD {
				return 0
			}
			for {
				if pid, _ := unix.Wait4(-1, nil, unix.WNOHANG, nil); pid <= 0 {
					break
				}
			}
		case <-tick.C:
			fi, err := os.Stat(lastUsed)
			if err != nil || (idle > 0 && time.Since(fi.ModTime()) > idle) {
				return 0
			}
		}
	}
}
