package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"hermes-exec/gateway/wire"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// maxRequestBody bounds what a wrapper may send: a command and its
// findings, not a file.
const maxRequestBody = 4 << 20

// ListenSocket makes the wrappers' socket at path: its directory 0700 and
// owned by us (a directory someone else controls could swap the socket),
// the socket 0600. A socket a live daemon answers on is not taken over; a
// stale one is removed.
func ListenSocket(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() {
		return nil, fmt.Errorf("%s is not a directory of ours", dir)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, err
		}
	}
	if _, err := os.Lstat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("a gateway is already running on %s", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return &peerListener{Listener: l, uid: os.Getuid()}, nil
}

// peerListener accepts only connections from processes of our own uid,
// as the kernel reports it (SO_PEERCRED); nothing the peer sends about
// itself is trusted.
type peerListener struct {
	net.Listener
	uid int
	Log *logrus.Logger
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uid, err := PeerUID(c)
		if err == nil && uid == l.uid {
			return c, nil
		}
		if l.Log != nil {
			l.Log.Warnf("gateway: refused a socket connection from uid %d (%v)", uid, err)
		}
		c.Close()
	}
}

// PeerUID is the uid of the process at the other end of a unix socket.
func PeerUID(c net.Conn) (int, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return -1, errors.New("not a unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return -1, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return -1, err
	}
	if cerr != nil {
		return -1, cerr
	}
	return int(cred.Uid), nil
}

// SocketHandler serves the wrappers' protocol (v1):
//
//	POST /v1/requests                 a wire.Request; blocks until its wire.Result
//	POST /v1/requests/{id}/withdraw   a wire.Withdraw: another channel answered
//	GET  /v1/status                   a wire.Status
//
// Closing the connection while a request waits withdraws it.
func SocketHandler(s *Server, status func() wire.Status) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/requests", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
		if err != nil || len(body) > maxRequestBody {
			http.Error(w, "request too large or unreadable", http.StatusBadRequest)
			return
		}
		var req wire.Request
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
			return
		}
		res, err := s.Submit(r.Context(), req.ToRequest())
		switch {
		case errors.Is(err, ErrDuplicate):
			http.Error(w, err.Error(), http.StatusConflict)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	mux.HandleFunc("POST /v1/requests/{id}/withdraw", func(w http.ResponseWriter, r *http.Request) {
		var wd wire.Withdraw
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&wd); err != nil {
			http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
			return
		}
		s.Withdraw(r.PathValue("id"), wd.Reason)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, status())
	})
	return mux
}

// ServeSocket serves h on l until ctx is done. There is no write timeout:
// a request waits as long as its deadline.
func ServeSocket(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
