package tty

import (
	"hermes-exec/internal/fdutil"
	"hermes-exec/internal/ident"

	"hermes-exec/approval"

	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// Approver asks on the controlling terminal (/dev/tty). It works when
// the wrapper's stdin and stdout are pipes, as they are when an agent runs
// it, because it never touches them.
type Approver struct {
	f   *os.File
	fd  int // f's descriptor, valid while f is open
	who string
	clk clock
	mu  sync.Mutex // one prompt at a time in this process
	// rdev is the terminal's device number, for the lock that allows one
	// prompt per terminal across processes; 0 in tests.
	rdev uint64
}

var _ approval.Approver = (*Approver)(nil)

// Open opens /dev/tty for reading and writing. It fails when the
// process has no controlling terminal; the caller must then deny (there is
// nobody to ask).
//
// It also fails, with the reason, when the terminal is one an agent can
// type into (see agentterm.go): a prompt the agent could answer is no
// approval, so the caller denies, or asks on another channel.
func Open() (*Approver, error) {
	t, err := openTTYPath("/dev/tty")
	if err != nil {
		return nil, err
	}
	// /dev/tty is a stand-in inode (device 5,0): the terminal itself is
	// asked for its device number.
	dev, err := unix.IoctlGetUint32(t.fd, unix.TIOCGDEV)
	if err != nil || dev == 0 {
		t.Close()
		return nil, fmt.Errorf("no terminal to ask on: cannot tell which terminal /dev/tty is: %v", err)
	}
	rdev := unix.Mkdev(uint32(dev>>8)&0xfff, uint32(dev&0xff)|uint32(dev>>12)&0xfff00)
	if why := sameInstance(t.fd, rdev); why != "" {
		t.Close()
		return nil, fmt.Errorf("no human terminal to ask on: %s", why)
	}
	if why := realProc().agentTerminal(rdev, os.Getpid(), ownEnvHasAgent()); why != "" {
		t.Close()
		return nil, fmt.Errorf("no human terminal to ask on: %s, so an agent could answer the prompt (approve it in the agent's own dialog through `hermes-exec hook`, or use the gateway)", why)
	}
	t.rdev = rdev
	return t, nil
}

// openTTYPath opens a terminal device by path; tests use a pty's slave.
func openTTYPath(path string) (*Approver, error) {
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("no terminal to ask on: %w", err)
	}
	t := &Approver{f: f, who: ident.Current(), clk: realClock{}}
	isTTY := false
	if err := fdutil.Control(f, func(fd int) { t.fd = fd; isTTY = term.IsTerminal(fd) }); err != nil || !isTTY {
		f.Close()
		return nil, fmt.Errorf("no terminal to ask on: %s is not a terminal", path)
	}
	return t, nil
}

// Channel is "tty".
func (t *Approver) Channel() string { return "tty" }

// Close closes the terminal.
func (t *Approver) Close() error { return t.f.Close() }

