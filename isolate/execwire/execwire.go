// Package execwire is the session exec socket: its wire format, which
// the wrapper speaks (isolate/sandbox/execproto is the client), and the
// server a session container's init runs on it to start the commands of
// later wrappers itself. Both backends' inits serve it: the embedded
// sandbox's reaper (isolate/sandbox) and the containerd backend's static
// init (isolate/containerd/reaper), which must stay small and so links
// nothing of the wrapper's. It is pure Go with no dependency beyond x/sys.
package execwire

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
)

// The wrapper connects to the socket the reaper listens on (SocketName in
// the container's state directory, which only its owner can reach and
// which is masked inside), sends one packet with the request and the
// command's stdin, stdout and stderr as SCM_RIGHTS, and then the signals it
// receives. The reaper answers "started", then how the command ended. When
// the connection closes before that (the wrapper was killed), the reaper
// kills the command's process group.
//
// Packets (SOCK_SEQPACKET keeps them whole):
//
//	wrapper → reaper: Request as JSON, with 3 fds; then "signal N"...
//	reaper → wrapper: "started" then "exit N" or "signal N";
//	                  or "error CODE MESSAGE" when nothing was started.
const (
	SocketName = "exec.sock"
	MaxRequest = 1 << 20
	MsgStarted = "started"
	MsgExit    = "exit "
	MsgSignal  = "signal "
	MsgError   = "error "
)

// Request is what a wrapper asks the reaper to run. Env and Dir are already
// the sandbox's (execproto.CommandEnv, Options.CommandDir).
type Request struct {
	Args []string
	Env  []string
	Dir  string
}

// A server's commands start from inside the container: the init is in
// every namespace, under the seccomp filter, without capabilities and with
// no_new_privs, so a command it forks is confined as one the runtime would
// start with a second process, minus that start.

// Server is the reaper's side: it starts what wrappers ask for and tells
// them how it ended.
type Server struct {
	mu      sync.Mutex
	running map[int]*job // by pid; guarded by mu
	started time.Time    // last start; guarded by mu
	// ended, for ServeOne, is closed once its one command ended (or was
	// refused); endOnce guards the close.
	ended   chan struct{}
	endOnce sync.Once
}

type job struct {
	conn *net.UnixConn
	pid  int
	done bool // reaped; guarded by Server.mu
}

// NewServer returns a server with no command running.
func NewServer() *Server {
	return &Server{running: map[int]*job{}}
}

// Serve accepts connections until the listener fails.
func (s *Server) Serve(l *net.UnixListener) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			return
		}
		go s.handle(c)
	}
}

// ServeOne accepts one connection, closes the listener (nobody can connect
// after it) and serves that one request. The channel is closed when the
// command it started has ended and its wrapper was told, or when nothing
// was started (a refusal, a failed start, a failed accept).
func (s *Server) ServeOne(l *net.UnixListener) <-chan struct{} {
	s.ended = make(chan struct{})
	go func() {
		c, err := l.AcceptUnix()
		_ = l.Close()
		if err != nil {
			s.end()
			return
		}
		s.handle(c)
		s.mu.Lock()
		none := len(s.running) == 0
		s.mu.Unlock()
		if none {
			// Refused, failed, or already ended and reaped.
			s.end()
		}
	}()
	return s.ended
}

func (s *Server) end() {
	if s.ended != nil {
		s.endOnce.Do(func() { close(s.ended) })
	}
}

// Busy reports whether a command started through the socket runs, or one
// started since t.
func (s *Server) Busy(t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.running) > 0 || s.started.After(t)
}

