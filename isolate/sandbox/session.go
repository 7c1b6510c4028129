package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"hermes-exec/isolate"
)

// runSession runs s as an extra process in the session's container, making
// the container first if needed. If the container ended between being found
// and being joined (its reaper expired, `sandbox rm`), it is made again once.
func (b *backend) runSession(ctx context.Context, s isolate.Spec) (isolate.Status, error) {
	id := sessionID(s.Session, b.o.Fingerprint())
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		c, lk, err := b.openSession(id, s.Session, s.ExecChecks)
		if err != nil {
			return isolate.Status{}, err
		}
		st, started, err := b.execViaReaper(ctx, c, s)
		if errors.Is(err, errNoExecSocket) {
			st, started, err = b.execIn(ctx, c, s)
		}
		lk.Touch()
		lk.Release(false)
		if err == nil || started {
			return st, err
		}
		lastErr = err
		if status, serr := c.Status(); serr == nil && status != libcontainer.Stopped {
			break // the container is fine: the command itself could not start
		}
	}
	return isolate.Status{}, lastErr
}

// openSession returns the running session container with its lock held
// shared, so that gc and idle expiry leave it alone while the command runs.
func (b *backend) openSession(id, session, execChecks string) (*libcontainer.Container, *lock, error) {
	lk, err := acquireLock(b.o.StateDir, id, unix.LOCK_SH, false)
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: %w", err)
	}
	if c, err := libcontainer.Load(b.o.StateDir, id); err == nil {
		if st, err := c.Status(); err == nil && st == libcontainer.Running {
			lk.Touch()
			return c, lk, nil
		}
	}
	// Missing or dead: make it under the exclusive lock. Another wrapper
	// may have done so while this one waited, hence the second look.
	lk.Release(false)
	lk, err = acquireLock(b.o.StateDir, id, unix.LOCK_EX, false)
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: %w", err)
	}
	c, err := libcontainer.Load(b.o.StateDir, id)
	if err == nil {
		if st, serr := c.Status(); serr == nil && st == libcontainer.Running {
			return b.shareLock(c, lk)
		}
		if err := destroy(b.o.StateDir, c); err != nil {
			lk.Release(false)
			return nil, nil, fmt.Errorf("sandbox: removing the ended session container: %w", err)
		}
	}
	if !b.tmpl.rootless {
		// No state, under the exclusive lock: a cgroup of this id is
		// what a container whose state directory was deleted left.
		removeCgroups(b.o.StateDir, id)
	}
	c, err = b.startSession(id, session, execChecks)
	if err != nil {
		lk.Release(true)
		return nil, nil, err
	}
	return b.shareLock(c, lk)
}

// shareLock turns the exclusive lock into a shared one. flock may drop the
// lock for a moment while converting; gc then finds a running container used
// just now and leaves it.
func (b *backend) shareLock(c *libcontainer.Container, lk *lock) (*libcontainer.Container, *lock, error) {
	lk.Touch()
	if err := unix.Flock(int(lk.File().Fd()), unix.LOCK_SH); err != nil {
		lk.Release(false)
		return nil, nil, fmt.Errorf("sandbox: %w", err)
	}
	return c, lk, nil
}

