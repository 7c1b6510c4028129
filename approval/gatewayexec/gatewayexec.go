// Package gatewayexec is the gateway approval channel as the shell uses
// it: the request goes to a helper process, hermes-exec-admin (Arg), which
// asks the daemon over its socket with approval/gateway and writes the
// outcome back on a pipe. The client over HTTP needs net/http, which
// hermes-exec would otherwise load at every start for the few commands
// that are put to a human (whose answer takes seconds anyway).
//
// It fails closed as approval/gateway does: a helper that is missing,
// cannot start, dies, or writes anything but a well-formed answer is an
// error, which the flow turns into a denial. No gateway socket at all is
// ErrNotRunning, found without starting anything.
package gatewayexec

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"hermes-exec/approval"
	"hermes-exec/gateway/wire"

	"golang.org/x/sys/unix"
)

// Arg is the hidden first argument that makes hermes-exec-admin the
// helper: `hermes-exec-admin Arg SOCKET`.
const Arg = "__gateway-ask"

// ErrNotRunning says no gateway socket exists: the gateway is not in use.
var ErrNotRunning = errors.New("the gateway is not running")

// Message is one line on the pipe, in either direction. The helper writes
// Open first (or Error), then, once given a Request, Reply (or Error).
// The client may send Withdraw after the Request: the request is then
// withdrawn with that reason, as when another channel answered first.
type Message struct {
	Open     bool          `json:"open,omitempty"`
	Running  bool          `json:"running,omitempty"` // with Open: false when the socket went away meanwhile
	Request  *wire.Request `json:"request,omitempty"`
	Withdraw string        `json:"withdraw,omitempty"`
	Reply    *Reply        `json:"reply,omitempty"`
	Error    string        `json:"error,omitempty"`
}

