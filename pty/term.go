package pty

import (
	"os"

	"golang.org/x/sys/unix"
)

// The helpers below reach a file's descriptor through SyscallConn rather
// than Fd: Fd switches a file out of non-blocking mode for good, which would
// break deadlines on the pty master and change the O_NONBLOCK flag the
// caller's terminal shares with every other process using it.

// withFd runs fn with f's descriptor.
func withFd(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	_, err := getTermios(f)
	return err == nil
}

func getTermios(f *os.File) (*unix.Termios, error) {
	var t *unix.Termios
	err := withFd(f, func(fd int) (err error) {
		t, err = unix.IoctlGetTermios(fd, unix.TCGETS)
		return err
	})
	return t, err
}

func setTermios(f *os.File, t *unix.Termios) error {
	return withFd(f, func(fd int) error { return unix.IoctlSetTermios(fd, unix.TCSETS, t) })
}

// rawTermios returns t with the settings of cfmakeraw(3): no line editing,
// echo, signal keys, flow control or output processing, 8-bit characters,
// reads returning as soon as one byte is there. Everything the user types
// then reaches the command's own terminal, whose line discipline gives ^C,
// ^Z and echo their usual meaning for the command.
func rawTermios(t unix.Termios) *unix.Termios {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return &t
}

func getWinsize(f *os.File) (*unix.Winsize, error) {
	var ws *unix.Winsize
	err := withFd(f, func(fd int) (err error) {
		ws, err = unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
		return err
	})
	return ws, err
}

func setWinsize(f *os.File, ws *unix.Winsize) error {
	return withFd(f, func(fd int) error { return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, ws) })
}

// copySize gives the pty the size of the caller's terminal. Setting it on
// the master makes the kernel send SIGWINCH to the command's foreground
// process group when the size changes.
func copySize(from, master *os.File) error {
	ws, err := getWinsize(from)
	if err != nil {
		return err
	}
	return setWinsize(master, ws)
}

// foregroundGroup returns the pty's foreground process group.
func foregroundGroup(master *os.File) (int, error) {
	var pgrp int
	err := withFd(master, func(fd int) (err error) {
		pgrp, err = unix.IoctlGetInt(fd, unix.TIOCGPGRP)
		return err
	})
	return pgrp, err
}
