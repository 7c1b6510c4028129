package supervisor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"hermes-exec/adminpolicy"
	"hermes-exec/internal/exitcode"
	"hermes-exec/internal/hermeshome"
	"hermes-exec/isolate"
	"hermes-exec/isolate/owner"
	"hermes-exec/isolate/sandbox/execproto"
	"hermes-exec/isolate/sandboxexec"
	"hermes-exec/isolate/supervisorexec"
	"hermes-exec/policy"
	"hermes-exec/shim"
)

// run is one command in flight.
type run struct {
	conn   *net.UnixConn
	cancel context.CancelFunc
	// sigs feeds the command's relay: the client's signals, and the
	// supervisor's SIGTERM when it stops.
	sigs     chan os.Signal
	shutdown chan struct{}
	once     sync.Once
}

// stop is the supervisor stopping: the command gets sig, and its wrapper
// will hear why it ended.
func (r *run) stop(sig os.Signal) {
	r.once.Do(func() { close(r.shutdown) })
	select {
	case r.sigs <- sig:
	default:
	}
}

func (r *run) kill() { r.cancel() }

func (r *run) stopped() bool {
	select {
	case <-r.shutdown:
		return true
	default:
		return false
	}
}

// relay is an execproto.Relay fed by r.sigs: the sandbox's reaper, or the
// helper, gets the signals meant for the command, and SIGKILL when ctx
// ends.
func (r *run) relay(ctx context.Context, send func(os.Signal)) func() {
	stop := execproto.RelayFrom(ctx, r.sigs, send)
	var once sync.Once
	return func() { once.Do(stop) }
}