// Ask shows the request on the terminal and waits for one key press. The
// terminal is put in raw mode to read single keys and is always restored:
// on an answer, a timeout, a cancelled ctx, and a SIGINT/SIGTERM/SIGHUP/
// SIGQUIT received meanwhile (which deny). Keys typed before the prompt
// appeared are discarded, so typing ahead cannot answer it.
func (t *Approver) Ask(ctx context.Context, r approval.Request) (rep approval.Reply, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Two commands asking at once (xargs -P2) would draw over each other
	// and a key press would answer either: take the terminal first.
	unlock, err := lockTerminal(ctx, t.rdev, r)
	if err != nil {
		return approval.Reply{}, err
	}
	defer unlock()

	// A process outside the terminal's foreground process group cannot
	// prompt: changing the terminal mode would stop it with SIGTTOU (the
	// agent would hang), and reading keys would stop it with SIGTTIN. An
	// agent that starts its tools in a process group of their own gets
	// here; the caller denies.
	if fg, err := unix.IoctlGetInt(t.fd, unix.TIOCGPGRP); err == nil && fg != unix.Getpgrp() {
		return approval.Reply{}, fmt.Errorf("tty: cannot ask: hermes-exec is not in the terminal's foreground process group (%d, ours is %d)", fg, unix.Getpgrp())
	}
	width, _, err := term.GetSize(t.fd)
	if err != nil || width <= 0 {
		width = 80
	}
	old, err := term.MakeRaw(t.fd)
	if err != nil {
		return approval.Reply{}, fmt.Errorf("tty: raw mode: %w", err)
	}
	defer func() {
		if rerr := term.Restore(t.fd, old); rerr != nil && err == nil {
			err = fmt.Errorf("tty: restoring the terminal: %w", rerr)
		}
	}()
	// Discard type-ahead. A failure here is not fatal: the prompt still
	// ignores Enter, the usual stray key.
	_ = unix.IoctlSetInt(t.fd, unix.TCFLSH, unix.TCIFLUSH)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	defer signal.Stop(sigs)

	keys, stop, err := t.readKeys()
	if err != nil {
		return approval.Reply{}, err
	}
	// Stop the reader before returning: a reader left behind would steal
	// the next key press from the command about to run.
	defer stop()

	p := &prompt{out: t.f, keys: keys, sigs: sigs, clk: t.clk, width: width, who: t.who}
	return p.ask(ctx, r), nil
}

// readKeys starts a goroutine that reads the terminal until stop is
// called. It waits in poll(2) on the terminal and on a wake-up pipe, so
// stop returns only once the goroutine has exited and will read nothing
// more, without relying on read deadlines.
func (t *Approver) readKeys() (<-chan []byte, func(), error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, nil, fmt.Errorf("tty: %w", err)
	}
	keys := make(chan []byte)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		defer close(keys)
		fds := []unix.PollFd{{Fd: int32(t.fd), Events: unix.POLLIN}, {Fd: int32(p[0]), Events: unix.POLLIN}}
		buf := make([]byte, 256)
		for {
			fds[0].Revents, fds[1].Revents = 0, 0
			if _, err := unix.Poll(fds, -1); err != nil {
				if errors.Is(err, unix.EINTR) {
					continue
				}
				return
			}
			if fds[1].Revents != 0 {
				return
			}
			if fds[0].Revents == 0 {
				continue
			}
			n, err := unix.Read(t.fd, buf)
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			if err != nil || n == 0 {
				return // end of input or a hung-up terminal
			}
			select {
			case keys <- append([]byte(nil), buf[:n]...):
			case <-done:
				return
			}
		}
	}()
	stop := func() {
		close(done)
		unix.Write(p[1], []byte{0})
		<-exited
		unix.Close(p[0])
		unix.Close(p[1])
	}
	return keys, stop, nil
}

// sameInstance checks that the controlling terminal (fd, device rdev) is
// the /dev/pts/N that the rest of the checks look at. A device number
// names a pseudo-terminal only within its devpts instance: a program can
// mount a devpts of its own (in a user namespace), open its ptmx until it
// gets the number of the human's terminal, and start hermes-exec on that
// slave; every process then looks like the human's terminal's. TIOCGSID
// answers only on one's own controlling terminal, so it works on
// /dev/pts/N exactly when /dev/pts/N is that terminal. A terminal
// hermes-exec may not open (another user's, after su) is left to the
// other checks.
func sameInstance(fd int, rdev uint64) string {
	idx := ptsIndex(rdev)
	if idx < 0 {
		return ""
	}
	name := "/dev/pts/" + strconv.Itoa(idx)
	pfd, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
		return ""
	}
	if err != nil {
		return fmt.Sprintf("the terminal claims to be %s, which cannot be opened here (%v): it belongs to another devpts instance", name, err)
	}
	defer unix.Close(pfd)
	want, err1 := unix.IoctlGetInt(fd, unix.TIOCGSID)
	got, err2 := unix.IoctlGetInt(pfd, unix.TIOCGSID)
	if err1 != nil || err2 != nil || got != want {
		return fmt.Sprintf("the terminal is not %s but another devpts instance's terminal with its number", name)
	}
	return ""
}
