// Package supervisor is the root daemon of shared machines (`hermes-exec
// supervisor`): it runs its users' commands, already classified and
// approved by their own wrappers, in each user's own sandbox, as that
// user's uid, with cgroup limits only root can set on cgroup v1, capped by
// the administrator's policy (package adminpolicy).
//
// It is pure Go and lives in the static wrapper binary: it never links
// libcontainer itself. A command for a running session sandbox goes to that
// sandbox's reaper (isolate/sandboxexec.RunInSession); anything else starts
// hermes-exec-sandbox for the user, as the wrapper would, with the user as
// the sandbox's owner. So a fault in container set-up takes down one
// helper, not the daemon every user depends on, and the daemon's own
// attack surface stays the size of this package.
//
// What it trusts: who the caller is comes from the kernel (SO_PEERCRED, and
// the peer's pidfd where the kernel has SO_PEERPIDFD); every path is a
// descriptor the caller opened (fds.go). What it does not: anything in the
// request but the command and the user's wishes for limits, which the
// policy caps.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"hermes-exec/adminpolicy"
	"hermes-exec/isolate/supervisorexec"
)

// Defaults of Config.
const (
	DefaultStateRoot = "/run/hermes-exec/supervisor"
	DefaultAuditDir  = "/var/log/hermes-exec"
	DefaultGroup     = "hermes-exec"
	// Grace is how long running commands get to end after SIGTERM when
	// the supervisor stops, before SIGKILL.
	DefaultGrace = 5 * time.Second
)

// Config configures a Server.
type Config struct {
	// Listen is the socket path (supervisorexec.DefaultSocket).
	Listen string
	// Group may connect (mode 0660); a missing group leaves the socket
	// to root alone (0600), with a warning.
	Group string
	// Helper is hermes-exec-sandbox.
	Helper string
	// StateRoot holds one sandbox state directory per uid.
	StateRoot string
	// AuditDir holds the per-user audit logs USER.jsonl.
	AuditDir string
	// PolicyPath is the administrator's policy; "" is adminpolicy's fixed
	// path. Only the root daemon's --policy flag sets it (tests); the
	// wrapper has no such switch.
	PolicyPath string
	Grace      time.Duration
	Log        *logrus.Logger
}

// Server is a running supervisor.
type Server struct {
	cfg   Config
	users *users

	mu       sync.Mutex
	running  map[*run]struct{}
	stopping bool
	wg       sync.WaitGroup
}

// New checks the configuration; the caller must be root.
func New(cfg Config) (*Server, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the supervisor runs as root (it starts sandboxes for other users); users reach it through terminal.backend: supervisor")
	}
	if cfg.Listen == "" {
		cfg.Listen = supervisorexec.DefaultSocket
	}
	if cfg.Group == "" {
		cfg.Group = DefaultGroup
	}
	if cfg.StateRoot == "" {
		cfg.StateRoot = DefaultStateRoot
	}
	if cfg.AuditDir == "" {
		cfg.AuditDir = DefaultAuditDir
	}
	if cfg.Grace == 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Log == nil {
		cfg.Log = logrus.StandardLogger()
	}
	if cfg.Helper == "" {
		return nil, errors.New("no hermes-exec-sandbox to start sandboxes with")
	}
	if err := rootDir(cfg.AuditDir, 0o700); err != nil {
		return nil, err
	}
	if err := rootDir(cfg.StateRoot, stateDirMode); err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, users: newUsers(), running: map[*run]struct{}{}}, nil
}

// stateDirMode is the state root's and each user's state directory's:
// root's, searchable but not listable. The sandbox's container set-up runs
// in the owner's user namespace and must reach the rootfs mount point
// inside; each container's own directory stays root's, 0700, so no user
// reaches another's (or its own) state or reaper socket.
const stateDirMode = 0o711

