package execproto

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"hermes-exec/isolate"
)

// fakeReaper listens on a socket and answers each connection with script,
// which gets the request and the connection after the fds were received.
func fakeReaper(t *testing.T, script func(req Request, nfds int, c *net.UnixConn)) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), SocketName)
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.AcceptUnix()
			if err != nil {
				return
			}
			buf := make([]byte, MaxRequest)
			oob := make([]byte, unix.CmsgSpace(3*4))
			n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
			if err != nil {
				c.Close()
				continue
			}
			var fds []int
			if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for _, m := range msgs {
					r, _ := unix.ParseUnixRights(&m)
					fds = append(fds, r...)
				}
			}
			for _, fd := range fds {
				unix.Close(fd)
			}
			var req Request
			_ = json.Unmarshal(buf[:n], &req)
			script(req, len(fds), c)
			c.Close()
		}
	}()
	return sock
}

func TestExecReportsHowTheCommandEnded(t *testing.T) {
	var got Request
	var gotFds int
	sock := fakeReaper(t, func(req Request, nfds int, c *net.UnixConn) {
		got, gotFds = req, nfds
		c.Write([]byte(MsgStarted))
		c.Write([]byte("signal 15"))
	})
	want := Request{Args: []string{"sh", "-c", "x"}, Env: []string{"A=1"}, Dir: "/w"}
	st, started, err := Exec(context.Background(), sock, want, nil, nil, nil)
	if err != nil || !started || st != (isolate.Status{Code: 143, Signal: 15}) {
		t.Fatalf("got %+v started=%v err=%v", st, started, err)
	}
	if gotFds != 3 || strings.Join(got.Args, " ") != "sh -c x" || got.Dir != "/w" || got.Env[0] != "A=1" {
		t.Errorf("the reaper got %+v with %d fds", got, gotFds)
	}
}

// Nothing started means the caller may start the command another way;
// anything after "started" means it must not.
func TestExecStartedOnlyAfterTheReaperSaysSo(t *testing.T) {
	refused := fakeReaper(t, func(_ Request, _ int, c *net.UnixConn) { c.Write([]byte("error 126 bad request")) })
	if _, started, err := Exec(context.Background(), refused, Request{Args: []string{"x"}}, nil, nil, nil); started || !errors.Is(err, ErrNotTaken) {
		t.Errorf("refusal: started=%v err=%v", started, err)
	}
	if _, started, err := Exec(context.Background(), filepath.Join(t.TempDir(), "none"), Request{Args: []string{"x"}}, nil, nil, nil); started || !errors.Is(err, ErrNotTaken) {
		t.Errorf("no socket: started=%v err=%v", started, err)
	}
	garbled := fakeReaper(t, func(_ Request, _ int, c *net.UnixConn) { c.Write([]byte("what")) })
	if _, started, err := Exec(context.Background(), garbled, Request{Args: []string{"x"}}, nil, nil, nil); !started || err == nil {
		t.Errorf("garbled answer: started=%v err=%v", started, err)
	}
	// The reaper died while the command ran: the kernel killed it.
	died := fakeReaper(t, func(_ Request, _ int, c *net.UnixConn) { c.Write([]byte(MsgStarted)) })
	st, started, err := Exec(context.Background(), died, Request{Args: []string{"x"}}, nil, nil, nil)
	if !started || err != nil || st.Code != 137 {
		t.Errorf("reaper gone: %+v started=%v err=%v", st, started, err)
	}
}

// A cancelled context becomes SIGKILL for the command.
func TestExecCancelSendsKill(t *testing.T) {
	sock := fakeReaper(t, func(_ Request, _ int, c *net.UnixConn) {
		c.Write([]byte(MsgStarted))
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err == nil && string(buf[:n]) == "signal 9" {
			c.Write([]byte("signal 9"))
		} else {
			c.Write([]byte("exit 0"))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	st, started, err := Exec(ctx, sock, Request{Args: []string{"x"}}, os.Stdin, os.Stdout, os.Stderr)
	if !started || err != nil || st != (isolate.Status{Code: 137, Signal: 9}) {
		t.Errorf("cancelled: %+v started=%v err=%v", st, started, err)
	}
}

func TestCommandEnvSkillNames(t *testing.T) {
	env := []string{"PATH=/bin", "HOME=/h", "PROBE_A=a", "PROBE_B=b", "GITHUB_TOKEN=t"}
	got := strings.Join(CommandEnv(env, nil, "PROBE_A"), " ")
	if !strings.Contains(got, "PROBE_A=a") || strings.Contains(got, "PROBE_B") || strings.Contains(got, "GITHUB_TOKEN") {
		t.Errorf("own HERMES_SKILL_ENV: %s", got)
	}
	// The command's own list wins over the starter's.
	got = strings.Join(CommandEnv(append(env, "HERMES_SKILL_ENV=PROBE_B"), nil, "PROBE_A"), " ")
	if strings.Contains(got, "PROBE_A") || !strings.Contains(got, "PROBE_B=b") {
		t.Errorf("command's HERMES_SKILL_ENV: %s", got)
	}
	if got := CommandEnv([]string{"HOME=/h"}, nil, ""); !strings.Contains(strings.Join(got, " "), "PATH=/usr/local/sbin") {
		t.Errorf("no default PATH: %v", got)
	}
}

// An empty list in config.yaml (show nothing, protect nothing) must reach
// the helper as empty, not as absent (the defaults).
func TestEmptyListsSurviveTheRequest(t *testing.T) {
	b, err := json.Marshal(Options{HomeReadable: []string{}, ProtectedPaths: nil})
	if err != nil {
		t.Fatal(err)
	}
	var o Options
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	if o.HomeReadable == nil || len(o.HomeReadable) != 0 || o.ProtectedPaths != nil {
		t.Errorf("after the round trip: HomeReadable %#v, ProtectedPaths %#v", o.HomeReadable, o.ProtectedPaths)
	}
}
