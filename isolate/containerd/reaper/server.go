package reaper

import (
	"encoding/json"
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
)

// A session's reaper also starts commands itself, for wrappers that ask
// over the session's exec socket (the embedded sandbox's protocol,
// execproto): it is pid 1 inside every namespace, under the seccomp filter,
// with no capabilities and no_new_privs, so what it forks is confined as a
// task.Exec process is, without the round trip through containerd, its
// shim and a runc exec per command.
//
// The socket lives in the container's host-side state directory, which
// nothing inside can reach. The helper makes it and hands the listening
// descriptor over at the session's start: the reaper connects to HandName
// in the lifeline directory (mounted read-only, which connect(2) does not
// mind) and receives it there. containerd itself passes no descriptors.
const HandName = "hand.sock"

// The exec socket's protocol is execproto's (the embedded sandbox's), whose
// package this small binary does not link (it brings the wrapper's
// configuration code with it); protocol_test.go checks that these are
// execproto's own values.
const (
	maxRequest = 1 << 20
	msgStarted = "started"
	msgExit    = "exit "
	msgSignal  = "signal "
	msgError   = "error "
)

// request is execproto.Request.
type request struct {
	Args []string
	Env  []string
	Dir  string
}

// server is the session reaper's exec server.
type server struct {
	mu      sync.Mutex
	jobs    map[int]*net.UnixConn // running commands by pid; guarded by mu
	started time.Time             // last start; guarded by mu
}

// takeListener receives the exec socket from the helper.
func takeListener(hand string) (*net.UnixListener, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: hand, Net: "unix"})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := c.ReadMsgUnix(make([]byte, 1), oob)
	if err != nil {
		return nil, err
	}
	fds := fdsIn(oob[:oobn])
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("no socket handed over")
	}
	f := os.NewFile(uintptr(fds[0]), "exec.sock")
	defer f.Close()
	l, err := net.FileListener(f)
	if err != nil {
		return nil, err
	}
	ul, ok := l.(*net.UnixListener)
	if !ok {
		l.Close()
		return nil, fmt.Errorf("not a unix socket")
	}
	return ul, nil
}

func (s *server) serve(l *net.UnixListener) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			return
		}
		go s.handle(c)
	}
}

// busy reports whether a command it started runs, or one started since t.
func (s *server) busy(t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.jobs) > 0 || s.started.After(t)
}

func (s *server) handle(c *net.UnixConn) {
	buf := make([]byte, maxRequest)
	oob := make([]byte, unix.CmsgSpace(3*4))
	n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
	fds := fdsIn(oob[:oobn])
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	send := func(msgs ...string) {
		for _, m := range msgs {
			_, _ = c.Write([]byte(m))
		}
	}
	var req request
	if err != nil || flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || len(fds) != 3 || json.Unmarshal(buf[:n], &req) != nil || len(req.Args) == 0 {
		send(msgError + "126 bad request")
		c.Close()
		return
	}
	if fi, err := os.Stat(req.Dir); err != nil || !fi.IsDir() {
		// Not here: the helper's task.Exec reports it as runc does.
		send(msgError + "126 no such working directory")
		c.Close()
		return
	}
	ended := func(code int, format string, a ...any) {
		_, _ = unix.Write(fds[2], []byte(fmt.Sprintf(format, a...)))
		send(msgStarted, msgExit+strconv.Itoa(code))
		c.Close()
	}
	path, code, err := findIn(req.Args[0], req.Env)
	if err != nil {
		ended(code, "hermes-exec: %s: %v\n", req.Args[0], err)
		return
	}
	// Held across fork and registration, so the reaper cannot collect
	// the command's end before it knows whose it is.
	s.mu.Lock()
	pid, err := syscall.ForkExec(path, req.Args, &syscall.ProcAttr{
		Dir: req.Dir, Env: req.Env,
		Files: []uintptr{uintptr(fds[0]), uintptr(fds[1]), uintptr(fds[2])},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	if err != nil {
		s.mu.Unlock()
		code := 126
		if err == unix.ENOENT {
			code = 127
		}
		ended(code, "hermes-exec: %s: %v\n", req.Args[0], err)
		return
	}
	s.jobs[pid] = c
	s.started = time.Now()
	send(msgStarted) // before any end can be sent (reap takes mu)
	s.mu.Unlock()
	go s.relay(pid, c)
}

// relay passes the wrapper's signals to the command's process group, and
// kills the group when the connection ends first (the wrapper is gone).
func (s *server) relay(pid int, c *net.UnixConn) {
	pkt := make([]byte, 64)
	for {
		n, err := c.Read(pkt)
		sig := unix.SIGKILL
		if err == nil && n > 0 {
			num, ok := strings.CutPrefix(string(pkt[:n]), msgSignal)
			v, aerr := strconv.Atoi(num)
			if !ok || aerr != nil || v <= 0 || v >= 65 {
				continue
			}
			sig = unix.Signal(v)
		}
		s.mu.Lock()
		if s.jobs[pid] == c { // not reaped: the pid is still the command's
			_ = unix.Kill(-pid, sig)
			_ = unix.Kill(pid, sig)
		}
		s.mu.Unlock()
		if err != nil || n == 0 {
			return
		}
	}
}

// reap collects every ended child and tells a command's wrapper how it
// ended. s may be nil (no exec socket).
func (s *server) reap() {
	for {
		var ws unix.WaitStatus
		var c *net.UnixConn
		if s != nil {
			s.mu.Lock()
		}
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if s != nil {
			if err == nil && pid > 0 {
				if c = s.jobs[pid]; c != nil {
					delete(s.jobs, pid)
				}
			}
			s.mu.Unlock()
		}
		if err == unix.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
		if c != nil {
			msg := msgExit + strconv.Itoa(ws.ExitStatus())
			if ws.Signaled() {
				msg = msgSignal + strconv.Itoa(int(ws.Signal()))
			}
			_, _ = c.Write([]byte(msg))
			c.Close()
		}
	}
}

// fdsIn are the descriptors passed in a control message, close-on-exec.
func fdsIn(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var out []int
	for i := range msgs {
		fds, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
			out = append(out, fd)
		}
	}
	return out
}

// findIn looks name up in the command's own PATH, with bash's statuses:
// 127 not found, 126 found but not executable.
func findIn(name string, env []string) (string, int, error) {
	if strings.Contains(name, "/") {
		return name, 0, nil
	}
	pathVar := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathVar = v // the last one, as getenv finds it in Go
		}
	}
	firstDenied := ""
	for _, dir := range filepath.SplitList(pathVar) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			continue
		}
		if unix.Access(p, unix.X_OK) == nil {
			return p, 0, nil
		}
		if firstDenied == "" {
			firstDenied = p
		}
	}
	if firstDenied != "" {
		return "", 126, fmt.Errorf("%s: permission denied", firstDenied)
	}
	return "", 127, fmt.Errorf("command not found")
}
