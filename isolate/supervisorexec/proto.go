// Package supervisorexec is the wrapper's side of the supervisor backend
// (terminal.backend: supervisor) and the protocol it speaks with the root
// supervisor (package supervisor). It is pure Go: it lives in the static
// wrapper binary.
//
// The wrapper classifies and asks as always, then connects to the
// supervisor's socket and sends one frame: the Request, with the command's
// working directory, stdin, stdout and stderr (and the user's HERMES_HOME
// and configured workspace, when there are such) as file descriptors the
// wrapper opened itself (SCM_RIGHTS). So the kernel checked the user's
// access to each, and the supervisor never resolves a path the user names.
// Who is asking comes from the kernel (SO_PEERCRED on the connection, a
// pidfd where there is one), never from the request.
//
// Frames are a 4-byte big-endian length and a JSON Msg or Request:
//
//	wrapper → supervisor: Request (+ fds); then {"type":"signal","signal":N}...
//	supervisor → wrapper: {"type":"started"}, then {"type":"exit","code":N,...};
//	                      or {"type":"error","code":126,"reason":...} when
//	                      nothing was started, or when the supervisor ended
//	                      the command (shutting down).
//
// A wrapper that goes away (killed) closes the connection: the supervisor
// kills its command. A supervisor that goes away does the same to the
// command (its helper has a parent-death signal), and the wrapper reports
// 126 with the reason: never a run on the host instead.
package supervisorexec

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// DefaultSocket is where the supervisor listens.
const DefaultSocket = "/run/hermes-exec/supervisor.sock"

// socket is DefaultSocket; only test builds change it (testsocket.go).
var socket = DefaultSocket

// Socket is the supervisor socket this binary connects to.
func Socket() string { return socket }

// Version of the protocol; a supervisor refuses others.
const Version = 1

// MaxFrame caps a frame: a request carries the command's environment.
const MaxFrame = 4 << 20

// FD roles, in the order the descriptors travel; Request.FDs names those
// sent.
const (
	FDCwd        = "cwd"
	FDStdin      = "stdin"
	FDStdout     = "stdout"
	FDStderr     = "stderr"
	FDHermesHome = "hermes_home"
	FDWorkspace  = "workspace"
)

// Request is one command for the supervisor. Nothing in it says who the
// caller is; limits in it are the user's wishes, which the supervisor caps
// with the administrator's policy.
type Request struct {
	Version int
	FDs     []string
	Args    []string
	Env     []string
	TTY     bool
	Session string
	// Sandbox options from the user's container section (0 / "" = the
	// sandbox's default).
	Memory         int64
	CPUs           float64
	Pids           int64
	TmpfsSize      int64
	Network        string
	Persist        string
	Idle           time.Duration
	Passthrough    []string `json:",omitempty"`
	HomeReadable   []string `json:",omitempty"`
	ProtectedPaths []string `json:",omitempty"`
}

// Message types.
const (
	MsgStarted = "started"
	MsgExit    = "exit"
	MsgError   = "error"
	MsgSignal  = "signal"
)

// Msg is every frame but the request.
type Msg struct {
	Type   string `json:"type"`
	Code   int    `json:"code,omitempty"`
	Signal int    `json:"signal,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// WriteFrame writes v as one frame.
func WriteFrame(w io.Writer, v any) error {
	b, err := frame(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func frame(v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(body) > MaxFrame {
		return nil, fmt.Errorf("request of %d bytes is over the supervisor's %d", len(body), MaxFrame)
	}
	b := make([]byte, 4, 4+len(body))
	binary.BigEndian.PutUint32(b, uint32(len(body)))
	return append(b, body...), nil
}

// ReadFrame reads one frame into v; hdr, when not nil, is its first bytes,
// already read (with the descriptors).
func ReadFrame(r io.Reader, hdr []byte, v any) error {
	var lb [4]byte
	n := copy(lb[:], hdr)
	if _, err := io.ReadFull(r, lb[n:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(lb[:])
	if size > MaxFrame {
		return errors.New("frame too large")
	}
	body := make([]byte, size)
	rest := hdr[min(4, len(hdr)):]
	k := copy(body, rest)
	if _, err := io.ReadFull(r, body[k:]); err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}
