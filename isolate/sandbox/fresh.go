package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"hermes-exec/internal/phase"
	"hermes-exec/isolate"
)

// runFresh makes a container for one command and destroys it afterwards.
// The reaper is the container's init and runs the command as its child.
func (b *backend) runFresh(ctx context.Context, s isolate.Spec) (st isolate.Status, err error) {
	id := freshPrefix + randomHex(8)
	lk, err := acquireLock(b.o.StateDir, id, unix.LOCK_EX, false)
	if err != nil {
		return st, fmt.Errorf("sandbox: %w", err)
	}
	// The container dies with the wrapper: if the wrapper is killed, the
	// kernel kills the reaper and with it the whole pid namespace. See the
	// thread locking below.
	prog := b.freshSeccomp()
	c, _, err := b.create(id, b.withExecAgent(id, func(cfg *configs.Config) {
		cfg.ParentDeathSignal = int(unix.SIGKILL)
		if prog != nil {
			cfg.Seccomp = nil // the reaper installs the same program
		}
	}), labelKind+"="+kindFresh)
	phase.Mark("sandbox-create")
	if err != nil {
		lk.Release(true)
		return st, fmt.Errorf("sandbox: creating the container: %w", err)
	}
	defer func() {
		if derr := destroy(b.o.StateDir, c); derr != nil {
			logrus.WithError(derr).Warn("sandbox: removing the container")
		}
		lk.Release(true)
		phase.Mark("sandbox-destroy")
	}()

	exe, err := b.sealExe()
	if err != nil {
		return st, fmt.Errorf("sandbox: sealing the reaper binary: %w", err)
	}
	defer exe.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return st, err
	}
	defer statusR.Close()

	args := []string{"/proc/self/fd/" + strconv.Itoa(reaperExeFd), reaperArg, "run"}
	if s.TTY {
		args = append(args, "tty")
	}
	if prog != nil {
		args = append(args, seccompArg)
	}
	args = append(append(args, "--"), s.Args...)
	p := b.process(s, b.inCallerUserns(args))
	p.Init = true
	var setup *os.File
	if prog != nil {
		if setup, err = reaperSetup(prog, p.Env); err != nil {
			statusW.Close()
			return st, err
		}
		defer setup.Close()
		p.Env = nil
	}
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		statusW.Close()
		return st, err
	}
	// lifeW stays open (close-on-exec, so no child inherits it) until
	// this function returns or the process dies: see watchLifeline.
	defer lifeW.Close()
	// Order fixes the fd numbers: reaperExeFd, reaperStatusFd,
	// reaperLifelineFd, reaperSetupFd.
	p.ExtraFiles = []*os.File{exe, statusW, lifeR}
	if setup != nil {
		p.ExtraFiles = append(p.ExtraFiles, setup)
	}

	con, err := newConsole(p, s)
	if err != nil {
		statusW.Close()
		lifeR.Close()
		return st, err
	}
	defer con.close()

	// The parent-death signal fires when the thread that forked the
	// container exits, not the process. Go may retire an unlocked
	// goroutine's thread at any time (starts then fail about 1 in 32), so
	// the thread stays locked from fork to wait.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	agent, err := b.startExecAgent(id, s.ExecChecks)
	if err != nil {
		statusW.Close()
		lifeR.Close()
		return st, fmt.Errorf("sandbox: %w", err)
	}
	err = c.Run(p)
	statusW.Close()
	lifeR.Close()
	if aerr := agent.wait(err == nil); aerr != nil && err == nil {
		// The container goes (deferred destroy); nothing of it ran
		// unchecked: its execs fail while nobody holds the listener.
		return st, fmt.Errorf("sandbox: %w", aerr)
	}
	if err != nil {
		return st, fmt.Errorf("sandbox: starting the command: %w", err)
	}
	phase.Mark("sandbox-start")
	con.start()
	// The reaper relays these to the command's process group.
	stopFwd := forwardSignals(ctx, func(sig os.Signal) { _ = p.Signal(sig) })
	ps, werr := p.Wait()
	phase.Mark("sandbox-wait")
	stopFwd()
	con.wait()

	st = statusOf(ps, werr)
	if msg, _ := io.ReadAll(statusR); len(msg) > 0 {
		st = parseReaperStatus(string(msg), st)
	}
	if n := oomKills(c); n > 0 {
		st = oomStatus(st, b.o.Memory)
	}
	return st, nil
}

// freshSeccomp is the compiled filter a fresh container's reaper installs
// itself (seccompcache.go), or nil for libcontainer's path: a rootless
// sandbox, whose reaper enters a nested user namespace before the filter
// refuses that, or a profile the cache cannot reproduce.
func (b *backend) freshSeccomp() *bpfProgram {
	if b.tmpl.nested || b.tmpl.rootless || os.Geteuid() != 0 || b.o.ExecChecks {
		return nil // exec checks: libcontainer installs it, with the listener
	}
	p, err := cachedSeccomp(b.o.StateDir, b.tmpl.cfg.Seccomp)
	if err != nil {
		logrus.WithError(err).Debug("sandbox: no compiled seccomp filter; libcontainer compiles it")
		return nil
	}
	return p
}

// process is the libcontainer process for s with argv args: the caller's
// uid and gid, the sandbox environment, the command's stdio as they are.
func (b *backend) process(s isolate.Spec, args []string) *libcontainer.Process {
	p := &libcontainer.Process{
		Args:     args,
		Env:      b.processEnv(s.Env),
		Cwd:      b.cwd(s.Dir),
		UID:      b.tmpl.uid,
		GID:      b.tmpl.gid,
		LogLevel: strconv.Itoa(int(logrus.GetLevel())),
	}
	// A nil *os.File in an io.Reader is not a nil interface: assign only
	// real files, so a missing stream becomes /dev/null.
	if s.Stdin != nil {
		p.Stdin = s.Stdin
	}
	if s.Stdout != nil {
		p.Stdout = s.Stdout
	}
	if s.Stderr != nil {
		p.Stderr = s.Stderr
	}
	return p
}

// parseReaperStatus reads what the reaper wrote: "exit N" or "signal N".
func parseReaperStatus(msg string, fallback isolate.Status) isolate.Status {
	kind, num, ok := strings.Cut(strings.TrimSpace(msg), " ")
	if !ok {
		return fallback
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return fallback
	}
	switch kind {
	case "exit":
		return isolate.Status{Code: n}
	case "signal":
		return isolate.Status{Code: 128 + n, Signal: n}
	}
	return fallback
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}
