package execcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"hermes-exec/execcheck/handoff"
	"hermes-exec/isolate"

	"golang.org/x/sys/unix"
)

// Backend runs commands on an inner backend that starts programs on this
// machine (the host) with exec checks: the command is started through the
// launcher (Self LaunchArg ...), which puts it under the filter, and every
// exec in its process tree is answered by Supervisor while it runs.
type Backend struct {
	Inner isolate.Backend
	// Self is the hermes-exec binary (the launcher).
	Self       string
	Supervisor *Supervisor
	// Hold, when set, runs before the command starts and what it returns
	// after it ends (the terminal approver is opened there: the host
	// backend gives the controlling terminal up while a command runs).
	Hold       func() (release func())
	rootExempt bool
}

// Delivers is what a backend implements that puts its commands under a
// seccomp filter of its own and hands the listeners to Spec.ExecChecks
// (the sandbox, through libcontainer's seccomp agent). Such a backend is
// not started through the launcher.
type Delivers interface {
	DeliversExecChecks() bool
}

// delivers reports whether the inner backend hands the listeners over.
func (b *Backend) delivers() bool {
	d, ok := b.Inner.(Delivers)
	return ok && d.DeliversExecChecks()
}

// isShellText reports whether argv is a shell running -c TEXT.
func isShellText(argv []string) bool {
	if len(argv) < 3 || !shells(filepath.Base(argv[0])) {
		return false
	}
	for _, a := range argv[1:] {
		if a == "-c" {
			return true
		}
		if !strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "+") {
			return false
		}
	}
	return false
}

// Name is the inner backend's: exec checks change what is checked, not
// where the command runs.
func (b *Backend) Name() string { return b.Inner.Name() }

// Run starts s through the launcher and supervises it until it ends.
func (b *Backend) Run(ctx context.Context, s isolate.Spec) (isolate.Status, error) {
	if len(s.Args) == 0 {
		return b.Inner.Run(ctx, s)
	}
	deliver := b.delivers()
	path := s.Path // the program, when the caller resolved it (Args[0] is then only its name)
	if path == "" && !deliver {
		var err error
		if path, err = lookPath(s.Args[0], s.Env); err != nil {
			return isolate.Status{}, err
		}
	}
	dir, err := os.MkdirTemp("", "hermes-exec-checks-")
	if err != nil {
		return isolate.Status{}, &isolate.StartError{Op: "exec", Path: path, Err: fmt.Errorf("exec checks: %w", err)}
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "listener")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return isolate.Status{}, &isolate.StartError{Op: "exec", Path: path, Err: fmt.Errorf("exec checks: %w", err)}
	}
	stop, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		l.Close()
		return isolate.Status{}, &isolate.StartError{Op: "exec", Path: path, Err: fmt.Errorf("exec checks: %w", err)}
	}
	defer unix.Close(stop)

	// The launcher's own exec is the top-level command, already
	// decided. It is let through unchecked only when it is a shell
	// running text (bash -c TEXT), whose programs are each checked when
	// the shell executes them; a program started directly is checked
	// like any other exec (the text's classifier left its findings to
	// this check).
	b.rootExempt = isShellText(s.Args) && !deliver
	done := make(chan error, 1)
	go func() { done <- b.serve(l, stop, deliver) }()

	if b.Hold != nil {
		defer b.Hold()()
	}
	inner := s
	if deliver {
		// Every process the backend starts for the command comes
		// under its filter; the top-level command's own exec is
		// checked like any other (what was approved is granted).
		inner.ExecChecks = sock
	} else {
		inner.Path = b.Self
		inner.Args = append([]string{b.Self, LaunchArg, path}, s.Args...)
		inner.Env = append(append([]string(nil), s.Env...), EnvSocket+"="+sock)
	}
	st, runErr := b.Inner.Run(ctx, inner)

	// The command has ended. Stop answering; closing the listener makes
	// the kernel fail the execs of anything it left running (ENOSYS).
	l.Close()
	one := [8]byte{1}
	_, _ = unix.Write(stop, one[:])
	if err := <-done; err != nil && runErr == nil && b.Supervisor.Errorf != nil {
		b.Supervisor.Errorf("%v", err)
	}
	return st, runErr
}

