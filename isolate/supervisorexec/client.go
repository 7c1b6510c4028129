package supervisorexec

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"

	"hermes-exec/isolate"
	"hermes-exec/isolate/sandbox/execproto"
)

// Options are the user's side of a supervisor run.
type Options struct {
	// Request carries the sandbox wishes (limits, network, persistence,
	// lists); Args, Env, TTY, Session and FDs are filled per command.
	Request Request
	// HermesHome and Workspace are opened by the wrapper and passed as
	// descriptors ("" = none): the supervisor hides the one and makes the
	// other writable without resolving either path itself.
	HermesHome string
	Workspace  string
}

// New returns the supervisor backend.
func New(o Options) isolate.Backend { return &backend{o: o} }

type backend struct{ o Options }

func (b *backend) Name() string { return "supervisor" }

// denied is an error the shim prints as "hermes-exec: denied: ...", exit 126.
type denied struct{ msg string }

func (d denied) Error() string { return "denied: supervisor: " + d.msg }

// Run hands s to the supervisor and waits for its end. Every failure
// before the start is a denial (126): a supervisor that is down or refuses
// never means a run somewhere else.
func (b *backend) Run(ctx context.Context, s isolate.Spec) (isolate.Status, error) {
	req := b.o.Request
	req.Version = Version
	req.Args, req.Env, req.TTY, req.Session = s.Args, s.Env, s.TTY, s.Session

	files, closeAll, err := b.openFiles(s)
	if err != nil {
		return isolate.Status{}, denied{err.Error()}
	}
	defer closeAll()
	var fds []int
	for _, f := range files {
		req.FDs = append(req.FDs, f.role)
		fds = append(fds, f.fd)
	}

	conn, err := dial(socket)
	if err != nil {
		return isolate.Status{}, denied{err.Error()}
	}
	defer conn.Close()
	pkt, err := frame(req)
	if err != nil {
		return isolate.Status{}, denied{err.Error()}
	}
	// The descriptors ride on the frame's first bytes; the rest follows.
	if _, _, err := conn.WriteMsgUnix(pkt[:4], unix.UnixRights(fds...), nil); err != nil {
		return isolate.Status{}, denied{fmt.Sprintf("sending the request: %v", err)}
	}
	if _, err := conn.Write(pkt[4:]); err != nil {
		return isolate.Status{}, denied{fmt.Sprintf("sending the request: %v", err)}
	}
	closeAll() // the supervisor has its own copies now

	var m Msg
	if err := ReadFrame(conn, nil, &m); err != nil {
		return isolate.Status{}, denied{"the supervisor closed the connection before starting the command"}
	}
	if m.Type == MsgError {
		return isolate.Status{}, denied{m.Reason}
	}
	if m.Type != MsgStarted {
		return isolate.Status{Code: 126, Reason: fmt.Sprintf("supervisor: unexpected answer %q", m.Type)}, nil
	}
	stop := execproto.ForwardSignals(ctx, func(sig os.Signal) {
		if n, ok := sig.(unix.Signal); ok {
			_ = WriteFrame(conn, Msg{Type: MsgSignal, Signal: int(n)})
		}
	})
	defer stop()
	if s.TTY {
		// The helper re-reads the terminal's size (the caller's, which
		// it holds) when it gets SIGWINCH.
		defer resizes(conn)()
	}
	err = ReadFrame(conn, nil, &m)
	switch {
	case err != nil:
		return isolate.Status{Code: 126, Reason: "denied: supervisor: the supervisor went away while the command ran (restarted or stopped); the command was ended"}, nil
	case m.Type == MsgExit:
		// The reason (out of memory, say) is printed and recorded by
		// the caller, as for every backend.
		return isolate.Status{Code: m.Code, Signal: m.Signal, Reason: m.Reason}, nil
	case m.Type == MsgError:
		return isolate.Status{Code: 126, Reason: "denied: supervisor: " + m.Reason}, nil
	}
	return isolate.Status{Code: 126, Reason: fmt.Sprintf("supervisor: unexpected answer %q", m.Type)}, nil
}

type roleFD struct {
	role string
	fd   int
}

// openFiles opens what travels as descriptors, as the user: the working
// directory (read access checked by the kernel), the standard files (nil
// ones are /dev/null), HERMES_HOME and the configured workspace.
func (b *backend) openFiles(s isolate.Spec) ([]roleFD, func(), error) {
	var opened []int
	closeAll := func() {
		for _, fd := range opened {
			unix.Close(fd)
		}
		opened = nil
	}
	var out []roleFD
	openDir := func(role, p string) error {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("opening %s %s: %v", role, p, err)
		}
		opened = append(opened, fd)
		out = append(out, roleFD{role, fd})
		return nil
	}
	dir := s.Dir
	if dir == "" {
		dir = "."
	}
	if err := openDir(FDCwd, dir); err != nil {
		closeAll()
		return nil, nil, err
	}
	for _, sf := range []struct {
		role string
		f    *os.File
	}{{FDStdin, s.Stdin}, {FDStdout, s.Stdout}, {FDStderr, s.Stderr}} {
		if sf.f != nil {
			out = append(out, roleFD{sf.role, int(sf.f.Fd())})
			continue
		}
		fd, err := unix.Open(os.DevNull, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		opened = append(opened, fd)
		out = append(out, roleFD{sf.role, fd})
	}
	if b.o.HermesHome != "" {
		// A HERMES_HOME that does not exist yet has nothing to hide.
		if _, err := os.Stat(b.o.HermesHome); err == nil {
			if err := openDir(FDHermesHome, b.o.HermesHome); err != nil {
				closeAll()
				return nil, nil, err
			}
		}
	}
	if b.o.Workspace != "" {
		if err := openDir(FDWorkspace, b.o.Workspace); err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("container.workspace: %v", err)
		}
	}
	return out, closeAll, nil
}

// dial connects to the supervisor and checks that root is at the other
// end: a socket anyone else made is not the supervisor.
func dial(path string) (*net.UnixConn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.Dial("unix", path)
	if err != nil {
		var hint string
		switch {
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ECONNREFUSED):
			hint = " (is it running? start it as root with `hermes-exec supervisor`, or systemctl start hermes-exec-supervisor.socket)"
		case errors.Is(err, unix.EACCES):
			hint = " (only members of the group hermes-exec may use it)"
		}
		return nil, fmt.Errorf("cannot reach the supervisor at %s: %v%s", path, unwrapOp(err), hint)
	}
	uc := c.(*net.UnixConn)
	raw, err := uc.SyscallConn()
	if err != nil {
		uc.Close()
		return nil, err
	}
	var cred *unix.Ucred
	var cerr error
	_ = raw.Control(func(fd uintptr) { cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
	if cerr != nil || cred.Uid != 0 {
		uc.Close()
		if cerr != nil {
			return nil, fmt.Errorf("%s: cannot tell who listens: %v", path, cerr)
		}
		return nil, fmt.Errorf("%s is served by uid %d, not root: refusing it", path, cred.Uid)
	}
	return uc, nil
}

func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		var se *os.SyscallError
		if errors.As(op.Err, &se) {
			return se.Err
		}
		return op.Err
	}
	return err
}

// resizes passes the caller's SIGWINCH on until the returned function is
// called.
func resizes(conn *net.UnixConn) func() {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, unix.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ch:
				_ = WriteFrame(conn, Msg{Type: MsgSignal, Signal: int(unix.SIGWINCH)})
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}
