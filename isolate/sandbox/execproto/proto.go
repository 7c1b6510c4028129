package execproto

import (
	"fmt"
	"strconv"
	"strings"

	"hermes-exec/isolate"
)

// A session container's reaper starts the commands of later wrappers
// itself (isolate/sandbox/execserver.go). The wrapper connects to the
// socket the reaper listens on (SocketName in the container's state
// directory, which only its owner can reach and which is masked inside),
// sends one packet with the request and the command's stdin, stdout and
// stderr as SCM_RIGHTS, and then the signals it receives. The reaper
// answers "started", then how the command ended. When the connection closes
// before that (the wrapper was killed), the reaper kills the command's
// process group.
//
// Packets (SOCK_SEQPACKET keeps them whole):
//
//	wrapper → reaper: Request as JSON, with 3 fds; then "signal N"...
//	reaper → wrapper: "started" then "exit N" or "signal N";
//	                  or "error CODE MESSAGE" when nothing was started.
const (
	SocketName = "exec.sock"
	MaxRequest = 1 << 20
	MsgStarted = "started"
	MsgExit    = "exit "
	MsgSignal  = "signal "
	MsgError   = "error "
)

// Request is what a wrapper asks the reaper to run. Env and Dir are already
// the sandbox's (CommandEnv, Options.CommandDir), as for libcontainer.
type Request struct {
	Args []string
	Env  []string
	Dir  string
}

// ParseEnd reads "exit N" or "signal N".
func ParseEnd(msg string) (isolate.Status, error) {
	kind, num, _ := strings.Cut(msg, " ")
	n, err := strconv.Atoi(num)
	if err != nil {
		return isolate.Status{}, fmt.Errorf("sandbox: bad answer from the reaper: %q", msg)
	}
	switch kind + " " {
	case MsgExit:
		return isolate.Status{Code: n}, nil
	case MsgSignal:
		return isolate.Status{Code: 128 + n, Signal: n}, nil
	}
	return isolate.Status{}, fmt.Errorf("sandbox: bad answer from the reaper: %q", msg)
}
