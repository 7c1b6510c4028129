package sandbox

import (
	"io"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"hermes-exec/isolate"
)

// console gives the command a terminal inside the container when the caller
// has one: libcontainer makes the pty in the container's own devpts and sends
// the master over a socket; the wrapper puts its terminal in raw mode, copies
// both ways and forwards window size changes.
type console struct {
	s             isolate.Spec
	parent, child *os.File
	master        *os.File
	restore       *term.State
	outDone       chan struct{}
	stopWinch     chan struct{}
	once          sync.Once
}

// newConsole prepares p for a terminal when s.TTY is set; otherwise it
// returns a console that does nothing.
func newConsole(p *libcontainer.Process, s isolate.Spec) (*console, error) {
	c := &console{s: s}
	if !s.TTY {
		return c, nil
	}
	var err error
	c.parent, c.child, err = utils.NewSockPair("console")
	if err != nil {
		return nil, err
	}
	p.ConsoleSocket = c.child
	if s.Stdout != nil {
		if ws, err := unix.IoctlGetWinsize(int(s.Stdout.Fd()), unix.TIOCGWINSZ); err == nil {
			p.ConsoleWidth, p.ConsoleHeight = ws.Col, ws.Row
		}
	}
	// The command's stdio is the pty's slave, set up inside.
	p.Stdin, p.Stdout, p.Stderr = nil, nil, nil
	return c, nil
}

// start receives the pty master (after the container process started) and
// begins copying.
func (c *console) start() {
	if c.parent == nil {
		return
	}
	_ = c.child.Close()
	//lint:ignore SA1019 runc moved RecvFile to an internal package; this is the only public spelling until 1.6
	master, err := utils.RecvFile(c.parent)
	if err != nil {
		return
	}
	c.master = master
	if c.s.Stdin != nil {
		if st, err := term.MakeRaw(int(c.s.Stdin.Fd())); err == nil {
			c.restore = st
		}
		go func() { _, _ = io.Copy(master, c.s.Stdin) }()
	}
	c.outDone = make(chan struct{})
	go func() {
		defer close(c.outDone)
		if c.s.Stdout != nil {
			_, _ = io.Copy(c.s.Stdout, master)
		}
	}()
	c.stopWinch = make(chan struct{})
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	go func() {
		defer signal.Stop(winch)
		for {
			select {
			case <-winch:
				if c.s.Stdout == nil {
					continue
				}
				if ws, err := unix.IoctlGetWinsize(int(c.s.Stdout.Fd()), unix.TIOCGWINSZ); err == nil {
					_ = unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws)
				}
			case <-c.stopWinch:
				return
			}
		}
	}()
}

// wait lets the output drain after the command ended. A process the command
// left in the background may hold the pty open, so draining is bounded.
func (c *console) wait() {
	if c.outDone == nil {
		return
	}
	select {
	case <-c.outDone:
	case <-time.After(200 * time.Millisecond):
	}
}

// close restores the caller's terminal and releases the pty.
func (c *console) close() {
	c.once.Do(func() {
		if c.stopWinch != nil {
			close(c.stopWinch)
		}
		if c.restore != nil && c.s.Stdin != nil {
			_ = term.Restore(int(c.s.Stdin.Fd()), c.restore)
		}
		for _, f := range []*os.File{c.master, c.parent, c.child} {
			if f != nil {
				_ = f.Close()
			}
		}
	})
}
