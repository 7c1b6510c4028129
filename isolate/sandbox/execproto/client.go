package execproto

import (
	"sync"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"hermes-exec/isolate"
)

// ErrNotTaken means the reaper did not take the command and nothing was
// started: the caller starts it another way.
var ErrNotTaken = errors.New("sandbox: the session reaper does not take commands")

// Exec asks the reaper listening on socket to run req with stdin, stdout
// and stderr (/dev/null for a nil one), relays the caller's signals to the
// command while it runs (SIGKILL when ctx is cancelled) and returns how it
// ended. started reports whether the command got to run: when it is false
// the error is ErrNotTaken or nothing was sent, and the command may be
// started another way; when it is true it must not be.
func Exec(ctx context.Context, socket string, req Request, stdin, stdout, stderr *os.File) (st isolate.Status, started bool, err error) {
	return ExecRelay(ctx, socket, req, stdin, stdout, stderr, ForwardSignals)
}

// Relay passes signals meant for the command to send until the returned
// function is called, and sends SIGKILL when ctx ends. ForwardSignals
// relays the process's own signals; the supervisor relays those its
// client sends.
type Relay func(ctx context.Context, send func(os.Signal)) func()

// ExecRelay is Exec with the signals taken from relay.
func ExecRelay(ctx context.Context, socket string, req Request, stdin, stdout, stderr *os.File, relay Relay) (st isolate.Status, started bool, err error) {
	conn, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: socket, Net: "unixpacket"})
	if err != nil {
		return st, false, ErrNotTaken
	}
	defer conn.Close()
	// Signals are caught from before the request goes out: one that
	// arrived between the start and a later subscription would kill the
	// wrapper and leave the command running. Until the reaper says the
	// command started they are held; if it never does, they are raised
	// again on the wrapper itself, as if it had never caught them.
	sigs := &heldSignals{conn: conn}
	stop := relay(ctx, sigs.send)
	defer func() {
		stop()
		if !started {
			sigs.reraise()
		}
	}()
	pkt, err := json.Marshal(req)
	if err != nil || len(pkt) > MaxRequest {
		return st, false, ErrNotTaken
	}
	fds, closeFds, err := stdioFds(stdin, stdout, stderr)
	if err != nil {
		return st, false, err
	}
	_, _, err = conn.WriteMsgUnix(pkt, unix.UnixRights(fds...), nil)
	closeFds()
	if err != nil {
		return st, false, ErrNotTaken
	}
	buf := make([]byte, 256)
	n, err := conn.Read(buf)
	if err != nil || strings.HasPrefix(string(buf[:n]), MsgError) {
		// Refused, or the reaper is gone: nothing runs.
		return st, false, ErrNotTaken
	}
	if string(buf[:n]) != MsgStarted {
		// The reaper sends nothing else first; whatever this is, a
		// command may have run, so it must not be started again.
		return st, true, fmt.Errorf("sandbox: bad answer from the reaper: %q", buf[:n])
	}
	// The reaper relays these to the command's process group; a
	// cancelled ctx becomes SIGKILL.
	sigs.running()
	n, err = conn.Read(buf)
	if err != nil {
		// The reaper died (sandbox rm; idle expiry cannot happen while
		// a command runs): the kernel killed everything in its pid
		// namespace, the command with SIGKILL.
		return isolate.Status{Code: 128 + int(unix.SIGKILL), Signal: int(unix.SIGKILL)}, true, nil
	}
	st, err = ParseEnd(string(buf[:n]))
	return st, true, err
}

// stdioFds are the descriptors of the given files, /dev/null for a nil one.
func stdioFds(files ...*os.File) ([]int, func(), error) {
	var opened []*os.File
	closeAll := func() {
		for _, f := range opened {
			f.Close()
		}
	}
	var fds []int
	for _, f := range files {
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

// heldSignals passes signals to the reaper once the command runs, and
// holds those that arrive before.
type heldSignals struct {
	mu      sync.Mutex
	conn    *net.UnixConn
	started bool
	held    []unix.Signal
}

func (h *heldSignals) send(sig os.Signal) {
	s, ok := sig.(unix.Signal)
	if !ok {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.started {
		h.held = append(h.held, s)
		return
	}
	_, _ = h.conn.Write([]byte(MsgSignal + strconv.Itoa(int(s))))
}

// running passes the held signals on and every later one directly.
func (h *heldSignals) running() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.started = true
	for _, s := range h.held {
		_, _ = h.conn.Write([]byte(MsgSignal + strconv.Itoa(int(s))))
	}
	h.held = nil
}

// reraise delivers the held signals to this process again, after the
// relay stopped catching them: nothing ran, so they mean what they meant.
func (h *heldSignals) reraise() {
	h.mu.Lock()
	held := h.held
	h.held = nil
	h.mu.Unlock()
	for _, s := range held {
		if s != unix.SIGKILL {
			_ = unix.Kill(os.Getpid(), s)
		}
	}
}
