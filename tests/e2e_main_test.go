package tests

import (
	"fmt"
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// probeEnv makes the test binary a probe command instead of a test run:
// hermes-exec runs it as the command under test.
const probeEnv = "HERMES_TEST_PROBE"

func TestMain(m *testing.M) {
	switch os.Getenv(probeEnv) {
	case "tiocsti":
		os.Exit(probeTIOCSTI())
	}
	os.Exit(runWithContainerd(m)) // containerd_main_test.go
}

// probeTIOCSTI tries to type into a terminal every way a command could:
// through /dev/tty, each standard descriptor that is a terminal, and the
// terminal's path in $PROBE_TTY (root can open any). One line per try:
// "injected" or "refused".
func probeTIOCSTI() int {
	try := func(what string, fd int) {
		for _, c := range []byte("echo INJECTED\n") {
			b := c
			if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCSTI, uintptr(unsafe.Pointer(&b))); e != 0 {
				fmt.Printf("%s: refused (%v)\n", what, e)
				return
			}
		}
		fmt.Printf("%s: injected\n", what)
	}
	open := func(p string) {
		fd, err := unix.Open(p, unix.O_RDWR|unix.O_NOCTTY, 0)
		if err != nil {
			fmt.Printf("%s: refused (%v)\n", p, err)
			return
		}
		try(p, fd)
	}
	open("/dev/tty")
	for fd := 0; fd <= 2; fd++ {
		if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
			try(fmt.Sprintf("fd %d", fd), fd)
		}
	}
	if p := os.Getenv("PROBE_TTY"); p != "" {
		open(p)
	}
	return 0
}
