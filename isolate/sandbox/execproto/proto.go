package execproto

import (
	"fmt"
	"strconv"
	"strings"

	"hermes-exec/isolate"
	"hermes-exec/isolate/execwire"
)

// A session container's reaper starts the commands of later wrappers
// itself; the wire format and the server are isolate/execwire's (both
// backends' inits serve it), this is the wrapper's side.
const (
	SocketName = execwire.SocketName
	MaxRequest = execwire.MaxRequest
	MsgStarted = execwire.MsgStarted
	MsgExit    = execwire.MsgExit
	MsgSignal  = execwire.MsgSignal
	MsgError   = execwire.MsgError
)

// Request is what a wrapper asks the reaper to run. Env and Dir are already
// the sandbox's (CommandEnv, Options.CommandDir), as for libcontainer.
type Request = execwire.Request

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
