package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"hermes-exec/internal/exitcode"
	"hermes-exec/isolate/sandbox/execproto"
)

// A session container's reaper starts the commands of later wrappers
// itself: it is already inside every namespace, under the seccomp filter,
// without capabilities and with no_new_privs, so a command it forks is
// exactly like one libcontainer would start with a second process, minus
// the second start. The protocol and its client are in execproto (the main
// binary speaks it too); this is the server.
const (
	execSocketName = execproto.SocketName
	execSocketArg  = "exec-socket" // the session reaper's flag: fd 4 is the socket
	reaperSocketFd = 4             // session mode: the listening socket
	maxExecRequest = execproto.MaxRequest
)

// execRequest is what a wrapper asks the reaper to run.
type execRequest = execproto.Request

// execServer is the reaper's side.
type execServer struct {
	mu      sync.Mutex
	running map[int]*execJob // by pid; guarded by mu
	started time.Time        // last start; guarded by mu
}

type execJob struct {
	conn *net.UnixConn
	pid  int
	done bool // reaped; guarded by execServer.mu
}

func newExecServer() *execServer {
	return &execServer{running: map[int]*execJob{}}
}

// serve accepts connections until the listener fails.
func (s *execServer) serve(l *net.UnixListener) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			return
		}
		go s.handle(c)
	}
}

// busy reports whether a command started through the socket runs, or one
// started since t.
func (s *execServer) busy(t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.running) > 0 || s.started.After(t)
}

func (s *execServer) handle(c *net.UnixConn) {
	buf := make([]byte, maxExecRequest)
	oob := make([]byte, unix.CmsgSpace(3*4))
	n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
	fds := receivedFds(oob[:oobn])
	defer func() {
		for _, fd := range fds {
			_ = unix.Close(fd)
		}
	}()
	refuse := func(code int, msg string) {
		_, _ = c.Write([]byte(fmt.Sprintf("%s%d %s", execproto.MsgError, code, msg)))
		_ = c.Close()
	}
	if err != nil || flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || len(fds) != 3 {
		refuse(126, "bad request")
		return
	}
	var req execRequest
	if err := json.Unmarshal(buf[:n], &req); err != nil || len(req.Args) == 0 {
		refuse(126, "bad request")
		return
	}
	if fi, err := os.Stat(req.Dir); err != nil || !fi.IsDir() {
		// libcontainer reports a bad working directory as it always
		// has: let the wrapper go that way.
		refuse(126, "no such working directory")
		return
	}
	// Written with the descriptor itself: an *os.File would close it
	// again when collected.
	complain := func(format string, a ...any) {
		_, _ = unix.Write(fds[2], []byte(fmt.Sprintf(format, a...)))
	}
	path, code, err := lookPathIn(req.Args[0], req.Env)
	if err != nil {
		// As bash: the command ran and failed; not a wrapper error.
		complain("hermes-exec: %s: %v\n", req.Args[0], err)
		_, _ = c.Write([]byte(execproto.MsgStarted))
		_, _ = c.Write([]byte(execproto.MsgExit + strconv.Itoa(code)))
		_ = c.Close()
		return
	}
	attr := &syscall.ProcAttr{
		Dir:   req.Dir,
		Env:   req.Env,
		Files: []uintptr{uintptr(fds[0]), uintptr(fds[1]), uintptr(fds[2])},
		// A session leader, as libcontainer makes its processes: the
		// wrapper's signals go to its whole process group.
		Sys: &syscall.SysProcAttr{Setsid: true},
	}
	// The lock spans fork and registration, so reaping (which takes it)
	// cannot collect the command's status before it is registered.
	s.mu.Lock()
	pid, err := syscall.ForkExec(path, req.Args, attr)
	if err != nil {
		s.mu.Unlock()
		complain("hermes-exec: %s: %v\n", req.Args[0], err)
		code := exitcode.StartFailure(err)
		_, _ = c.Write([]byte(execproto.MsgStarted))
		_, _ = c.Write([]byte(execproto.MsgExit + strconv.Itoa(code)))
		_ = c.Close()
		return
	}
	job := &execJob{conn: c, pid: pid}
	s.running[pid] = job
	s.started = time.Now()
	// Still under the lock: "started" goes out before reapAll can send
	// how the command ended, so the wrapper never takes a command that
	// ran for one the reaper refused (and starts it again).
	_, _ = c.Write([]byte(execproto.MsgStarted))
	s.mu.Unlock()
	go s.watch(job)
}

// watch relays the wrapper's signals to the command's process group and
// kills the group when the connection ends first: the wrapper is gone.
func (s *execServer) watch(j *execJob) {
	pkt := make([]byte, 64)
	for {
		n, err := j.conn.Read(pkt)
		if err != nil || n == 0 {
			s.signal(j, unix.SIGKILL)
			return
		}
		if num, ok := strings.CutPrefix(string(pkt[:n]), execproto.MsgSignal); ok {
			if sig, err := strconv.Atoi(num); err == nil && sig > 0 && sig < 65 {
				s.signal(j, unix.Signal(sig))
			}
		}
	}
}

// signal sends sig to the command's process group unless it was reaped
// (its pid may then belong to another process).
func (s *execServer) signal(j *execJob, sig unix.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !j.done {
		_ = unix.Kill(-j.pid, sig)
		_ = unix.Kill(j.pid, sig)
	}
}

// reapAll reaps every ended child; a command started here is marked done
// under the lock that signal takes (so its pid is never signalled once it
// may be reused), then its wrapper learns how it ended. s may be nil.
func (s *execServer) reapAll() {
	for {
		var ws unix.WaitStatus
		var j *execJob
		if s != nil {
			s.mu.Lock() // see handle
		}
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if s != nil {
			if j = s.running[pid]; j != nil && err == nil {
				j.done = true
				delete(s.running, pid)
			}
			s.mu.Unlock()
		}
		if err == unix.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
		if j != nil {
			msg := execproto.MsgExit + strconv.Itoa(ws.ExitStatus())
			if ws.Signaled() {
				msg = execproto.MsgSignal + strconv.Itoa(int(ws.Signal()))
			}
			_, _ = j.conn.Write([]byte(msg))
			_ = j.conn.Close()
		}
	}
}

// receivedFds are the descriptors in a control message, close-on-exec.
func receivedFds(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		rights, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range rights {
			unix.CloseOnExec(fd)
			fds = append(fds, fd)
		}
	}
	return fds
}

// lookPathIn finds name as exec.LookPath would, in the command's PATH
// rather than the reaper's. The code is bash's: 127 not found, 126 found
// but not executable.
func lookPathIn(name string, env []string) (string, int, error) {
	if strings.Contains(name, "/") {
		return name, 0, nil // ForkExec reports what is wrong with it
	}
	pathVar, _ := lookupVar(env, "PATH")
	denied := ""
	for _, dir := range filepath.SplitList(pathVar) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() {
			continue
		}
		if unix.Access(p, unix.X_OK) == nil {
			return p, 0, nil
		}
		if denied == "" {
			denied = p
		}
	}
	if denied != "" {
		return "", exitcode.CannotExec, fmt.Errorf("%s: permission denied", denied)
	}
	return "", exitcode.NotFound, errors.New("executable file not found in $PATH")
}
