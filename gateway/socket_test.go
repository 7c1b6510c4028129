package gateway

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"hermes-exec/gateway/wire"
)

// TestMain doubles as a helper: with HERMES_PEER_HELPER set, the test
// binary connects to that socket, asks for the status and prints what it
// got back.
func TestMain(m *testing.M) {
	if sock := os.Getenv("HERMES_PEER_HELPER"); sock != "" {
		c, err := net.Dial("unix", sock)
		if err != nil {
			os.Stdout.WriteString("dial: " + err.Error())
			os.Exit(0)
		}
		c.Write([]byte("GET /v1/status HTTP/1.0\r\nHost: gateway\r\n\r\n"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		os.Stdout.Write(b)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The daemon answers only processes of its own uid, as the kernel says
// (SO_PEERCRED): even with the socket's file permissions opened up, a
// process of another uid gets nothing.
func TestSocketRefusesOtherUIDs(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("HERMES_TEST_REQUIRE_ALL") == "1" {
			t.Fatal("needs root to run a peer as another uid, and HERMES_TEST_REQUIRE_ALL=1")
		}
		t.Skip("needs root to run a peer as another uid")
	}
	dir, err := os.MkdirTemp("", "hermes-peercred")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	sock := filepath.Join(dir, "run", "gateway.sock")
	l, err := ListenSocket(sock)
	if err != nil {
		t.Fatal(err)
	}
	// Open the file permissions, so that only the uid check stands.
	os.Chmod(filepath.Dir(sock), 0o755)
	os.Chmod(sock, 0o666)
	s := NewServer(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ServeSocket(ctx, l, SocketHandler(s, func() wire.Status { return wire.Status{Running: true} }))

	// The test binary, where another uid can run it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(dir, "helper")
	data, _ := os.ReadFile(self)
	if err := os.WriteFile(helper, data, 0o755); err != nil {
		t.Fatal(err)
	}
	peer := func(uid uint32) string {
		c := exec.Command(helper)
		c.Env = []string{"HERMES_PEER_HELPER=" + sock}
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("helper as uid %d: %v %s", uid, err, out)
		}
		return string(out)
	}
	if out := peer(0); !strings.Contains(out, "200 OK") || !strings.Contains(out, `"running":true`) {
		t.Fatalf("our own uid was not answered: %q", out)
	}
	if out := peer(65534); strings.Contains(out, "HTTP/") {
		t.Fatalf("uid 65534 got an answer: %q", out)
	}
}
