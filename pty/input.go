package pty

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// inputPump copies what the user types (in) to the pty master.
//
// The caller's terminal is usually a blocking descriptor outside Go's
// poller, so a plain Read could not be interrupted when the command ends:
// the goroutine would stay blocked and swallow the user's next keystroke.
// Making the descriptor non-blocking is no better, since that flag is
// shared with the shell and every other program on the terminal. So the
// pump waits for the terminal and an eventfd to be readable (in an epoll
// instance of its own, itself waited for in the runtime's poller, so that
// the waiting holds no P; poll(2) where epoll refuses the input), and stop
// wakes it through the eventfd.
type inputPump struct {
	wake int  // eventfd
	eof  byte // written to the master when in ends; 0: nothing
	done chan struct{}
}

// newInputPump prepares a pump; it is made before the command starts so
// that the one way it can fail does not leave a started command behind.
func newInputPump() (*inputPump, error) {
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("pty: %w", os.NewSyscallError("eventfd", err))
	}
	return &inputPump{wake: wake}, nil
}

// start copies in to master until stop, the end of in, or a write error.
// eof is the command's terminal's EOF character, typed when in ends; 0
// when in is a terminal.
func (p *inputPump) start(in, master *os.File, eof byte) {
	p.eof = eof
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		// An error here means the terminal is gone (EOF, hangup) or we
		// were told to stop; either way input simply ends.
		_ = withFd(in, func(fd int) error { return p.loop(fd, master) })
	}()
}

func (p *inputPump) loop(fd int, master *os.File) error {
	wait := p.pollWaiter(fd)
	if w, err := newEpollWaiter(fd, p.wake); err == nil {
		defer w.close()
		wait = w.wait
	}
	buf := make([]byte, 32*1024)
	for {
		ready, stop, err := wait()
		if err != nil {
			return err
		}
		if stop {
			return nil
		}
		if !ready {
			continue
		}
		if !gate.enter() {
			if p.waitHeld() {
				return nil
			}
			continue
		}
		n, err := unix.Read(fd, buf)
		gate.leave()
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue // someone else made the terminal non-blocking
		}
		if n == 0 && err == nil && p.eof != 0 {
			// End of a non-terminal input (a terminal in raw mode never
			// ends): type the EOF character, so that a command reading
			// its terminal in canonical mode sees the end too, as it
			// would have with the input as its stdin.
			_, err = master.Write([]byte{p.eof})
			return err
		}
		if n <= 0 {
			if err == nil {
				err = errors.New("end of input")
			}
			return err
		}
		if _, err := master.Write(buf[:n]); err != nil {
			return err
		}
	}
}

// pollWaiter waits in poll(2) for in (fd) to be readable or the pump to be
// stopped: stop when stopped, ready when fd can be read (or has hung up).
// The goroutine holds its P all the while, so the runtime's sysmon keeps
// polling it; it is the fallback for an input epoll refuses (a regular
// file).
func (p *inputPump) pollWaiter(fd int) func() (ready, stop bool, err error) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(p.wake), Events: unix.POLLIN}}
	return func() (bool, bool, error) {
		fds[0].Revents, fds[1].Revents = 0, 0
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				return false, false, nil
			}
			return false, false, err
		}
		return fds[0].Revents != 0, fds[1].Revents != 0, nil
	}
}

// epollWaiter waits as pollWaiter does, but parked in the runtime's poller:
// in and the eventfd are watched by an epoll instance of the pump's own,
// whose descriptor (non-blocking, and never seen by anyone else) goes to
// the poller. The caller's terminal itself stays as it is: its blocking
// mode is shared with every program on it.
type epollWaiter struct {
	f        *os.File
	rc       syscall.RawConn
	fd, wake int
}

func newEpollWaiter(fd, wake int) (*epollWaiter, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	for _, x := range []int{fd, wake} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(x)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, x, &ev); err != nil {
			unix.Close(ep) // EPERM: in is a regular file
			return nil, err
		}
	}
	if err := unix.SetNonblock(ep, true); err != nil {
		unix.Close(ep)
		return nil, err
	}
	f := os.NewFile(uintptr(ep), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &epollWaiter{f: f, rc: rc, fd: fd, wake: wake}, nil
}

func (w *epollWaiter) wait() (ready, stop bool, err error) {
	var evs [2]unix.EpollEvent
	var werr error
	err = w.rc.Read(func(ep uintptr) bool {
		n, err := unix.EpollWait(int(ep), evs[:], 0)
		for errors.Is(err, unix.EINTR) {
			n, err = unix.EpollWait(int(ep), evs[:], 0)
		}
		if err != nil {
			werr = err
			return true
		}
		for _, e := range evs[:n] {
			switch int(e.Fd) {
			case w.wake:
				stop = true
			case w.fd:
				ready = true // EPOLLHUP and EPOLLERR included, as with poll
			}
		}
		return n > 0
	})
	if err == nil {
		err = werr
	}
	return ready, stop, err
}

func (w *epollWaiter) close() { w.f.Close() }

// stop ends the pump and waits for it. A write to the master blocked by a
// command that no longer reads is cut short by a deadline.
func (p *inputPump) stop(master *os.File) {
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0} // any non-zero 8-byte counter
	_, _ = unix.Write(p.wake, one)
	_ = master.SetWriteDeadline(time.Now())
	<-p.done
}

// close releases the pump; the pump must be stopped or never started.
func (p *inputPump) close() { _ = unix.Close(p.wake) }

// gate holds every input pump of the process while the wrapper asks a
// question on the caller's terminal during a command (exec checks): the
// keys typed then are the answer, which the command must not read.
var gate = newInputGate()

type inputGate struct {
	mu      sync.Mutex
	cond    *sync.Cond
	held    int // HoldInput calls not yet released
	reading int // pumps inside a read
}

func newInputGate() *inputGate {
	g := &inputGate{}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// enter reports whether a pump may read now (nothing holds input) and
// counts it in.
func (g *inputGate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held > 0 {
		return false
	}
	g.reading++
	return true
}

func (g *inputGate) leave() {
	g.mu.Lock()
	g.reading--
	g.cond.Broadcast()
	g.mu.Unlock()
}

func (g *inputGate) isHeld() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held > 0
}

// HoldInput stops passing the caller's keys to commands on a
// pseudo-terminal until release is called. It returns once no pump is in
// the middle of a read, so every key typed after it (after a prompt it
// shows) stays on the terminal for the caller to read. Keys typed before
// went to the command, as they would have anyway.
func HoldInput() (release func()) {
	gate.mu.Lock()
	gate.held++
	for gate.reading > 0 {
		gate.cond.Wait()
	}
	gate.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			gate.mu.Lock()
			gate.held--
			gate.mu.Unlock()
		})
	}
}

// waitHeld waits, without reading the terminal, until input is released
// (false) or the pump is stopped (true).
func (p *inputPump) waitHeld() bool {
	fds := []unix.PollFd{{Fd: int32(p.wake), Events: unix.POLLIN}}
	for gate.isHeld() {
		fds[0].Revents = 0
		if n, err := unix.Poll(fds, 50); err == nil && n > 0 && fds[0].Revents != 0 {
			return true
		}
	}
	return false
}