// serve takes the listener from the launcher and answers it; with many
// (a backend that delivers), every listener handed in until the command
// ends (one per process the backend starts).
func (b *Backend) serve(l *net.UnixListener, stop int, many bool) error {
	var wg sync.WaitGroup
	var errs []error
	var mu sync.Mutex
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			break // closed: the command ended (or the launcher never connected: it said why)
		}
		if !many {
			l.Close()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.take(c, stop, many); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
		if !many {
			break
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// take receives one listener on c and answers it until stop.
func (b *Backend) take(c *net.UnixConn, stop int, many bool) error {
	defer c.Close()
	cred, err := handoff.Peer(c)
	if err != nil {
		return err
	}
	// Only the command this wrapper started may hand it a listener.
	if pp, ok := parentOf(int(cred.Pid)); !ok || pp != os.Getpid() || int(cred.Uid) != os.Geteuid() {
		return fmt.Errorf("exec checks: refused a listener from pid %d", cred.Pid)
	}
	buf, oob := make([]byte, 64), make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return fmt.Errorf("exec checks: receive the listener: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return fmt.Errorf("exec checks: no listener received")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return fmt.Errorf("exec checks: no listener received")
	}
	fd := fds[0]
	unix.CloseOnExec(fd)
	// Questions still open when the command ends keep the listener until
	// they are answered (bounded by the supervisor's timeout); the
	// wrapper's exit closes it in any case.
	defer func() { go func() { b.Supervisor.Wait(); unix.Close(fd) }() }()
	if many {
		// "PID INITPID" from the backend: the chain shown ends at the
		// container's init, or at the helper that started a process.
		var pid, initPid int
		if _, err := fmt.Sscanf(string(buf[:n]), "%d %d", &pid, &initPid); err == nil {
			if pid == initPid {
				b.Supervisor.addStop(pid)
			} else if pp, ok := parentOf(pid); ok {
				b.Supervisor.addStop(pp)
			}
		}
	} else {
		b.Supervisor.Root = int(cred.Pid)
		b.Supervisor.rootExempt = b.rootExempt
		// The launcher is under the filter already and waits for the
		// reply below: from here on, any change of its view (or its
		// descendants') reaches the supervisor first.
		b.Supervisor.sameView.Store(sameView(int(cred.Pid)))
	}
	if _, err := c.Write([]byte{1}); err != nil {
		return err
	}
	return b.Supervisor.Serve(fd, stop)
}

// sameView reports whether process pid has the wrapper's root and mount
// namespace (a path then names the same file for both).
func sameView(pid int) bool {
	p := "/proc/" + strconv.Itoa(pid)
	if root, err := os.Readlink(p + "/root"); err != nil || root != "/" {
		return false
	}
	var theirs, ours unix.Stat_t
	if unix.Stat(p+"/ns/mnt", &theirs) != nil || unix.Stat("/proc/self/ns/mnt", &ours) != nil {
		return false
	}
	return theirs.Dev == ours.Dev && theirs.Ino == ours.Ino
}

// lookPath resolves the program in the command's PATH, as the host
// backend does, so that a missing program is still 127 with the host's
// error.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path, found := "", false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path, found = v, true
		}
	}
	if !found {
		path = os.Getenv("PATH")
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		p := d + "/" + name
		var st syscall.Stat_t
		if name != "" && syscall.Stat(p, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG && st.Mode&0o111 != 0 {
			return p, nil
		}
	}
	return "", &isolate.StartError{Op: "lookup", Path: name, Err: exec.ErrNotFound}
}