// Reply is approval.Reply on the pipe.
type Reply struct {
	Answer   string `json:"answer"` // once, session, always, deny
	Approver string `json:"approver,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// FromReply and ToReply convert.
func FromReply(r approval.Reply) *Reply {
	return &Reply{Answer: r.Answer.String(), Approver: r.Approver, Reason: r.Reason}
}

func (r *Reply) ToReply() (approval.Reply, error) {
	a, err := wire.ParseAnswer(r.Answer)
	if err != nil {
		return approval.Reply{}, err
	}
	return approval.Reply{Answer: a, Approver: r.Approver, Reason: r.Reason}, nil
}

// Approver asks through the helper.
type Approver struct {
	cmd  *exec.Cmd
	conn *os.File // this end of the socket pair
	in   io.WriteCloser
	out  *bufio.Reader
	once sync.Once
	werr error
}

var _ approval.Approver = (*Approver)(nil)

// openTimeout bounds the helper's start and the daemon's status answer
// (approval/gateway waits 3 s for the latter).
const openTimeout = 10 * time.Second

// withdrawWait is how long the helper gets to withdraw the request once
// the client no longer wants the answer.
const withdrawWait = 5 * time.Second

// Open returns an approver when a gateway socket exists, ErrNotRunning
// when none does, and an error when one exists but no daemon answers on
// it, or the helper cannot be run (the gateway is in use but cannot be
// asked: the caller must deny, not skip it). helper is the path of
// hermes-exec-admin, or the error finding it.
func Open(socket string, helper func() (string, error)) (*Approver, error) {
	if _, err := os.Stat(socket); err != nil {
		return nil, ErrNotRunning
	}
	path, err := helper()
	if err != nil {
		return nil, fmt.Errorf("the gateway cannot be asked: %w", err)
	}
	cmd := exec.Command(path, Arg, socket)
	cmd.Args[0] = "hermes-exec-admin"
	cmd.Stderr = os.Stderr
	// Its own process group: a ^C meant for the command or the terminal
	// prompt does not kill the helper before it withdraws the request.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// One socket pair for both directions, not pipes: a pipe can be
	// opened again through /proc/PID/fd by any process of this uid (read
	// access to /proc is enough, no ptrace), which could then write a
	// forged answer; a socket cannot be opened that way (ENXIO).
	mine, theirs, err := socketPair()
	if err != nil {
		return nil, fmt.Errorf("the gateway cannot be asked: %w", err)
	}
	cmd.Stdin, cmd.Stdout = theirs, theirs
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		mine.Close()
		return nil, fmt.Errorf("the gateway cannot be asked: %w", err)
	}
	a := &Approver{cmd: cmd, conn: mine, in: halfCloser{mine}, out: bufio.NewReader(mine)}
	m, err := a.read(openTimeout)
	switch {
	case err != nil:
		a.Close()
		return nil, fmt.Errorf("the gateway is unreachable: %w", err)
	case m.Error != "":
		a.Close()
		return nil, errors.New(m.Error)
	case !m.Open:
		a.Close()
		return nil, errors.New("the gateway is unreachable: the helper did not say it is ready")
	case !m.Running:
		a.Close()
		return nil, ErrNotRunning
	}
	return a, nil
}

// socketPair returns the two ends of a stream socket pair; this end is
// non-blocking, so that the runtime's poller serves it and Close ends a
// read in progress.
func socketPair() (mine, theirs *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[0]), "gateway-helper"), os.NewFile(uintptr(fds[1]), "gateway-helper"), nil
}

// halfCloser's Close shuts the socket's sending side only: the helper
// reads the end of its input (the shell is done with it) while its last
// words can still be read.
type halfCloser struct{ f *os.File }

func (h halfCloser) Write(b []byte) (int, error) { return h.f.Write(b) }

func (h halfCloser) Close() error {
	rc, err := h.f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Shutdown(int(fd), unix.SHUT_WR) }); err != nil {
		return err
	}
	return serr
}

// Channel is "gateway", as approval/gateway's.
func (a *Approver) Channel() string { return "gateway" }

// read reads one message, with a deadline (0: none).
func (a *Approver) read(timeout time.Duration) (Message, error) {
	type res struct {
		m   Message
		err error
	}
	ch := make(chan res, 1)
	go func() {
		line, err := a.out.ReadBytes('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("the helper ended without an answer")
			}
			ch <- res{err: err}
			return
		}
		var m Message
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			ch <- res{err: fmt.Errorf("bad message from the helper: %w", err)}
			return
		}
		ch <- res{m: m}
	}()
	var after <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		after = t.C
	}
	select {
	case r := <-ch:
		return r.m, r.err
	case <-after:
		a.kill()
		return Message{}, fmt.Errorf("no word from the helper within %s", timeout)
	}
}

func (a *Approver) send(m Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = a.in.Write(append(b, '\n'))
	return err
}

// Ask sends r to the helper and waits for its outcome. When ctx is done
// (another channel answered first), the helper withdraws the request with
// ctx's cause as the reason, so its card says why.
func (a *Approver) Ask(ctx context.Context, r approval.Request) (approval.Reply, error) {
	r, err := wire.Outgoing(r)
	if err != nil {
		return approval.Reply{}, err
	}
	w := wire.FromRequest(r)
	if err := a.send(Message{Request: &w}); err != nil {
		return approval.Reply{}, fmt.Errorf("the gateway helper went away: %w", err)
	}
	type res struct {
		m   Message
		err error
	}
	ch := make(chan res, 1)
	go func() {
		m, err := a.read(0)
		ch <- res{m, err}
	}()
	var got res
	select {
	case got = <-ch:
	case <-ctx.Done():
		reason := "withdrawn by the wrapper"
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			reason = c.Error()
		}
		withdrawn := approval.Reply{Answer: approval.AnswerDeny, Reason: "withdrawn: " + context.Cause(ctx).Error()}
		// The helper withdraws the request (its card then says why);
		// the answer here is the withdrawal, whatever it replies.
		if a.send(Message{Withdraw: reason}) == nil {
			t := time.NewTimer(withdrawWait)
			defer t.Stop()
			select {
			case <-ch:
			case <-t.C:
				a.kill()
			}
		}
		return withdrawn, nil
	}
	if got.err != nil {
		return approval.Reply{}, fmt.Errorf("the gateway went away while waiting for an answer: %w", got.err)
	}
	if got.m.Error != "" {
		return approval.Reply{}, errors.New(got.m.Error)
	}
	if got.m.Reply == nil {
		return approval.Reply{}, errors.New("bad reply from the gateway helper: no answer")
	}
	rep, err := got.m.Reply.ToReply()
	if err != nil {
		return approval.Reply{}, fmt.Errorf("bad reply from the gateway helper: %w", err)
	}
	return rep, nil
}

func (a *Approver) kill() {
	if a.cmd.Process != nil {
		a.cmd.Process.Kill()
	}
}

// Close ends the helper (closing its stdin withdraws a request still open)
// and reaps it.
func (a *Approver) Close() error {
	a.once.Do(func() {
		a.in.Close()
		done := make(chan struct{})
		go func() {
			a.werr = a.cmd.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(withdrawWait):
			a.kill()
			<-done
		}
		a.conn.Close()
	})
	return nil
}