// rootDir makes d (and its parents) a directory of root's with mode,
// refusing one that is not root's: per-user state and logs under it must
// be out of every user's reach.
func rootDir(d string, mode os.FileMode) error {
	if err := os.MkdirAll(d, 0o700); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(d, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Uid != 0 {
		return fmt.Errorf("%s must be a directory owned by root", d)
	}
	return os.Chmod(d, mode)
}

// policy loads the administrator's policy for one command: an edit takes
// effect at the next command, without a restart.
func (s *Server) policy(uid int) (adminpolicy.Effective, error) {
	if s.cfg.PolicyPath != "" {
		pol, err := adminpolicy.LoadPath(s.cfg.PolicyPath)
		if err != nil {
			return adminpolicy.Effective{}, err
		}
		name, groups := adminpolicy.Identity(uid)
		return pol.For(name, groups), nil
	}
	return adminpolicy.ForUID(uid)
}

// Listen is the supervisor's socket: the one systemd passes (LISTEN_FDS,
// socket activation), else a new one at cfg.Listen, mode 0660 for
// cfg.Group.
func (s *Server) Listen() (*net.UnixListener, error) {
	if ln, ok, err := systemdListener(); ok || err != nil {
		return ln, err
	}
	p := s.cfg.Listen
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Uid != 0 || st.Mode&0o022 != 0 {
		return nil, fmt.Errorf("%s must be a directory owned by root and writable by no one else", dir)
	}
	// A socket left by a supervisor that died; anything else is not
	// ours to remove.
	if unix.Lstat(p, &st) == nil {
		if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
			return nil, fmt.Errorf("%s exists and is not a socket", p)
		}
		if c, err := net.Dial("unix", p); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another supervisor is listening", p)
		}
		_ = os.Remove(p)
	}
	old := unix.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
	unix.Umask(old)
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(true)
	g, err := user.LookupGroup(s.cfg.Group)
	if err != nil {
		s.cfg.Log.Warnf("supervisor: no group %q (groupadd %s; usermod -aG %s USER): only root can use %s", s.cfg.Group, s.cfg.Group, s.cfg.Group, p)
		return ln, nil
	}
	gid, _ := strconv.Atoi(g.Gid)
	if err := os.Chown(p, 0, gid); err != nil {
		ln.Close()
		return nil, err
	}
	if err := os.Chmod(p, 0o660); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// systemdListener is the socket systemd passed (sd_listen_fds: fd 3 when
// LISTEN_PID is this process and LISTEN_FDS is 1).
func systemdListener() (*net.UnixListener, bool, error) {
	pid, fds := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS")
	if fds == "" {
		return nil, false, nil
	}
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	if pid != strconv.Itoa(os.Getpid()) {
		return nil, false, nil
	}
	if fds != "1" {
		return nil, true, fmt.Errorf("systemd passed %s sockets; the supervisor takes one (hermes-exec-supervisor.socket)", fds)
	}
	unix.CloseOnExec(3)
	f := os.NewFile(3, "LISTEN_FDS")
	l, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return nil, true, fmt.Errorf("the socket systemd passed: %w", err)
	}
	ul, ok := l.(*net.UnixListener)
	if !ok {
		l.Close()
		return nil, true, errors.New("the socket systemd passed is not a unix socket")
	}
	return ul, true, nil
}

// Serve accepts until ctx ends, then stops: running commands get SIGTERM,
// then SIGKILL after the grace period, and their wrappers are told why
// (126 with the reason). Sessions outlive it and are taken up again by the
// next supervisor (their state is kept per user under StateRoot).
func (s *Server) Serve(ctx context.Context, ln *net.UnixListener) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	s.cfg.Log.Infof("supervisor: listening on %s", ln.Addr())
	var err error
	for {
		conn, aerr := ln.AcceptUnix()
		if aerr != nil {
			if ctx.Err() == nil {
				err = aerr
			}
			break
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(conn)
		}()
	}
	s.shutdown()
	return err
}

// shutdown ends every running command: SIGTERM, the grace period, SIGKILL.
func (s *Server) shutdown() {
	s.mu.Lock()
	s.stopping = true
	runs := make([]*run, 0, len(s.running))
	for r := range s.running {
		runs = append(runs, r)
	}
	s.mu.Unlock()
	for _, r := range runs {
		r.stop(unix.SIGTERM)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(s.cfg.Grace):
	}
	for _, r := range runs {
		r.kill()
	}
	<-done
}

func (s *Server) track(r *run) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.running[r] = struct{}{}
	return true
}

func (s *Server) untrack(r *run) {
	s.mu.Lock()
	delete(s.running, r)
	s.mu.Unlock()
}
