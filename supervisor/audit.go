package supervisor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// auditRecord is one line of /var/log/hermes-exec/USER.jsonl: what the
// supervisor was asked by whom (the kernel's word), what it decided, how
// the command ended. The user's own audit log records the approval; this
// one is root's and the user cannot edit it.
type auditRecord struct {
	Time     time.Time `json:"time"`
	ID       string    `json:"id"`
	Event    string    `json:"event"` // start, end, refused
	User     string    `json:"user"`
	UID      int       `json:"uid"`
	PID      int       `json:"pid"`
	PIDFD    bool      `json:"pidfd,omitempty"`
	Session  string    `json:"session,omitempty"`
	Command  string    `json:"command,omitempty"`
	Cwd      string    `json:"cwd,omitempty"`
	Memory   int64     `json:"memory,omitempty"`
	CPUs     float64   `json:"cpus,omitempty"`
	Pids     int64     `json:"pids,omitempty"`
	Path     string    `json:"path,omitempty"` // session fast path or helper
	Exit     *int      `json:"exit,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Duration int64     `json:"duration_ms,omitempty"`
}

// auditPath is the user's log file; names from the user database never
// hold a slash, but nothing from outside chooses a path unchecked.
func (s *Server) auditPath(name string) string {
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == 0 || r < ' ' {
			return '_'
		}
		return r
	}, name)
	if name == "" || name == "." || name == ".." {
		name = "_"
	}
	return filepath.Join(s.cfg.AuditDir, name+".jsonl")
}

// audit appends rec to the user's log: opened without following a
// symlink, refused unless a regular file of root's, mode 0600. A start
// that cannot be recorded does not run (the caller denies).
func (s *Server) audit(rec auditRecord) error {
	st := s.users.get(rec.UID)
	st.audit.Lock()
	defer st.audit.Unlock()
	p := s.auditPath(rec.User)
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0o600)
	if err != nil {
		return fmt.Errorf("audit log %s: %w", p, err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	var fi unix.Stat_t
	if err := unix.Fstat(fd, &fi); err != nil {
		return err
	}
	if fi.Mode&unix.S_IFMT != unix.S_IFREG || fi.Uid != 0 {
		return fmt.Errorf("audit log %s is not a regular file of root's", p)
	}
	if fi.Mode&0o077 != 0 {
		_ = f.Chmod(0o600)
	}
	rec.Time = time.Now().UTC()
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = f.Write(append(line, '\n'))
	return err
}