// startSession makes a session container whose init is the reaper. Its
// stdio is /dev/null: it outlives this wrapper and must not hold the agent's
// pipes open.
func (b *backend) startSession(id, session, execChecks string) (*libcontainer.Container, error) {
	c, _, err := b.create(id, b.withExecAgent(id, nil), labelKind+"="+kindSession, labelSession+"="+session)
	if err != nil {
		return nil, fmt.Errorf("sandbox: creating the session container: %w", err)
	}
	exe, err := b.sealExe()
	if err != nil {
		_ = c.Destroy()
		return nil, fmt.Errorf("sandbox: sealing the reaper binary: %w", err)
	}
	defer exe.Close()
	p := &libcontainer.Process{
		Args: []string{"/proc/self/fd/" + strconv.Itoa(reaperExeFd), reaperArg, "session",
			strconv.FormatInt(int64(b.o.Idle.Seconds()), 10)},
		Env:        []string{"PATH=/usr/bin:/bin"},
		Cwd:        "/",
		UID:        b.tmpl.uid,
		GID:        b.tmpl.gid,
		Init:       true,
		ExtraFiles: []*os.File{exe}, // reaperExeFd
	}
	if !b.tmpl.nested && !b.o.ExecChecks {
		// With exec checks the reaper starts nothing (execcheck.go).
		// A rootless reaper stays outside the caller's user namespace
		// (userns.go), so its commands keep coming through libcontainer.
		// Without the socket (a state directory path too long for
		// one, say) commands still go through libcontainer.
		if sock, err := listenExec(filepath.Join(b.o.StateDir, id, execSocketName)); err != nil {
			logrus.WithError(err).Debug("sandbox: no exec socket")
		} else {
			defer sock.Close()
			p.Args = append(p.Args, execSocketArg)
			p.ExtraFiles = append(p.ExtraFiles, sock) // reaperSocketFd
		}
	}
	agent, err := b.startExecAgent(id, execChecks)
	if err != nil {
		_ = destroy(b.o.StateDir, c)
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	err = c.Run(p)
	if aerr := agent.wait(err == nil); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		_ = destroy(b.o.StateDir, c)
		return nil, fmt.Errorf("sandbox: starting the session container: %w", err)
	}
	// The reaper is this process's child until this wrapper exits; it
	// must not become a zombie if it ends first, so something waits.
	go func() { _, _ = p.Wait() }()
	return c, nil
}

// execIn runs s in c as an extra process. started reports whether the
// command got to run (then err is about waiting for it, not starting it).
func (b *backend) execIn(ctx context.Context, c *libcontainer.Container, s isolate.Spec) (st isolate.Status, started bool, err error) {
	p := b.process(s, s.Args)
	if b.tmpl.nested {
		// The command's starter enters the caller's user namespace,
		// then becomes the command (execmode.go).
		exe, err := b.sealExe()
		if err != nil {
			return st, false, fmt.Errorf("sandbox: sealing the starter binary: %w", err)
		}
		defer exe.Close()
		lifeR, lifeW, err := os.Pipe()
		if err != nil {
			return st, false, err
		}
		// lifeW stays open (close-on-exec) until this function returns
		// or the helper dies; lifeR is the supervisor's.
		defer lifeW.Close()
		defer lifeR.Close()
		p.Args = b.inCallerUserns(append([]string{"/proc/self/fd/" + strconv.Itoa(reaperExeFd), execArg, lifelineArg, "--"}, s.Args...))
		p.ExtraFiles = []*os.File{exe, lifeR} // reaperExeFd, execLifelineFd
	}
	con, err := newConsole(p, s)
	if err != nil {
		return st, false, err
	}
	defer con.close()
	before := oomKills(c)
	rec, err := newExecRecord(b.o.StateDir, c.ID())
	if err != nil {
		return st, false, fmt.Errorf("sandbox: %w", err)
	}
	defer rec.done()
	agent, err := b.startExecAgent(c.ID(), s.ExecChecks)
	if err != nil {
		return st, false, fmt.Errorf("sandbox: %w", err)
	}
	err = c.Run(p)
	if aerr := agent.wait(err == nil); aerr != nil && err == nil {
		_ = p.Signal(unix.SIGKILL)
		_, _ = p.Wait()
		return st, false, fmt.Errorf("sandbox: %w", aerr)
	}
	if err != nil {
		return st, false, fmt.Errorf("sandbox: starting the command: %w", err)
	}
	pid, _ := p.Pid()
	rec.started(pid)
	con.start()
	// Tell the reaper a command started: it restarts its idle clock.
	if state, err := c.State(); err == nil && state.InitProcessPid > 0 {
		_ = unix.Kill(state.InitProcessPid, unix.SIGUSR1)
	}
	// The command is a session leader: signal its whole process group,
	// as a terminal would.
	stop := forwardSignals(ctx, func(sig os.Signal) {
		_ = unix.Kill(-pid, sig.(unix.Signal))
	})
	ps, werr := p.Wait()
	stop()
	con.wait()
	st = statusOf(ps, werr)
	if oomKills(c) > before {
		st = oomStatus(st, b.o.Memory)
	}
	return st, true, nil
}