func (s *Server) handle(c *net.UnixConn) {
	buf := make([]byte, MaxRequest)
	oob := make([]byte, unix.CmsgSpace(3*4))
	n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
	fds := ReceivedFds(oob[:oobn])
	defer func() {
		for _, fd := range fds {
			_ = unix.Close(fd)
		}
	}()
	refuse := func(code int, msg string) {
		_, _ = c.Write([]byte(fmt.Sprintf("%s%d %s", MsgError, code, msg)))
		_ = c.Close()
	}
	if err != nil || flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || len(fds) != 3 {
		refuse(126, "bad request")
		return
	}
	var req Request
	if err := json.Unmarshal(buf[:n], &req); err != nil || len(req.Args) == 0 {
		refuse(126, "bad request")
		return
	}
	if fi, err := os.Stat(req.Dir); err != nil || !fi.IsDir() {
		// The runtime's own start (the helper's way) reports a bad
		// working directory as it always has: let the wrapper go that
		// way.
		refuse(126, "no such working directory")
		return
	}
	// Written with the descriptor itself: an *os.File would close it
	// again when collected.
	complain := func(format string, a ...any) {
		_, _ = unix.Write(fds[2], []byte(fmt.Sprintf(format, a...)))
	}
	path, code, err := LookPath(req.Args[0], req.Env)
	if err != nil {
		// As bash: the command ran and failed; not a wrapper error.
		complain("hermes-exec: %s: %v\n", req.Args[0], err)
		_, _ = c.Write([]byte(MsgStarted))
		_, _ = c.Write([]byte(MsgExit + strconv.Itoa(code)))
		_ = c.Close()
		return
	}
	attr := &syscall.ProcAttr{
		Dir:   req.Dir,
		Env:   req.Env,
		Files: []uintptr{uintptr(fds[0]), uintptr(fds[1]), uintptr(fds[2])},
		// A session leader, as the runtimes make their processes: the
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
		_, _ = c.Write([]byte(MsgStarted))
		_, _ = c.Write([]byte(MsgExit + strconv.Itoa(code)))
		_ = c.Close()
		return
	}
	job := &job{conn: c, pid: pid}
	s.running[pid] = job
	s.started = time.Now()
	// Still under the lock: "started" goes out before ReapAll can send
	// how the command ended, so the wrapper never takes a command that
	// ran for one the reaper refused (and starts it again).
	_, _ = c.Write([]byte(MsgStarted))
	s.mu.Unlock()
	go s.watch(job)
}

// watch relays the wrapper's signals to the command's process group and
// kills the group when the connection ends first: the wrapper is gone.
func (s *Server) watch(j *job) {
	pkt := make([]byte, 64)
	for {
		n, err := j.conn.Read(pkt)
		if err != nil || n == 0 {
			s.signal(j, unix.SIGKILL)
			return
		}
		if num, ok := strings.CutPrefix(string(pkt[:n]), MsgSignal); ok {
			if sig, err := strconv.Atoi(num); err == nil && sig > 0 && sig < 65 {
				s.signal(j, unix.Signal(sig))
			}
		}
	}
}

// signal sends sig to the command's process group unless it was reaped
// (its pid may then belong to another process).
func (s *Server) signal(j *job, sig unix.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !j.done {
		_ = unix.Kill(-j.pid, sig)
		_ = unix.Kill(j.pid, sig)
	}
}

// ReapAll reaps every ended child; a command started here is marked done
// under the lock that signal takes (so its pid is never signalled once it
// may be reused), then its wrapper learns how it ended. s may be nil.
func (s *Server) ReapAll() {
	for {
		var ws unix.WaitStatus
		var j *job
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
			msg := MsgExit + strconv.Itoa(ws.ExitStatus())
			if ws.Signaled() {
				msg = MsgSignal + strconv.Itoa(int(ws.Signal()))
			}
			_, _ = j.conn.Write([]byte(msg))
			_ = j.conn.Close()
			s.end()
		}
	}
}

// ReceivedFds are the descriptors in a control message, close-on-exec.
func ReceivedFds(oob []byte) []int {
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

// LookPath finds name as exec.LookPath would, in the command's PATH
// rather than the reaper's. The code is bash's: 127 not found, 126 found
// but not executable.
func LookPath(name string, env []string) (string, int, error) {
	if strings.Contains(name, "/") {
		return name, 0, nil // ForkExec reports what is wrong with it
	}
	pathVar := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = v // the last one, as getenv finds it in Go
		}
	}
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
