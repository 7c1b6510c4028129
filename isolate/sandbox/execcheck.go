package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"hermes-exec/execcheck/handoff"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Exec checks in the sandbox (terminal.exec_checks: on, Options.ExecChecks).
//
// The container's seccomp profile sends every execve and execveat to a
// seccomp agent (ocispec.ExecNotify). libcontainer installs that filter in
// each process it starts (the container's init, and every extra process of
// a session), each time with a listener of its own, and delivers the
// listener to linux.seccomp.listenerPath: it connects there from this
// process and sends the container process state (JSON) with the listener
// in SCM_RIGHTS. The agent here takes it and hands it on, over the unix
// socket the wrapper named (isolate.Spec.ExecChecks), to the wrapper's
// execcheck.Supervisor, which answers every exec with the same policy and
// approval channels as on the host. This helper keeps no copy: when the
// wrapper ends, the kernel fails the execs of anything left with ENOSYS.
//
// A session container's reaper starts no commands with exec checks on
// (every command is a libcontainer process with its own listener, handed
// to its own wrapper): the reaper's listener goes to the wrapper that made
// the container, for the reaper's own exec, and closes with it.

// execAgentName is the agent's socket in the container's state directory:
// the same path for every process of the container, since libcontainer
// keeps it in the container's config.
const execAgentName = "exec-check.sock"

// execAgentTimeout bounds the wait for libcontainer's delivery once it has
// started the process (it delivers before the process runs).
const execAgentTimeout = 10 * time.Second

// withExecAgent sets the listener path in a container's config when exec
// checks are on.
func (b *backend) withExecAgent(id string, prepare func(*configs.Config)) func(*configs.Config) {
	if !b.o.ExecChecks {
		return prepare
	}
	return func(cfg *configs.Config) {
		if prepare != nil {
			prepare(cfg)
		}
		if cfg.Seccomp == nil {
			// No profile, no listener: the command's execs would go
			// unchecked. The exec-notify profile is never cached
			// (freshSeccomp), so this cannot happen; if it ever does,
			// the container refuses to start rather than run so.
			cfg.Seccomp = &configs.Seccomp{DefaultAction: configs.Kill, ListenerPath: filepath.Join(b.o.StateDir, id, execAgentName)}
			return
		}
		s := *cfg.Seccomp // the template's is shared
		s.ListenerPath = filepath.Join(b.o.StateDir, id, execAgentName)
		cfg.Seccomp = &s
	}
}

// execChecksInSession refuses exec checks in a rootless session: a
// session's commands join the container, and libcontainer takes a joined
// process's listener with pidfd_getfd, which an unprivileged runtime may
// not do to a process that entered the container's user namespace (EPERM).
// A fresh container's init is not joined, so there they work.
func (b *backend) execChecksInSession() error {
	if b.o.ExecChecks && b.tmpl.rootless {
		return errors.New("sandbox: exec checks (terminal.exec_checks: on) need container.persist: none when hermes-exec is not root: libcontainer cannot take the seccomp listener of a command joining a rootless session container")
	}
	return nil
}

// execAgent takes the listener of one process start of one container.
type execAgent struct {
	l       *net.UnixListener
	lockFd  int
	done    chan error
	wrapper string
}

// startExecAgent listens at the container's agent socket for the next
// process start; wrapper is the wrapper's socket. Starts in the same
// container are serialised (the path is the container's).
func (b *backend) startExecAgent(id, wrapper string) (*execAgent, error) {
	if !b.o.ExecChecks {
		return nil, nil
	}
	if wrapper == "" {
		// Fail closed: with the notify rule and nobody to answer, the
		// command could not run anything; without the wrapper's
		// supervisor it must not run unchecked either.
		return nil, errors.New("exec checks are on (terminal.exec_checks) but the wrapper gave no socket for them")
	}
	dir := filepath.Join(b.o.StateDir, id)
	lockFd, err := unix.Open(filepath.Join(dir, "exec-check.lock"), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("exec checks: %w", err)
	}
	if err := flockRetry(lockFd, unix.LOCK_EX); err != nil {
		unix.Close(lockFd)
		return nil, fmt.Errorf("exec checks: %w", err)
	}
	path := filepath.Join(dir, execAgentName)
	_ = os.Remove(path) // what a killed helper left
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		unix.Close(lockFd)
		return nil, fmt.Errorf("exec checks: the seccomp agent's socket: %w", err)
	}
	a := &execAgent{l: l, lockFd: lockFd, done: make(chan error, 1), wrapper: wrapper}
	go func() { a.done <- a.take() }()
	return a, nil
}

func flockRetry(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// take accepts libcontainer's connection (from this very process: nobody
// else may hand a listener in) and forwards what it sends.
func (a *execAgent) take() error {
	c, err := a.l.AcceptUnix()
	if err != nil {
		return fmt.Errorf("exec checks: no seccomp listener came from libcontainer: %w", err)
	}
	defer c.Close()
	cred, err := handoff.Peer(c)
	if err != nil {
		return err
	}
	if int(cred.Pid) != os.Getpid() {
		return fmt.Errorf("exec checks: refused a seccomp listener from pid %d", cred.Pid)
	}
	buf, oob := make([]byte, 1<<16), make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return fmt.Errorf("exec checks: receiving the seccomp listener: %w", err)
	}
	fds, err := rights(oob[:oobn])
	if err != nil {
		return err
	}
	for _, fd := range fds[1:] {
		unix.Close(fd)
	}
	fd := fds[0]
	defer unix.Close(fd)
	var st specs.ContainerProcessState
	if err := json.Unmarshal(buf[:n], &st); err != nil {
		return fmt.Errorf("exec checks: the container process state: %w", err)
	}
	return handToWrapper(a.wrapper, fd, st.Pid, st.State.Pid)
}

// rights are the descriptors of an SCM_RIGHTS message (close-on-exec).
func rights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil || len(msgs) != 1 {
		return nil, errors.New("exec checks: no seccomp listener received")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) == 0 {
		return nil, errors.New("exec checks: no seccomp listener received")
	}
	for _, fd := range fds {
		unix.CloseOnExec(fd)
	}
	return fds, nil
}

// handToWrapper sends the listener with "PID INITPID" (the process it
// belongs to, and the container's init, as this helper sees pids: the
// wrapper's pid namespace) and waits for the wrapper to say it serves it.
func handToWrapper(sock string, fd, pid, initPid int) error {
	if err := handoff.Send(sock, []byte(strconv.Itoa(pid)+" "+strconv.Itoa(initPid)), fd); err != nil {
		return fmt.Errorf("exec checks: %w", err)
	}
	return nil
}

// wait returns once the listener was handed on (started: the process was
// started, so libcontainer delivered it), or at once when the start failed.
func (a *execAgent) wait(started bool) error {
	if a == nil {
		return nil
	}
	defer func() {
		a.l.Close()
		unix.Close(a.lockFd)
	}()
	if !started {
		a.l.Close()
		<-a.done
		return nil
	}
	select {
	case err := <-a.done:
		return err
	case <-time.After(execAgentTimeout):
		a.l.Close()
		<-a.done
		return errors.New("exec checks: libcontainer did not deliver the seccomp listener")
	}
}
