package isolate

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"hermes-exec/pty/ptytest"
)

// The host backend's own cost is BenchmarkHostRunTrue minus the cost of
// creating a process at all, which BenchmarkOSExecRunTrue approximates
// with the standard library's way of running /bin/true.

func BenchmarkHostRunTrue(b *testing.B) {
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()
	h := NewHost()
	s := Spec{Args: []string{"/bin/true"}, Env: []string{"PATH=/usr/bin:/bin"}, Stdin: devnull, Stdout: devnull, Stderr: devnull}
	ctx := context.Background()
	for b.Loop() {
		st, err := h.Run(ctx, s)
		if err != nil || st.Code != 0 {
			b.Fatalf("%+v %v", st, err)
		}
	}
}

func BenchmarkOSExecRunTrue(b *testing.B) {
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()
	for b.Loop() {
		cmd := &exec.Cmd{Path: "/bin/true", Args: []string{"/bin/true"}, Env: []string{"PATH=/usr/bin:/bin"}, Stdin: devnull, Stdout: devnull, Stderr: devnull}
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHostRunTruePTY(b *testing.B) {
	term := ptytest.New(b, 24, 80)
	h := NewHost()
	s := Spec{Args: []string{"/bin/true"}, Env: []string{"PATH=/usr/bin:/bin"}, Stdin: term.Slave, Stdout: term.Slave, Stderr: term.Slave, TTY: true}
	ctx := context.Background()
	for b.Loop() {
		st, err := h.Run(ctx, s)
		if err != nil || st.Code != 0 {
			b.Fatalf("%+v %v", st, err)
		}
	}
}