// relayed are the signals a client may pass to its command (those a shell
// passes to its foreground job, as execproto.ForwardSignals relays).
var relayed = map[unix.Signal]bool{
	unix.SIGINT: true, unix.SIGTERM: true, unix.SIGHUP: true, unix.SIGQUIT: true,
	unix.SIGUSR1: true, unix.SIGUSR2: true, unix.SIGKILL: true, unix.SIGWINCH: true,
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// handle serves one connection: one command.
func (s *Server) handle(conn *net.UnixConn) {
	defer conn.Close()
	p, err := peerOf(conn)
	if err != nil {
		s.cfg.Log.WithError(err).Warn("supervisor: cannot tell who is calling; refused")
		return
	}
	if p.pidfd >= 0 {
		defer unix.Close(p.pidfd)
	}
	done, ok := s.users.connect(p.uid)
	if !ok {
		s.cfg.Log.WithField("uid", p.uid).Warn("supervisor: too many connections; refused")
		return
	}
	defer done()
	name, groups := adminpolicy.Identity(p.uid)
	rec := auditRecord{ID: newID(), User: name, UID: p.uid, PID: p.pid, PIDFD: p.pidfd >= 0}
	refuse := func(format string, a ...any) {
		rec.Event, rec.Reason = "refused", fmt.Sprintf(format, a...)
		if err := s.audit(rec); err != nil {
			s.cfg.Log.WithError(err).Warn("supervisor: audit")
		}
		s.cfg.Log.WithField("user", name).Info("supervisor: refused: " + rec.Reason)
		_ = supervisorexec.WriteFrame(conn, supervisorexec.Msg{Type: supervisorexec.MsgError, Code: exitcode.Denied, Reason: rec.Reason})
	}

	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	req, files, err := readRequest(conn)
	if err != nil {
		refuse("bad request: %v", err)
		return
	}
	defer files.close()
	_ = conn.SetReadDeadline(time.Time{})
	rec.Session = req.Session
	rec.Command = policy.QuoteArgv(req.Args)
	rec.Command = shim.Redact(rec.Command, shim.SecretValues(req.Env))
	if len(req.Args) == 0 {
		refuse("empty command")
		return
	}

	pol, err := s.policy(p.uid)
	if err != nil {
		refuse("policy: %v", err)
		return
	}
	_ = groups
	if !pol.AllowsBackend("supervisor") {
		refuse("the supervisor backend is not allowed for %s by %s", name, pol.Path)
		return
	}
	// The wrapper applied the policy's deny rules already; a caller that
	// talks to the socket without the wrapper meets them here.
	if len(pol.Deny) > 0 {
		cls, err := policy.NewClassifier(policy.Rules{Deny: pol.Deny})
		if err != nil {
			refuse("policy %s: %v", pol.Path, err)
			return
		}
		if v := cls.ClassifyArgv(req.Args); v.Decision == policy.Deny {
			refuse("denied by the administrator's policy (%s)", pol.Path)
			return
		}
	}
	maxRunning, maxSessions, perMinute := pol.SupervisorCaps()
	release, err := s.users.admit(p.uid, maxRunning, perMinute)
	if err != nil {
		refuse("%v", err)
		return
	}
	defer release()

	o, cwd, err := s.options(p, req, files, pol)
	if err != nil {
		refuse("%v", err)
		return
	}
	rec.Cwd, rec.Memory, rec.CPUs, rec.Pids = cwd, o.Memory, o.CPUs, o.Pids
	if o.Persist != execproto.PersistNone && req.Session != "" {
		full, err := o.WithDefaults()
		if err != nil {
			refuse("%v", err)
			return
		}
		if full.Workspace != o.Workspace {
			refuse("the workspace %s changed while it was checked", o.Workspace)
			return
		}
		id := execproto.SessionID(req.Session, full.Fingerprint())
		if _, err := os.Lstat(filepath.Join(o.StateDir, id)); err != nil && sessionCount(o.StateDir, execproto.SessionPrefix) >= maxSessions {
			refuse("%d session sandboxes of yours exist already (max_sessions %d; `hermes-exec sandbox rm` is not available through the supervisor: they end after container.idle)", maxSessions, maxSessions)
			return
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &run{conn: conn, cancel: cancel, sigs: make(chan os.Signal, 16), shutdown: make(chan struct{})}
	if !s.track(r) {
		refuse("the supervisor is stopping")
		return
	}
	defer s.untrack(r)

	rec.Event = "start"
	if err := s.audit(rec); err != nil {
		// Not on record, not run.
		refuse("cannot write the audit log: %v", err)
		return
	}
	if err := supervisorexec.WriteFrame(conn, supervisorexec.Msg{Type: supervisorexec.MsgStarted}); err != nil {
		return
	}
	go s.watchClient(ctx, r, p)

	start := time.Now()
	spec := isolate.Spec{
		Args: req.Args, Env: req.Env, Dir: cwd, TTY: req.TTY, Session: req.Session,
		Stdin: files[supervisorexec.FDStdin], Stdout: files[supervisorexec.FDStdout], Stderr: files[supervisorexec.FDStderr],
	}
	st, path := s.execute(ctx, r, o, spec)
	rec.Event, rec.Path, rec.Exit, rec.Reason = "end", path, &st.Code, st.Reason
	rec.Duration = time.Since(start).Milliseconds()
	if r.stopped() {
		rec.Reason = "the supervisor stopped while the command ran"
	}
	if err := s.audit(rec); err != nil {
		s.cfg.Log.WithError(err).Warn("supervisor: audit")
	}
	if r.stopped() {
		_ = supervisorexec.WriteFrame(conn, supervisorexec.Msg{Type: supervisorexec.MsgError, Code: exitcode.Denied,
			Reason: fmt.Sprintf("the supervisor stopped (restart?) while the command ran; it was ended (its status: %d)", st.Code)})
		return
	}
	_ = supervisorexec.WriteFrame(conn, supervisorexec.Msg{Type: supervisorexec.MsgExit, Code: st.Code, Signal: st.Signal, Reason: st.Reason})
}

// watchClient passes the client's signals to the command and kills the
// command when the client goes: its connection closes, or (pidfd) the
// wrapper process itself exits.
func (s *Server) watchClient(ctx context.Context, r *run, p peer) {
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			var m supervisorexec.Msg
			if err := supervisorexec.ReadFrame(r.conn, nil, &m); err != nil {
				return
			}
			if m.Type == supervisorexec.MsgSignal && relayed[unix.Signal(m.Signal)] {
				if unix.Signal(m.Signal) == unix.SIGKILL {
					r.cancel()
					continue
				}
				select {
				case r.sigs <- unix.Signal(m.Signal):
				default:
				}
			}
		}
	}()
	var pidfdGone chan struct{}
	if p.pidfd >= 0 {
		pidfdGone = make(chan struct{})
		go func() {
			fds := []unix.PollFd{{Fd: int32(p.pidfd), Events: unix.POLLIN}}
			for ctx.Err() == nil {
				n, err := unix.Poll(fds, 200)
				if n > 0 || (err != nil && !errors.Is(err, unix.EINTR)) {
					close(pidfdGone)
					return
				}
			}
		}()
	}
	select {
	case <-ctx.Done():
	case <-gone:
		r.cancel()
	case <-pidfdGone:
		r.cancel()
	}
}

// options are the sandbox options for this caller: the caller as owner
// (uid and home from the user database), state in a directory of its own
// that only root can reach, paths from the caller's descriptors, limits
// capped by the policy.
func (s *Server) options(p peer, req supervisorexec.Request, files received, pol adminpolicy.Effective) (sandboxexec.Options, string, error) {
	var o sandboxexec.Options
	home := owner.UserHome(p.uid)
	gid := p.gid
	if u, err := lookupGID(p.uid); err == nil {
		gid = u
	}
	who := owner.Owner{UID: p.uid, GID: gid, Home: home}
	if rd := "/run/user/" + strconv.Itoa(p.uid); isDir(rd) {
		who.RuntimeDir = rd
	}
	o.Owner = &who
	o.StateDir = filepath.Join(s.cfg.StateRoot, strconv.Itoa(p.uid))
	if err := rootDir(o.StateDir, stateDirMode); err != nil {
		return o, "", err
	}
	cwd, err := dirPath(files[supervisorexec.FDCwd], -1)
	if err != nil {
		return o, "", fmt.Errorf("working directory: %v", err)
	}
	o.HermesHome = hermeshome.Default(home)
	if f := files[supervisorexec.FDHermesHome]; f != nil {
		// Hidden inside the sandbox; only a directory of the caller's.
		if hp, err := dirPath(f, p.uid); err == nil {
			o.HermesHome = hp
		}
	}
	if f := files[supervisorexec.FDWorkspace]; f != nil {
		if o.Workspace, err = dirPath(f, -1); err != nil {
			return o, "", fmt.Errorf("container.workspace: %v", err)
		}
	} else {
		// As for the wrapper: the session's first working directory.
		o.Workspace, o.WorkspaceFromCwd = cwd, true
	}
	o.Memory, o.CPUs, o.Pids, o.TmpfsSize = pol.Limits(req.Memory, req.CPUs, req.Pids, req.TmpfsSize)
	o.Network, o.Persist, o.Idle = req.Network, req.Persist, req.Idle
	o.Passthrough, o.HomeReadable, o.ProtectedPaths = req.Passthrough, req.HomeReadable, req.ProtectedPaths
	return o, cwd, nil
}

// execute runs the command: through the session's reaper when its sandbox
// runs, else by a helper started for the user. path says which.
func (s *Server) execute(ctx context.Context, r *run, o sandboxexec.Options, spec isolate.Spec) (isolate.Status, string) {
	if st, ok := sandboxexec.RunInSession(ctx, o, spec, r.relay); ok {
		return st, "session"
	}
	return s.runHelper(ctx, r, o, spec), "helper"
}

// runHelper starts hermes-exec-sandbox for the caller and waits for it.
// It dies with the supervisor (parent-death signal), which ends its
// sandbox; ctx's end kills it, and the sandbox's own lifeline then ends the
// command.
func (s *Server) runHelper(ctx context.Context, r *run, o sandboxexec.Options, spec isolate.Spec) isolate.Status {
	req := sandboxexec.Request{Options: o, Env: spec.Env, Dir: spec.Dir, TTY: spec.TTY, Session: spec.Session}
	args, env, err := sandboxexec.HelperCommand(s.cfg.Helper, req, spec.Args)
	if err != nil {
		fmt.Fprintf(spec.Stderr, "hermes-exec: supervisor: %v\n", err)
		return isolate.Status{Code: exitcode.Denied}
	}
	if v, ok := execproto.LookupVar(spec.Env, "TERM"); ok {
		env = append(env, "TERM="+v)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	cmd.Dir = "/"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = spec.Stdin, spec.Stdout, spec.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	// Pdeathsig follows the forking thread: hold it until the helper is
	// reaped.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(spec.Stderr, "hermes-exec: supervisor: starting %s: %v\n", s.cfg.Helper, err)
		return isolate.Status{Code: exitcode.Denied}
	}
	stop := r.relay(ctx, func(sig os.Signal) { _ = cmd.Process.Signal(sig) })
	err = cmd.Wait()
	stop()
	if err == nil {
		return isolate.Status{}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			if ctx.Err() != nil {
				return isolate.Status{Code: exitcode.Signaled(ws.Signal()), Reason: "killed: its wrapper went away"}
			}
			return isolate.Status{Code: exitcode.Signaled(ws.Signal())}
		}
		return isolate.Status{Code: ws.ExitStatus()}
	}
	return isolate.Status{Code: exitcode.Denied, Reason: err.Error()}
}

func isDir(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir()
}
