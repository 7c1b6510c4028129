package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"hermes-exec/isolate"
)

// errNoExecSocket means the reaper did not take the command and nothing was
// started: the caller starts it through libcontainer instead.
var errNoExecSocket = errors.New("sandbox: the session reaper does not take commands")

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
// execIn, as does a session made without an exec socket.
func (b *backend) execViaReaper(ctx context.Context, c *libcontainer.Container, s isolate.Spec) (st isolate.Status, started bool, err error) {
	if s.TTY || b.tmpl.rootless {
		return st, false, errNoExecSocket
	}
	path := filepath.Join(b.o.StateDir, c.ID(), execSocketName)
	conn, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return st, false, errNoExecSocket
	}
	defer conn.Close()
	req, err := json.Marshal(execRequest{Args: s.Args, Env: b.processEnv(s.Env), Dir: b.cwd(s.Dir)})
	if err != nil || len(req) > maxExecRequest {
		return st, false, errNoExecSocket
	}
	fds, closeFds, err := stdioFds(s)
	if err != nil {
		return st, false, err
	}
	before := oomKills(c)
	_, _, err = conn.WriteMsgUnix(req, unix.UnixRights(fds...), nil)
	closeFds()
	if err != nil {
		return st, false, errNoExecSocket
	}
	pkt := make([]byte, 256)
	n, err := conn.Read(pkt)
	if err != nil || strings.HasPrefix(string(pkt[:n]), "error ") {
		// Refused, or the reaper is gone: nothing runs.
		return st, false, errNoExecSocket
	}
	if string(pkt[:n]) != "started" {
		// The reaper sends nothing else first; whatever this is, a
		// command may have run, so it must not be started again.
		return st, true, fmt.Errorf("sandbox: bad answer from the reaper: %q", pkt[:n])
	}
	// The reaper relays these to the command's process group; a
	// cancelled ctx becomes SIGKILL.
	stop := forwardSignals(ctx, func(sig os.Signal) {
		if n, ok := sig.(unix.Signal); ok {
			_, _ = conn.Write([]byte("signal " + strconv.Itoa(int(n))))
		}
	})
	n, err = conn.Read(pkt)
	stop()
	if err != nil {
		// The reaper died (sandbox rm, idle expiry cannot happen while
		// a command runs): the kernel killed everything in its pid
		// namespace, the command with SIGKILL.
		st = isolate.Status{Code: 128 + int(unix.SIGKILL), Signal: int(unix.SIGKILL)}
	} else if st, err = parseEnd(string(pkt[:n])); err != nil {
		return st, true, err
	}
	if oomKills(c) > before {
		st = oomStatus(st, b.o.Memory)
	}
	return st, true, nil
}

// parseEnd reads "exit N" or "signal N".
func parseEnd(msg string) (isolate.Status, error) {
	kind, num, _ := strings.Cut(msg, " ")
	n, err := strconv.Atoi(num)
	if err != nil {
		return isolate.Status{}, fmt.Errorf("sandbox: bad answer from the reaper: %q", msg)
	}
	switch kind {
	case "exit":
		return isolate.Status{Code: n}, nil
	case "signal":
		return isolate.Status{Code: 128 + n, Signal: n}, nil
	}
	return isolate.Status{}, fmt.Errorf("sandbox: bad answer from the reaper: %q", msg)
}

// stdioFds are s's stdin, stdout and stderr, /dev/null for a missing one.
func stdioFds(s isolate.Spec) ([]int, func(), error) {
	var opened []*os.File
	closeAll := func() {
		for _, f := range opened {
			f.Close()
		}
	}
	var fds []int
	for _, f := range []*os.File{s.Stdin, s.Stdout, s.Stderr} {
		if f == nil {
			null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			opened = append(opened, null)
			f = null
		}
		fds = append(fds, int(f.Fd()))
	}
	return fds, closeAll, nil
}
