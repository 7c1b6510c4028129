package tty

import (
	"hermes-exec/internal/fdutil"
	"hermes-exec/internal/ident"
	"hermes-exec/internal/testutil"
	"path/filepath"

	"hermes-exec/approval"

	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ptyPair is a pseudo-terminal whose slave plays /dev/tty and whose master
// plays the human.
type ptyPair struct {
	master, slave *os.File
	out           *testutil.Buffer // everything written to the terminal
}

func newPTY(t *testing.T) *ptyPair {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pty: %v", err)
	}
	if err := pty.Setsize(master, &pty.Winsize{Rows: 24, Cols: 100}); err != nil {
		t.Fatal(err)
	}
	p := &ptyPair{master: master, slave: slave, out: &testutil.Buffer{}}
	go io.Copy(p.out, master)
	t.Cleanup(func() { slave.Close(); master.Close() })
	return p
}

func termios(t *testing.T, f *os.File) unix.Termios {
	t.Helper()
	var tio *unix.Termios
	var err error
	fdutil.Control(f, func(fd int) { tio, err = unix.IoctlGetTermios(fd, unix.TCGETS) })
	if err != nil {
		t.Fatal(err)
	}
	return *tio
}

// ask runs one prompt on the pty, pressing key once the prompt is shown
// (no key: let it time out).
func (p *ptyPair) ask(t *testing.T, r approval.Request, key string) (approval.Reply, time.Duration) {
	t.Helper()
	return p.askThen(t, context.Background(), r, func() {
		if key != "" {
			if _, err := p.master.Write([]byte(key)); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// askThen runs one prompt on the pty and calls act once it is shown. It
// checks that the terminal mode is restored afterwards.
func (p *ptyPair) askThen(t *testing.T, ctx context.Context, r approval.Request, act func()) (approval.Reply, time.Duration) {
	t.Helper()
	tty, err := openTTYPath(p.slave.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	before := termios(t, p.slave)
	type result struct {
		r   approval.Reply
		err error
	}
	done := make(chan result, 1)
	shown := strings.Count(p.out.String(), "(deny in")
	start := time.Now()
	go func() {
		rep, err := tty.Ask(ctx, r)
		done <- result{rep, err}
	}()
	waitFor(t, "the prompt on the pty", func() bool { return strings.Count(p.out.String(), "(deny in") > shown })
	act()
	var res result
	select {
	case res = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Ask did not return")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	after := termios(t, p.slave)
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag || after.Cflag != before.Cflag {
		t.Fatalf("terminal mode not restored: before %+v after %+v", before, after)
	}
	return res.r, time.Since(start)
}

func TestTTYApproverOnRealPTY(t *testing.T) {
	cases := []struct {
		key  string
		want approval.Answer
		echo string
	}{
		{"y", approval.AnswerOnce, "yes, once"},
		{"s", approval.AnswerSession, "yes, for this session"},
		{"a", approval.AnswerAlways, "yes, always"},
		{"n", approval.AnswerDeny, "no (denied at the terminal)"},
		{"\x03", approval.AnswerDeny, "no (denied at the terminal)"},
	}
	for _, c := range cases {
		p := newPTY(t)
		rep, _ := p.ask(t, dangerous, c.key)
		if rep.Answer != c.want {
			t.Errorf("key %q: got %v, want %v", c.key, rep.Answer, c.want)
		}
		if rep.Approver != ident.Current() {
			t.Errorf("approver %q, want %q", rep.Approver, ident.Current())
		}
		out := p.out.String()
		if !strings.Contains(out, "rm -rf ~/project") || !strings.Contains(out, "[y]es once  [s]ession  [a]lways  [n]o") {
			t.Errorf("prompt not shown: %q", out)
		}
		waitFor(t, "the echo line "+c.echo, func() bool { return strings.Contains(p.out.String(), c.echo+"\r\n") })
	}
}

func TestTTYApproverTimeoutOnRealPTY(t *testing.T) {
	p := newPTY(t)
	r := dangerous
	r.Timeout = time.Second
	rep, took := p.ask(t, r, "")
	if rep.Answer != approval.AnswerDeny || rep.Approver != "timeout" || rep.Reason != "no answer within 1s" {
		t.Fatalf("reply %+v", rep)
	}
	if took < time.Second {
		t.Fatalf("denied after %v, before the 1s timeout", took)
	}
	if !strings.Contains(p.out.String(), "(deny in 0:01)") {
		t.Fatalf("countdown not shown: %q", p.out.String())
	}
}

// Keys typed before the prompt appeared must not answer it, and once the
// prompt is over nothing is left reading the terminal: the next input goes
// to whoever reads next (the command about to run).
func TestTTYApproverIgnoresTypeAheadAndReleasesTheTerminal(t *testing.T) {
	p := newPTY(t)
	if _, err := p.master.Write([]byte("y\n")); err != nil {
		t.Fatal(err)
	}
	// Wait until the line is queued on the slave side.
	waitFor(t, "type-ahead to reach the terminal", func() bool {
		var ready bool
		fdutil.Control(p.slave, func(fd int) {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, _ := unix.Poll(fds, 0)
			ready = n > 0
		})
		return ready
	})
	rep, _ := p.ask(t, dangerous, "n")
	if rep.Answer != approval.AnswerDeny {
		t.Fatalf("type-ahead answered the prompt: %+v", rep)
	}
	if _, err := p.master.Write([]byte("after\n")); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 64)
		n, _ := p.slave.Read(buf)
		got <- string(buf[:n])
	}()
	select {
	case s := <-got:
		if s != "after\n" {
			t.Fatalf("the next reader got %q, want %q", s, "after\n")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("input after the prompt was swallowed")
	}
}

// A cancelled context and a signal both end the prompt with a denial and
// leave the terminal as it was.
func TestTTYApproverCancelAndSignalRestoreTerminal(t *testing.T) {
	p := newPTY(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rep, _ := p.askThen(t, ctx, dangerous, cancel)
	if rep.Answer != approval.AnswerDeny || !strings.Contains(rep.Reason, "cancel") {
		t.Fatalf("cancel: %+v", rep)
	}
	// The prompt has subscribed to SIGTERM by the time it is drawn, so
	// the signal reaches it rather than killing the test.
	rep, _ = p.askThen(t, context.Background(), dangerous, func() {
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	})
	if rep.Answer != approval.AnswerDeny || !strings.Contains(rep.Reason, "signal") {
		t.Fatalf("signal: %+v", rep)
	}
}

func TestOpenTTYFailsWithoutTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "not-a-tty")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := openTTYPath(f.Name()); err == nil {
		t.Fatal("a regular file was accepted as a terminal")
	}
	if _, err := openTTYPath("/nonexistent/tty"); err == nil {
		t.Fatal("a missing device was accepted")
	}
}

// TestTTYHelperProcess is not a test: it is the body of the processes that
// TestOpenTTYAsksOnControllingTerminal starts, and returns at once when
// run normally.
func TestTTYHelperProcess(t *testing.T) {
	switch os.Getenv("HERMES_TTY_HELPER") {
	case "":
		return
	case "ask": // ask on the real /dev/tty
		out := os.Stdout
		if p := os.Getenv("HERMES_TTY_HELPER_OUT"); p != "" {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			if err != nil {
				os.Exit(3)
			}
			out = f
		}
		tty, err := Open()
		if err != nil {
			fmt.Fprintln(out, "error:", err)
			os.Exit(0)
		}
		r := dangerous
		r.Timeout = 20 * time.Second
		rep, err := tty.Ask(context.Background(), r)
		if err != nil {
			fmt.Fprintln(out, "error:", err)
		} else {
			fmt.Fprintln(out, "answer:", rep.Answer)
		}
		os.Exit(0)
	case "background": // run "ask" in a process group of its own
		cmd := exec.Command(os.Args[0], "-test.run=^TestTTYHelperProcess$")
		cmd.Env = append(os.Environ(), "HERMES_TTY_HELPER=ask")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Stdout = os.Stdout
		if err := cmd.Run(); err != nil {
			f, _ := os.OpenFile(os.Getenv("HERMES_TTY_HELPER_OUT"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			fmt.Fprintln(f, "error: child:", err)
		}
		os.Exit(0)
	}
}

// runOnTerminal starts the helper in mode on a terminal a terminal
// program holds for the human: script(1), itself on the test's pty (a
// helper started directly on a pty this test owns is refused: this test
// could answer the prompt, like an agent). The helper's stdout is not the
// terminal and its report goes to the returned file.
func runOnTerminal(t *testing.T, p *ptyPair, mode string) (*exec.Cmd, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	out := filepath.Join(t.TempDir(), "out")
	inner := `exec "$0" -test.run='^TestTTYHelperProcess$' >/dev/null`
	// script(1) is the terminal program (it holds the master of the
	// helper's terminal and relays this test's PTY to it), and this
	// test's PTY is a human's (see testutil.HumanTerminal).
	argv := testutil.HumanTerminal(t, "script", "-qfec", "sh -c "+shellQuote(inner)+" "+shellQuote(os.Args[0]), "/dev/null")
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "HERMES_TTY_HELPER="+mode, "HERMES_TTY_HELPER_OUT="+out)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.slave, p.slave, p.slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	return cmd, out
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func readOut(t *testing.T, path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// Started directly on a pty that this test (a program that could answer)
// holds, the helper is refused a prompt, with the reason.
func TestOpenRefusesATerminalItsParentOwns(t *testing.T) {
	p := newPTY(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestTTYHelperProcess$")
	cmd.Env = append(os.Environ(), "HERMES_TTY_HELPER=ask")
	cmd.Stdin = p.slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out); !strings.Contains(got, "error: no human terminal to ask on") || !strings.Contains(got, "made for this command") {
		t.Fatalf("helper said %q", got)
	}
}

func TestOpenTTYAsksOnControllingTerminal(t *testing.T) {
	p := newPTY(t)
	cmd, out := runOnTerminal(t, p, "ask")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the prompt on /dev/tty", func() bool { return strings.Contains(p.out.String(), "(deny in") })
	p.master.Write([]byte("s"))
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(readOut(t, out)); got != "answer: session" {
		t.Fatalf("helper said %q", got)
	}
}

// A wrapper in a background process group must not hang on SIGTTOU: it
// refuses to ask, and the caller denies.
func TestTTYApproverRefusesFromBackgroundProcessGroup(t *testing.T) {
	p := newPTY(t)
	cmd, out := runOnTerminal(t, p, "background")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if got := readOut(t, out); !strings.HasPrefix(got, "error:") || !strings.Contains(got, "foreground process group") {
		t.Fatalf("helper said %q", got)
	}
}
