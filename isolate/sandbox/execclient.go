package sandbox

import (
	"context"
	"net"
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer"

	"hermes-exec/isolate"
	"hermes-exec/isolate/sandbox/execproto"
)

// errNoExecSocket means the reaper did not take the command and nothing was
// started: the caller starts it through libcontainer instead.
var errNoExecSocket = execproto.ErrNotTaken

// listenExec makes the session's exec socket (see execserver.go) and
// returns it as a file to pass to the reaper. Only the owner may connect:
// whoever can connect runs commands in the container.
func listenExec(path string) (*os.File, error) {
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return nil, err
	}
	// The path must outlive this listener: the reaper holds a copy.
	l.SetUnlinkOnClose(false)
	defer l.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, err
	}
	return l.File()
}

// execViaReaper has the session's reaper start s (execserver.go): the
// fast way, with no second container process to set up. A terminal needs a
// pty made inside the container, which libcontainer provides, and a
// rootless reaper cannot start commands as the caller: both go through
// execIn, as does a session made without an exec socket. The main binary
// takes the same way without this helper (isolate/sandboxexec).
func (b *backend) execViaReaper(ctx context.Context, c *libcontainer.Container, s isolate.Spec) (st isolate.Status, started bool, err error) {
	if s.TTY || b.tmpl.nested || b.o.ExecChecks {
		return st, false, errNoExecSocket
	}
	path := filepath.Join(b.o.StateDir, c.ID(), execSocketName)
	req := execproto.Request{Args: s.Args, Env: b.processEnv(s.Env), Dir: b.cwd(s.Dir)}
	before := oomKills(c)
	st, started, err = execproto.Exec(ctx, path, req, s.Stdin, s.Stdout, s.Stderr)
	if err != nil {
		return st, started, err
	}
	if oomKills(c) > before {
		st = oomStatus(st, b.o.Memory)
	}
	return st, true, nil
}
