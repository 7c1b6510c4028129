package execwire

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ServeOne takes one command: a second wrapper cannot connect, and the
// channel closes once the one command ended.
func TestServeOneTakesOneCommand(t *testing.T) {
	sock := filepath.Join(t.TempDir(), SocketName)
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer()
	ended := s.ServeOne(l)
	send := func() (*net.UnixConn, error) {
		c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: sock, Net: "unixpacket"})
		if err != nil {
			return nil, err
		}
		null, _ := os.Open(os.DevNull)
		defer null.Close()
		fd := int(null.Fd())
		_, _, err = c.WriteMsgUnix([]byte(`{"Args":["/bin/sh","-c","sleep 0.3"],"Env":["PATH=/bin:/usr/bin"],"Dir":"/"}`), unix.UnixRights(fd, fd, fd), nil)
		return c, err
	}
	c, err := send()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != MsgStarted {
		t.Fatalf("first command: %q %v", buf[:n], err)
	}
	if c2, err := send(); err == nil {
		c2.Close()
		t.Error("a second wrapper connected to a one-command server")
	}
	select {
	case <-ended:
		t.Fatal("ended while the command runs")
	default:
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.ReapAll()
		select {
		case <-ended:
			if n, err := c.Read(buf); err != nil || string(buf[:n]) != MsgExit+"0" {
				t.Errorf("end: %q %v", buf[:n], err)
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("not ended after the command did")
}
